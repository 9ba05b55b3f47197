//! Tokens: JWTs signed with HS256 under the server's `--jwt-secret`, carrying the claims
//! docs/SPEC.md section 12 names. Errors say what is wrong without echoing the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use protocol::TokenRefusal;
use serde::{Deserialize, Serialize};

use super::TopicPatterns;

/// Clock difference allowed between the token's issuer and this server.
pub const LEEWAY: Duration = Duration::from_secs(5);

/// The fewest bytes a secret may have: HS256's key is 256 bits, and a shorter secret
/// can be guessed offline from any one token it signed.
pub const MIN_SECRET_BYTES: usize = 32;

/// The longest a token may live, by default (`--max-ttl`): a token is a password that
/// cannot be taken back, so none is good for ever.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a secret cannot sign tokens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{flag} must be at least {MIN_SECRET_BYTES} bytes (it has {len}): generate one with \
         `head -c 32 /dev/urandom | base64`"
    )]
    TooShort { flag: &'static str, len: usize },
}

/// `secret`, the value of `flag`, if it is long enough to sign tokens.
fn check_secret(flag: &'static str, secret: &str) -> Result<(), SecretError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort {
            flag,
            len: secret.len(),
        });
    }
    Ok(())
}

/// What a token says of its holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who: the owner of the runs this holder starts.
    pub sub: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
    /// Patterns of the topics the holder may follow; absent = `["market:*"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    /// Patterns of the topics the holder may publish to; absent = none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    /// Admins see and control every run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

impl Claims {
    /// The topics this holder may follow.
    pub fn topics(&self) -> TopicPatterns {
        match &self.topics {
            Some(patterns) => TopicPatterns::new(patterns.iter().cloned()),
            None => TopicPatterns::new(["market:*"]),
        }
    }

    /// The topics this holder may publish to.
    pub fn publish(&self) -> TopicPatterns {
        TopicPatterns::new(self.publish.iter().cloned())
    }

    /// When the token stops being accepted here (its `exp` plus the leeway); the far
    /// future for an `exp` past what the clock can hold (`verify` refuses those).
    pub fn lapses_at(&self) -> SystemTime {
        Duration::from_secs(self.exp)
            .checked_add(LEEWAY)
            .and_then(|lapse| UNIX_EPOCH.checked_add(lapse))
            .unwrap_or_else(|| UNIX_EPOCH + MAX_TTL * 1000)
    }
}

/// Why a token was refused. The texts are the socket's close reasons too (≤ 123 bytes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token required")]
    Missing,
    #[error("token expired")]
    Expired,
    /// Badly formed, badly signed, signed with another algorithm, or missing a claim.
    #[error("invalid token")]
    Invalid(&'static str),
    #[error("could not sign the token")]
    Sign,
}

impl TokenError {
    /// The socket's close reason: the refusal the dashboard and clients recognise.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing => TokenRefusal::Required.as_str(),
            TokenError::Expired => TokenRefusal::Expired.as_str(),
            TokenError::Invalid(_) => TokenRefusal::Invalid.as_str(),
            TokenError::Sign => "could not sign the token",
        }
    }

    /// What went wrong, in a sentence for an HTTP error body.
    pub fn explain(&self) -> String {
        match self {
            TokenError::Missing => {
                "a token is required: send `Authorization: Bearer <token>`".to_owned()
            }
            TokenError::Expired => "the token has expired: get a new one".to_owned(),
            TokenError::Invalid(why) => format!("invalid token: {why}"),
            TokenError::Sign => "could not sign the token".to_owned(),
        }
    }
}

/// The server's key, and the rules a token must pass.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The secret before a rotation (`--jwt-secret-previous`): tokens it signed are still
    /// accepted until they lapse; none is signed with it.
    previous: Option<DecodingKey>,
    validation: Validation,
    /// Tokens whose `exp` is further away than this are refused (`--max-ttl`).
    max_ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(HS256, secret hidden)")
    }
}

impl TokenKeys {
    /// Keys for HS256 tokens signed with `secret` (the value of `--jwt-secret`), living
    /// at most [`MAX_TTL`].
    pub fn hs256(secret: &str) -> Result<Self, SecretError> {
        check_secret("--jwt-secret", secret)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            previous: None,
            validation,
            max_ttl: MAX_TTL,
        })
    }

    /// Also accepts tokens signed with `previous` (`--jwt-secret-previous`), the secret
    /// being rotated out.
    pub fn with_previous(mut self, previous: &str) -> Result<Self, SecretError> {
        check_secret("--jwt-secret-previous", previous)?;
        self.previous = Some(DecodingKey::from_secret(previous.as_bytes()));
        Ok(self)
    }

    /// Refuses tokens that would live longer than `max_ttl` from now (`--max-ttl`).
    pub fn with_max_ttl(mut self, max_ttl: Duration) -> Self {
        self.max_ttl = max_ttl;
        self
    }

    /// A signed token carrying `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|_| TokenError::Sign)
    }

    /// The claims of `token`, if it is well formed, signed with this key by HS256, names
    /// a `sub` and has not expired.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let decoded = match (
            decode::<Claims>(token, &self.decoding, &self.validation),
            &self.previous,
        ) {
            (Err(e), Some(previous)) if *e.kind() == ErrorKind::InvalidSignature => {
                decode::<Claims>(token, previous, &self.validation)
            }
            (decoded, _) => decoded,
        };
        let claims = decoded
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::Invalid("bad signature"),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::Invalid("wrong algorithm: HS256 expected")
                }
                ErrorKind::MissingRequiredClaim(_) => {
                    TokenError::Invalid("`sub` and `exp` are required")
                }
                ErrorKind::Json(_) => TokenError::Invalid("claims of the wrong shape"),
                _ => TokenError::Invalid("malformed"),
            })?
            .claims;
        if claims.sub.is_empty() {
            return Err(TokenError::Invalid("`sub` is empty"));
        }
        let latest = now_secs()
            .saturating_add(self.max_ttl.as_secs())
            .saturating_add(LEEWAY.as_secs());
        if claims.exp > latest {
            return Err(TokenError::Invalid(
                "it lives longer than this server's --max-ttl allows",
            ));
        }
        Ok(claims)
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a secret of thirty-two bytes, no less";
    const OTHER: &str = "another secret of thirty-two bytes!!";

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::hs256(secret).expect("a long enough secret")
    }

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "alice".into(),
            exp,
            topics: None,
            publish: Vec::new(),
            admin: false,
        }
    }

    #[test]
    fn a_token_round_trips_and_defaults_to_the_market() {
        let keys = keys(SECRET);
        let c = claims(now_secs() + 60);
        let back = keys.verify(&keys.issue(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(back.topics().allow(&"market:GOOG".parse().unwrap()));
        assert!(!back.publish().allow(&"market:GOOG".parse().unwrap()));
    }

    #[test]
    fn forged_expired_and_other_algorithm_tokens_are_refused() {
        let keys = keys(SECRET);
        let other = self::keys(OTHER);
        let forged = other.issue(&claims(now_secs() + 60)).unwrap();
        assert_eq!(
            keys.verify(&forged),
            Err(TokenError::Invalid("bad signature"))
        );
        // Past the leeway.
        let expired = keys.issue(&claims(now_secs() - 10)).unwrap();
        assert_eq!(keys.verify(&expired), Err(TokenError::Expired));
        // Within the leeway: still good.
        assert!(keys
            .verify(&keys.issue(&claims(now_secs() - 2)).unwrap())
            .is_ok());
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims(now_secs() + 60),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            keys.verify(&hs512),
            Err(TokenError::Invalid("wrong algorithm: HS256 expected"))
        );
        assert_eq!(keys.verify("nope"), Err(TokenError::Invalid("malformed")));
        let no_sub = encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"exp": now_secs() + 60}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(matches!(keys.verify(&no_sub), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn a_secret_shorter_than_32_bytes_is_refused_naming_its_flag() {
        let err = TokenKeys::hs256("change-me").map(|_| ()).unwrap_err();
        assert_eq!(
            err,
            SecretError::TooShort {
                flag: "--jwt-secret",
                len: 9
            }
        );
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
        let err = keys(SECRET).with_previous("x").map(|_| ()).unwrap_err();
        assert!(
            err.to_string().starts_with("--jwt-secret-previous"),
            "{err}"
        );
    }

    #[test]
    fn a_token_living_longer_than_the_max_ttl_is_refused_even_at_the_end_of_time() {
        let keys = keys(SECRET).with_max_ttl(Duration::from_secs(3600));
        let hour = keys.issue(&claims(now_secs() + 3600)).unwrap();
        assert!(keys.verify(&hour).is_ok());
        let day = keys.issue(&claims(now_secs() + 86_400)).unwrap();
        assert!(
            matches!(keys.verify(&day), Err(TokenError::Invalid(why)) if why.contains("--max-ttl"))
        );
        let forever = keys.issue(&claims(u64::MAX - 1)).unwrap();
        assert!(matches!(keys.verify(&forever), Err(TokenError::Invalid(_))));
        // Whatever a token says, its lapse is a time, not a panic.
        assert!(claims(u64::MAX).lapses_at() > SystemTime::now());
    }

    #[test]
    fn during_a_rotation_the_previous_secret_is_accepted_and_only_it() {
        let rotated = keys(SECRET).with_previous(OTHER).expect("long enough");
        let old = keys(OTHER).issue(&claims(now_secs() + 60)).unwrap();
        assert!(
            rotated.verify(&old).is_ok(),
            "a token of the previous secret"
        );
        let new = rotated.issue(&claims(now_secs() + 60)).unwrap();
        assert!(
            keys(SECRET).verify(&new).is_ok(),
            "issued with the current one"
        );
        assert!(keys(OTHER).verify(&new).is_err());
        let stranger = keys("a third secret, also thirty-two bytes")
            .issue(&claims(now_secs() + 60))
            .unwrap();
        assert_eq!(
            rotated.verify(&stranger),
            Err(TokenError::Invalid("bad signature"))
        );
    }
}

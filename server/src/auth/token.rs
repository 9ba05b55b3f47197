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

    /// When the token stops being accepted here (its `exp` plus the leeway).
    pub fn lapses_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp) + LEEWAY
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
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(HS256, secret hidden)")
    }
}

impl TokenKeys {
    /// Keys for HS256 tokens signed with `secret`.
    pub fn hs256(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A signed token carrying `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|_| TokenError::Sign)
    }

    /// The claims of `token`, if it is well formed, signed with this key by HS256, names
    /// a `sub` and has not expired.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
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
        let keys = TokenKeys::hs256(b"secret");
        let c = claims(now_secs() + 60);
        let back = keys.verify(&keys.issue(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(back.topics().allow(&"market:GOOG".parse().unwrap()));
        assert!(!back.publish().allow(&"market:GOOG".parse().unwrap()));
    }

    #[test]
    fn forged_expired_and_other_algorithm_tokens_are_refused() {
        let keys = TokenKeys::hs256(b"secret");
        let other = TokenKeys::hs256(b"guess");
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
            &EncodingKey::from_secret(b"secret"),
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
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(matches!(keys.verify(&no_sub), Err(TokenError::Invalid(_))));
    }
}

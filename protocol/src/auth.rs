//! Tokens on the wire (docs/SPEC.md section 12): the answer of `GET /api/me`, and the refusals
//! a server in token mode answers with: a 401's `error` text over HTTP, the reason of a
//! 1008 close on a socket. The token itself travels as `Authorization: Bearer T` and as
//! the socket's first frame, [`ClientAction::Auth`](super::ClientAction::Auth).

use serde::{Deserialize, Serialize};

/// The answer of `GET /api/me`: who the server takes the caller for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Me {
    /// The server runs without a JWT key and trusts every caller.
    Anonymous,
    /// The server runs in token mode and the request's token is valid.
    Token {
        /// The user the token names.
        sub: String,
        #[serde(default)]
        admin: bool,
        /// When the token expires, in Unix seconds.
        exp: u64,
    },
}

/// The close code of a socket refused by policy: a bad token, or a client that goes
/// on sending too fast.
pub const POLICY_CLOSE: u16 = 1008;

/// Why the server refused a token; `as_str` is the close reason (and a 401's `error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
pub enum TokenRefusal {
    /// The request or socket carried no token.
    #[strum(serialize = "token required")]
    Required,
    /// Malformed, badly signed, or naming no user.
    #[strum(serialize = "invalid token")]
    Invalid,
    /// Past its `exp` (and the leeway).
    #[strum(serialize = "token expired")]
    Expired,
}

impl TokenRefusal {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The refusal a text names exactly (a close reason or a 401's `error`), if any.
    pub fn parse(text: &str) -> Option<TokenRefusal> {
        text.trim().parse().ok()
    }

    /// The refusal a 401's `error` text names: the reason itself, a sentence that
    /// begins with it (`invalid token: bad signature`), or one that says it in other
    /// words (`the token has expired: get a new one`, `a token is required: …`).
    pub fn of_error(text: &str) -> Option<TokenRefusal> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(refusal) = TokenRefusal::parse(&text) {
            Some(refusal)
        } else if text.starts_with(TokenRefusal::Invalid.as_str()) {
            Some(TokenRefusal::Invalid)
        } else if text.contains("expired") {
            Some(TokenRefusal::Expired)
        } else if text.contains("token") && text.contains("required") {
            Some(TokenRefusal::Required)
        } else {
            None
        }
    }

    /// The refusal a socket's close means: code 1008 with one of the three reasons. A
    /// 1008 for another reason (too many frames) is not about the token.
    pub fn of_close(code: u16, reason: &str) -> Option<TokenRefusal> {
        if code == POLICY_CLOSE {
            TokenRefusal::parse(reason)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_answers_of_api_me_read_back_through_the_pages_decoder() {
        for me in [
            Me::Anonymous,
            Me::Token {
                sub: "alice".into(),
                admin: true,
                exp: 1_764_500_000,
            },
        ] {
            let json = serde_json::to_string(&me).unwrap();
            assert_eq!(super::super::decode::me(&json).unwrap(), me, "{json}");
        }
        let err = |text| super::super::decode::me(text).unwrap_err().to_string();
        assert!(err(r#"{"mode":"token","sub":"a"}"#).contains("missing field `exp`"));
        assert!(err(r#"{"mode":"root"}"#).contains("unknown mode `root`"));
    }

    #[test]
    fn both_answers_of_api_me_parse() {
        let me: Me = serde_json::from_str(r#"{"mode":"anonymous"}"#).unwrap();
        assert_eq!(me, Me::Anonymous);
        let me: Me = serde_json::from_str(
            r#"{"mode":"token","sub":"alice","admin":false,"exp":1764500000}"#,
        )
        .unwrap();
        assert_eq!(
            me,
            Me::Token {
                sub: "alice".into(),
                admin: false,
                exp: 1_764_500_000
            }
        );
    }

    #[test]
    fn only_a_1008_with_a_token_reason_is_a_token_refusal() {
        assert_eq!(
            TokenRefusal::of_close(1008, "token expired"),
            Some(TokenRefusal::Expired)
        );
        assert_eq!(
            TokenRefusal::of_close(1008, "token required"),
            Some(TokenRefusal::Required)
        );
        assert_eq!(
            TokenRefusal::of_close(1008, "invalid token"),
            Some(TokenRefusal::Invalid)
        );
        assert_eq!(TokenRefusal::of_close(1008, "too many frames"), None);
        assert_eq!(TokenRefusal::of_close(1011, "token expired"), None);
        assert_eq!(TokenRefusal::Expired.as_str(), "token expired");
    }

    #[test]
    fn a_401_names_its_refusal_in_a_sentence() {
        let cases = [
            ("token expired", Some(TokenRefusal::Expired)),
            (
                "the token has expired: get a new one",
                Some(TokenRefusal::Expired),
            ),
            (
                "a token is required: send `Authorization: Bearer <token>`",
                Some(TokenRefusal::Required),
            ),
            (
                "invalid token: InvalidSignature",
                Some(TokenRefusal::Invalid),
            ),
            ("not allowed", None),
        ];
        for (text, refusal) in cases {
            assert_eq!(TokenRefusal::of_error(text), refusal, "{text}");
        }
    }
}

//! What a webhook receives: the body in its `format`, and the signature a receiver
//! checks (docs/SPEC.md section 5, "Webhooks"):
//! `X-Tickwire-Signature: t=UNIX_SECONDS,v1=hex(HMAC-SHA256(secret, "t.body"))`.

use hmac::{Hmac, Mac};
use protocol::Notice;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

/// How a webhook's body is shaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The notice itself: `{event, title, body, ref, user, timestamp}`.
    #[default]
    Json,
    /// A Slack incoming webhook's `{text}`.
    Slack,
    /// A Discord webhook's `{content}` (at most 2,000 characters).
    Discord,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Slack => "slack",
            Format::Discord => "discord",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Format::Json, Format::Slack, Format::Discord]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// Discord refuses longer content.
const DISCORD_CHARS: usize = 2_000;

/// The body `notice` to `user` is posted as, at `timestamp` (RFC 3339).
pub fn body(format: Format, user: &str, notice: &Notice, timestamp: &str) -> String {
    let value = match format {
        Format::Json => json!({
            "event": notice.event,
            "title": notice.title,
            "body": notice.body,
            "ref": notice.reference,
            "user": user,
            "timestamp": timestamp,
        }),
        Format::Slack => json!({ "text": format!("*{}*\n{}", notice.title, notice.body) }),
        Format::Discord => {
            let text = format!("**{}**\n{}", notice.title, notice.body);
            json!({ "content": text.chars().take(DISCORD_CHARS).collect::<String>() })
        }
    };
    value.to_string()
}

/// The `X-Tickwire-Signature` of `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &str) -> String {
    // HMAC takes a key of any length: the `else` cannot happen.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{unix_seconds}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={unix_seconds},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::NoticeEvent;

    #[test]
    fn the_signature_is_the_documented_hmac_of_time_dot_body() {
        // A digest worked out independently of this code:
        // `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac Jefe`.
        assert_eq!(
            signature("Jefe", 1_700_000_000, r#"{"a":1}"#),
            "t=1700000000,v1=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
    }

    #[test]
    fn slack_and_discord_get_their_own_shapes() {
        let notice = Notice {
            event: NoticeEvent::Fill,
            title: "Bought 1 BTC".into(),
            body: "x".repeat(3_000),
            reference: None,
        };
        let slack: serde_json::Value =
            serde_json::from_str(&body(Format::Slack, "alice", &notice, "t")).unwrap();
        assert!(slack["text"]
            .as_str()
            .unwrap()
            .starts_with("*Bought 1 BTC*\n"));
        let discord: serde_json::Value =
            serde_json::from_str(&body(Format::Discord, "alice", &notice, "t")).unwrap();
        assert_eq!(discord["content"].as_str().unwrap().chars().count(), 2_000);
        let plain: serde_json::Value =
            serde_json::from_str(&body(Format::Json, "alice", &notice, "t")).unwrap();
        assert_eq!(plain["event"], "fill");
        assert_eq!(plain["user"], "alice");
    }
}

//! The envelope every published message travels in, and the message types it carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::market::{Candle, Tick};
use super::time::Timestamp;
use super::topic::{Topic, TopicKind};

/// Names one lifetime of a topic's sequence; a new epoch means seq restarted at 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub String);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message published on a topic: `type` + `data` on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Message {
    /// An OHLCV bar (market topics).
    Candle(Candle),
    /// A price print (market topics).
    Tick(Tick),
}

/// Why a message may not be published on a topic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("message type `{message_type}` cannot be published on a {kind:?} topic")]
pub struct WrongTopicKind {
    pub message_type: &'static str,
    pub kind: TopicKind,
}

impl Message {
    /// The wire name of this message's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Candle(_) => "candle",
            Message::Tick(_) => "tick",
        }
    }

    /// The kind of topic this message belongs on.
    pub fn topic_kind(&self) -> TopicKind {
        match self {
            Message::Candle(_) | Message::Tick(_) => TopicKind::Market,
        }
    }

    /// Checks that this message may be published on `topic`.
    pub fn check_topic(&self, topic: &Topic) -> Result<(), WrongTopicKind> {
        if self.topic_kind() == topic.kind() {
            Ok(())
        } else {
            Err(WrongTopicKind { message_type: self.type_name(), kind: topic.kind() })
        }
    }
}

/// A published message with its place in the topic's sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(flatten)]
    pub message: Message,
    pub topic: Topic,
    /// Per-topic, from 1, +1 per message, no gaps.
    pub seq: u64,
    pub epoch: Epoch,
    /// When the hub accepted the message.
    pub timestamp: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::market::DataSource;
    use crate::protocol::topic::Symbol;

    fn tick() -> Message {
        Message::Tick(Tick {
            symbol: Symbol::parse("BTC-USD").unwrap(),
            price: 64_000.5,
            change_pct: -0.25,
            volume: 1.5,
            source: DataSource::Synthetic,
        })
    }

    #[test]
    fn envelope_has_the_spec_fields_and_round_trips() {
        let env = Envelope {
            message: tick(),
            topic: "market:BTC-USD".parse().unwrap(),
            seq: 1042,
            epoch: Epoch("01JD3Q".into()),
            timestamp: Timestamp::from_unix_ms(1_795_356_191_123),
        };
        let value = serde_json::to_value(&env).unwrap();
        assert_eq!(value["type"], "tick");
        assert_eq!(value["topic"], "market:BTC-USD");
        assert_eq!(value["seq"], 1042);
        assert_eq!(value["epoch"], "01JD3Q");
        assert_eq!(value["timestamp"], "2026-11-22T14:03:11.123Z");
        assert_eq!(value["data"]["price"], 64_000.5);
        assert_eq!(value["data"]["source"], "synthetic");
        let back: Envelope = serde_json::from_value(value).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn messages_are_only_accepted_on_their_topic_kind() {
        assert!(tick().check_topic(&"market:BTC-USD".parse().unwrap()).is_ok());
        let err = tick().check_topic(&"backtest:b1".parse().unwrap()).unwrap_err();
        assert_eq!(err.to_string(), "message type `tick` cannot be published on a Backtest topic");
    }

    #[test]
    fn unknown_message_types_are_rejected_by_name() {
        let err = serde_json::from_str::<Message>(r#"{"type":"teleport","data":{}}"#).unwrap_err().to_string();
        assert!(err.contains("unknown variant `teleport`"), "{err}");
    }
}

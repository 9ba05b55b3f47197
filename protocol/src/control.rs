//! Control messages (no `seq`) and the frame type a client decodes every server frame into.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::backtest::BacktestSnapshot;
use super::envelope::{Envelope, Epoch};
use super::market::MarketSnapshot;
use super::notice::{Notice, UserSnapshot};
use super::session::SessionSnapshot;
use super::sweep::SweepSnapshot;
use super::time::Timestamp;
use super::topic::{Topic, TopicKind};
use super::trading::TradingSnapshot;

/// A topic's state, consistent with every message up to and including `last_seq`.
/// (Not `seq`: control frames never carry one, so no client mistakes it for a message.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Snapshot {
    pub topic: Topic,
    pub epoch: Epoch,
    /// The last seq the state includes; live messages continue at `last_seq + 1`.
    pub last_seq: u64,
    pub data: SnapshotData,
}

/// The state a late joiner needs, per topic kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SnapshotData {
    Market(MarketSnapshot),
    Backtest(BacktestSnapshot),
    Session(SessionSnapshot),
    Trading(TradingSnapshot),
    Sweep(SweepSnapshot),
    User(UserSnapshot),
}

/// Why a `resync` replaced a resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The client's epoch is not the topic's current one.
    EpochChanged,
    /// The requested seq is older than the retained history.
    OutsideHistory,
    /// The requested seq is ahead of anything published.
    AheadOfTopic,
}

/// A server frame that is not a published message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    /// First frame on every socket.
    Connected(Connected),
    /// A subscription is active; replayed or live messages follow.
    Subscribed(Subscribed),
    Unsubscribed(Unsubscribed),
    /// Answer to a client `ping`, echoing its `id` and `t`.
    Pong(Pong),
    /// Application-level liveness, sent when the connection has been quiet.
    Heartbeat(Heartbeat),
    /// Something the client sent was refused; `topic` when it concerned one.
    Error(ErrorFrame),
    /// The requested resume point cannot be replayed: replace state with this snapshot.
    Resync(Resync),
    /// The current state of a topic, for a subscribe without `since`.
    Snapshot(Snapshot),
    /// A notice for this connection, or its user, or everyone, from an admin
    /// (`POST /api/notify`); not on any topic, so never replayed.
    DirectNotice(Notice),
}

/// First frame on every socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Connected {
    pub connection_id: String,
    pub heartbeat_secs: u64,
    pub max_message_bytes: usize,
    /// The server's build (`protocol::BUILD_ID`): a page of another build offers a reload.
    #[serde(default)]
    pub build: String,
    /// Per topic kind, how long a stream that should be moving (see
    /// [`SnapshotData::is_moving`]) may stay silent before a page calls it stale. A
    /// kind without an entry is never stale.
    #[serde(default)]
    pub stale_after_ms: BTreeMap<TopicKind, u64>,
}

/// A subscription is active; replayed or live messages follow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Subscribed {
    pub topic: Topic,
    pub epoch: Epoch,
    pub next_seq: u64,
}

/// A subscription ended (the answer to `unsubscribe`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Unsubscribed {
    pub topic: Topic,
}

/// Answer to a client `ping`, echoing its `id` and `t`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pong {
    pub id: u64,
    pub t: f64,
}

/// Application-level liveness, sent when the connection has been quiet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Heartbeat {
    pub timestamp: Timestamp,
}

/// Something the client sent was refused; `topic` when it concerned one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// The requested resume point cannot be replayed: replace state with this snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Resync {
    pub reason: ResyncReason,
    pub snapshot: Snapshot,
}

/// Any frame the server sends: a published message (has `seq`) or a control message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "decoded once per frame and consumed at once"
)]
pub enum ServerFrame {
    Message(Envelope),
    Control(Control),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{DataSource, Tick};
    use crate::messages::Message;
    use crate::topic::Symbol;

    fn round_trip(frame: &ServerFrame) -> serde_json::Value {
        let json = serde_json::to_string(frame).unwrap();
        let back: ServerFrame = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, frame, "{json}");
        serde_json::from_str(&json).unwrap()
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            topic: "market:EURUSD".parse().unwrap(),
            epoch: Epoch("E1".into()),
            last_seq: 7,
            data: SnapshotData::Market(MarketSnapshot {
                candles: vec![],
                last_tick: Some(Tick {
                    symbol: Symbol::parse("EURUSD").unwrap(),
                    price: 1.08,
                    change_pct: 0.0,
                    volume: 10.0,
                    source: DataSource::Synthetic,
                    time: None,
                }),
                analysis: None,
            }),
        }
    }

    #[test]
    fn every_control_message_round_trips_without_seq() {
        let topic: Topic = "market:EURUSD".parse().unwrap();
        let frames = [
            Control::Connected(Connected {
                connection_id: "c1".into(),
                heartbeat_secs: 30,
                max_message_bytes: 65_536,
                build: "abc123".into(),
                stale_after_ms: BTreeMap::from([(TopicKind::Market, 2_000)]),
            }),
            Control::Subscribed(Subscribed {
                topic: topic.clone(),
                epoch: Epoch("E1".into()),
                next_seq: 8,
            }),
            Control::Unsubscribed(Unsubscribed { topic }),
            Control::Pong(Pong { id: 3, t: 1234.5 }),
            Control::Heartbeat(Heartbeat {
                timestamp: Timestamp::from_unix_ms(0),
            }),
            Control::Error(ErrorFrame {
                topic: Some("market:x".into()),
                error: "invalid topic".into(),
                details: None,
            }),
            Control::Resync(Resync {
                reason: ResyncReason::OutsideHistory,
                snapshot: snapshot(),
            }),
            Control::Snapshot(snapshot()),
            Control::DirectNotice(Notice {
                event: crate::NoticeEvent::Announcement,
                title: "Maintenance at 22:00".into(),
                body: "The server restarts for a minute.".into(),
                reference: None,
            }),
        ];
        for control in frames {
            let value = round_trip(&ServerFrame::Control(control));
            assert!(
                value.get("seq").is_none() || value["type"] == "snapshot",
                "{value}"
            );
        }
    }

    #[test]
    fn a_frame_with_seq_decodes_as_a_published_message() {
        let json = r#"{"type":"tick","topic":"market:X","seq":1,"epoch":"E","timestamp":"2026-01-01T00:00:00.000Z",
                       "data":{"symbol":"X","price":2.0,"change_pct":0.0,"volume":1.0,"source":"synthetic"}}"#;
        match serde_json::from_str::<ServerFrame>(json).unwrap() {
            ServerFrame::Message(env) => assert!(matches!(env.message, Message::Tick(_))),
            other => panic!("decoded as {other:?}"),
        }
    }
}

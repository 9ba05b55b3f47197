//! Reading what the server sends, keyed on `type`: one look at a frame's `type` (and
//! `seq`), then the one shape it names, straight from the JSON text.
//!
//! serde's derives would read a frame through its `untagged` and internally tagged
//! enums (`ServerFrame`, `Control`, `SnapshotData`, the flattened `Message` of an
//! `Envelope`) by buffering it whole and trying shapes, which costs time per frame and,
//! in the browser, a second copy of every message type's decoding code. The derives
//! still describe the wire (serialisation, the schema); every client reads frames here:
//! the dashboard (socket, polls, replays) and `tickwire watch`. The leading tab reads
//! its followers' requests here too ([`client_action`]), and the page its identity
//! ([`me`]).

use std::borrow::Cow;

use serde::de::{DeserializeOwned, Error as _};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Error;

use super::auth::Me;
use super::client::{BearerToken, ClientAction, Since};
use super::control::{Control, ServerFrame, Snapshot, SnapshotData};
use super::envelope::{Envelope, Epoch, Message};
use super::time::Timestamp;
use super::topic::Topic;
use super::ResyncReason;

/// What a frame says about itself before it is read.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
}

/// An envelope with its payload still as text.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    topic: Topic,
    seq: u64,
    epoch: Epoch,
    timestamp: Timestamp,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// A snapshot with its state still as text.
#[derive(Deserialize)]
struct RawSnapshot<'a> {
    topic: Topic,
    epoch: Epoch,
    last_seq: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// A snapshot's state kind.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

/// A `resync` with its snapshot still as text.
#[derive(Deserialize)]
struct RawResync<'a> {
    reason: ResyncReason,
    #[serde(borrow)]
    snapshot: &'a RawValue,
}

fn read<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
}

/// A field a shape needs, which its flat reading left optional.
fn given<T>(field: Option<T>, name: &'static str) -> Result<T, Error> {
    field.ok_or_else(|| Error::missing_field(name))
}

/// Any frame: a published message (it has `seq`) or a control message.
pub fn server_frame(text: &str) -> Result<ServerFrame, Error> {
    let head: Head<'_> = serde_json::from_str(text)?;
    if head.seq.is_some() && head.kind != "snapshot" {
        return envelope(text).map(ServerFrame::Message);
    }
    let control = match head.kind.as_ref() {
        "connected" => Control::Connected(read(text)?),
        "subscribed" => Control::Subscribed(read(text)?),
        "unsubscribed" => Control::Unsubscribed(read(text)?),
        "pong" => Control::Pong(read(text)?),
        "heartbeat" => Control::Heartbeat(read(text)?),
        "error" => Control::Error(read(text)?),
        "resync" => {
            let raw: RawResync<'_> = serde_json::from_str(text)?;
            Control::Resync(super::Resync {
                reason: raw.reason,
                snapshot: snapshot(raw.snapshot.get())?,
            })
        }
        "snapshot" => Control::Snapshot(snapshot(text)?),
        other => return Err(Error::custom(format!("unknown frame type `{other}`"))),
    };
    Ok(ServerFrame::Control(control))
}

/// A published message.
pub fn envelope(text: &str) -> Result<Envelope, Error> {
    let raw: RawEnvelope<'_> = serde_json::from_str(text)?;
    Ok(Envelope {
        message: message(&raw.kind, raw.data.get())?,
        topic: raw.topic,
        seq: raw.seq,
        epoch: raw.epoch,
        timestamp: raw.timestamp,
    })
}

/// A message's payload `data` of type `kind`.
pub fn message(kind: &str, data: &str) -> Result<Message, Error> {
    Ok(match kind {
        "candle" => Message::Candle(read(data)?),
        "tick" => Message::Tick(read(data)?),
        "analysis" => Message::Analysis(read(data)?),
        "started" => Message::Started(read(data)?),
        "progress" => Message::Progress(read(data)?),
        "trade" => Message::Trade(read(data)?),
        "equity" => Message::Equity(read(data)?),
        "metrics" => Message::Metrics(read(data)?),
        "log" => Message::Log(read(data)?),
        "paused" => Message::Paused(read(data)?),
        "resumed" => Message::Resumed(read(data)?),
        "cancelled" => Message::Cancelled(read(data)?),
        "complete" => Message::Complete(read(data)?),
        "error" => Message::Error(read(data)?),
        "session_initialized" => Message::SessionInitialized(read(data)?),
        "thinking" => Message::Thinking(read(data)?),
        "decision" => Message::Decision(read(data)?),
        "position_opened" => Message::PositionOpened(read(data)?),
        "position_updated" => Message::PositionUpdated(read(data)?),
        "position_closed" => Message::PositionClosed(read(data)?),
        "stats_update" => Message::StatsUpdate(read(data)?),
        "countdown" => Message::Countdown(read(data)?),
        "session_completed" => Message::SessionCompleted(read(data)?),
        "order" => Message::Order(read(data)?),
        "position" => Message::Position(read(data)?),
        "pnl" => Message::Pnl(read(data)?),
        "risk" => Message::Risk(read(data)?),
        other => return Err(Error::custom(format!("unknown message type `{other}`"))),
    })
}

/// A topic's snapshot (`GET /api/streams/{topic}/snapshot`, or inside a frame).
pub fn snapshot(text: &str) -> Result<Snapshot, Error> {
    let raw: RawSnapshot<'_> = serde_json::from_str(text)?;
    let data = raw.data.get();
    let kind: Kind<'_> = serde_json::from_str(data)?;
    let data = match kind.kind.as_ref() {
        "market" => SnapshotData::Market(read(data)?),
        "backtest" => SnapshotData::Backtest(read(data)?),
        "session" => SnapshotData::Session(read(data)?),
        "trading" => SnapshotData::Trading(read(data)?),
        other => return Err(Error::custom(format!("unknown snapshot kind `{other}`"))),
    };
    Ok(Snapshot {
        topic: raw.topic,
        epoch: raw.epoch,
        last_seq: raw.last_seq,
        data,
    })
}

/// A page of `GET /api/streams/{topic}`: its envelopes, and the snapshot of a resync.
pub fn poll_page(text: &str) -> Result<(Vec<Envelope>, Option<Snapshot>), Error> {
    #[derive(Deserialize)]
    struct RawPage<'a> {
        #[serde(borrow)]
        messages: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        resync: Option<RawResync<'a>>,
    }
    let page: RawPage<'_> = serde_json::from_str(text)?;
    let messages = page
        .messages
        .iter()
        .map(|m| envelope(m.get()))
        .collect::<Result<_, _>>()?;
    let resync = page
        .resync
        .map(|r| snapshot(r.snapshot.get()))
        .transpose()?;
    Ok((messages, resync))
}

/// A client's request, as a follower tab hands it to the leading one: every field an
/// action may have, read in one pass, then the one action `action` names (serde's
/// internally tagged derive, which the server uses, would buffer it first).
pub fn client_action(text: &str) -> Result<ClientAction, Error> {
    #[derive(Deserialize)]
    struct Fields<'a> {
        #[serde(borrow)]
        action: Cow<'a, str>,
        topic: Option<Topic>,
        since: Option<Since>,
        id: Option<u64>,
        t: Option<f64>,
        token: Option<BearerToken>,
    }
    let f: Fields<'_> = serde_json::from_str(text)?;
    Ok(match f.action.as_ref() {
        "subscribe" => ClientAction::Subscribe {
            topic: given(f.topic, "topic")?,
            since: f.since,
        },
        "unsubscribe" => ClientAction::Unsubscribe {
            topic: given(f.topic, "topic")?,
        },
        "ping" => ClientAction::Ping {
            id: given(f.id, "id")?,
            t: given(f.t, "t")?,
        },
        "pause" => ClientAction::Pause {
            topic: given(f.topic, "topic")?,
        },
        "resume" => ClientAction::Resume {
            topic: given(f.topic, "topic")?,
        },
        "cancel" => ClientAction::Cancel {
            topic: given(f.topic, "topic")?,
        },
        "auth" => ClientAction::Auth {
            token: given(f.token, "token")?,
        },
        other => return Err(Error::custom(format!("unknown action `{other}`"))),
    })
}

/// `GET /api/me`'s answer, keyed on `mode` the same way.
pub fn me(text: &str) -> Result<Me, Error> {
    #[derive(Deserialize)]
    struct Fields<'a> {
        #[serde(borrow)]
        mode: Cow<'a, str>,
        sub: Option<String>,
        #[serde(default)]
        admin: bool,
        exp: Option<u64>,
    }
    let f: Fields<'_> = serde_json::from_str(text)?;
    match f.mode.as_ref() {
        "anonymous" => Ok(Me::Anonymous),
        "token" => Ok(Me::Token {
            sub: given(f.sub, "sub")?,
            admin: f.admin,
            exp: given(f.exp, "exp")?,
        }),
        other => Err(Error::custom(format!("unknown mode `{other}`"))),
    }
}

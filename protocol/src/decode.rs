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
//!
//! A payload is read by its topic kind's [`KindReader`], among the [`Kinds`] a client
//! reads: the dashboard only those its pages follow, so each page's lazy chunk brings
//! the reading code of its own kind.

use std::borrow::Cow;

use serde::de::{DeserializeOwned, Error as _};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Error;

use super::action::{BearerToken, ClientAction, Since};
use super::auth::Me;
use super::control::{Control, ServerFrame, Snapshot, SnapshotData};
use super::envelope::{Envelope, Epoch};
use super::messages::{read as read_kind, Message};
use super::rate::MaxRate;
use super::time::Timestamp;
use super::topic::{Topic, TopicKind};
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
    #[serde(default)]
    conflated: u64,
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

pub(crate) fn read<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
}

/// A field a shape needs, which its flat reading left optional.
fn given<T>(field: Option<T>, name: &'static str) -> Result<T, Error> {
    field.ok_or_else(|| Error::missing_field(name))
}

/// How to read the payloads of one topic kind: its messages' `data`, by type, and its
/// snapshots' state.
#[derive(Clone, Copy, Debug)]
pub struct KindReader {
    pub kind: TopicKind,
    message: fn(&str, &str) -> Result<Message, Error>,
    snapshot: fn(&str) -> Result<SnapshotData, Error>,
}

/// The topic kinds a client reads the payloads of.
///
/// The dashboard reads the kinds its pages follow (each page names its kind's
/// [`KindReader`] when it follows a topic, `stream::use_topic`), so the code that reads
/// a backtest's or a session's messages ships in the lazy chunk of the page that shows
/// them, not in the first download. [`EveryKind`] reads everything.
pub trait Kinds {
    fn reader(&self, kind: TopicKind) -> Option<KindReader>;
}

/// Reads every topic kind, and any message type on any topic (which one belongs where
/// is [`Message::allowed_on`]'s business): `tickwire watch`, replays, tests.
pub struct EveryKind;

impl Kinds for EveryKind {
    fn reader(&self, kind: TopicKind) -> Option<KindReader> {
        Some(KindReader {
            kind,
            message,
            snapshot: any_snapshot,
        })
    }
}

/// A reader reads its own kind.
impl Kinds for KindReader {
    fn reader(&self, kind: TopicKind) -> Option<KindReader> {
        (kind == self.kind).then_some(*self)
    }
}

/// The kinds a client has been given readers for, as it went (the dashboard: as its
/// pages followed topics).
#[derive(Default)]
pub struct Readers(Vec<KindReader>);

impl Readers {
    /// Reads `reader`'s kind from now on.
    pub fn add(&mut self, reader: KindReader) {
        if self.reader(reader.kind).is_none() {
            self.0.push(reader);
        }
    }
}

impl Kinds for Readers {
    fn reader(&self, kind: TopicKind) -> Option<KindReader> {
        self.0.iter().find(|r| r.kind == kind).copied()
    }
}

impl KindReader {
    pub const MARKET: KindReader = KindReader {
        kind: TopicKind::Market,
        message: read_kind::market,
        snapshot: |data| own_snapshot(data, TopicKind::Market).map(SnapshotData::Market),
    };
    pub const BACKTEST: KindReader = KindReader {
        kind: TopicKind::Backtest,
        message: read_kind::backtest,
        snapshot: |data| own_snapshot(data, TopicKind::Backtest).map(SnapshotData::Backtest),
    };
    pub const SESSION: KindReader = KindReader {
        kind: TopicKind::Session,
        message: read_kind::session,
        snapshot: |data| own_snapshot(data, TopicKind::Session).map(SnapshotData::Session),
    };
    pub const TRADING: KindReader = KindReader {
        kind: TopicKind::Trading,
        message: read_kind::trading,
        snapshot: |data| own_snapshot(data, TopicKind::Trading).map(SnapshotData::Trading),
    };

    pub const SWEEP: KindReader = KindReader {
        kind: TopicKind::Sweep,
        message: read_kind::sweep,
        snapshot: |data| own_snapshot(data, TopicKind::Sweep).map(SnapshotData::Sweep),
    };

    pub const USER: KindReader = KindReader {
        kind: TopicKind::User,
        message: read_kind::user,
        snapshot: |data| own_snapshot(data, TopicKind::User).map(SnapshotData::User),
    };

    /// The reader of `kind` (tools and tests; a page names its kind's constant, so that
    /// only that kind's code ships with it).
    pub fn of(kind: TopicKind) -> KindReader {
        match kind {
            TopicKind::Market => KindReader::MARKET,
            TopicKind::Backtest => KindReader::BACKTEST,
            TopicKind::Session => KindReader::SESSION,
            TopicKind::Trading => KindReader::TRADING,
            TopicKind::Sweep => KindReader::SWEEP,
            TopicKind::User => KindReader::USER,
        }
    }
}

/// Any frame: a published message (it has `seq`) or a control message. `None`: a
/// message or snapshot of a topic kind `kinds` does not read (a leading tab's socket
/// also carries the other tabs' topics).
pub fn server_frame(text: &str, kinds: &impl Kinds) -> Result<Option<ServerFrame>, Error> {
    let head: Head<'_> = serde_json::from_str(text)?;
    if head.seq.is_some() && head.kind != "snapshot" {
        return Ok(envelope(text, kinds)?.map(ServerFrame::Message));
    }
    let control = match head.kind.as_ref() {
        "connected" => Control::Connected(read(text)?),
        "subscribed" => Control::Subscribed(read(text)?),
        "unsubscribed" => Control::Unsubscribed(read(text)?),
        "pong" => Control::Pong(read(text)?),
        "heartbeat" => Control::Heartbeat(read(text)?),
        "error" => Control::Error(read(text)?),
        "direct_notice" => Control::DirectNotice(read(text)?),
        "resync" => {
            let raw: RawResync<'_> = serde_json::from_str(text)?;
            let Some(snapshot) = snapshot(raw.snapshot.get(), kinds)? else {
                return Ok(None);
            };
            Control::Resync(super::Resync {
                reason: raw.reason,
                snapshot,
            })
        }
        "snapshot" => match snapshot(text, kinds)? {
            Some(snapshot) => Control::Snapshot(snapshot),
            None => return Ok(None),
        },
        other => return Err(Error::custom(format!("unknown frame type `{other}`"))),
    };
    Ok(Some(ServerFrame::Control(control)))
}

/// A published message (`None`: of a topic kind `kinds` does not read).
pub fn envelope(text: &str, kinds: &impl Kinds) -> Result<Option<Envelope>, Error> {
    let raw: RawEnvelope<'_> = serde_json::from_str(text)?;
    let Some(reader) = kinds.reader(raw.topic.kind()) else {
        return Ok(None);
    };
    Ok(Some(Envelope {
        message: (reader.message)(&raw.kind, raw.data.get())?,
        topic: raw.topic,
        seq: raw.seq,
        epoch: raw.epoch,
        timestamp: raw.timestamp,
        conflated: raw.conflated,
    }))
}

/// A message's payload `data` of type `name`, whatever its topic (read as on the first
/// kind the table puts it on).
pub fn message(name: &str, data: &str) -> Result<Message, Error> {
    match Message::kinds_of(name).first() {
        Some(kind) => (KindReader::of(*kind).message)(name, data),
        None => Err(Error::custom(format!("unknown message type `{name}`"))),
    }
}

/// A topic's snapshot (`GET /api/streams/{topic}/snapshot`, or inside a frame); `None`:
/// of a topic kind `kinds` does not read.
pub fn snapshot(text: &str, kinds: &impl Kinds) -> Result<Option<Snapshot>, Error> {
    let raw: RawSnapshot<'_> = serde_json::from_str(text)?;
    let Some(reader) = kinds.reader(raw.topic.kind()) else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        data: (reader.snapshot)(raw.data.get())?,
        topic: raw.topic,
        epoch: raw.epoch,
        last_seq: raw.last_seq,
    }))
}

/// A snapshot's state of whichever kind it names.
fn any_snapshot(data: &str) -> Result<SnapshotData, Error> {
    let kind: Kind<'_> = serde_json::from_str(data)?;
    Ok(match kind.kind.as_ref() {
        "market" => SnapshotData::Market(read(data)?),
        "backtest" => SnapshotData::Backtest(read(data)?),
        "session" => SnapshotData::Session(read(data)?),
        "trading" => SnapshotData::Trading(read(data)?),
        "sweep" => SnapshotData::Sweep(read(data)?),
        other => return Err(Error::custom(format!("unknown snapshot kind `{other}`"))),
    })
}

/// A snapshot's state, which must be of its topic's kind.
fn own_snapshot<T: DeserializeOwned>(data: &str, topic: TopicKind) -> Result<T, Error> {
    let kind: Kind<'_> = serde_json::from_str(data)?;
    if kind.kind != topic.prefix() {
        return Err(Error::custom(format!(
            "a `{}` snapshot on a {} topic",
            kind.kind,
            topic.prefix()
        )));
    }
    read(data)
}

/// A page of `GET /api/streams/{topic}`: its envelopes, and the snapshot of a resync.
/// The page is of a topic the client follows, so `kinds` must read it.
pub fn poll_page(
    text: &str,
    kinds: &impl Kinds,
) -> Result<(Vec<Envelope>, Option<Snapshot>), Error> {
    #[derive(Deserialize)]
    struct RawPage<'a> {
        #[serde(borrow)]
        messages: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        resync: Option<RawResync<'a>>,
    }
    fn unread<T>(read: Option<T>) -> Result<T, Error> {
        read.ok_or_else(|| Error::custom("a polled topic of a kind this page does not read"))
    }
    let page: RawPage<'_> = serde_json::from_str(text)?;
    let messages = page
        .messages
        .iter()
        .map(|m| unread(envelope(m.get(), kinds)?))
        .collect::<Result<_, _>>()?;
    let resync = page
        .resync
        .map(|r| unread(snapshot(r.snapshot.get(), kinds)?))
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
        max_rate: Option<MaxRate>,
        id: Option<u64>,
        t: Option<f64>,
        token: Option<BearerToken>,
    }
    let f: Fields<'_> = serde_json::from_str(text)?;
    Ok(match f.action.as_ref() {
        "subscribe" => ClientAction::Subscribe {
            topic: given(f.topic, "topic")?,
            since: f.since,
            max_rate: f.max_rate,
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

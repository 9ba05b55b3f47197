//! A user's personal channel, `user:{SUB}` (docs/SPEC.md section 4, "Notices"): the
//! notices the server sends a user about their runs, fills and feeds, and how far the
//! user has read them.

use serde::{Deserialize, Serialize};

use crate::validate::{self, FieldError};

/// What a notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum NoticeEvent {
    /// A backtest or sweep of the user's completed.
    RunFinished,
    /// A backtest or sweep of the user's failed (an error, or its instance died).
    RunFailed,
    /// A session of the user's stopped.
    SessionStopped,
    /// A session of the user's lost its whole account (equity at or below zero).
    AccountBlown,
    /// An order of one of the user's sessions filled.
    Fill,
    /// An outside agent let one of the user's sessions' bars pass without a decision.
    AgentMissedBar,
    /// A venue feed one of the user's sessions trades on went down.
    FeedDown,
    /// That feed is back.
    FeedUp,
    /// Words an admin sent (`POST /api/notify`).
    Announcement,
}

impl NoticeEvent {
    /// Every event, in the order above.
    pub const ALL: [NoticeEvent; 9] = [
        NoticeEvent::RunFinished,
        NoticeEvent::RunFailed,
        NoticeEvent::SessionStopped,
        NoticeEvent::AccountBlown,
        NoticeEvent::Fill,
        NoticeEvent::AgentMissedBar,
        NoticeEvent::FeedDown,
        NoticeEvent::FeedUp,
        NoticeEvent::Announcement,
    ];

    /// Its wire name (`run_finished`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One notice to a user: `notice` on `user:{SUB}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Notice {
    pub event: NoticeEvent,
    /// One line: what happened (`Backtest bt-1 completed`).
    pub title: String,
    /// The figures behind it (`GOOG sma_cross: +12.4 %, 31 trades`).
    pub body: String,
    /// What it is about: a topic (`backtest:bt-1`, `session:s1`, `market:BTCUSDT`), or
    /// none.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The user read every notice up to `up_to_seq`: `notices_read` on `user:{SUB}`
/// (`POST /api/notices/read`), so every tab and device shows the same unread count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NoticesRead {
    pub up_to_seq: u64,
}

/// A notice with the seq it was published as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeqNotice {
    pub seq: u64,
    pub notice: Notice,
}

/// A personal channel's state for a late joiner: its recent notices (at most
/// [`crate::SNAPSHOT_RECENT`], newest last) and how far they were read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserSnapshot {
    pub notices: Vec<SeqNotice>,
    /// Every notice up to this seq is read.
    pub read_up_to: u64,
    /// The seq of the last message folded in. Every message of the topic's epoch is
    /// folded once, in order, from seq 1, so counting them gives each one's seq.
    pub last_seq: u64,
}

impl UserSnapshot {
    /// How many of the kept notices are not read yet.
    pub fn unread(&self) -> usize {
        self.notices
            .iter()
            .filter(|n| n.seq > self.read_up_to)
            .count()
    }
}

/// The longest notice title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// `POST /api/notices/read`: every notice of the caller's channel up to `up_to_seq` is
/// read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReadNotices {
    pub up_to_seq: u64,
}

/// `POST /api/notify` (admins): a notice to one connection (`connection_id`), to every
/// connection of one user (`user`), or to everyone (`everyone: true`): exactly one of
/// the three.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NotifyRequest {
    /// A connection's id, as its `connected` frame gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// A user (`[A-Za-z0-9_.@-]{1,64}`; `anonymous` in anonymous mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default)]
    pub everyone: bool,
    /// One line, at most 200 characters.
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// What it is about (a topic), if anything.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Who a [`NotifyRequest`] is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyTarget<'a> {
    Connection(&'a str),
    User(&'a str),
    Everyone,
}

impl NotifyRequest {
    /// Who it is for, once its fields follow the rules.
    pub fn validate(&self) -> Result<NotifyTarget<'_>, FieldError> {
        validate::non_empty("title", &self.title)?;
        if self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(FieldError::new(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        validate::texts(&[
            ("body", &self.body),
            ("ref", self.reference.as_deref().unwrap_or("")),
        ])?;
        match (&self.connection_id, &self.user, self.everyone) {
            (Some(id), None, false) => {
                validate::non_empty("connection_id", id)?;
                validate::texts(&[("connection_id", id)])?;
                Ok(NotifyTarget::Connection(id))
            }
            (None, Some(user), false) => match crate::validate_user(user) {
                Ok(()) => Ok(NotifyTarget::User(user)),
                Err(e) => Err(FieldError::new("user", e)),
            },
            (None, None, true) => Ok(NotifyTarget::Everyone),
            _ => Err(FieldError::new(
                "everyone",
                "is one of three: give exactly one of `connection_id`, `user` or `everyone: true`",
            )),
        }
    }

    /// The notice it sends.
    pub fn notice(&self) -> Notice {
        Notice {
            event: NoticeEvent::Announcement,
            title: self.title.clone(),
            body: self.body.clone(),
            reference: self.reference.clone(),
        }
    }
}

//! tickwire's wire protocol, shared by the server, the dashboard, `tickwire watch` and
//! outside clients; the contract is docs/SPEC.md, the field-by-field reference
//! docs/PROTOCOL.md. Pure data and rules, no I/O and no Leptos, so it compiles for the
//! server and for WASM.
//!
//! - Topics ([`Topic`], [`TopicKind`]), the [`Envelope`] and every [`Message`] type:
//!   `messages` is the one table of types (wire name, payload, topic kinds); the
//!   payloads are declared by topic kind in `market`, `backtest`, `session`, `trading`,
//!   `sweep`, `notice` (`user:`).
//! - Control frames ([`Control`], [`Snapshot`]) and what a client sends
//!   ([`ClientAction`]); `decode` reads frames keyed on their type; `auth` the token
//!   answers ([`Me`]).
//! - Snapshot folds (`fold`): one topic's state from its messages, the same on both
//!   sides; `validate` the field rules messages and requests share; `time` the wire's
//!   timestamps.
//! - [`client`]: the rules every client follows (cursor, reconnect policy, the stream
//!   machine).
//! - `schema` (feature `schema`): the JSON Schema of the wire; [`fixtures`]: sample
//!   topics, envelopes and snapshots for every crate's tests. Always compiled: a
//!   feature that only tests switch on would make `cargo test` and the release build
//!   compile this crate, and everything above it, twice; unused, it costs the release
//!   builds nothing.

/// Which build of the protocol and the pages this is (see `build.rs`).
pub const BUILD_ID: &str = env!("TICKWIRE_BUILD_ID");

mod action;
pub mod api;
mod auth;
mod backtest;
pub mod client;
mod control;
pub mod decode;
mod envelope;
pub mod fixtures;
mod fold;
pub mod indicators;
mod market;
mod messages;
mod notice;
pub mod rate;
#[cfg(feature = "schema")]
pub mod schema;
mod session;
pub mod sweep;
mod time;
mod topic;
mod trading;
pub mod validate;

pub use action::{BearerToken, ClientAction, Since, SinceWithoutEpoch};
pub use auth::{Me, TokenRefusal, POLICY_CLOSE};
pub use backtest::*;
pub use control::{
    Connected, Control, ErrorFrame, Heartbeat, Pong, Resync, ResyncReason, ServerFrame, Snapshot,
    SnapshotData, Subscribed, Unsubscribed,
};
pub use envelope::{Envelope, Epoch, InvalidMessage};
pub use fold::{upsert_candle, SNAPSHOT_CANDLES, SNAPSHOT_POSITIONS, SNAPSHOT_RECENT};
pub use market::{
    Analysis, Candle, DataSource, Interval, IntervalError, MarketSnapshot, Structure, SymbolInfo,
    Tick,
};
pub use messages::Message;
pub use notice::{
    Notice, NoticeEvent, NoticesRead, NotifyRequest, NotifyTarget, ReadNotices, SeqNotice,
    UserSnapshot,
};
pub use session::*;
pub use time::Timestamp;
pub use topic::{validate_id, validate_user, Symbol, Topic, TopicError, TopicKind};
pub use trading::*;
pub use validate::FieldError;

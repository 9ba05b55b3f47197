//! The wire protocol shared by the server, the dashboard and outside clients: topics,
//! the envelope, every message type, control messages and client actions.
//! Pure data and validation; no I/O, so it compiles for the server and for WASM.

mod auth;
mod backtest;
mod client;
mod control;
pub mod decode;
mod envelope;
mod fold;
mod market;
#[cfg(feature = "schema")]
pub mod schema;
mod session;
mod time;
mod topic;
mod trading;
pub mod validate;

pub use auth::{Me, TokenRefusal, POLICY_CLOSE};
pub use backtest::*;
pub use client::{BearerToken, ClientAction, Since, SinceWithoutEpoch};
pub use control::{
    Connected, Control, ErrorFrame, Heartbeat, Pong, Resync, ResyncReason, ServerFrame, Snapshot,
    SnapshotData, Subscribed, Unsubscribed,
};
pub use envelope::{Envelope, Epoch, InvalidMessage, Message};
pub use fold::{upsert_candle, SNAPSHOT_CANDLES, SNAPSHOT_POSITIONS, SNAPSHOT_RECENT};
pub use market::{
    Analysis, Candle, DataSource, Interval, IntervalError, MarketSnapshot, Structure, SymbolInfo,
    Tick,
};
pub use session::*;
pub use time::Timestamp;
pub use topic::{validate_id, Symbol, Topic, TopicError, TopicKind};
pub use trading::*;
pub use validate::FieldError;

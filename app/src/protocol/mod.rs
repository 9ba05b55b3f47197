//! The wire protocol shared by the server, the dashboard and outside clients: topics,
//! the envelope, every message type, control messages and client actions.
//! Pure data and validation; no I/O, so it compiles for the server and for WASM.

mod client;
mod control;
mod envelope;
mod market;
mod time;
mod topic;

pub use client::{ClientAction, Since};
pub use control::{Control, ResyncReason, ServerFrame, Snapshot, SnapshotData};
pub use envelope::{Envelope, Epoch, Message, WrongTopicKind};
pub use market::{Candle, DataSource, Interval, IntervalError, MarketSnapshot, SymbolInfo, Tick};
pub use time::Timestamp;
pub use topic::{validate_id, Symbol, Topic, TopicError, TopicKind};

//! The browser side of tickwire's streams: one reconnecting client per page that
//! follows any number of topics over `/api/ws`, falls back to polling and climbs back,
//! and resumes every topic from its last seq (SPEC sections 6 and 7).
//!
//! - [`policy`]: backoff, fallback, ping and poll timing (pure, tested natively).
//! - [`cursor`]: per-topic seq bookkeeping: apply, drop a duplicate, or detect a gap.
//! - [`status`]: the signals the header and metrics panel show.
//! - [`client`]: what components call (`use_topic`, the real-time toggle).
//! - `engine` (browser only): sockets, timers and polls.

pub mod client;
pub mod cursor;
#[cfg(feature = "hydrate")]
mod engine;
pub mod policy;
pub mod status;

pub use client::{use_topic, StreamClient, TopicEvent};
pub use status::{ConnectionState, Mode, StreamStatus};

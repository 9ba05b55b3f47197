//! The browser side of tickwire's streams: one reconnecting client per page that
//! follows any number of topics over `/api/ws`, falls back to polling and climbs back,
//! and resumes every topic from its last seq (SPEC sections 6 and 7).
//!
//! - [`machine`]: the rules as a sans-IO state machine (inputs in, effects out; tested
//!   natively).
//! - [`policy`]: backoff, fallback, ping and poll timing.
//! - [`cursor`]: per-topic seq bookkeeping: apply, drop a duplicate, or detect a gap.
//! - [`status`]: the signals the header and metrics panel show.
//! - [`client`]: what components call (`use_topic`, the real-time toggle).
//! - [`topic_state`]: `use_topic_state`, a topic's folded state as a signal (what pages
//!   use).
//! - `engine` (browser only): the shell that wires sockets, timers and polls to the
//!   machine.

pub mod client;
pub mod cursor;
#[cfg(feature = "hydrate")]
mod engine;
#[cfg(test)]
mod fixtures;
pub mod machine;
pub mod policy;
pub mod status;
pub mod topic_state;

pub use client::{use_topic, StreamClient, TopicEvent};
pub use status::{ConnectionState, Mode, StreamStatus};
pub use topic_state::{use_topic_state, TopicState};

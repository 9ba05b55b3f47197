//! The browser side of tickwire's streams: one reconnecting client per page that
//! follows any number of topics over `/api/ws`, falls back to polling and climbs back,
//! and resumes every topic from its last seq (docs/SPEC.md sections 6 and 7).
//!
//! - The rules themselves are `protocol::client`'s, shared with `tickwire watch`: the
//!   sans-IO machine (inputs in, effects out; tested natively), its reconnect policy
//!   and each topic's cursor.
//! - [`relay`]: one socket for all tabs — the leading tab's books (who follows what).
//! - [`status`]: the signals the header and metrics panel show.
//! - [`client`]: what components call (`use_topic`, the real-time toggle).
//! - [`topic_state`]: `use_topic_state`, a topic's folded state as a signal (what pages
//!   use).
//! - `engine` (browser only): the shell that wires sockets, timers and polls to the
//!   machine, and shares the leader's socket with the other tabs (`engine/sharing.rs`).
//! - `leader` (browser only): which tab leads (Web Locks) and how tabs talk
//!   (BroadcastChannel).

pub mod client;
#[cfg(feature = "hydrate")]
mod engine;
#[cfg(feature = "hydrate")]
mod leader;
pub mod relay;
pub mod status;
pub mod topic_state;

pub use client::{use_topic, Display, StreamClient, TopicEvent};
pub use status::{ConnectionState, Mode, StreamStatus, TabRole};
pub use topic_state::{use_topic_state, TopicState};

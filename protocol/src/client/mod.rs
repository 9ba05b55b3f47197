//! The rules every tickwire client follows, whatever carries its frames: the browser's
//! reconnecting stream and `tickwire watch` share them. Sans-IO: inputs in, decisions
//! out, tested natively (docs/SPEC.md sections 6 and 7).
//!
//! - [`cursor`]: per-topic seq bookkeeping: apply, drop a duplicate, or detect a gap.
//! - [`policy`]: backoff, fallback, ping and poll timing.
//! - [`machine`]: the reconnecting stream as a state machine: the socket and its
//!   polling fallback, the token, and the followed topics (`topics`).
//! - [`status`]: where the stream stands, as the dashboard shows it.
//! - `topics`: each followed topic's standing: cursor, hidden backlog, staleness.

pub mod cursor;
pub mod machine;
pub mod policy;
pub mod status;
mod topics;

pub use cursor::{Cursor, Verdict};
pub use machine::Machine;
pub use policy::ReconnectPolicy;
pub use status::{ConnectionState, Mode, StreamAge};

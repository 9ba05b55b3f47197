//! The rules every tickwire client follows, whatever carries its frames: the browser's
//! reconnecting stream and `tickwire watch` share them. Sans-IO: inputs in, decisions
//! out, tested natively (docs/SPEC.md sections 6 and 7).
//!
//! - [`cursor`]: per-topic seq bookkeeping: apply, drop a duplicate, or detect a gap.
//! - [`policy`]: backoff, fallback, ping and poll timing.
//! - [`machine`]: the reconnecting stream as a state machine, composed of the socket
//!   (`link`), the token (`credentials`) and the followed topics (`topics`), each with
//!   its own rules and tests; the machine decides between socket and polling fallback.
//! - [`status`]: where the stream stands, as the dashboard shows it.

mod credentials;
pub mod cursor;
mod link;
pub mod machine;
pub mod policy;
pub mod status;
mod topics;

pub use cursor::{Cursor, Verdict};
pub use machine::Machine;
pub use policy::ReconnectPolicy;
pub use status::{ConnectionState, Mode, StreamAge};

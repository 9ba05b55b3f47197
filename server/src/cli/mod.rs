//! Command-line clients of a tickwire server.

pub mod bench;
pub mod watch;

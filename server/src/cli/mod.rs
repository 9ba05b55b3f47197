//! Command-line clients of a tickwire server.

pub mod backtest;
pub mod token;
pub mod watch;

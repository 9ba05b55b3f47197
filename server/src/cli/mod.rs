//! Command-line clients of a tickwire server.

pub mod backtest;
pub mod bench;
pub mod bench_engine;
pub mod token;
pub mod watch;

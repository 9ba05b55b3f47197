//! Backtests: CSV bars in, trades and metrics out, streamed to `backtest:{ID}` as they run.
//!
//! - [`data`]: CSV → bars. [`strategy`]: signals. [`engine`]: fills, accounting, metrics.
//! - [`stream`]: the observer that publishes progress, equity, trades with frequency control.
//! - [`control`]: pause / resume / cancel. [`logs`]: engine `tracing` events → `log` messages.
//! - [`manager`]: requests in, runs on blocking threads, the list of runs.

pub mod control;
pub mod data;
pub mod engine;
pub mod logs;
pub mod manager;
pub mod strategy;
pub mod stream;

pub use data::{Bars, DataError};
pub use engine::{
    run, run_signals, Account, Event, ExitReason, Flow, Metrics, Observer, Outcome, Silent, Trade,
};
pub use manager::{BacktestRequest, Backtests, RequestError, StartedRun};
pub use strategy::{Strategy, StrategyError};

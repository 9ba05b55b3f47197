//! Backtests: CSV bars in, trades and metrics out, streamed to `backtest:{ID}` as they run.

pub mod data;
pub mod engine;
pub mod strategy;

pub use data::{Bars, DataError};
pub use engine::{
    run, run_signals, Account, Event, Flow, Metrics, Observer, Outcome, Silent, Trade,
};
pub use strategy::{Strategy, StrategyError};

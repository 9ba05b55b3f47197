//! Backtests: CSV bars in, trades and metrics out, streamed to `backtest:{ID}` as they run.
//!
//! - The pure engine: [`data`]: CSV → bars. [`strategy`]: signals. [`engine`]: fills,
//!   accounting, metrics.
//! - [`live`]: a run as it streams: its thread, its observer and publisher, its logs,
//!   pause / resume / cancel.
//! - [`request`]: a request checked into a plan. [`registry`]: the runs of one server,
//!   by id.

pub mod data;
pub mod engine;
pub mod live;
pub mod registry;
pub mod request;
pub mod strategy;

pub use data::{Bars, DataError};
pub use engine::{
    run, run_signals, run_silent, Account, Event, ExitReason, Flow, Observer, Outcome, Silent,
    Trade,
};
pub use live::run::run_streaming;
pub use registry::Backtests;
pub use request::{plan, Plan};
pub use strategy::{Strategy, StrategyError};

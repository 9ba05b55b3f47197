//! Backtests: CSV bars in, trades and metrics out, streamed to `backtest:{ID}` as they run.
//!
//! - [`data`]: CSV → bars. [`strategy`]: signals. [`engine`]: fills, accounting, metrics.
//! - [`stream`]: the observer that publishes progress, equity, trades with frequency control.
//! - [`publisher`]: a run's messages serialised and published beside the engine, in order.
//! - [`control`]: pause / resume / cancel. [`logs`]: engine `tracing` events → `log` messages.
//! - [`request`]: a request checked into a plan. [`run`]: a plan on a blocking thread.
//! - [`registry`]: the runs of one server, by id.

pub mod clock;
pub mod control;
pub mod data;
pub mod engine;
pub mod logs;
pub mod publisher;
pub mod registry;
pub mod request;
pub mod run;
pub mod strategy;
pub mod stream;

pub use data::{Bars, DataError};
pub use engine::{
    run, run_signals, Account, Event, ExitReason, Flow, Observer, Outcome, Silent, Trade,
};
pub use registry::Backtests;
pub use request::{plan, Plan};
pub use run::run_streaming;
pub use strategy::{Strategy, StrategyError};

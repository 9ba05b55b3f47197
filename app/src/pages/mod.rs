//! One module per routed page.

pub mod backtests;
pub mod market;
pub mod sessions;

//! Reusable pieces of the dashboard.

pub mod candle_chart;
pub mod form;
pub mod header;
pub mod line_chart;
pub mod metrics;
pub mod status;
pub mod toast;

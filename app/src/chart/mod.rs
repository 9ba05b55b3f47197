//! Chart geometry, free of the DOM so it is tested natively: the candle series a chart
//! holds, the price scale and the pixel layout. The canvas drawing itself is in
//! `components::candle_chart` and `components::line_chart`.

pub mod layout;
pub mod series;

pub use layout::{Layout, PriceScale};
pub use series::{CandleSeries, Change};

/// Ink of the charts' grid and labels, legible on the dark and the light theme alike
/// (the canvas background is the page's `--bg`).
pub const GRID: &str = "rgba(128, 128, 128, 0.25)";
pub const TEXT: &str = "#8a93a6";

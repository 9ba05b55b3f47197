//! Chart geometry and content, free of the DOM so it is tested natively: the bars a
//! chart holds, timeframes built from them, the view (zoom and pan), the price scale and
//! pixel layout, trade markers and indicator lines, and the SVG drawn over the candles.
//! The canvas drawing itself is in `components::price_chart` and
//! `components::line_chart`.

pub mod layout;
pub mod marks;
pub mod overlay;
pub mod series;
pub mod timeframe;
pub mod viewport;

pub use layout::PriceScale;
pub use series::{bar_of, CandleSeries, Change};

/// Ink of the charts' grid and labels, legible on the dark and the light theme alike
/// (the canvas background is the page's `--bg`).
pub const GRID: &str = "rgba(128, 128, 128, 0.25)";
pub const TEXT: &str = "#8a93a6";

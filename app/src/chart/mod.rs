//! Chart geometry, free of the DOM so it is tested natively: the candle series a chart
//! holds, the price scale and the pixel layout. The canvas drawing itself is in
//! `components::candle_chart` and `components::line_chart`.

pub mod layout;
pub mod series;

pub use layout::{Layout, PriceScale};
pub use series::{CandleSeries, Change};

//! Market-data feeds: producers that publish `tick` and `candle` messages to
//! `market:{SYMBOL}` topics through the hub, and `analysis` of each closed candle.

mod analysis;
mod candles;
mod gbm;
pub mod replay;
mod synthetic;

pub use analysis::Analyzer;
pub use candles::CandleBuilder;
pub use gbm::{Gbm, GbmParams};
pub use synthetic::{SyntheticFeed, SyntheticFeedConfig};

//! Market-data feeds: producers that publish `tick` and `candle` messages to
//! `market:{SYMBOL}` topics through the hub, and `analysis` of each closed candle.

mod analysis;
mod candles;
pub mod csv_feed;
mod gbm;
mod synthetic;
pub mod venue;

pub use analysis::Analyzer;
pub use candles::CandleBuilder;
pub use gbm::{Gbm, GbmParams};
pub use synthetic::{SyntheticFeed, SyntheticFeedConfig};

use protocol::{Candle, Message, Tick};

/// The candles among `messages`, in order (for the feeds' tests).
#[cfg(test)]
fn candles_in(messages: &[Message]) -> Vec<&Candle> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Candle(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// What a feed publishes of its past, for a fresh topic's chart: closed candles and
/// their analyses, no ticks or open candles.
fn history_of(messages: Vec<Message>) -> impl Iterator<Item = Message> {
    messages.into_iter().filter(|m| match m {
        Message::Candle(c) => c.closed,
        Message::Analysis(_) => true,
        _ => false,
    })
}

/// One price's messages, in the order every feed publishes them: the candle it closed
/// (if any) and that candle's analysis, then the tick, then the open candle.
fn price_messages(
    closed: Option<Candle>,
    analyzer: &mut Analyzer,
    tick: Tick,
    open: Candle,
) -> Vec<Message> {
    let analysis = closed.as_ref().and_then(|c| analyzer.on_closed(c));
    closed
        .into_iter()
        .map(Message::Candle)
        .chain(analysis.map(Message::Analysis))
        .chain([Message::Tick(tick), Message::Candle(open)])
        .collect()
}

//! The `csv` feed (`--feed csv --replay FILES`): plays real OHLCV history (any file of the shared data's shape)
//! as a live market at a chosen speed. Each bar becomes four ticks — open, the nearer
//! extreme, the other extreme, close — spread over its slot, folded into candles that
//! keep the bar's own timestamps, labelled `source: csv_replay`. Playback stops at the
//! end of the file; the last candle is then closed.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use protocol::{DataSource, Interval, Message, SnapshotData, Symbol, SymbolInfo, Tick, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::analysis::Analyzer;
use super::candles::CandleBuilder;
use super::{history_of, price_messages};
use crate::backtest::Bars;
use crate::hub::Hub;

/// Where a CSV replay starts (`--replay-from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvStart {
    /// At this bar (0 = the first).
    Bar(usize),
    /// At the first bar at or after this time (Unix ms).
    Time(i64),
}

impl CsvStart {
    /// `120`, `2010-01-04` or `2010-01-04T15:00:00Z`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(bar) = text.parse::<usize>() {
            return Ok(CsvStart::Bar(bar));
        }
        if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok(CsvStart::Time(time.timestamp_millis()));
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|time| CsvStart::Time(time.and_utc().timestamp_millis()))
            .ok_or_else(|| {
                format!("`{text}` is neither a bar number nor a date like 2010-01-04 or 2010-01-04T15:00:00Z")
            })
    }

    /// The bar of `times` (ascending, Unix ms) to start at; past the end when it names
    /// none.
    pub fn bar(self, times: &[i64]) -> usize {
        match self {
            CsvStart::Bar(bar) => bar,
            CsvStart::Time(t) => times.partition_point(|&bar| bar < t),
        }
    }
}

/// One file to replay.
#[derive(Clone)]
pub struct CsvSource {
    pub symbol: Symbol,
    pub bars: Bars,
    pub interval: Interval,
    pub info: SymbolInfo,
}

impl CsvSource {
    /// Loads `path`; the symbol is the file's stem in upper case (`EURUSD.csv` → EURUSD).
    pub fn load(path: &Path) -> anyhow::Result<CsvSource> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_uppercase())
            .unwrap_or_default();
        let symbol = Symbol::parse(&stem)
            .with_context(|| format!("{} cannot name a symbol", path.display()))?;
        let bars = Bars::load(path)?;
        let interval = infer_interval(&bars);
        // Prices under 10 (currencies) get five decimals, others two.
        let price_decimals = if bars.close[0] < 10.0 { 5 } else { 2 };
        let info = SymbolInfo {
            symbol: symbol.clone(),
            topic: Topic::market(&symbol).to_string(),
            interval,
            source: DataSource::CsvReplay,
            price_decimals,
            description: format!("replay of {} ({} bars)", path.display(), bars.len()),
        };
        Ok(CsvSource {
            symbol,
            bars,
            interval,
            info,
        })
    }
}

/// The most common spacing between bars (monthly data varies, so the median).
fn infer_interval(bars: &Bars) -> Interval {
    let mut gaps: Vec<i64> = bars
        .time
        .windows(2)
        .map(|w| (w[1] - w[0]) / 1000)
        .filter(|g| *g > 0)
        .collect();
    gaps.sort_unstable();
    let secs = gaps.get(gaps.len() / 2).copied().unwrap_or(86_400).max(1) as u64;
    Interval::from_secs(secs)
        .unwrap_or(Interval::from_secs(86_400).expect("a day is a valid interval"))
}

/// The four prints of a bar: the open, the extreme nearer to it, the other extreme, the
/// close. When both extremes are as near, the bar's direction decides: an up bar dips
/// first, a down bar rallies first.
fn prints(open: f64, high: f64, low: f64, close: f64) -> [f64; 4] {
    let (to_low, to_high) = (open - low, high - open);
    let low_first = to_low < to_high || (to_low == to_high && close >= open);
    if low_first {
        [open, low, high, close]
    } else {
        [open, high, low, close]
    }
}

/// How the files are replayed.
#[derive(Clone, Copy, Debug)]
pub struct CsvFeedConfig {
    pub bars_per_second: f64,
    /// Where each file starts.
    pub from: CsvStart,
    /// Bars before the start a fresh topic gets as closed candles.
    pub history_candles: usize,
}

/// Replays every source concurrently, `bars_per_second` bars each.
pub fn spawn(
    sources: Vec<CsvSource>,
    config: CsvFeedConfig,
    hub: Hub,
    shutdown: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let tick_every = Duration::from_secs_f64(1.0 / (config.bars_per_second * 4.0));
    sources
        .into_iter()
        .map(|source| {
            let (hub, shutdown) = (hub.clone(), shutdown.clone());
            tokio::spawn(async move {
                let topic = Topic::market(&source.symbol);
                let mut player = Player::new(&source);
                let mut timer = tokio::time::interval(tick_every);
                let first = match resume_point(&hub, &topic, &source.bars).await {
                    Some(next) => {
                        for i in 0..next {
                            // Published by the instance this feed moved from: only the
                            // player's state is rebuilt.
                            player.bar(&source.bars, i);
                        }
                        next
                    }
                    None => {
                        let from = config.from.bar(&source.bars.time);
                        let past = player.history(&source.bars, from, config.history_candles);
                        let batch = past.map(|m| (topic.clone(), m)).collect();
                        if let Err(e) = hub.publish_all(batch).await {
                            tracing::error!(%topic, error = %e, "replay could not publish its history");
                        }
                        from
                    }
                };
                if first >= source.bars.len() {
                    return;
                }
                for i in first..source.bars.len() {
                    for (k, message_batch) in player.bar(&source.bars, i).into_iter().enumerate() {
                        if k > 0 || i > first {
                            tokio::select! {
                                _ = shutdown.cancelled() => return,
                                _ = timer.tick() => {}
                            }
                        }
                        let batch = message_batch
                            .into_iter()
                            .map(|m| (topic.clone(), m))
                            .collect();
                        if let Err(e) = hub.publish_all(batch).await {
                            tracing::error!(%topic, error = %e, "replay could not publish");
                        }
                    }
                }
                let last = player
                    .finish()
                    .into_iter()
                    .map(|m| (topic.clone(), m))
                    .collect();
                if let Err(e) = hub.publish_all(last).await {
                    tracing::error!(%topic, error = %e, "replay could not publish its last candle");
                }
                tracing::info!(%topic, bars = source.bars.len(), "replay finished");
            })
        })
        .collect()
}

/// The bar to carry on from after a move from an instance that died (docs/SPEC.md section 8):
/// the bar of the topic's last candle (replayed whole if it was still open, skipped if
/// closed), past the end if the replay had finished; `None` for a topic with no candle
/// yet.
async fn resume_point(hub: &Hub, topic: &Topic, bars: &Bars) -> Option<usize> {
    let snapshot = hub.snapshot(topic).await.ok()?;
    let SnapshotData::Market(market) = snapshot.data else {
        return None;
    };
    let last = market.candles.last()?;
    let at = bars.time.partition_point(|&t| t < last.open_time.unix_ms());
    let next = if last.closed { at + 1 } else { at };
    tracing::info!(%topic, bar = next, "the replay carries on where the topic stands");
    Some(next)
}

/// Turns bars into messages.
struct Player {
    symbol: Symbol,
    reference: f64,
    candles: CandleBuilder,
    analyzer: Analyzer,
    last: Option<protocol::Candle>,
}

impl Player {
    fn new(source: &CsvSource) -> Self {
        Player {
            symbol: source.symbol.clone(),
            reference: source.bars.open[0],
            candles: CandleBuilder::new(
                source.symbol.clone(),
                source.interval,
                DataSource::CsvReplay,
            ),
            analyzer: Analyzer::new(source.symbol.clone()),
            last: None,
        }
    }

    /// The messages of bar `i`, one batch per print.
    fn bar(&mut self, bars: &Bars, i: usize) -> Vec<Vec<Message>> {
        let volume = bars.volume[i] / 4.0;
        prints(bars.open[i], bars.high[i], bars.low[i], bars.close[i])
            .into_iter()
            .map(|price| {
                let (closed, open) = self.candles.update_in(bars.time[i], price, volume);
                let tick = Tick {
                    symbol: self.symbol.clone(),
                    price,
                    change_pct: (price / self.reference - 1.0) * 100.0,
                    volume,
                    source: DataSource::CsvReplay,
                    time: None,
                };
                self.last = Some(open.clone());
                price_messages(closed, &mut self.analyzer, tick, open)
            })
            .collect()
    }

    /// The `count` bars before bar `from`, played silently: their closed candles and
    /// analyses (the last of them stays open until bar `from`'s first print).
    fn history(
        &mut self,
        bars: &Bars,
        from: usize,
        count: usize,
    ) -> impl Iterator<Item = Message> + use<> {
        let from = from.min(bars.len());
        let past: Vec<Message> = (from.saturating_sub(count)..from)
            .flat_map(|i| self.bar(bars, i))
            .flatten()
            .collect();
        history_of(past)
    }

    /// Closes the last candle at the end of the file.
    fn finish(&mut self) -> Vec<Message> {
        let Some(mut last) = self.last.take() else {
            return vec![];
        };
        last.closed = true;
        let analysis = self.analyzer.on_closed(&last);
        std::iter::once(Message::Candle(last))
            .chain(analysis.map(Message::Analysis))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_starts_at_a_bar_number_or_the_first_bar_at_or_after_a_date() {
        let day = 86_400_000;
        let times = [0, day, 2 * day, 5 * day];
        let at = |text: &str| CsvStart::parse(text).map(|s| s.bar(&times));
        assert_eq!(at("2"), Ok(2));
        assert_eq!(at("1970-01-02"), Ok(1));
        assert_eq!(
            at("1970-01-03T12:00:00Z"),
            Ok(3),
            "the next bar after a gap"
        );
        assert_eq!(at("1970-02-01"), Ok(4), "past the end");
        let err = CsvStart::parse("yesterday").unwrap_err();
        assert!(err.contains("neither a bar number nor a date"), "{err}");
    }

    #[test]
    fn a_bar_goes_from_its_open_to_the_nearer_extreme_first() {
        // Up bar opening near its high: the high comes first (not always the low).
        assert_eq!(prints(10.0, 10.5, 8.0, 10.2), [10.0, 10.5, 8.0, 10.2]);
        // Up bar opening near its low: the low first.
        assert_eq!(prints(10.0, 12.0, 9.8, 11.0), [10.0, 9.8, 12.0, 11.0]);
        // Down bar opening near its low: the low first.
        assert_eq!(prints(10.0, 12.0, 9.5, 9.8), [10.0, 9.5, 12.0, 9.8]);
        // Equally near: the bar's direction decides.
        assert_eq!(prints(10.0, 11.0, 9.0, 10.5), [10.0, 9.0, 11.0, 10.5]);
        assert_eq!(prints(10.0, 11.0, 9.0, 9.5), [10.0, 11.0, 9.0, 9.5]);
    }

    fn shared(file: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../data")
            .join(file)
    }

    #[test]
    fn sources_take_their_symbol_interval_and_precision_from_the_file() {
        let eurusd = CsvSource::load(&shared("EURUSD.csv")).unwrap();
        assert_eq!(
            (
                eurusd.symbol.as_str(),
                eurusd.interval.to_string().as_str(),
                eurusd.info.price_decimals
            ),
            ("EURUSD", "1h", 5)
        );
        let goog = CsvSource::load(&shared("GOOG.csv")).unwrap();
        assert_eq!(
            (
                goog.interval.to_string().as_str(),
                goog.info.price_decimals,
                goog.info.source
            ),
            ("1d", 2, DataSource::CsvReplay)
        );
    }

    #[test]
    fn each_bar_replays_as_four_prints_and_candles_match_the_file() {
        let source = CsvSource::load(&shared("GOOG.csv")).unwrap();
        let mut player = Player::new(&source);
        let mut closed = vec![];
        for i in 0..3 {
            let batches = player.bar(&source.bars, i);
            assert_eq!(batches.len(), 4);
            for m in batches.into_iter().flatten() {
                if let Message::Candle(c) = m {
                    if c.closed {
                        closed.push(c);
                    }
                }
            }
        }
        closed.extend(player.finish().into_iter().filter_map(|m| match m {
            Message::Candle(c) => Some(c),
            _ => None,
        }));
        assert_eq!(closed.len(), 3);
        for (i, c) in closed.iter().enumerate() {
            let b = &source.bars;
            assert_eq!(
                (c.open, c.high, c.low, c.close),
                (b.open[i], b.high[i], b.low[i], b.close[i]),
                "bar {i}"
            );
            assert_eq!(c.open_time.unix_ms(), b.time[i]);
            assert!((c.volume - b.volume[i]).abs() < 1e-6);
        }
    }

    #[tokio::test]
    async fn a_replay_that_moves_here_starts_at_the_topics_last_bar() {
        let source = CsvSource::load(&shared("GOOG.csv")).unwrap();
        let hub = Hub::new(crate::hub::HubConfig::default());
        let topic = Topic::market(&source.symbol);
        assert_eq!(
            resume_point(&hub, &topic, &source.bars).await,
            None,
            "a new topic"
        );
        // Published elsewhere: bars 0 to 9 whole, bar 10 only begun.
        let mut player = Player::new(&source);
        for i in 0..10 {
            for message in player.bar(&source.bars, i).into_iter().flatten() {
                hub.publish(&topic, message).await.unwrap();
            }
        }
        let begun = player.bar(&source.bars, 10).remove(0);
        for message in begun {
            hub.publish(&topic, message).await.unwrap();
        }
        assert_eq!(
            resume_point(&hub, &topic, &source.bars).await,
            Some(10),
            "the begun bar is replayed whole, no earlier one"
        );
    }

    #[test]
    fn a_replay_from_a_later_bar_starts_with_the_bars_before_it_as_history() {
        let source = CsvSource::load(&shared("GOOG.csv")).unwrap();
        let mut player = Player::new(&source);
        let from = CsvStart::parse("2010-01-04")
            .unwrap()
            .bar(&source.bars.time);
        let past: Vec<Message> = player.history(&source.bars, from, 300).collect();
        let closed = crate::feed::candles_in(&past);
        assert_eq!(
            closed.len(),
            299,
            "the last stays open until bar `from` begins"
        );
        let b = &source.bars;
        assert_eq!(closed[0].open_time.unix_ms(), b.time[from - 300]);
        assert_eq!(closed[298].close, b.close[from - 2]);
        // The live replay carries on: bar `from`'s first print closes bar `from - 1`.
        let first = player.bar(b, from).remove(0);
        assert!(
            matches!(&first[0], Message::Candle(c) if c.closed && c.close == b.close[from - 1]),
            "{first:?}"
        );
    }
}

//! The synthetic market: one seeded GBM path per symbol, stepped on a timer, published
//! as ticks and candles labelled `source: synthetic`. Not real prices: a reproducible
//! model for demos and tests when no data is replayed.

use std::time::Duration;

use chrono::Utc;
use protocol::{DataSource, Interval, Message, SnapshotData, Symbol, SymbolInfo, Tick, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::analysis::Analyzer;
use super::candles::CandleBuilder;
use super::gbm::{Gbm, GbmParams};
use super::price_messages;
use crate::hub::Hub;

/// What the synthetic feed publishes and how fast.
#[derive(Clone, Debug)]
pub struct SyntheticFeedConfig {
    pub symbols: Vec<Symbol>,
    pub interval: Interval,
    /// Time between two ticks of one symbol.
    pub tick: Duration,
    pub seed: u64,
    /// Closed candles of the model's past a fresh topic starts with.
    pub history_candles: usize,
}

/// Steps of the model per candle of history at most: a 1h chart's past stays quick to
/// make (steps are then longer than a live tick, with volume to match).
const HISTORY_STEPS_PER_CANDLE: i64 = 240;

/// One symbol's model and candle builder.
struct Instrument {
    symbol: Symbol,
    topic: Topic,
    reference_price: f64,
    model: Gbm,
    candles: CandleBuilder,
    analyzer: Analyzer,
}

/// A running-to-be synthetic feed.
pub struct SyntheticFeed {
    config: SyntheticFeedConfig,
    infos: Vec<SymbolInfo>,
}

/// Model parameters and display decimals for well-known symbols; others get a generic
/// 100.00 instrument with 30 % annual volatility.
fn preset(symbol: &str) -> (GbmParams, u8) {
    let (initial_price, drift, volatility, step_volume, decimals) = match symbol {
        "BTC-USD" => (65_000.0, 0.10, 0.60, 0.05, 2),
        "ETH-USD" => (3_200.0, 0.10, 0.75, 0.8, 2),
        "EURUSD" => (1.08, 0.0, 0.08, 25_000.0, 5),
        "GOOG" => (170.0, 0.08, 0.30, 120.0, 2),
        _ => (100.0, 0.05, 0.30, 100.0, 2),
    };
    (
        GbmParams {
            initial_price,
            drift,
            volatility,
            step_volume,
        },
        decimals,
    )
}

/// A per-symbol seed that does not depend on the order symbols are listed in (FNV-1a).
fn symbol_seed(seed: u64, symbol: &Symbol) -> u64 {
    symbol
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

impl SyntheticFeed {
    pub fn new(config: SyntheticFeedConfig) -> Self {
        let infos = config
            .symbols
            .iter()
            .map(|symbol| {
                let (params, price_decimals) = preset(symbol.as_str());
                SymbolInfo {
                    symbol: symbol.clone(),
                    topic: Topic::market(symbol).to_string(),
                    interval: config.interval,
                    source: DataSource::Synthetic,
                    price_decimals,
                    description: format!(
                        "synthetic: geometric Brownian motion from {} (drift {:.0} %/yr, volatility {:.0} %/yr), seed {}",
                        params.initial_price,
                        params.drift * 100.0,
                        params.volatility * 100.0,
                        config.seed
                    ),
                }
            })
            .collect();
        SyntheticFeed { config, infos }
    }

    /// The symbols this feed publishes.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.infos
    }

    /// One model per symbol, each seeded from the feed's seed and its own name.
    fn instruments(&self) -> Vec<Instrument> {
        let config = &self.config;
        config
            .symbols
            .iter()
            .map(|symbol| {
                let (params, _) = preset(symbol.as_str());
                Instrument {
                    symbol: symbol.clone(),
                    topic: Topic::market(symbol),
                    reference_price: params.initial_price,
                    model: Gbm::new(params, symbol_seed(config.seed, symbol)),
                    candles: CandleBuilder::new(
                        symbol.clone(),
                        config.interval,
                        DataSource::Synthetic,
                    ),
                    analyzer: Analyzer::new(symbol.clone()),
                }
            })
            .collect()
    }

    /// Publishes until `shutdown` is cancelled.
    pub fn spawn(&self, hub: Hub, shutdown: CancellationToken) -> JoinHandle<()> {
        let config = self.config.clone();
        let mut instruments = self.instruments();
        tokio::spawn(async move {
            let now_ms = Utc::now().timestamp_millis();
            for inst in &mut instruments {
                if inst.resume(&hub).await {
                    continue;
                }
                let past = inst.history(&config, now_ms);
                let batch = past.map(|m| (inst.topic.clone(), m)).collect();
                if let Err(e) = hub.publish_all(batch).await {
                    tracing::error!(topic = %inst.topic, error = %e, "synthetic feed could not publish its history");
                }
            }
            let mut timer = tokio::time::interval(config.tick);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let dt = config.tick.as_secs_f64();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = timer.tick() => {}
                }
                let now_ms = Utc::now().timestamp_millis();
                // Every symbol's messages of this step in one batch (one round trip on Redis).
                let batch = instruments
                    .iter_mut()
                    .flat_map(|inst| {
                        let topic = inst.topic.clone();
                        inst.step(dt, now_ms)
                            .into_iter()
                            .map(move |m| (topic.clone(), m))
                    })
                    .collect();
                if let Err(e) = hub.publish_all(batch).await {
                    tracing::error!(error = %e, "synthetic feed could not publish");
                }
            }
        })
    }
}

impl Instrument {
    /// Carries on where the topic stands, if it has a price already (the feed moved
    /// here from an instance that died, docs/SPEC.md section 8): same price path, same open
    /// candle, same indicators; no jump in the chart. False for a fresh topic.
    async fn resume(&mut self, hub: &Hub) -> bool {
        let Ok(snapshot) = hub.snapshot(&self.topic).await else {
            return false;
        };
        let SnapshotData::Market(market) = snapshot.data else {
            return false;
        };
        let Some(tick) = market.last_tick else {
            return false;
        };
        tracing::info!(topic = %self.topic, price = tick.price, "the feed carries on from the topic's last price");
        self.model.resume_at(tick.price);
        for candle in market.candles {
            if candle.closed {
                self.analyzer.on_closed(&candle);
            } else {
                self.candles.resume(candle);
            }
        }
        true
    }

    /// The model's past up to `now_ms`: `history_candles` candles, of which all but the
    /// last (still open until the first live tick closes it) are returned closed, with
    /// their analyses. The prices depend on the seed alone; the times end at now.
    fn history(
        &mut self,
        config: &SyntheticFeedConfig,
        now_ms: i64,
    ) -> impl Iterator<Item = Message> + use<> {
        let interval_ms = config.interval.millis();
        let tick_ms = (config.tick.as_millis() as i64).max(1);
        let steps = (interval_ms / tick_ms).clamp(1, HISTORY_STEPS_PER_CANDLE);
        let step_ms = interval_ms / steps;
        let volume_scale = step_ms as f64 / tick_ms as f64;
        let current = now_ms - now_ms.rem_euclid(interval_ms);
        let from = current - config.history_candles as i64 * interval_ms;
        let mut past = Vec::new();
        for k in 0..config.history_candles as i64 * steps {
            let (price, volume) = self.model.step(step_ms as f64 / 1000.0);
            let (closed, _) = self
                .candles
                .update(from + k * step_ms, price, volume * volume_scale);
            let analysis = closed.as_ref().and_then(|c| self.analyzer.on_closed(c));
            past.extend(closed.map(Message::Candle));
            past.extend(analysis.map(Message::Analysis));
        }
        past.into_iter()
    }

    /// Advances the model one tick and returns the messages it produced, in order.
    fn step(&mut self, dt_secs: f64, now_ms: i64) -> Vec<Message> {
        let (price, volume) = self.model.step(dt_secs);
        let (closed, open) = self.candles.update(now_ms, price, volume);
        let tick = Tick {
            symbol: self.symbol.clone(),
            price,
            change_pct: (price / self.reference_price - 1.0) * 100.0,
            volume,
            source: DataSource::Synthetic,
            time: None,
        };
        price_messages(closed, &mut self.analyzer, tick, open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(symbols: &[&str]) -> SyntheticFeedConfig {
        SyntheticFeedConfig {
            symbols: symbols.iter().map(|s| Symbol::parse(s).unwrap()).collect(),
            interval: "1m".parse().unwrap(),
            tick: Duration::from_millis(500),
            seed: 42,
            history_candles: 300,
        }
    }

    #[test]
    fn every_symbol_is_described_as_synthetic_with_its_seed() {
        let feed = SyntheticFeed::new(config(&["BTC-USD", "EURUSD", "ZZZ"]));
        for info in feed.symbols() {
            assert_eq!(info.source, DataSource::Synthetic);
            assert!(info.description.contains("seed 42"), "{}", info.description);
            assert_eq!(info.topic, format!("market:{}", info.symbol));
        }
        assert_eq!(feed.symbols()[1].price_decimals, 5);
    }

    /// The first `n` prices the feed's `symbol` would publish.
    fn path(feed: &SyntheticFeed, symbol: &str, n: usize) -> Vec<f64> {
        let mut inst = feed
            .instruments()
            .into_iter()
            .find(|i| i.symbol.as_str() == symbol)
            .expect("the symbol is listed");
        (0..n).map(|_| inst.model.step(0.5).0).collect()
    }

    #[test]
    fn a_symbol_follows_the_same_path_whatever_else_is_listed() {
        let alone = SyntheticFeed::new(config(&["ETH-USD"]));
        let among = SyntheticFeed::new(config(&["BTC-USD", "ZZZ", "ETH-USD"]));
        let path_alone = path(&alone, "ETH-USD", 200);
        assert_eq!(path_alone, path(&among, "ETH-USD", 200));
        assert!(
            path_alone.windows(2).any(|w| w[0] != w[1]),
            "the price moves"
        );
        let mut other_seed = config(&["ETH-USD"]);
        other_seed.seed = 43;
        assert_ne!(
            path_alone,
            path(&SyntheticFeed::new(other_seed), "ETH-USD", 200),
            "another seed, another path"
        );
        assert_ne!(
            path(&among, "BTC-USD", 200),
            path(&among, "ZZZ", 200),
            "each symbol its own path"
        );
    }

    #[test]
    fn a_step_yields_a_tick_then_the_open_candle_and_the_closed_one_first_on_a_boundary() {
        let feed_config = config(&["GOOG"]);
        let symbol = feed_config.symbols[0].clone();
        let (params, _) = preset("GOOG");
        let mut inst = Instrument {
            topic: Topic::market(&symbol),
            reference_price: params.initial_price,
            model: Gbm::new(params, 1),
            candles: CandleBuilder::new(
                symbol.clone(),
                feed_config.interval,
                DataSource::Synthetic,
            ),
            analyzer: Analyzer::new(symbol.clone()),
            symbol,
        };
        let first = inst.step(0.5, 1_000);
        assert!(matches!(first.as_slice(), [Message::Tick(_), Message::Candle(c)] if !c.closed));
        let across = inst.step(0.5, 61_000);
        assert!(
            matches!(across.as_slice(), [Message::Candle(c), Message::Tick(_), Message::Candle(o)] if c.closed && !o.closed)
        );
    }

    #[test]
    fn a_fresh_topic_starts_with_the_models_past_the_same_for_the_same_seed() {
        let feed = SyntheticFeed::new(config(&["GOOG"]));
        let now = 1_700_000_000_000 + 12_345;
        let past = |feed: &SyntheticFeed| -> Vec<Message> {
            let mut inst = feed.instruments().remove(0);
            inst.history(&feed.config, now).collect()
        };
        let messages = past(&feed);
        let candles = crate::feed::candles_in(&messages);
        assert_eq!(
            candles.len(),
            299,
            "the 300th closes at the first live tick"
        );
        assert!(candles
            .iter()
            .all(|c| c.closed && c.source == DataSource::Synthetic));
        assert!(candles
            .windows(2)
            .all(|w| w[1].open_time.unix_ms() - w[0].open_time.unix_ms() == 60_000));
        let current = now - now.rem_euclid(60_000);
        assert_eq!(candles[298].open_time.unix_ms(), current - 2 * 60_000);
        assert!(
            messages
                .iter()
                .any(|m| matches!(m, Message::Analysis(a) if a.indicators.contains_key("rsi_14"))),
            "the analysis has values"
        );
        assert_eq!(messages, past(&feed), "the same seed, the same past");
        let mut other = config(&["GOOG"]);
        other.seed = 7;
        assert_ne!(messages, past(&SyntheticFeed::new(other)));
    }

    #[tokio::test]
    async fn a_feed_that_moves_here_carries_on_from_the_topics_last_price_and_open_candle() {
        let feed = SyntheticFeed::new(config(&["GOOG"]));
        let hub = Hub::new(crate::hub::HubConfig::default());
        let mut elsewhere = feed.instruments().remove(0);
        elsewhere.model.resume_at(250.0);
        for message in elsewhere.step(0.5, 1_000) {
            hub.publish(&elsewhere.topic, message).await.unwrap();
        }
        let mut here = feed.instruments().remove(0);
        here.resume(&hub).await;
        let step = here.step(0.5, 2_000);
        let [Message::Tick(tick), Message::Candle(open)] = step.as_slice() else {
            panic!("a tick and the open candle: {step:?}");
        };
        assert!(
            (tick.price / 250.0 - 1.0).abs() < 0.01,
            "{} is not near 250",
            tick.price
        );
        assert_eq!(
            open.open,
            elsewhere.model.price(),
            "the same open candle goes on"
        );
    }
}

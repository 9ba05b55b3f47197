//! Starts the market feeds `--feed` names (docs/MARKETS.md): the synthetic model, CSV
//! replays and venues, side by side, once per cluster (on Redis, on the feed lease's
//! holder). Two feeds may not name one topic.

use std::time::Duration;

use protocol::client::ReconnectPolicy;
use protocol::{Symbol, SymbolInfo, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ServeArgs;
use crate::feed::csv_feed::{self, CsvFeedConfig, CsvSource};
use crate::feed::venue::{self, spec, Endpoints, FeedSpec, FeedStatuses, Timing, VenueFeed};
use crate::feed::{SyntheticFeed, SyntheticFeedConfig};
use crate::hub::Hub;

/// How often a venue's market is expected to print at the least, for staleness: quiet
/// markets print less, so a page calls a venue topic stale only after 4 of these.
const VENUE_PERIOD: Duration = Duration::from_secs(5);

/// The feeds a server runs.
pub struct Feeds {
    /// Every symbol published, as `GET /api/market/symbols` lists them.
    pub symbols: Vec<SymbolInfo>,
    /// The longest period between two publishes of one symbol (for staleness).
    pub market_period: Option<Duration>,
    /// The venue feeds' connections, for health.
    pub statuses: FeedStatuses,
}

/// A feed ready to start.
enum Ready {
    Synthetic(SyntheticFeed),
    Csv(Vec<CsvSource>, CsvFeedConfig),
    Venue(VenueFeed, Endpoints),
}

/// Checks every `--feed`, then starts them together.
pub fn start(args: &ServeArgs, hub: &Hub, shutdown: &CancellationToken) -> anyhow::Result<Feeds> {
    let specs = &args.feed;
    if specs.contains(&FeedSpec::Off) && specs.len() > 1 {
        anyhow::bail!("--feed off cannot go with other feeds");
    }
    let mut ready = Vec::new();
    let mut symbols: Vec<SymbolInfo> = Vec::new();
    let mut named: Vec<(String, Vec<Symbol>)> = Vec::new();
    let mut periods = Vec::new();
    for spec in specs {
        match spec {
            FeedSpec::Off => {}
            FeedSpec::Synthetic if ready.iter().any(|r| matches!(r, Ready::Synthetic(_))) => {
                anyhow::bail!("--feed synthetic is given twice")
            }
            FeedSpec::Csv if ready.iter().any(|r| matches!(r, Ready::Csv(..))) => {
                anyhow::bail!("--feed csv is given twice")
            }
            FeedSpec::Synthetic => {
                let feed = SyntheticFeed::new(SyntheticFeedConfig {
                    symbols: args.symbols.clone(),
                    interval: args.interval,
                    tick: args.tick(),
                    seed: args.seed,
                    history_candles: args.history_candles as usize,
                });
                named.push((
                    "the synthetic feed (--symbols)".into(),
                    args.symbols.clone(),
                ));
                symbols.extend(feed.symbols().iter().cloned());
                if !feed.symbols().is_empty() {
                    periods.push(args.tick());
                    ready.push(Ready::Synthetic(feed));
                }
            }
            FeedSpec::Csv => {
                let (sources, config) = csv_sources(args)?;
                named.push((
                    "the csv feed (--replay)".into(),
                    sources.iter().map(|s| s.symbol.clone()).collect(),
                ));
                symbols.extend(sources.iter().map(|s| s.info.clone()));
                periods.extend(Duration::try_from_secs_f64(args.replay_speed.recip()).ok());
                ready.push(Ready::Csv(sources, config));
            }
            FeedSpec::Venue(feed) => {
                let url = |urls: &[crate::config::VenueUrl]| {
                    urls.iter()
                        .rev()
                        .find(|u| u.venue == feed.venue)
                        .map(|u| u.url.clone())
                };
                let endpoints = Endpoints {
                    ws: url(&args.feed_ws_url),
                    rest: url(&args.feed_rest_url),
                };
                for market in &feed.markets {
                    named.push((
                        format!("{}:{}", feed.venue, market.venue_symbol),
                        vec![market.symbol.clone()],
                    ));
                    symbols.push(SymbolInfo {
                        symbol: market.symbol.clone(),
                        topic: Topic::market(&market.symbol).to_string(),
                        interval: args.interval,
                        source: feed.venue.source(),
                        price_decimals: spec::price_decimals(&market.venue_symbol),
                        description: format!(
                            "live trades of {} on {}",
                            market.venue_symbol, feed.venue
                        ),
                    });
                }
                periods.push(VENUE_PERIOD);
                ready.push(Ready::Venue(feed.clone(), endpoints));
            }
        }
    }
    spec::check_distinct(
        named
            .iter()
            .map(|(feed, symbols)| (feed.clone(), symbols.as_slice())),
    )
    .map_err(anyhow::Error::msg)?;
    let statuses = FeedStatuses::default();
    if !ready.is_empty() {
        let timing = Timing {
            silence: Duration::from_secs(args.feed_silence_secs),
            backoff: ReconnectPolicy {
                base_ms: 500.0,
                jitter: 0.5,
                ..ReconnectPolicy::default()
            },
            history_candles: args.history_candles as usize,
            interval: args.interval,
            max_connection_age: (args.feed_max_connection_secs > 0)
                .then(|| Duration::from_secs(args.feed_max_connection_secs)),
        };
        let statuses = statuses.clone();
        spawn_once_per_cluster(hub, shutdown, move |hub, stop| {
            ready
                .iter()
                .flat_map(|feed| match feed {
                    Ready::Synthetic(feed) => vec![feed.spawn(hub.clone(), stop.clone())],
                    Ready::Csv(sources, config) => {
                        csv_feed::spawn(sources.clone(), *config, hub.clone(), stop.clone())
                    }
                    Ready::Venue(feed, endpoints) => vec![venue::spawn(
                        feed.clone(),
                        endpoints.clone(),
                        timing,
                        hub.clone(),
                        statuses.clone(),
                        stop.clone(),
                    )],
                })
                .collect()
        });
    }
    Ok(Feeds {
        symbols,
        market_period: periods.into_iter().max(),
        statuses,
    })
}

/// The `--replay` files and how to replay them.
fn csv_sources(args: &ServeArgs) -> anyhow::Result<(Vec<CsvSource>, CsvFeedConfig)> {
    if args.replay.is_empty() {
        anyhow::bail!("--feed csv needs --replay FILE[,FILE…]");
    }
    if !(args.replay_speed.is_finite() && args.replay_speed > 0.0) {
        anyhow::bail!("--replay-speed must be a positive number of bars per second");
    }
    let sources = args
        .replay
        .iter()
        .map(|path| CsvSource::load(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for source in &sources {
        let from = args.replay_from.bar(&source.bars.time);
        if from >= source.bars.len() {
            anyhow::bail!(
                "--replay-from is past the end of {} ({} bars)",
                source.symbol,
                source.bars.len()
            );
        }
    }
    let config = CsvFeedConfig {
        bars_per_second: args.replay_speed,
        from: args.replay_from,
        history_candles: args.history_candles as usize,
    };
    Ok((sources, config))
}

/// Runs the feeds on one instance of the cluster at a time (all of them, under one
/// lease), restarting them where another instance left off when it dies.
fn spawn_once_per_cluster(
    hub: &Hub,
    shutdown: &CancellationToken,
    mut start: impl FnMut(Hub, CancellationToken) -> Vec<JoinHandle<()>> + Send + 'static,
) {
    let (hub, shutdown) = (hub.clone(), shutdown.clone());
    tokio::spawn(async move {
        hub.run_once_per_cluster("feed", shutdown, |hub, stop| {
            let tasks = start(hub, stop);
            async move {
                for task in tasks {
                    let _ = task.await;
                }
            }
        })
        .await;
    });
}

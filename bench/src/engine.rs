//! `tickwire-bench bench-engine`: backtest engine throughput in bars/s for `sma_cross`, on a
//! CSV file and on a long seeded synthetic series, with streaming off (no observer) and
//! on (progress, equity and trades published to a hub at the default frequency, the
//! topic recorded as the server records a run's; with `--keep URL`, each recorded frame
//! also handed to that store's writer, as the server keeps runs: docs/STORE.md).
//!
//! One timing on a shared machine is noise (±40 % run to run), so each figure is the
//! median of many samples, off and on taken in turn so both see the same conditions,
//! printed with the samples' min–max.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use server::backtest::live::control::RunControl;
use server::backtest::request::Frequency;
use server::backtest::{run_silent, Account, Bars, Strategy};
use server::backtest::{run_streaming, Plan};
use server::feed::{Gbm, GbmParams};
use server::hub::{Hub, HubConfig};
use server::store::{Ended, Store};

/// Flags of `tickwire-bench bench-engine`.
#[derive(Args, Debug, Clone)]
pub struct BenchEngineArgs {
    /// CSV file to run on (e.g. data/EURUSD.csv).
    #[arg(long)]
    pub data: PathBuf,
    /// Length of the synthetic series.
    #[arg(long, default_value_t = 10_000_000)]
    pub synthetic_bars: usize,
    #[arg(long, default_value_t = 10)]
    pub fast: usize,
    #[arg(long, default_value_t = 20)]
    pub slow: usize,
    /// Samples per figure (off and on taken in turn).
    #[arg(long, default_value_t = 21)]
    pub samples: usize,
    /// Each sample repeats the run for at least this long (and runs it at least once).
    #[arg(long, default_value_t = 100)]
    pub sample_ms: u64,
    /// Keep each streamed run in this store (`sqlite://PATH`, `postgres://…`), as the
    /// server does: its recorded frames go to the store's writer.
    #[arg(long)]
    pub keep: Option<String>,
}

/// How a benchmark run ends in the store (no row is kept for it: only its messages).
fn ended() -> Ended {
    Ended {
        status: protocol::RunStatus::Complete,
        finished_ms: None,
        final_equity: None,
        record_cut: false,
        info: "{}".to_owned(),
    }
}

/// `future`'s output, from this synchronous benchmark inside the runtime.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// A seeded GBM series of hourly bars (open = previous close), labelled synthetic.
pub fn synthetic_bars(n: usize, seed: u64) -> Bars {
    let params = GbmParams {
        initial_price: 100.0,
        drift: 0.05,
        volatility: 0.3,
        step_volume: 1_000.0,
    };
    let mut model = Gbm::new(params, seed);
    let mut bars = Bars::default();
    let mut previous = model.price();
    for i in 0..n {
        let (close, volume) = model.step(3600.0);
        bars.time.push(i as i64 * 3_600_000);
        bars.open.push(previous);
        bars.high.push(previous.max(close));
        bars.low.push(previous.min(close));
        bars.close.push(close);
        bars.volume.push(volume);
        previous = close;
    }
    bars
}

/// Runs `f` until the time it reports adds up to at least `min` (and at least once);
/// returns runs per second of that time.
fn rate(min: Duration, f: &mut impl FnMut() -> Duration) -> f64 {
    let (mut spent, mut runs) = (Duration::ZERO, 0u64);
    while runs == 0 || spent < min {
        spent += f();
        runs += 1;
    }
    runs as f64 / spent.as_secs_f64()
}

/// How long `f` takes.
fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}
/// The median, min and max of some samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no samples (or a NaN among them).
    pub fn of(samples: &[f64]) -> Option<Spread> {
        let mut sorted = samples.to_vec();
        if sorted.iter().any(|x| x.is_nan()) {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let (min, max) = (*sorted.first()?, *sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Some(Spread { median, min, max })
    }
}

impl std::fmt::Display for Spread {
    /// In millions: `median 39.72 M (min 31.30, max 43.46)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {:>6.2} M (min {:>6.2}, max {:>6.2})",
            self.median / 1e6,
            self.min / 1e6,
            self.max / 1e6
        )
    }
}

/// Bars/s of `off` and `on`, `samples` of each taken in turn.
fn sample_pair(
    samples: usize,
    min: Duration,
    bars: usize,
    mut off: impl FnMut() -> Duration,
    mut on: impl FnMut() -> Duration,
) -> (Vec<f64>, Vec<f64>) {
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for _ in 0..samples.max(1) {
        offs.push(rate(min, &mut off) * bars as f64);
        ons.push(rate(min, &mut on) * bars as f64);
    }
    (offs, ons)
}

fn measure(
    label: &str,
    bars: &Bars,
    strategy: &Strategy,
    args: &BenchEngineArgs,
    store: Option<&Store>,
) {
    let account = Account::default();
    let mut trades = 0;
    // Streaming on: exactly what the server runs (progress, equity and trades and the log
    // layer, published to a hub) at the default frequency, each run on a topic of its
    // own as in the server: the last run's topic is dropped before the next starts, and
    // that clean-up is not timed (the server's happens long after, when the run expires).
    let hub = Hub::new(HubConfig::default());
    let plan = Plan {
        id: "bench".into(),
        topic: "backtest:bench".parse().expect("a valid topic"),
        symbol: label.into(),
        bars: bars.clone(),
        strategy: strategy.clone(),
        account,
        frequency: Frequency::default(),
        start_paused: false,
        pace: None,
    };
    let (plan, control) = (Arc::new(plan), Arc::new(RunControl::default()));
    let (offs, ons) = sample_pair(
        args.samples,
        Duration::from_millis(args.sample_ms),
        bars.len(),
        || timed(|| trades = run_silent(bars, strategy, account).trades.len()),
        || {
            // The last run's record is kept before its topic goes (untimed: the
            // server's writer works beside the engine, not in its way).
            if let Some(store) = store {
                block_on(store.flush());
            }
            hub.forget(&plan.topic);
            if let Err(e) = block_on(hub.record(&plan.topic)) {
                eprintln!("the run's topic is not recorded: {e}");
            }
            if let Some(store) = store {
                store.follow("backtest", &plan.id, &plan.topic, &hub, 0);
            }
            let took = timed(|| {
                run_streaming(&hub, plan.clone(), control.clone());
            });
            if let Some(store) = store {
                store.end("backtest", &plan.id, ended());
            }
            took
        },
    );
    let costs: Vec<f64> = offs
        .iter()
        .zip(&ons)
        .map(|(off, on)| (1.0 - on / off) * 100.0)
        .collect();
    let (Some(off), Some(on), Some(cost)) =
        (Spread::of(&offs), Spread::of(&ons), Spread::of(&costs))
    else {
        println!("{label}: no samples");
        return;
    };
    println!(
        "{label:<34} {:>10} bars {:>6} trades   {} samples",
        bars.len(),
        trades,
        offs.len()
    );
    println!("    off  bars/s {off}");
    println!("    on   bars/s {on}");
    println!(
        "    streaming cost {:>5.1} % of the medians (samples taken in turn: median {:.1} %, min {:.1} %, max {:.1} %)",
        (1.0 - on.median / off.median) * 100.0,
        cost.median,
        cost.min,
        cost.max
    );
}

pub fn run_cli(args: BenchEngineArgs) -> anyhow::Result<()> {
    let params = [
        ("fast".to_string(), args.fast as f64),
        ("slow".to_string(), args.slow as f64),
    ]
    .into_iter()
    .collect();
    let strategy =
        Strategy::from_params("sma_cross", &params).map_err(|e| anyhow::anyhow!("{e}"))?;
    let file =
        Bars::load(&args.data).with_context(|| format!("loading {}", args.data.display()))?;
    let store = match &args.keep {
        Some(url) => block_on(Store::open(url)).context("--keep: opening the store")?,
        None => None,
    };
    println!(
        "sma_cross fast={} slow={}, cash 10000, commission 0 (release build); {} samples of at least {} ms per figure, off and on in turn; runs recorded{}",
        args.fast,
        args.slow,
        args.samples,
        args.sample_ms,
        if store.is_some() { " and kept in the store" } else { "" }
    );
    let store = store.as_ref();
    measure(
        &format!("{}", args.data.display()),
        &file,
        &strategy,
        &args,
        store,
    );
    let synthetic = synthetic_bars(args.synthetic_bars, 42);
    measure(
        "synthetic GBM series (seed 42)",
        &synthetic,
        &strategy,
        &args,
        store,
    );
    if let Some(store) = store {
        block_on(store.flush());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_is_the_median_and_the_extremes() {
        let odd = Spread::of(&[3.0, 1.0, 2.0]).expect("samples");
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let even = Spread::of(&[4.0, 1.0, 2.0, 3.0]).expect("samples");
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[1.0, f64::NAN]), None);
    }
}

//! `tickwire bench-engine`: backtest engine throughput in bars/s for `sma_cross`, on a
//! CSV file and on a long seeded synthetic series, with streaming off (no observer) and
//! on (progress, equity and trades published to a hub at the default frequency).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::backtest::control::RunControl;
use crate::backtest::stream::Frequency;
use crate::backtest::{run, Account, Bars, Silent, Strategy};
use crate::backtest::{run_streaming, Plan};
use crate::feed::{Gbm, GbmParams};
use crate::hub::{Hub, HubConfig};

/// Flags of `tickwire bench-engine`.
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

/// Runs `f` until at least `min` has passed (and at least once); returns runs per second.
fn rate(min: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut runs = 0u64;
    while runs == 0 || start.elapsed() < min {
        f();
        runs += 1;
    }
    runs as f64 / start.elapsed().as_secs_f64()
}

fn measure(label: &str, bars: &Bars, strategy: &Strategy) -> (f64, f64) {
    let account = Account::default();
    let min = Duration::from_secs(2);
    let mut trades = 0;
    let off = rate(min, || {
        trades = run(bars, strategy, account, &mut Silent).trades.len();
    }) * bars.len() as f64;
    // Streaming on: exactly what the server runs (progress, equity, trades and the log
    // layer, published to a hub) at the default frequency.
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
    let on = rate(min, || {
        run_streaming(&hub, plan.clone(), control.clone());
    }) * bars.len() as f64;
    println!(
        "{label:<34} {:>10} bars {:>6} trades   off {:>12.0} bars/s   on {:>12.0} bars/s   streaming cost {:>5.1} %",
        bars.len(),
        trades,
        off,
        on,
        (1.0 - on / off) * 100.0
    );
    (off, on)
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
    println!(
        "sma_cross fast={} slow={}, cash 10000, commission 0 (release build, one core)",
        args.fast, args.slow
    );
    measure(&format!("{}", args.data.display()), &file, &strategy);
    let synthetic = synthetic_bars(args.synthetic_bars, 42);
    measure("synthetic GBM series (seed 42)", &synthetic, &strategy);
    Ok(())
}

//! The engine on the shared real data: invariants that must hold bar by bar, checked
//! against an independent reconstruction from the trades.

use std::path::Path;

use protocol::Side;
use server::backtest::{run, Account, Bars, Event, Flow, Observer, Strategy};

fn shared(file: &str) -> Bars {
    Bars::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data")
            .join(file),
    )
    .expect("shared data loads")
}

fn sma_cross(fast: f64, slow: f64) -> Strategy {
    Strategy::from_params(
        "sma_cross",
        &[("fast".to_string(), fast), ("slow".to_string(), slow)]
            .into_iter()
            .collect(),
    )
    .unwrap()
}

#[derive(Default)]
struct Recorder {
    equity: Vec<f64>,
    entries: Vec<(usize, Side, f64, f64)>,
}

impl Observer for Recorder {
    fn bar(&mut self, _: usize, equity: f64, _: f64, _: u64) -> Flow {
        self.equity.push(equity);
        Flow::Continue
    }
    fn event(&mut self, event: Event<'_>) {
        if let Event::Entry {
            bar,
            side,
            units,
            price,
            ..
        } = event
        {
            self.entries.push((bar, side, units, price));
        }
    }
}

/// Equity rebuilt from the trades alone: starting cash, plus every closed trade's net
/// P&L, plus the open trade marked to the close net of its entry commission.
fn rebuilt_equity(bars: &Bars, outcome: &server::backtest::Outcome, account: Account) -> Vec<f64> {
    (0..bars.len())
        .map(|i| {
            let mut equity = account.cash;
            for t in &outcome.trades {
                if t.exit_bar < i
                    || (t.exit_bar == i
                        && t.exit_reason == server::backtest::engine::ExitReason::Signal)
                {
                    equity += t.pnl;
                } else if t.entry_bar <= i {
                    let marked = t.side.sign() * t.units * (bars.close[i] - t.entry_price);
                    equity += marked - account.commission * t.units * t.entry_price;
                }
            }
            equity
        })
        .collect()
}

fn check_invariants(file: &str, strategy: Strategy, account: Account) {
    let bars = shared(file);
    let signals = strategy.signals(&bars.close);
    let mut rec = Recorder::default();
    let out = run(&bars, &strategy, account, &mut rec);

    // Equity = cash + position value at every bar, as rebuilt independently.
    let rebuilt = rebuilt_equity(&bars, &out, account);
    for (i, (got, want)) in rec.equity.iter().zip(&rebuilt).enumerate() {
        assert!(
            (got - want).abs() < 1e-6 * want.abs().max(1.0),
            "{file} bar {i}: engine {got}, rebuilt {want}"
        );
    }
    // Every signal that changes direction, except one on the last bar, fills at the next
    // bar's open, never earlier; a repeat of the current direction does nothing.
    let mut direction = None;
    let fillable: Vec<usize> = (0..bars.len() - 1)
        .filter(|&i| {
            let changes = signals[i].is_some() && signals[i] != direction;
            if changes {
                direction = signals[i];
            }
            changes
        })
        .collect();
    assert_eq!(
        rec.entries.len(),
        fillable.len(),
        "{file}: one entry per crossing"
    );
    for ((bar, side, _, price), signal_bar) in rec.entries.iter().zip(&fillable) {
        assert_eq!(
            *bar,
            signal_bar + 1,
            "{file}: fill one bar after its signal"
        );
        assert_eq!(Some(*side), signals[*signal_bar]);
        assert_eq!(*price, bars.open[*bar], "{file}: fills at the open");
    }
    assert_eq!(
        out.trades.len(),
        fillable.len(),
        "{file}: trade count equals crossings"
    );
    let net: f64 = out.trades.iter().map(|t| t.pnl).sum();
    assert!(
        (out.final_equity - (account.cash + net)).abs() < 1e-6 * out.final_equity.abs(),
        "{file}: final equity = cash + net P&L"
    );
    let wins = out.trades.iter().filter(|t| t.pnl > 0.0).count() as f64;
    assert!((out.metrics.win_rate - wins / out.trades.len() as f64 * 100.0).abs() < 1e-9);
}

#[test]
fn goog_sma_cross_keeps_every_invariant() {
    check_invariants(
        "GOOG.csv",
        sma_cross(10.0, 20.0),
        Account {
            cash: 10_000.0,
            commission: 0.002,
        },
    );
}

#[test]
fn eurusd_sma_cross_keeps_every_invariant() {
    check_invariants(
        "EURUSD.csv",
        sma_cross(10.0, 30.0),
        Account {
            cash: 10_000.0,
            commission: 0.0,
        },
    );
}

#[test]
fn eurusd_rsi_reversion_keeps_every_invariant() {
    let s = Strategy::from_params("rsi_reversion", &Default::default()).unwrap();
    check_invariants(
        "EURUSD.csv",
        s,
        Account {
            cash: 10_000.0,
            commission: 0.0005,
        },
    );
}

#[test]
fn buy_and_hold_on_goog_earns_the_move_from_the_second_open_to_the_last_close() {
    let bars = shared("GOOG.csv");
    let s = Strategy::from_params("buy_and_hold", &Default::default()).unwrap();
    let out = run(&bars, &s, Account::default(), &mut server::backtest::Silent);
    assert_eq!(out.trades.len(), 1);
    let t = &out.trades[0];
    let units = (10_000.0 / bars.open[1]).floor();
    assert_eq!((t.entry_bar, t.units), (1, units));
    assert!((t.pnl - units * (bars.close[bars.len() - 1] - bars.open[1])).abs() < 1e-6);
    assert!(
        (out.metrics.exposure_pct - (bars.len() - 1) as f64 / bars.len() as f64 * 100.0).abs()
            < 1e-9
    );
}

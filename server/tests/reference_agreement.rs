//! tickwire's engine against an independent implementation of the same rules
//! (`scripts/reference/backtest.py`, plain Python written from the spec): on every
//! dataset in `data/`, every strategy with several parameter sets and commissions —
//! including runs that blow the account — they must agree trade for trade (bars, side,
//! units and prices exactly; P&L within 1e-9 relative) and metric for metric (within
//! 1e-9 relative, or 1e-9 absolute near zero).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use server::backtest::{run, Account, Bars, ExitReason, Outcome, Silent, Strategy};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const DATASETS: [&str; 3] = ["GOOG.csv", "EURUSD.csv", "BTCUSD.csv"];
const COMMISSIONS: [f64; 3] = [0.0, 0.001, 0.01];

/// Whether `a` and `b` agree to 1e-9, relative (absolute near zero).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

struct Case<'a> {
    file: &'a str,
    strategy: &'a str,
    params: &'a [(&'a str, f64)],
    commission: f64,
}

impl Case<'_> {
    fn name(&self) -> String {
        format!(
            "{} {} {:?} commission {}",
            self.file, self.strategy, self.params, self.commission
        )
    }

    fn reference(&self) -> Value {
        let mut command = Command::new("python3");
        command
            .arg(repo().join("scripts/reference/backtest.py"))
            .arg(repo().join("data").join(self.file))
            .args(["--strategy", self.strategy])
            .args(["--commission", &self.commission.to_string()]);
        for (name, value) in self.params {
            command.arg(format!("--{name}")).arg(value.to_string());
        }
        let output = command
            .output()
            .expect("python3 runs the reference implementation");
        assert!(
            output.status.success(),
            "{}: {}",
            self.name(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the reference prints JSON")
    }

    fn ours(&self) -> Outcome {
        let bars = Bars::load(&repo().join("data").join(self.file)).expect("the data loads");
        let params = self
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let strategy = Strategy::from_params(self.strategy, &params).expect("valid parameters");
        run(
            &bars,
            &strategy,
            Account {
                cash: 10_000.0,
                commission: self.commission,
            },
            &mut Silent,
        )
    }

    /// Runs both and asserts agreement; returns whether the account was blown.
    fn agree(&self) -> bool {
        let (ours, reference) = (self.ours(), self.reference());
        let name = self.name();
        let trades = reference["trades"].as_array().expect("trades");
        assert_eq!(ours.trades.len(), trades.len(), "{name}: trade count");
        for (i, (t, r)) in ours.trades.iter().zip(trades).enumerate() {
            let here = format!("{name} trade {i}");
            assert_eq!(
                t.entry_bar as u64,
                r["entry_bar"].as_u64().unwrap(),
                "{here}: entry bar"
            );
            assert_eq!(
                t.exit_bar as u64,
                r["exit_bar"].as_u64().unwrap(),
                "{here}: exit bar"
            );
            assert_eq!(
                t.side.sign() as i64,
                r["side"].as_i64().unwrap(),
                "{here}: side"
            );
            assert_eq!(t.units, r["units"].as_f64().unwrap(), "{here}: units");
            assert_eq!(
                t.entry_price,
                r["entry_price"].as_f64().unwrap(),
                "{here}: entry"
            );
            assert_eq!(
                t.exit_price,
                r["exit_price"].as_f64().unwrap(),
                "{here}: exit"
            );
            let pnl = r["pnl"].as_f64().unwrap();
            assert!(close(t.pnl, pnl), "{here}: pnl {} vs {pnl}", t.pnl);
            let reason = match t.exit_reason {
                ExitReason::Signal => "signal",
                ExitReason::EndOfData => "end_of_data",
                ExitReason::Blown => "blown",
            };
            assert_eq!(reason, r["reason"], "{here}: exit reason");
        }
        assert_eq!(
            ours.bars as u64,
            reference["bars"].as_u64().unwrap(),
            "{name}: bars"
        );
        assert_eq!(
            ours.blown,
            reference["blown"].as_bool().unwrap(),
            "{name}: blown"
        );
        let final_equity = reference["final_equity"].as_f64().unwrap();
        assert!(
            close(ours.final_equity, final_equity),
            "{name}: final equity {} vs {final_equity}",
            ours.final_equity
        );
        assert!(ours.final_equity >= 0.0, "{name}: equity is floored at 0");

        let m = &ours.metrics;
        let r = &reference["metrics"];
        for (metric, value) in [
            ("return_pct", m.return_pct),
            ("sharpe", m.sharpe),
            ("sortino", m.sortino),
            ("max_drawdown_pct", m.max_drawdown_pct),
            ("win_rate", m.win_rate),
            ("exposure_pct", m.exposure_pct),
        ] {
            let want = r[metric].as_f64().unwrap();
            assert!(close(value, want), "{name}: {metric} {value} vs {want}");
        }
        assert_eq!(m.trades, r["trades"].as_u64().unwrap(), "{name}: trades");
        match (m.profit_factor, r["profit_factor"].as_f64()) {
            (None, None) => {}
            (Some(ours), Some(want)) => {
                assert!(close(ours, want), "{name}: profit factor {ours} vs {want}");
                assert!(ours.is_sign_positive(), "{name}: profit factor is never -0");
            }
            other => panic!("{name}: profit factor {other:?}"),
        }
        ours.blown
    }
}

/// Every dataset × every commission × each parameter set of `strategy`; returns how
/// many runs blew the account.
fn agree_everywhere(strategy: &str, param_sets: &[&[(&str, f64)]]) -> usize {
    let mut blown = 0;
    for file in DATASETS {
        for commission in COMMISSIONS {
            for params in param_sets {
                let case = Case {
                    file,
                    strategy,
                    params,
                    commission,
                };
                blown += usize::from(case.agree());
            }
        }
    }
    blown
}

#[test]
fn sma_cross_agrees_with_the_reference_on_every_dataset() {
    agree_everywhere(
        "sma_cross",
        &[
            &[("fast", 10.0), ("slow", 20.0)],
            &[("fast", 5.0), ("slow", 50.0)],
            &[("fast", 3.0), ("slow", 12.0)],
        ],
    );
}

#[test]
fn rsi_reversion_agrees_with_the_reference_on_every_dataset_including_blown_accounts() {
    let blown = agree_everywhere(
        "rsi_reversion",
        &[
            &[("period", 14.0), ("lower", 30.0), ("upper", 70.0)],
            &[("period", 7.0), ("lower", 20.0), ("upper", 80.0)],
            &[("period", 3.0), ("lower", 40.0), ("upper", 60.0)],
        ],
    );
    assert!(
        blown > 0,
        "the set includes runs that blow the account (shorts on BTCUSD's rally)"
    );
}

#[test]
fn buy_and_hold_agrees_with_the_reference_on_every_dataset() {
    agree_everywhere("buy_and_hold", &[&[]]);
}

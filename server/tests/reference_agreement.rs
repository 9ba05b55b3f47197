//! tickwire's engine against an independent implementation of the same rules
//! (`scripts/reference/backtest.py`, plain Python written from the spec): they must
//! agree trade for trade on the shared real data.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use server::backtest::{run, Account, Bars, Silent, Strategy};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn agree(file: &str, fast: usize, slow: usize, commission: f64) {
    let data = repo().join("data").join(file);
    let output = Command::new("python3")
        .arg(repo().join("scripts/reference/backtest.py"))
        .arg(&data)
        .args([
            "--fast",
            &fast.to_string(),
            "--slow",
            &slow.to_string(),
            "--commission",
            &commission.to_string(),
        ])
        .output()
        .expect("python3 runs the reference implementation");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference: Value =
        serde_json::from_slice(&output.stdout).expect("the reference prints JSON");
    let reference_trades = reference["trades"].as_array().expect("trades");

    let bars = Bars::load(&data).unwrap();
    let params = [
        ("fast".to_string(), fast as f64),
        ("slow".to_string(), slow as f64),
    ]
    .into_iter()
    .collect();
    let strategy = Strategy::from_params("sma_cross", &params).unwrap();
    let ours = run(
        &bars,
        &strategy,
        Account {
            cash: 10_000.0,
            commission,
        },
        &mut Silent,
    );

    assert_eq!(
        ours.trades.len(),
        reference_trades.len(),
        "{file} {fast}/{slow}: trade count"
    );
    for (i, (t, r)) in ours.trades.iter().zip(reference_trades).enumerate() {
        let here = format!("{file} {fast}/{slow} trade {i}");
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
            i64::from(t.side),
            r["side"].as_i64().unwrap(),
            "{here}: side"
        );
        assert_eq!(t.units, r["units"].as_f64().unwrap(), "{here}: units");
        assert_eq!(
            t.entry_price,
            r["entry_price"].as_f64().unwrap(),
            "{here}: entry price"
        );
        assert_eq!(
            t.exit_price,
            r["exit_price"].as_f64().unwrap(),
            "{here}: exit price"
        );
        let pnl = r["pnl"].as_f64().unwrap();
        assert!(
            (t.pnl - pnl).abs() <= 1e-9 * pnl.abs().max(1.0),
            "{here}: pnl {} vs {pnl}",
            t.pnl
        );
    }
    let final_equity = reference["final_equity"].as_f64().unwrap();
    assert!(
        (ours.final_equity - final_equity).abs() <= 1e-9 * final_equity,
        "{file}: final equity"
    );
}

#[test]
fn goog_sma_cross_agrees_with_the_reference_trade_for_trade() {
    agree("GOOG.csv", 10, 20, 0.0);
    agree("GOOG.csv", 10, 20, 0.002);
    agree("GOOG.csv", 5, 50, 0.001);
}

#[test]
fn eurusd_sma_cross_agrees_with_the_reference_trade_for_trade() {
    agree("EURUSD.csv", 10, 30, 0.0);
    agree("EURUSD.csv", 20, 100, 0.0002);
}

#[test]
fn btcusd_sma_cross_agrees_with_the_reference_trade_for_trade() {
    agree("BTCUSD.csv", 3, 12, 0.0);
}

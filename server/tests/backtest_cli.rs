//! `tickwire backtest` as a user runs it: in-process and against a real server
//! (`--url`) it prints the same result, and bad input ends it with an error that names
//! the problem and a failing exit status.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// How long one CLI run may take before the test fails instead of hanging.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

fn goog() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/GOOG.csv")
        .display()
        .to_string()
}

async fn tickwire(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(CLI_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("`tickwire {}` ends within {CLI_TIMEOUT:?}", args.join(" ")))
        .expect("tickwire runs")
}

/// Runs `tickwire backtest … --json` and parses its report.
async fn report(extra: &[&str]) -> Value {
    let data = goog();
    let mut args = vec![
        "backtest",
        "--data",
        &data,
        "--strategy",
        "sma_cross",
        "--param",
        "fast=10",
        "--param",
        "slow=30",
        "--commission",
        "0.002",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = tickwire(&args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints one JSON report")
}

#[tokio::test]
async fn in_process_and_remote_runs_print_the_same_result() {
    let local = report(&[]).await;
    assert_eq!(local["strategy"], "sma_cross");
    assert_eq!(local["params"]["fast"], 10.0);
    assert!(
        local["metrics"]["trades"].as_u64().expect("a trade count") > 0,
        "{local}"
    );

    let running = server(|a| a.symbols.clear()).await;
    let url = format!("http://{}", running.addr);
    let remote = report(&["--url", &url]).await;
    assert_eq!(remote["final_equity"], local["final_equity"]);
    assert_eq!(remote["metrics"], local["metrics"]);
    assert_eq!(remote["params"], local["params"]);
}

#[tokio::test]
async fn the_table_names_every_metric() {
    let data = goog();
    let out = tickwire(&["backtest", "--data", &data, "--strategy", "buy_and_hold"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for label in [
        "Strategy",
        "Final equity",
        "Return",
        "Sharpe",
        "Sortino",
        "Max drawdown",
        "Trades",
        "Win rate",
        "Profit factor",
        "Exposure",
    ] {
        assert!(table.contains(label), "no `{label}` row in:\n{table}");
    }
}

#[tokio::test]
async fn bad_input_fails_with_an_error_naming_the_problem() {
    let data = goog();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec![
                "--strategy",
                "sma_cross",
                "--param",
                "fast=30",
                "--param",
                "slow=10",
            ],
            "fast",
        ),
        (vec!["--strategy", "moon_shot"], "moon_shot"),
        (
            vec!["--strategy", "sma_cross", "--param", "fast"],
            "name=value",
        ),
        (
            vec!["--strategy", "sma_cross", "--param", "fast=ten"],
            "`ten`",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["backtest", "--data", &data];
        args.extend_from_slice(&extra);
        let out = tickwire(&args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} succeeded");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }

    let out = tickwire(&[
        "backtest",
        "--data",
        "no-such.csv",
        "--strategy",
        "buy_and_hold",
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.csv"));
}

//! `tickwire backtest`: runs a backtest in-process, or on a server with `--url` (the CSV
//! is uploaded, the run is watched with a progress bar), then prints the result table
//! (or JSON with `--json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use protocol::Metrics;
use serde::Serialize;
use serde_json::Value;

use crate::backtest::plan;
use crate::backtest::run_silent;
use crate::cli::watch::{self, Output, WatchArgs};
use protocol::api::{BacktestRequest, StartedRun};

/// Flags of `tickwire backtest`.
#[derive(Args, Debug, Clone)]
pub struct BacktestArgs {
    /// CSV file of OHLCV bars (date, Open, High, Low, Close, Volume).
    #[arg(long)]
    pub data: PathBuf,
    /// `sma_cross`, `rsi_reversion` or `buy_and_hold`.
    #[arg(long)]
    pub strategy: String,
    /// A strategy parameter as `name=value`; repeat for several.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, f64)>,
    #[arg(long, default_value_t = 10_000.0)]
    pub cash: f64,
    /// Fraction of traded notional per fill (0.002 = 0.2 %).
    #[arg(long, default_value_t = 0.0)]
    pub commission: f64,
    /// Run on this server instead of in-process, and watch it stream.
    #[arg(long)]
    pub url: Option<String>,
    /// Token for a server in token mode (`tickwire token`), with `--url`.
    #[arg(long, env = "TICKWIRE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_param(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not name=value"))?;
    let value = value
        .parse()
        .map_err(|_| format!("`{value}` (for {name}) is not a number"))?;
    Ok((name.to_owned(), value))
}

/// The result, as printed.
#[derive(Serialize)]
struct Report {
    strategy: String,
    params: BTreeMap<String, f64>,
    data: String,
    final_equity: f64,
    metrics: Metrics,
}

pub async fn run_cli(args: BacktestArgs) -> anyhow::Result<()> {
    let csv = std::fs::read_to_string(&args.data)
        .with_context(|| format!("cannot read {}", args.data.display()))?;
    let request = BacktestRequest {
        csv: Some(csv),
        symbol: args
            .data
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned()),
        strategy: args.strategy.clone(),
        params: args.params.iter().cloned().collect(),
        cash: Some(args.cash),
        commission: Some(args.commission),
        ..Default::default()
    };
    let report = match &args.url {
        None => in_process(request)?,
        // With --json, stdout carries only the result; the watch lines go to stderr.
        Some(url) => {
            let output = if args.json {
                Output::Stderr
            } else {
                Output::Stdout
            };
            remote(url, args.token.as_deref(), request, output).await?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn in_process(request: BacktestRequest) -> anyhow::Result<Report> {
    let plan = plan(request, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let outcome = run_silent(&plan.bars, &plan.strategy, plan.account);
    Ok(Report {
        strategy: plan.strategy.name().to_owned(),
        params: plan.strategy.params(),
        data: format!("{} ({} bars)", plan.symbol, plan.bars.len()),
        final_equity: outcome.final_equity,
        metrics: outcome.metrics,
    })
}

async fn remote(
    url: &str,
    token: Option<&str>,
    request: BacktestRequest,
    output: Output,
) -> anyhow::Result<Report> {
    let base = url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let authorized = |request: reqwest::RequestBuilder| match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = authorized(http.post(format!("{base}/api/backtests")))
        .json(&request)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        bail!(
            "the server refused the backtest ({status}): {}",
            body["error"].as_str().unwrap_or("no reason given")
        );
    }
    let started: StartedRun = response.json().await?;
    watch::run_to(
        WatchArgs {
            topic: started.topic.parse()?,
            url: base.to_owned(),
            token: token.map(str::to_owned),
        },
        output,
    )
    .await?;
    let state: Value =
        authorized(http.get(format!("{base}/api/backtests/{}", started.backtest_id)))
            .send()
            .await?
            .json()
            .await?;
    let complete = &state["state"]["data"]["complete"];
    if complete.is_null() {
        bail!(
            "the backtest ended without completing: {}",
            state["state"]["data"]["status"]
        );
    }
    Ok(Report {
        strategy: serde_json::from_value(state["strategy"].clone())?,
        params: serde_json::from_value(state["params"].clone())?,
        data: format!(
            "{} ({} bars)",
            state["symbol"].as_str().unwrap_or("?"),
            state["bars"]
        ),
        final_equity: complete["final_equity"].as_f64().unwrap_or_default(),
        metrics: serde_json::from_value(complete["metrics"].clone())?,
    })
}

fn print_table(r: &Report) {
    let m = &r.metrics;
    let params: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let rows = [
        ("Strategy", format!("{} {}", r.strategy, params.join(" "))),
        ("Data", r.data.clone()),
        ("Final equity", format!("{:.2}", r.final_equity)),
        ("Return", format!("{:.2} %", m.return_pct)),
        ("Sharpe", format!("{:.3}", m.sharpe)),
        ("Sortino", format!("{:.3}", m.sortino)),
        ("Max drawdown", format!("{:.2} %", m.max_drawdown_pct)),
        ("Trades", m.trades.to_string()),
        ("Win rate", format!("{:.2} %", m.win_rate)),
        (
            "Profit factor",
            m.profit_factor
                .map_or("n/a (no losing trade)".into(), |p| format!("{p:.3}")),
        ),
        ("Exposure", format!("{:.2} %", m.exposure_pct)),
    ];
    for (label, value) in rows {
        println!("{label:<14} {value}");
    }
}

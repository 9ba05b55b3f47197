//! `tickwire-bench bench-store`: how fast the store (docs/STORE.md) answers with a large
//! history — a page of runs (newest first, filtered, deep), and opening one run (its row,
//! its record, and its topic rebuilt from the record as the server does) — on the store
//! at `--database-url` (SQLite or PostgreSQL; scripts/bench/store.sh runs both).
//!
//! The history is made once, straight into the store's tables through its own schema
//! (the store's migrations run first): `--runs` rows, each with a listing and a request
//! like the server's, of which `--opened` also get a record of a real backtest's
//! shape (started, progress, trades, equity batches, metrics, complete).

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use server::hub::{Frame, Hub, HubConfig};
use server::runs::Listing;
use server::store::{ListFilter, Store};
use sqlx::any::AnyPoolOptions;
use sqlx::Row;

/// Flags of `tickwire-bench bench-store`.
#[derive(Args, Debug, Clone)]
pub struct BenchStoreArgs {
    /// The store to fill and measure (`sqlite://PATH` or `postgres://…`); it should be
    /// empty, or hold a history this command made.
    #[arg(long)]
    pub database_url: String,
    /// Runs in the history.
    #[arg(long, default_value_t = 100_000)]
    pub runs: usize,
    /// Runs with a full record, the ones opened.
    #[arg(long, default_value_t = 50)]
    pub opened: usize,
    /// Timings per figure.
    #[arg(long, default_value_t = 200)]
    pub reps: usize,
}

const STRATEGIES: [&str; 3] = ["sma_cross", "rsi_reversion", "buy_and_hold"];
const SYMBOLS: [&str; 4] = ["GOOG", "EURUSD", "BTCUSD", "AAPL"];
const STATUSES: [&str; 4] = ["complete", "complete", "cancelled", "interrupted"];
/// Rows per INSERT while filling.
const FILL_ROWS: usize = 500;

fn id(i: usize) -> String {
    format!("bt-{i:07}")
}

pub async fn run(args: BenchStoreArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.database_url)
        .await
        .context("opening the store")?
        .context("`none` is not a store to measure")?;
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&args.database_url)
        .await?;
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM runs WHERE kind = 'backtest'")
        .fetch_one(&pool)
        .await?
        .try_get("n")?;
    if (held as usize) < args.runs {
        let started = Instant::now();
        fill(&pool, held as usize, args.runs, args.opened).await?;
        println!(
            "filled {} runs ({} with a record) in {:.1} s",
            args.runs - held as usize,
            args.opened,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "{} on {} runs; {} timings per figure (median, p95, max)",
        match store.backend() {
            server::store::Backend::Sqlite => "SQLite",
            server::store::Backend::Postgres => "PostgreSQL",
        },
        args.runs,
        args.reps
    );
    let page = |filter: ListFilter| {
        let store = store.clone();
        async move {
            let rows = store.list("backtest", &filter).await?;
            anyhow::ensure!(rows.is_some_and(|r| !r.is_empty()), "a page of runs");
            Ok(())
        }
    };
    let newest = Listing::default()
        .filter(None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    report("first page (100, newest first)", args.reps, || {
        page(newest.clone())
    })
    .await?;
    let filtered = ListFilter {
        strategy: Some("rsi_reversion".into()),
        status: Some(protocol::RunStatus::Interrupted),
        ..newest.clone()
    };
    report("filtered page (strategy + status)", args.reps, || {
        page(filtered.clone())
    })
    .await?;
    let deep = ListFilter {
        before: Some(id(args.runs / 2)),
        ..newest.clone()
    };
    report("deep page (before the middle run)", args.reps, || {
        page(deep.clone())
    })
    .await?;
    let hub = Hub::new(HubConfig::default());
    let mut next = 0;
    report("open one run (row, record, topic)", args.reps, || {
        let (store, hub) = (store.clone(), hub.clone());
        next = (next + 1) % args.opened.max(1);
        let run = id(next);
        async move { open(&store, &hub, &run).await }
    })
    .await?;
    Ok(())
}

/// What the server does to open a kept run it no longer holds: its row, its record,
/// its topic rebuilt from the record, its state read.
async fn open(store: &Store, hub: &Hub, run: &str) -> anyhow::Result<()> {
    let row = store.get("backtest", run).await?.context("the run")?;
    let frames: Vec<Frame> = store
        .messages("backtest", run)
        .await?
        .into_iter()
        .map(Frame::from)
        .collect();
    anyhow::ensure!(!frames.is_empty(), "a record");
    let topic = format!("backtest:{run}").parse()?;
    hub.forget(&topic);
    hub.restore(&topic, frames, row.record_cut).await?;
    let snapshot = hub
        .snapshot(&topic)
        .await
        .map_err(|_| anyhow::anyhow!("no snapshot"))?;
    anyhow::ensure!(snapshot.last_seq > 0, "a state");
    Ok(())
}

/// Times `f` `reps` times; prints the median, p95 and max.
async fn report<F, Fut>(label: &str, reps: usize, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times: Vec<Duration> = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "    {label:<36} {:>8.2} ms {:>8.2} ms {:>8.2} ms",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(1.0))
    );
    Ok(())
}

/// Rows `from..to`, the first `opened` of all with a record.
async fn fill(pool: &sqlx::AnyPool, from: usize, to: usize, opened: usize) -> anyhow::Result<()> {
    let minute_ms: i64 = 60_000;
    for start in (from..to).step_by(FILL_ROWS) {
        let end = (start + FILL_ROWS).min(to);
        let mut sql = String::from(
            "INSERT INTO runs (kind, id, owner, instance, status, strategy, symbol, created_ms, \
             finished_ms, final_equity, info, request, tags, bytes) VALUES ",
        );
        let mut values: Vec<(String, String, String, i64, String, String)> = Vec::new();
        for i in start..end {
            let n = values.len() * 6;
            if !values.is_empty() {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "('backtest', ${}, NULL, '', ${}, ${}, ${}, ${}, ${}, 10500.0, ${}, '{{}}', '[]', 900)",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 5,
                n + 6,
            ));
            let strategy = STRATEGIES[i % STRATEGIES.len()];
            let symbol = SYMBOLS[i % SYMBOLS.len()];
            let info = serde_json::json!({
                "backtest_id": id(i), "topic": format!("backtest:{}", id(i)),
                "strategy": strategy, "params": {"fast": 10.0, "slow": 20.0},
                "symbol": symbol, "bars": 2148, "cash": 10000.0, "commission": 0.001,
                "created": "2026-01-01T00:00:00.000Z", "tags": []
            });
            values.push((
                id(i),
                STATUSES[i % STATUSES.len()].to_owned(),
                strategy.to_owned(),
                i as i64 * minute_ms,
                symbol.to_owned(),
                info.to_string(),
            ));
        }
        let mut query = sqlx::query(&sql);
        for (id, status, strategy, created, symbol, info) in &values {
            query = query
                .bind(id.as_str())
                .bind(status.as_str())
                .bind(strategy.as_str())
                .bind(symbol.as_str())
                .bind(*created)
                .bind(info.as_str());
        }
        query.execute(pool).await?;
    }
    for i in 0..opened.min(to) {
        let mut tx = pool.begin().await?;
        for (seq, frame) in record(&id(i)).into_iter().enumerate() {
            sqlx::query("INSERT INTO run_messages (kind, id, seq, frame) VALUES ('backtest', $1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(id(i))
                .bind(seq as i64 + 1)
                .bind(frame)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The envelopes of a backtest of a real one's shape: started, 10 progress reports each
/// with a batch of 100 equity points, 60 trades, metrics and complete.
fn record(run: &str) -> Vec<String> {
    let topic = format!("backtest:{run}");
    let mut seq = 0;
    let mut envelope = |message: serde_json::Value| {
        seq += 1;
        let mut e = message;
        e["topic"] = topic.clone().into();
        e["seq"] = seq.into();
        e["epoch"] = "01JBENCHSTORE0000000000000".into();
        e["timestamp"] = "2026-01-01T00:00:00.000Z".into();
        e.to_string()
    };
    let t = |i: usize| format!("2026-01-01T{:02}:{:02}:00.000Z", (i / 60) % 24, i % 60);
    let metrics = serde_json::json!({"return_pct": 5.0, "sharpe": 1.1, "sortino": 1.4,
        "max_drawdown_pct": 3.0, "win_rate": 55.0, "profit_factor": 1.3, "trades": 60,
        "exposure_pct": 48.0});
    let mut out = vec![envelope(serde_json::json!({"type": "started", "data": {
        "backtest_id": run, "strategy": "sma_cross", "params": {"fast": 10.0, "slow": 20.0},
        "symbol": "GOOG", "interval": null, "from": t(0), "to": t(999), "total_bars": 1000}}))];
    for batch in 0..10 {
        for k in 0..6 {
            let i = batch * 100 + k * 15;
            out.push(envelope(serde_json::json!({"type": "trade", "data": {
                "id": batch * 6 + k + 1, "side": "long", "action": if k % 2 == 0 { "entry" } else { "exit" },
                "time": t(i), "price": 100.0 + k as f64, "size": 10.0, "reason": "long signal"}})));
        }
        let points: Vec<serde_json::Value> = (0..100)
            .map(|p| serde_json::json!([t(batch * 100 + p), 10_000.0 + p as f64, 0.5]))
            .collect();
        out.push(envelope(
            serde_json::json!({"type": "equity", "data": {"points": points}}),
        ));
        out.push(envelope(serde_json::json!({"type": "progress", "data": {
            "pct": (batch + 1) as f64 * 10.0, "bars_processed": (batch + 1) * 100, "total_bars": 1000,
            "current_time": t(batch * 100 + 99), "trades": (batch + 1) * 3, "equity": 10_100.0, "pnl": 100.0}})));
    }
    out.push(envelope(
        serde_json::json!({"type": "metrics", "data": metrics}),
    ));
    out.push(envelope(serde_json::json!({"type": "complete", "data": {
        "final_equity": 10_500.0, "duration_ms": 12, "metrics": metrics}})));
    out
}

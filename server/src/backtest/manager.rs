//! Starts backtests from requests, runs each on its own blocking thread with its topic
//! owned (so pause / resume / cancel reach it), and remembers what was started.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::protocol::{
    self as wire, Complete, Lifecycle, Message, Started, Timestamp, Topic, TopicKind,
};
use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

use super::control::RunControl;
use super::data::Bars;
use super::engine::{self, Account, Outcome};
use super::logs::TopicLogLayer;
use super::strategy::Strategy;
use super::stream::{Frequency, Streamer};
use crate::hub::{Command, Hub};

/// `POST /api/backtests`: exactly one of `dataset`, `csv`, `path` names the bars.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// A CSV file in the server's `--data-dir`, by stem (`GOOG` for `GOOG.csv`).
    pub dataset: Option<String>,
    /// CSV text uploaded with the request.
    pub csv: Option<String>,
    /// A CSV file inside the server's `--data-dir`, by path.
    pub path: Option<String>,
    /// Label shown for the data (defaults to the dataset name).
    pub symbol: Option<String>,
    pub strategy: String,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    pub cash: Option<f64>,
    pub commission: Option<f64>,
    /// Progress at least every N bars (default 1,000)…
    pub progress_every_bars: Option<usize>,
    /// …or every T ms (default 250), whichever comes first.
    pub progress_every_ms: Option<u64>,
    /// Run id (default: generated).
    pub id: Option<String>,
    /// Start paused at the first bar, until a client resumes it (default false).
    #[serde(default)]
    pub paused: bool,
}

/// A refused request: the field and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    #[error("`{field}` {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error("backtest `{0}` already exists")]
    Exists(String),
}

fn invalid(field: &'static str, problem: impl ToString) -> RequestError {
    RequestError::Invalid {
        field,
        problem: problem.to_string(),
    }
}

/// What `POST /api/backtests` answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StartedRun {
    pub backtest_id: String,
    pub topic: String,
    pub stream_url: String,
}

/// One started backtest, as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    pub backtest_id: String,
    pub topic: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub symbol: String,
    pub bars: usize,
    pub cash: f64,
    pub commission: f64,
    pub created: Timestamp,
}

/// A validated request, ready to run.
pub struct Plan {
    pub id: String,
    pub topic: Topic,
    pub symbol: String,
    pub bars: Bars,
    pub strategy: Strategy,
    pub account: Account,
    pub frequency: Frequency,
    /// Paused before the first bar.
    pub start_paused: bool,
}

/// The backtests of one server.
#[derive(Clone)]
pub struct Backtests {
    hub: Hub,
    data_dir: Option<PathBuf>,
    runs: Arc<Mutex<BTreeMap<String, RunInfo>>>,
}

impl Backtests {
    pub fn new(hub: Hub, data_dir: Option<PathBuf>) -> Self {
        Backtests {
            hub,
            data_dir,
            runs: Arc::default(),
        }
    }

    /// Everything started so far, oldest first.
    pub fn list(&self) -> Vec<RunInfo> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<RunInfo> = runs.values().cloned().collect();
        list.sort_by_key(|r| r.created);
        list
    }

    /// The datasets a request may name: stems of the CSV files in `--data-dir`, sorted.
    pub fn datasets(&self) -> std::io::Result<Vec<String>> {
        let Some(dir) = &self.data_dir else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                if path.extension()? != "csv" {
                    return None;
                }
                Some(path.file_stem()?.to_str()?.to_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    pub fn get(&self, id: &str) -> Option<RunInfo> {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Validates `request` and starts it in the background.
    pub fn start(&self, request: BacktestRequest) -> Result<StartedRun, RequestError> {
        let plan = plan(request, self.data_dir.as_deref())?;
        let info = RunInfo {
            backtest_id: plan.id.clone(),
            topic: plan.topic.to_string(),
            strategy: plan.strategy.name().to_owned(),
            params: plan.strategy.params(),
            symbol: plan.symbol.clone(),
            bars: plan.bars.len(),
            cash: plan.account.cash,
            commission: plan.account.commission,
            created: Timestamp::from_datetime(chrono::Utc::now()),
        };
        {
            let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
            if runs.contains_key(&plan.id) || self.hub.snapshot(&plan.topic).last_seq > 0 {
                return Err(RequestError::Exists(plan.id));
            }
            runs.insert(plan.id.clone(), info);
        }
        let started = StartedRun {
            backtest_id: plan.id.clone(),
            topic: plan.topic.to_string(),
            stream_url: format!("/api/ws/stream/backtest/{}", plan.id),
        };
        spawn(self.hub.clone(), plan);
        Ok(started)
    }
}

/// Checks every field of a request and loads its bars.
pub fn plan(request: BacktestRequest, data_dir: Option<&Path>) -> Result<Plan, RequestError> {
    let strategy = Strategy::from_params(&request.strategy, &request.params)
        .map_err(|e| invalid("strategy", e))?;
    let account = Account::from_request(request.cash, request.commission)
        .map_err(|(field, problem)| invalid(field, problem))?;
    let mut frequency = Frequency::default();
    if let Some(n) = request.progress_every_bars {
        if n == 0 {
            return Err(invalid("progress_every_bars", "must be at least 1"));
        }
        frequency.progress_bars = n;
    }
    if let Some(ms) = request.progress_every_ms {
        if ms == 0 {
            return Err(invalid("progress_every_ms", "must be at least 1"));
        }
        frequency.progress_interval = Duration::from_millis(ms);
    }
    let (bars, name) = load(&request, data_dir)?;
    strategy
        .check_data(bars.len())
        .map_err(|e| invalid("params", e))?;
    let id = match request.id {
        Some(id) => {
            wire::validate_id(&id).map_err(|e| invalid("id", e))?;
            id
        }
        None => format!("bt-{}", ulid::Ulid::new().to_string().to_lowercase()),
    };
    let topic = Topic::new(TopicKind::Backtest, &id).map_err(|e| invalid("id", e))?;
    Ok(Plan {
        id,
        topic,
        symbol: request.symbol.unwrap_or(name),
        bars,
        strategy,
        account,
        frequency,
        start_paused: request.paused,
    })
}

fn load(
    request: &BacktestRequest,
    data_dir: Option<&Path>,
) -> Result<(Bars, String), RequestError> {
    let need_dir = |field: &'static str| {
        data_dir.ok_or_else(|| invalid(field, "needs the server to be started with --data-dir"))
    };
    match (&request.dataset, &request.csv, &request.path) {
        (Some(name), None, None) => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                || name.starts_with('.')
            {
                return Err(invalid(
                    "dataset",
                    format!("`{name}` is not a dataset name (a CSV file's stem, e.g. GOOG)"),
                ));
            }
            let file = need_dir("dataset")?.join(format!("{name}.csv"));
            if !file.is_file() {
                return Err(invalid(
                    "dataset",
                    format!("no dataset `{name}` (no {})", file.display()),
                ));
            }
            Ok((
                Bars::load(&file).map_err(|e| invalid("dataset", e))?,
                name.clone(),
            ))
        }
        (None, Some(text), None) => Ok((
            Bars::parse(text, "uploaded csv").map_err(|e| invalid("csv", e))?,
            "uploaded".into(),
        )),
        (None, None, Some(path)) => {
            // Judged by its text first, so the answer never depends on what exists
            // outside the data directory; symlinks are judged after canonicalising.
            let relative = Path::new(path)
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
            if !relative {
                return Err(invalid(
                    "path",
                    format!("`{path}` is outside the data directory"),
                ));
            }
            let dir = need_dir("path")?
                .canonicalize()
                .map_err(|e| invalid("path", format!("data directory unreadable: {e}")))?;
            let file = dir
                .join(path)
                .canonicalize()
                .map_err(|_| invalid("path", format!("`{path}` is not a file in the data directory")))?;
            if !file.starts_with(&dir) {
                return Err(invalid(
                    "path",
                    format!("`{path}` is outside the data directory"),
                ));
            }
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((Bars::load(&file).map_err(|e| invalid("path", e))?, name))
        }
        (None, None, None) => Err(invalid(
            "dataset",
            "is missing: give one of `dataset`, `csv` or `path`",
        )),
        _ => Err(invalid(
            "dataset",
            "give only one of `dataset`, `csv` or `path`",
        )),
    }
}

/// Runs the plan on a blocking thread, streaming to its topic.
fn spawn(hub: Hub, plan: Plan) {
    let control = Arc::new(RunControl::default());
    if plan.start_paused {
        control.apply(Command::Pause);
    }
    let mut ownership = hub.own(&plan.topic);
    let commands = control.clone();
    let forward = tokio::spawn(async move {
        while let Some(command) = ownership.commands.recv().await {
            commands.apply(command);
        }
    });
    tokio::task::spawn_blocking(move || {
        run_streaming(&hub, &plan, &control);
        forward.abort();
    });
}

/// Runs a plan to its end, publishing `started`, the stream, and `metrics` + `complete`
/// (or `cancelled`). The engine's `tracing` events (info and above) inside the run go to
/// its topic.
pub fn run_streaming(hub: &Hub, plan: &Plan, control: &RunControl) -> Outcome {
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(TopicLogLayer::new(hub.clone()).with_filter(LevelFilter::INFO)),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("backtest", backtest_topic = %plan.topic);
        let _entered = span.enter();
        let publish = |m: Message| {
            if let Err(e) = hub.publish(&plan.topic, m) {
                tracing::error!(error = %e, "could not publish");
            }
        };
        let bars = &plan.bars;
        publish(Message::Started(Started {
            backtest_id: plan.id.clone(),
            strategy: plan.strategy.name().to_owned(),
            params: plan.strategy.params(),
            symbol: plan.symbol.clone(),
            interval: None,
            from: Timestamp::from_unix_ms(bars.time[0]),
            to: Timestamp::from_unix_ms(bars.time[bars.len() - 1]),
            total_bars: bars.len() as u64,
        }));
        tracing::info!(
            "running {} {:?} on {} bars of {}",
            plan.strategy.name(),
            plan.strategy.params(),
            bars.len(),
            plan.symbol
        );
        let clock = Instant::now();
        let mut streamer = Streamer::new(
            hub,
            &plan.topic,
            bars,
            control,
            plan.frequency,
            plan.account.cash,
        );
        let outcome = engine::run(bars, &plan.strategy, plan.account, &mut streamer);
        streamer.finish(&outcome);
        let metrics = wire_metrics(&outcome);
        if outcome.stopped {
            tracing::info!("cancelled after {} of {} bars", outcome.bars, bars.len());
            publish(Message::Metrics(metrics));
            publish(Message::Cancelled(Lifecycle {
                reason: Some(format!(
                    "cancelled after {} of {} bars",
                    outcome.bars,
                    bars.len()
                )),
            }));
        } else {
            tracing::info!(
                "complete: final equity {:.2}, {} trades",
                outcome.final_equity,
                outcome.trades.len()
            );
            publish(Message::Metrics(metrics.clone()));
            publish(Message::Complete(Complete {
                final_equity: outcome.final_equity,
                duration_ms: clock.elapsed().as_millis() as u64,
                metrics,
            }));
        }
        outcome
    })
}

/// The engine's metrics as the protocol carries them.
pub fn wire_metrics(outcome: &Outcome) -> wire::Metrics {
    let m = &outcome.metrics;
    wire::Metrics {
        return_pct: m.return_pct,
        sharpe: m.sharpe,
        sortino: m.sortino,
        max_drawdown_pct: m.max_drawdown_pct.clamp(0.0, 100.0),
        win_rate: m.win_rate,
        profit_factor: m.profit_factor,
        trades: m.trades,
        exposure_pct: m.exposure_pct,
    }
}

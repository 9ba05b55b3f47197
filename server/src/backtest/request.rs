//! `POST /api/backtests`: the request, and its validation into a [`Plan`] — every field
//! checked and the bars loaded — or a [`RequestError`] naming the field.

use std::path::{Component, Path};
use std::time::Duration;

use protocol::api::BacktestRequest;
use protocol::validate::{at_least, texts, within};
use protocol::{self as wire, Topic, TopicKind};

use super::data::Bars;
use super::engine::Account;
use super::strategy::Strategy;
use crate::refusal::{invalid, RequestError};

/// The most progress reports a run makes by bar count (`progress_every_bars` below
/// `bars / MAX_PROGRESS_REPORTS` is raised to it; docs/SPEC.md section 12).
pub const MAX_PROGRESS_REPORTS: usize = 1_000;

/// How often a run reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frequency {
    /// Progress at least every this many bars…
    pub progress_bars: usize,
    /// …or after this long, whichever comes first.
    pub progress_interval: Duration,
    /// Equity points sent over the whole run (one every `total / equity_points` bars).
    pub equity_points: usize,
}

impl Default for Frequency {
    fn default() -> Self {
        Frequency {
            progress_bars: 1_000,
            progress_interval: Duration::from_millis(250),
            equity_points: 1_000,
        }
    }
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
    /// Bars per second the run may not exceed.
    pub pace: Option<f64>,
}

/// Checks every field of a request and loads its bars.
pub fn plan(request: BacktestRequest, data_dir: Option<&Path>) -> Result<Plan, RequestError> {
    let strategy = Strategy::from_params(&request.strategy, &request.params)
        .map_err(|e| invalid("strategy", e))?;
    let account = Account::from_request(request.cash, request.commission)?;
    let mut frequency = Frequency::default();
    if let Some(n) = request.progress_every_bars {
        at_least("progress_every_bars", n, 1)?;
        frequency.progress_bars = n;
    }
    if let Some(ms) = request.progress_every_ms {
        at_least("progress_every_ms", ms, 1)?;
        frequency.progress_interval = Duration::from_millis(ms);
    }
    if let Some(symbol) = &request.symbol {
        texts(&[("symbol", symbol)])?;
    }
    if let Some(pace) = request.pace {
        within("pace", pace, 1.0, 100_000_000.0)?;
    }
    let (bars, name) = load_bars(
        request.dataset.as_deref(),
        request.csv.as_deref(),
        request.path.as_deref(),
        data_dir,
    )?;
    // However often it is asked for, a run reports its progress by bars at most
    // MAX_PROGRESS_REPORTS times: what one run records per bar is bounded.
    frequency.progress_bars = frequency
        .progress_bars
        .max(bars.len().div_ceil(MAX_PROGRESS_REPORTS));
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
        pace: request.pace,
    })
}

/// The bars exactly one of `dataset`, `csv` or `path` names (a backtest's or a sweep's
/// request), and the name they go by.
pub fn load_bars(
    dataset: Option<&str>,
    csv: Option<&str>,
    path: Option<&str>,
    data_dir: Option<&Path>,
) -> Result<(Bars, String), RequestError> {
    let need_dir = |field: &'static str| {
        data_dir.ok_or_else(|| invalid(field, "needs the server to be started with --data-dir"))
    };
    match (dataset, csv, path) {
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
                    format!("no dataset `{name}` (`GET /api/datasets` lists them)"),
                ));
            }
            Ok((
                Bars::load_as(&file, &format!("dataset `{name}`"))
                    .map_err(|e| invalid("dataset", e))?,
                name.to_owned(),
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
            let file = dir.join(path).canonicalize().map_err(|_| {
                invalid(
                    "path",
                    format!("`{path}` is not a file in the data directory"),
                )
            })?;
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
            Ok((
                Bars::load_as(&file, &format!("`{path}`")).map_err(|e| invalid("path", e))?,
                name,
            ))
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

//! The bodies of the REST API that both sides handle: what a client sends to start a
//! backtest or a session, what the server answers and lists, and the shape of every
//! error answer (docs/SPEC.md section 5). The routes take and give these types and the
//! dashboard's pages send and read them, so neither side re-declares one.
//!
//! Optional fields a client leaves out are left out when a client writes them too, so a
//! body says only what its sender chose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sweep::{Objective, SweepEntry};
use crate::{RunStatus, Timestamp};

/// `POST /api/backtests`: exactly one of `dataset`, `csv`, `path` names the bars.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// A CSV file in the server's `--data-dir`, by stem (`GOOG` for `GOOG.csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// CSV text uploaded with the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// A CSV file inside the server's `--data-dir`, by path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Label shown for the data (defaults to the dataset name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub strategy: String,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Starting cash (default 10,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
    /// Commission, a fraction of each fill's notional (0.002 is 0.2 %; default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commission: Option<f64>,
    /// Progress at least every N bars (default 1,000)…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_every_bars: Option<usize>,
    /// …or every T ms (default 250), whichever comes first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_every_ms: Option<u64>,
    /// Run id (default: generated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Play at most this many bars per second, to watch the run unfold (default: as
    /// fast as it goes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pace: Option<f64>,
    /// Start paused at the first bar, until a client resumes it (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
}

/// What `POST /api/backtests` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct StartedRun {
    pub backtest_id: String,
    /// `backtest:{ID}`.
    pub topic: String,
    /// The dedicated socket of the run (`/api/ws/stream/backtest/{ID}`).
    pub stream_url: String,
}

/// One bar of a run's data: `GET /api/backtests/{id}/bars`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Bar {
    /// When the bar opened (RFC 3339, UTC, milliseconds).
    #[cfg_attr(feature = "schema", schema(value_type = String, format = DateTime))]
    pub time: Timestamp,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Bar {
    /// The bars `span_ms` long built from `bars` (oldest first): each opens at a multiple
    /// of `span_ms` since the epoch, with the first bar's open, the highest high, the
    /// lowest low, the last bar's close and the summed volume. A bar older than the last
    /// one built is left out. The one way longer bars are made: a chart's timeframes and
    /// a venue's candles of a longer interval.
    pub fn aggregate(bars: impl IntoIterator<Item = Bar>, span_ms: i64) -> Vec<Bar> {
        let span = span_ms.max(1);
        let mut out: Vec<Bar> = Vec::new();
        for bar in bars {
            let start = bar.time.unix_ms().div_euclid(span) * span;
            match out.last_mut() {
                Some(last) if last.time.unix_ms() == start => {
                    last.high = last.high.max(bar.high);
                    last.low = last.low.min(bar.low);
                    last.close = bar.close;
                    last.volume += bar.volume;
                }
                Some(last) if last.time.unix_ms() > start => {}
                _ => out.push(Bar {
                    time: Timestamp::from_unix_ms(start),
                    ..bar
                }),
            }
        }
        out
    }
}

/// Bars a page of `GET /api/backtests/{id}/bars` holds unless `limit` says otherwise,
/// and the most it may ask for.
pub const BARS_PAGE: usize = 5_000;
pub const MAX_BARS_PAGE: usize = 20_000;

/// `GET /api/backtests/{id}/bars`: the bars the run traded on, oldest first — the
/// newest `limit` before `before` (or of all of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RunBars {
    pub backtest_id: String,
    pub symbol: String,
    /// Bars the run has in all.
    pub total: usize,
    /// The index (0 = the run's first bar) of this page's first bar: older bars exist
    /// when it is above 0.
    pub first: usize,
    /// The run's first bar, on every page: where a buy-and-hold line starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<Bar>,
    pub bars: Vec<Bar>,
}

/// One started backtest, as `GET /api/backtests` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RunInfo {
    pub backtest_id: String,
    pub topic: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub symbol: String,
    pub bars: usize,
    pub cash: f64,
    pub commission: f64,
    /// When it was started (RFC 3339, UTC, milliseconds).
    #[cfg_attr(feature = "schema", schema(value_type = String, format = DateTime))]
    pub created: Timestamp,
    #[serde(flatten)]
    pub outcome: RunOutcome,
    #[serde(flatten)]
    pub notes: RunNotes,
}

/// What a kept run's listing says, whatever its kind (`RunInfo`, `SessionInfo`): the
/// server lists, filters and annotates runs through it, and the dashboard's history
/// shows them with it.
pub trait Listed {
    fn id(&self) -> &str;
    fn created(&self) -> Timestamp;
    fn strategy(&self) -> &str;
    fn symbol(&self) -> &str;
    /// Its starting cash.
    fn cash(&self) -> f64;
    fn outcome(&self) -> &RunOutcome;
    fn outcome_mut(&mut self) -> &mut RunOutcome;
    fn notes(&self) -> &RunNotes;
    fn notes_mut(&mut self) -> &mut RunNotes;
}

/// [`Listed`] for a listing whose id is the field `$id`.
macro_rules! listed {
    ($listing:ty, $id:ident) => {
        impl Listed for $listing {
            fn id(&self) -> &str {
                &self.$id
            }
            fn created(&self) -> Timestamp {
                self.created
            }
            fn strategy(&self) -> &str {
                &self.strategy
            }
            fn symbol(&self) -> &str {
                &self.symbol
            }
            fn cash(&self) -> f64 {
                self.cash
            }
            fn outcome(&self) -> &RunOutcome {
                &self.outcome
            }
            fn outcome_mut(&mut self) -> &mut RunOutcome {
                &mut self.outcome
            }
            fn notes(&self) -> &RunNotes {
                &self.notes
            }
            fn notes_mut(&mut self) -> &mut RunNotes {
                &mut self.notes
            }
        }
    };
}

listed!(RunInfo, backtest_id);
listed!(SessionInfo, session_id);
listed!(SweepInfo, sweep_id);

/// Where a kept run stands: the same for backtests and sessions (docs/STORE.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RunOutcome {
    /// `pending`, `running` or `paused` while it runs (as of its last listing), then
    /// `complete`, `cancelled`, `failed` or `interrupted`.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schema(
            value_type = String,
            pattern = "^(pending|running|paused|cancelled|complete|failed|interrupted)$"
        )
    )]
    pub status: RunStatus,
    /// When it ended (RFC 3339); absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schema(value_type = Option<String>, format = DateTime))]
    pub finished: Option<Timestamp>,
    /// Its equity when it ended; absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_equity: Option<f64>,
}

/// What a user wrote on a kept run: `PATCH /api/backtests/{id}` (or sessions) sets it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RunNotes {
    /// A short name (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Free text (at most 10,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Labels to find it by (at most 20, each 1 to 40 characters).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `PATCH /api/backtests/{id}` and `PATCH /api/sessions/{id}`: each field given replaces
/// the kept one (an empty `title` or `notes` clears it); the others stay.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunNotesPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `POST /api/sessions`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// A symbol the market feed publishes (`GET /api/market/symbols`).
    pub symbol: String,
    /// A backtest strategy, or `external` for decisions from an outside agent.
    pub strategy: String,
    /// The strategy's parameters (as for backtests).
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Starting cash (default 10,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
    /// Commission, a fraction of each fill's notional (0.002 is 0.2 %; default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commission: Option<f64>,
    /// Session id (default: generated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A session as `GET /api/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub session_id: String,
    pub topic: String,
    pub trading_topic: String,
    pub stream_url: String,
    pub symbol: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub cash: f64,
    pub commission: f64,
    pub running: bool,
    /// When it was started (RFC 3339, UTC, milliseconds).
    #[cfg_attr(feature = "schema", schema(value_type = String, format = DateTime))]
    pub created: Timestamp,
    #[serde(flatten)]
    pub outcome: RunOutcome,
    #[serde(flatten)]
    pub notes: RunNotes,
}

/// The body of every error answer: `{"error": "...", "details": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong, in words a user can act on.
    pub error: String,
    /// What the message names, for programs (`{"field": …}`, `{"id": …}`,
    /// `{"limit": …}`); absent when there is nothing to name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

impl ErrorBody {
    /// The `error` of an error answer's body, its `details` skipped unread: what a
    /// client that shows the message needs, without the code that reads any JSON value
    /// (the dashboard's first download stays small).
    pub fn error_of(text: &str) -> Result<String, serde_json::Error> {
        #[derive(Deserialize)]
        struct Error {
            error: String,
        }
        serde_json::from_str::<Error>(text).map(|body| body.error)
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::bar;

    #[test]
    fn a_request_says_only_what_its_sender_set() {
        let request = BacktestRequest {
            dataset: Some("GOOG".into()),
            strategy: "buy_and_hold".into(),
            cash: Some(10_000.0),
            ..BacktestRequest::default()
        };
        let json = serde_json::to_string(&request).expect("serialises");
        assert_eq!(
            json,
            r#"{"dataset":"GOOG","strategy":"buy_and_hold","params":{},"cash":10000.0}"#
        );
        let back: BacktestRequest = serde_json::from_str(&json).expect("parses back");
        assert_eq!(back, request);
    }

    #[test]
    fn an_error_body_without_details_has_none_on_the_wire() {
        let body = ErrorBody {
            error: "no such backtest".into(),
            details: None,
        };
        let json = serde_json::to_string(&body).expect("serialises");
        assert_eq!(json, r#"{"error":"no such backtest"}"#);
        let text = r#"{"error":"bad","details":{"field":"cash"}}"#;
        let named: ErrorBody = serde_json::from_str(text).expect("parses");
        assert_eq!(named.details, Some(serde_json::json!({"field": "cash"})));
        assert_eq!(ErrorBody::error_of(text).expect("reads"), "bad");
        assert!(
            ErrorBody::error_of(r#"{"details":1}"#).is_err(),
            "no error, no message"
        );
    }

    #[test]
    fn five_minute_bars_take_the_first_open_the_extremes_the_last_close_and_the_sum() {
        let bars: Vec<Bar> = (3..13).map(|m| bar(m, m as f64, m as f64 + 0.5)).collect();
        let five = Bar::aggregate(bars.iter().copied(), 300_000);
        let opens: Vec<i64> = five.iter().map(|b| b.time.unix_ms() / 60_000).collect();
        assert_eq!(opens, [0, 5, 10], "aligned to whole 5 minutes");
        assert_eq!((five[0].open, five[0].close), (3.0, 4.5));
        assert_eq!((five[1].open, five[1].close), (5.0, 9.5));
        assert_eq!((five[1].low, five[1].high), (4.0, 10.5));
        assert_eq!(five[1].volume, 10.0);
        assert_eq!(
            Bar::aggregate(bars.iter().copied(), 60_000),
            bars,
            "bars of their own span are themselves"
        );
        let late = [bar(10, 1.0, 1.0), bar(3, 2.0, 2.0)];
        assert_eq!(
            Bar::aggregate(late, 300_000).len(),
            1,
            "an older bar is left out"
        );
    }
}

/// The most of the best a sweep keeps in order (`top_n`).
pub const MAX_SWEEP_TOP_N: u32 = 100;
/// Results in a page of `GET /api/sweeps/{id}/results` unless `limit` says.
pub const SWEEP_RESULTS_PAGE: usize = 10_000;
/// The most a page of `GET /api/sweeps/{id}/results` may hold.
pub const MAX_SWEEP_RESULTS_PAGE: usize = 100_000;

/// One parameter's values in a sweep's grid: a list, or every `step` from `from` up to
/// `to` (both included, when `to` falls on a step).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(untagged, deny_unknown_fields)]
pub enum GridAxis {
    Values(Vec<f64>),
    Range { from: f64, to: f64, step: f64 },
}

/// `POST /api/sweeps`: exactly one of `dataset`, `csv`, `path` names the bars, as for a
/// backtest; `grid` the values of each parameter to try.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Label shown for the data (defaults to the dataset name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub strategy: String,
    /// Each parameter swept: a list of values, or `{"from", "to", "step"}`. A
    /// parameter left out takes the strategy's default.
    pub grid: BTreeMap<String, GridAxis>,
    /// Starting cash of every combination (default 10,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
    /// Commission, a fraction of each fill's notional (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commission: Option<f64>,
    /// What the combinations are ranked by (default `return_pct`).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schema(
            value_type = String,
            pattern = "^(return_pct|sharpe|sortino|profit_factor|win_rate|max_drawdown_pct|final_equity)$"
        )
    )]
    pub objective: Objective,
    /// How many of the best to keep in order, 1 to 100 (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_n: Option<u32>,
    /// Sweep id (default: generated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Start paused, until a client resumes it (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
}

/// What `POST /api/sweeps` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SweepCreated {
    pub sweep_id: String,
    /// `sweep:{ID}`.
    pub topic: String,
    /// Combinations in the grid.
    pub combos: u64,
}

/// A sweep as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SweepInfo {
    pub sweep_id: String,
    pub topic: String,
    pub strategy: String,
    pub symbol: String,
    /// The dataset (`GET /api/datasets`) it ran on; none for an uploaded CSV or a
    /// path. The full backtest of one of its combinations runs on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    pub bars: usize,
    pub combos: u64,
    #[cfg_attr(
        feature = "schema",
        schema(
            value_type = String,
            pattern = "^(return_pct|sharpe|sortino|profit_factor|win_rate|max_drawdown_pct|final_equity)$"
        )
    )]
    pub objective: Objective,
    pub top_n: u32,
    pub cash: f64,
    pub commission: f64,
    /// When it was started (RFC 3339, UTC, milliseconds).
    #[cfg_attr(feature = "schema", schema(value_type = String, format = DateTime))]
    pub created: Timestamp,
    /// `final_equity` is the best combination's.
    #[serde(flatten)]
    pub outcome: RunOutcome,
    #[serde(flatten)]
    pub notes: RunNotes,
}

/// `GET /api/sweeps/{id}/results`: a page of full results by index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SweepResultsPage {
    pub sweep_id: String,
    #[cfg_attr(
        feature = "schema",
        schema(
            value_type = String,
            pattern = "^(return_pct|sharpe|sortino|profit_factor|win_rate|max_drawdown_pct|final_equity)$"
        )
    )]
    pub objective: Objective,
    pub combos: u64,
    /// Combinations landed so far.
    pub done: u64,
    /// By index, from the page's `offset`: `{index, params, value, metrics,
    /// final_equity}` or `{index, params, skipped}` (the `sweep_result` entries).
    #[cfg_attr(feature = "schema", schema(value_type = Vec<Object>))]
    pub results: Vec<SweepEntry>,
}

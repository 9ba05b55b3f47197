//! Payloads of `backtest:{ID}` topics: lifecycle, progress, trades, equity, metrics, logs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::market::Interval;
use super::time::Timestamp;

/// Long or short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Side {
    Long,
    Short,
}

/// Whether a trade message opens or closes a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum TradeAction {
    Entry,
    Exit,
}

/// `started`: the run's parameters, sent once before any progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Started {
    pub backtest_id: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub symbol: String,
    pub interval: Option<Interval>,
    pub from: Timestamp,
    pub to: Timestamp,
    pub total_bars: u64,
    /// Starting cash (absent from runs recorded before it was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
}

/// `progress`: how far the run is, sent every N bars or T ms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Progress {
    /// 0 to 100.
    pub pct: f64,
    pub bars_processed: u64,
    pub total_bars: u64,
    pub current_time: Timestamp,
    pub trades: u64,
    pub equity: f64,
    pub pnl: f64,
    /// Bars per second of running time so far (pauses excluded), when the run knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bars_per_sec: Option<f64>,
    /// Time left at that speed, in ms (or at the run's pace, if slower).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_ms: Option<u64>,
}

/// `trade`: one fill, sent at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Trade {
    pub id: u64,
    pub side: Side,
    pub action: TradeAction,
    pub time: Timestamp,
    pub price: f64,
    pub size: f64,
    /// Net P&L of the round trip (exits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pnl: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_pct: Option<f64>,
    pub reason: String,
}

/// One point of the equity curve: `[time, equity, drawdown_pct]` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EquityPoint(pub Timestamp, pub f64, pub f64);

/// `equity`: a batch of equity points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EquityBatch {
    pub points: Vec<EquityPoint>,
}

/// `metrics`: performance figures of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Metrics {
    pub return_pct: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub max_drawdown_pct: f64,
    /// 0 to 100.
    pub win_rate: f64,
    /// Gross profit / gross loss; `null` when no trade lost (the ratio is unbounded).
    pub profit_factor: Option<f64>,
    pub trades: u64,
    /// 0 to 100: share of bars with a position open.
    pub exposure_pct: f64,
}

/// Severity of a `log` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// `log`: one event of the engine's own tracing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar: Option<u64>,
}

/// `complete`: the run finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Complete {
    pub final_equity: f64,
    pub duration_ms: u64,
    pub metrics: Metrics,
}

/// `paused`, `resumed`, `cancelled`: a lifecycle change, with who or what caused it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `error`: the run (or session) failed or refused something.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorInfo {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Where a backtest stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum RunStatus {
    #[default]
    Pending,
    Running,
    Paused,
    Cancelled,
    Complete,
    Failed,
    /// Cut off mid-way: its server stopped (or its instance died) before it ended. Set
    /// by the `interrupted` message (docs/SPEC.md section 8).
    Interrupted,
}

impl RunStatus {
    /// Whether the run has ended: it will publish nothing more.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            RunStatus::Complete | RunStatus::Cancelled | RunStatus::Failed | RunStatus::Interrupted
        )
    }
}

/// A backtest topic's state for a late joiner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BacktestSnapshot {
    pub status: RunStatus,
    pub started: Option<Started>,
    pub progress: Option<Progress>,
    pub trades: Vec<Trade>,
    pub equity: Vec<EquityPoint>,
    pub logs: Vec<LogLine>,
    pub metrics: Option<Metrics>,
    pub complete: Option<Complete>,
    pub error: Option<ErrorInfo>,
}

impl Side {
    /// +1 long, -1 short: the sign of the position's units.
    pub fn sign(self) -> f64 {
        match self {
            Side::Long => 1.0,
            Side::Short => -1.0,
        }
    }
}

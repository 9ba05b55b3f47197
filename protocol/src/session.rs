//! Payloads of `session:{ID}` topics: a forward-test (paper-trading) session's reasoning,
//! positions and statistics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::backtest::{Lifecycle, Side};
use super::market::{Candle, Interval};
use super::time::Timestamp;
use super::validate::{non_empty, texts, within, FieldError};

/// `session_initialized`: the session's set-up, sent once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionInitialized {
    pub session_id: String,
    pub strategy: String,
    pub params: BTreeMap<String, f64>,
    pub symbol: String,
    pub interval: Interval,
    pub cash: f64,
}

/// What a decision does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum DecisionAction {
    Buy,
    Sell,
    Hold,
    Close,
}

/// `thinking`: one chunk of the reasoning behind the coming decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Thinking {
    /// Which bar's decision this belongs to.
    pub bar_time: Timestamp,
    pub chunk: String,
}

/// `decision`: the final word for a bar, with the whole reasoning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Decision {
    pub bar_time: Timestamp,
    pub action: DecisionAction,
    pub reasoning: String,
    pub price: f64,
    /// How sure an outside agent said it was, 0 to 1 (built-in strategies leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Who decided, when it was not the session's own strategy or agent: `manual` for an
    /// order its user placed from the session's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DecisionSource>,
}

/// Who made a decision other than the session's strategy or agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    /// Its user, by hand (`POST /api/sessions/{id}/manual`).
    Manual,
}

/// `POST /api/sessions/{id}/manual`: the session's user buys, sells short or closes the
/// position by hand, at the next print.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ManualOrder {
    pub action: DecisionAction,
}

impl ManualOrder {
    /// Buy, sell or close: holding is what a session does without being asked.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self.action {
            DecisionAction::Hold => Err(FieldError::new(
                "action",
                "must be buy, sell or close, got hold",
            )),
            _ => Ok(()),
        }
    }
}

/// `POST /api/sessions/{id}/thinking`: a chunk of an outside agent's reasoning about the
/// bar that closed last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentThinking {
    pub chunk: String,
}

impl AgentThinking {
    /// A chunk must say something, within the size of any message's text.
    pub fn validate(&self) -> Result<(), FieldError> {
        texts(&[("chunk", &self.chunk)])?;
        non_empty("chunk", &self.chunk)
    }
}

/// `POST /api/sessions/{id}/decision`: an outside agent's decision for the bar that
/// closed last (one per bar).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentDecision {
    pub action: DecisionAction,
    #[serde(default)]
    pub reasoning: String,
    /// 0 to 1.
    pub confidence: Option<f64>,
}

impl AgentDecision {
    /// Buy, sell or hold, with a reasoning of a message's size and a confidence in 0..=1.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.action == DecisionAction::Close {
            return Err(FieldError::new(
                "action",
                "must be buy, sell or hold, got close",
            ));
        }
        texts(&[("reasoning", &self.reasoning)])?;
        match self.confidence {
            Some(c) => within("confidence", c, 0.0, 1.0),
            None => Ok(()),
        }
    }
}

/// `position_opened`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PositionOpened {
    pub position_id: u64,
    pub side: Side,
    pub qty: f64,
    pub entry_price: f64,
    pub time: Timestamp,
}

/// `position_updated`: marked to the latest price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PositionUpdated {
    pub position_id: u64,
    pub price: f64,
    pub unrealized_pnl: f64,
}

/// `position_closed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PositionClosed {
    pub position_id: u64,
    pub exit_price: f64,
    pub pnl: f64,
    pub return_pct: f64,
    pub time: Timestamp,
    pub reason: String,
    /// The position's side, entry price and entry time, so a chart links the exit to
    /// its entry (absent from records kept before they were sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_time: Option<Timestamp>,
}

/// `stats_update`: the session's running figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionStats {
    pub equity: f64,
    pub cash: f64,
    pub realized_pnl: f64,
    pub unrealized_pnl: f64,
    pub return_pct: f64,
    pub trades: u64,
    /// 0 to 100.
    pub win_rate: f64,
}

/// `countdown`: time until the next bar closes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Countdown {
    pub seconds_to_next_bar: u64,
}

/// `session_completed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionCompleted {
    pub reason: String,
    pub final_equity: f64,
}

/// An open position as a session snapshot lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenPosition {
    pub opened: PositionOpened,
    pub last_price: f64,
    pub unrealized_pnl: f64,
}

/// A session topic's state for a late joiner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionSnapshot {
    pub initialized: Option<SessionInitialized>,
    pub candles: Vec<Candle>,
    pub decisions: Vec<Decision>,
    /// Reasoning chunks of the decision in progress.
    pub thinking: Vec<Thinking>,
    pub open_positions: Vec<OpenPosition>,
    pub closed_positions: Vec<PositionClosed>,
    pub stats: Option<SessionStats>,
    pub countdown: Option<Countdown>,
    pub completed: Option<SessionCompleted>,
    /// Paused by a client: no decisions, no fills until resumed.
    #[serde(default)]
    pub paused: bool,
    /// Cut off by its server's stop; cleared when it resumes (docs/SPEC.md section 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Lifecycle>,
}

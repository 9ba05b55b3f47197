//! Payloads of `trading:{SYMBOL}` topics: every paper-trading session's orders,
//! positions, P&L and risk on one symbol.

use serde::{Deserialize, Serialize};

use super::topic::Symbol;

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderSide {
    Buy,
    Sell,
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Submitted,
    Filled,
    Cancelled,
}

/// `order`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Order {
    /// The paper-trading session this concerns (several may trade one symbol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub id: String,
    pub symbol: Symbol,
    pub side: OrderSide,
    pub qty: f64,
    pub status: OrderStatus,
    pub price: f64,
}

/// `position`: net position on the symbol (negative `qty` is short).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Position {
    /// The paper-trading session this concerns (several may trade one symbol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub symbol: Symbol,
    pub qty: f64,
    pub avg_price: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
}

/// `pnl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pnl {
    /// The paper-trading session this concerns (several may trade one symbol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub realized: f64,
    pub unrealized: f64,
    pub total: f64,
}

/// `risk`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Risk {
    /// The paper-trading session this concerns (several may trade one symbol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Gross notional of open positions.
    pub exposure: f64,
    pub leverage: f64,
    pub drawdown_pct: f64,
}

/// A trading topic's state for a late joiner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TradingSnapshot {
    pub orders: Vec<Order>,
    pub position: Option<Position>,
    pub pnl: Option<Pnl>,
    pub risk: Option<Risk>,
}

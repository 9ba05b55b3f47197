//! Payloads of `market:{SYMBOL}` topics: candles and price ticks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use super::topic::Symbol;

/// Where market data came from, so synthetic data is never mistaken for real.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum DataSource {
    /// A seeded geometric-Brownian-motion model: not a real market.
    Synthetic,
    /// Real history replayed from a CSV file.
    CsvReplay,
    /// Pushed by an outside producer through `POST /api/publish`.
    #[default]
    External,
    /// Binance spot's public trades (docs/MARKETS.md).
    Binance,
    /// Coinbase Exchange's public matches (docs/MARKETS.md).
    Coinbase,
    /// Kraken's public trades, WebSocket v2 (docs/MARKETS.md).
    Kraken,
}

/// A candle's length, written `30s`, `1m`, `15m`, `1h`, `1d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Interval {
    secs: u64,
}

/// Why an interval string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid interval `{0}`: expected a positive whole number followed by s, m, h or d (e.g. `1m`)"
)]
pub struct IntervalError(pub String);

impl Interval {
    /// An interval of `secs` seconds (at least one).
    pub fn from_secs(secs: u64) -> Result<Self, IntervalError> {
        if secs == 0 {
            return Err(IntervalError("0s".into()));
        }
        Ok(Interval { secs })
    }

    /// Length in seconds.
    pub fn secs(self) -> u64 {
        self.secs
    }

    /// Length in milliseconds.
    pub fn millis(self) -> i64 {
        self.secs as i64 * 1000
    }
}

impl FromStr for Interval {
    type Err = IntervalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || IntervalError(s.to_owned());
        let unit_at = s.len().checked_sub(1).ok_or_else(err)?;
        let (digits, unit) = s.split_at(unit_at);
        let n: u64 = digits.parse().map_err(|_| err())?;
        let factor = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(err()),
        };
        n.checked_mul(factor)
            .filter(|&secs| secs > 0)
            .map(|secs| Interval { secs })
            .ok_or_else(err)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs;
        match () {
            _ if s.is_multiple_of(86_400) => write!(f, "{}d", s / 86_400),
            _ if s.is_multiple_of(3600) => write!(f, "{}h", s / 3600),
            _ if s.is_multiple_of(60) => write!(f, "{}m", s / 60),
            _ => write!(f, "{s}s"),
        }
    }
}

impl TryFrom<String> for Interval {
    type Error = IntervalError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> String {
        i.to_string()
    }
}

/// One OHLCV bar. An open candle is re-sent as it changes; `closed` marks the final one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Candle {
    pub symbol: Symbol,
    pub interval: Interval,
    pub open_time: Timestamp,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub closed: bool,
    #[serde(default)]
    pub source: DataSource,
}

/// One trade print: the latest price of a symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tick {
    pub symbol: Symbol,
    pub price: f64,
    /// Change against the feed's reference price (its first price), in percent.
    pub change_pct: f64,
    pub volume: f64,
    #[serde(default)]
    pub source: DataSource,
    /// When the venue says the trade happened (a venue's print; absent for models and
    /// replays, whose envelope time is the print's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
}

/// Market structure read from recent swings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Structure {
    Uptrend,
    Downtrend,
    Range,
}

/// `analysis`: indicators, candlestick patterns, structure and a confluence score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Analysis {
    pub symbol: Symbol,
    /// Indicator name (`sma_20`, `ema_12`, `rsi_14`, …) → value on the last closed candle.
    pub indicators: std::collections::BTreeMap<String, f64>,
    /// Candlestick patterns found on the last candles (`bullish_engulfing`, `doji`, …).
    pub patterns: Vec<String>,
    pub structure: Structure,
    /// 0 (signals disagree) to 1 (every signal points the same way).
    pub confluence: f64,
}

/// A symbol the server's market feed publishes, as `GET /api/market/symbols` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SymbolInfo {
    pub symbol: Symbol,
    pub topic: String,
    pub interval: Interval,
    pub source: DataSource,
    /// Decimal places a price of this symbol is shown with.
    pub price_decimals: u8,
    /// What produces the data, in words (e.g. the model and its seed).
    pub description: String,
}

/// A market topic's state for a late joiner: recent candles and the last tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MarketSnapshot {
    pub candles: Vec<Candle>,
    pub last_tick: Option<Tick>,
    #[serde(default)]
    pub analysis: Option<Analysis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_and_print_in_their_shortest_unit() {
        for (text, secs, printed) in [
            ("5s", 5, "5s"),
            ("60s", 60, "1m"),
            ("1m", 60, "1m"),
            ("4h", 14_400, "4h"),
            ("1d", 86_400, "1d"),
        ] {
            let i: Interval = text.parse().unwrap();
            assert_eq!(i.secs(), secs);
            assert_eq!(i.to_string(), printed);
        }
        for bad in ["", "m", "0m", "-1m", "1w", "1.5m", "99999999999999999999d"] {
            let err = bad.parse::<Interval>().unwrap_err().to_string();
            assert!(err.contains(&format!("invalid interval `{bad}`")), "{err}");
        }
    }

    #[test]
    fn a_tick_without_source_is_taken_as_external() {
        let t: Tick =
            serde_json::from_str(r#"{"symbol":"X","price":1.5,"change_pct":0.1,"volume":3}"#)
                .unwrap();
        assert_eq!(t.source, DataSource::External);
    }
}

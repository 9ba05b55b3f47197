//! What differs between venues, behind one trait: where to connect, what to send once
//! connected, how a frame reads, and how candles are asked for and read. Each venue's
//! module cites the documentation its frames and answers follow (docs/MARKETS.md).

mod binance;
mod coinbase;
mod kraken;

use std::time::Duration;

use super::spec::Venue;

/// One trade print, as the venue sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct Print {
    /// The market, as the venue names it.
    pub market: String,
    /// The venue's trade id, increasing per market.
    pub id: u64,
    pub price: f64,
    pub size: f64,
    /// When the venue says it traded, Unix ms.
    pub time_ms: i64,
}

/// What one frame from the venue means.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Prints(Vec<Print>),
    /// The venue is about to close the connection (Binance's `serverShutdown`):
    /// connect again now.
    Closing,
    /// The venue's last trade id of a market (Coinbase's heartbeat): prints up to it
    /// that never came were missed.
    LastTrade {
        market: String,
        id: u64,
    },
    /// A heartbeat, an acknowledgement or a status: the venue's own bookkeeping.
    Other,
    /// A kind of frame the venue's documentation does not list for what tickwire
    /// asked: dropped and counted (its kind, for the log).
    Unknown(String),
    /// The venue refused what was asked (an unknown market): the reason, as it gave it.
    Refused(String),
}

/// One candle as the venue's REST API gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VenueCandle {
    pub open_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// What a venue is, in constants.
pub struct Profile {
    pub venue: Venue,
    /// The WebSocket base tickwire connects to unless `--feed-ws-url` says otherwise.
    pub ws: &'static str,
    /// The REST base, unless `--feed-rest-url` says otherwise.
    pub rest: &'static str,
    /// Candle lengths the REST API serves, in seconds, ascending.
    pub granularities: &'static [u64],
    /// Most candles one REST call returns.
    pub candles_per_call: usize,
    /// How long the venue lets one connection live (tickwire reconnects before).
    pub max_connection_age: Option<Duration>,
    /// The least time between two REST calls in a row (`tickwire download`'s pages).
    pub rest_pace: Duration,
}

/// The candles one REST call asks for: `market`'s of `granularity` seconds opening in
/// `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug)]
pub struct CandleRange<'a> {
    pub base: &'a str,
    pub market: &'a str,
    pub granularity: u64,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A venue's public market-data API.
pub trait VenueApi: Send + Sync {
    fn profile(&self) -> &'static Profile;
    /// The URL of a connection that streams `markets`' trades, from `base` (the base
    /// itself where the markets are subscribed to in a frame).
    fn stream_url(&self, base: &str, _markets: &[&str]) -> String {
        base.to_owned()
    }
    /// Frames to send once connected (subscriptions), in order.
    fn subscribe(&self, markets: &[&str]) -> Vec<String>;
    /// What a text frame means; `Err` (why) for one that does not read.
    fn read(&self, text: &str) -> Result<Frame, String>;
    /// The REST URL of the candles of `range`.
    fn candles_url(&self, range: &CandleRange<'_>) -> String;
    /// The candles of a REST answer, oldest first.
    fn read_candles(&self, body: &str) -> Result<Vec<VenueCandle>, String>;
}

/// The API of `venue`.
pub fn of(venue: Venue) -> Box<dyn VenueApi> {
    match venue {
        Venue::Binance => Box::new(binance::Binance),
        Venue::Coinbase => Box::new(coinbase::Coinbase),
        Venue::Kraken => Box::new(kraken::Kraken),
    }
}

/// A decimal the venue sends as a string (`"0.001"`), refused unless finite.
fn decimal(field: &str, raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{field} `{raw}` is not a number"))
}

/// A candle of a REST answer that is a row `[time, "open", "high", "low", "close", …]`
/// with the volume at `volume_at` and the time in `time_unit_ms` (Binance's klines,
/// Kraken's OHLC).
fn row_candle(
    row: &[serde_json::Value],
    time_unit_ms: i64,
    volume_at: usize,
) -> Result<VenueCandle, String> {
    let text = |i: usize, field: &str| {
        row.get(i)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("candle {field} is missing"))
            .and_then(|raw| decimal(field, raw))
    };
    let time = row
        .first()
        .and_then(serde_json::Value::as_i64)
        .ok_or("candle time is missing")?;
    Ok(VenueCandle {
        open_ms: time.saturating_mul(time_unit_ms),
        open: text(1, "open")?,
        high: text(2, "high")?,
        low: text(3, "low")?,
        close: text(4, "close")?,
        volume: text(volume_at, "volume")?,
    })
}

//! Kraken spot, WebSocket API v2 (public, no key). Frames follow Kraken's own
//! documentation, docs.kraken.com: "Trade" (subscribe `{"method":"subscribe",
//! "params":{"channel":"trade","symbol":[…]}}`; updates `{"channel":"trade","type":
//! "update","data":[{symbol, side, price, qty, ord_type, trade_id, timestamp}]}`,
//! symbols written `BTC/USD`), "Heartbeat" (`{"channel":"heartbeat"}` about once a
//! second once subscribed), "Ping" (`{"method":"ping"}` answered by `pong`: tickwire
//! reads heartbeats instead), and the REST reference "Get OHLC Data" (`GET
//! /0/public/OHLC?pair=XBTUSD&interval=&since=`, its last 720 candles at most, each
//! `[time, open, high, low, close, vwap, volume, count]`; REST pairs name bitcoin
//! `XBT` and dogecoin `XDG`).

use std::time::Duration;

use chrono::DateTime;
use serde::Deserialize;

use super::{row_candle, CandleRange, Frame, Print, Profile, VenueApi, VenueCandle};
use crate::feed::venue::spec::Venue;

pub struct Kraken;

#[derive(Deserialize)]
struct Message {
    channel: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    data: Vec<Trade>,
    method: Option<String>,
    success: Option<bool>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Trade {
    symbol: Option<String>,
    price: Option<f64>,
    qty: Option<f64>,
    trade_id: Option<u64>,
    timestamp: Option<String>,
}

/// `{"error":[…],"result":{PAIR:[[…]], "last":…}}`.
#[derive(Deserialize)]
struct Ohlc {
    #[serde(default)]
    error: Vec<String>,
    result: Option<serde_json::Map<String, serde_json::Value>>,
}

static PROFILE: Profile = Profile {
    venue: Venue::Kraken,
    ws: "wss://ws.kraken.com/v2",
    rest: "https://api.kraken.com",
    granularities: &[60, 300, 900, 1800, 3600, 14_400, 86_400, 604_800, 1_296_000],
    candles_per_call: 720,
    max_connection_age: None,
    // Public calls drain a counter that refills about one a second.
    rest_pace: Duration::from_secs(1),
};

impl VenueApi for Kraken {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn subscribe(&self, markets: &[&str]) -> Vec<String> {
        let request = serde_json::json!({
            "method": "subscribe",
            "params": {"channel": "trade", "symbol": markets, "snapshot": false},
        });
        vec![request.to_string()]
    }

    fn read(&self, text: &str) -> Result<Frame, String> {
        let m: Message =
            serde_json::from_str(text).map_err(|e| format!("not a Kraken message: {e}"))?;
        if m.method.is_some() && m.success == Some(false) {
            return Ok(Frame::Refused(
                m.error.unwrap_or_else(|| "request refused".into()),
            ));
        }
        if m.method.is_some() {
            // An answer to a request (the subscription's, a pong).
            return Ok(Frame::Other);
        }
        match (m.channel.as_deref(), m.kind.as_deref()) {
            (Some("trade"), Some("update")) => {}
            (Some("heartbeat" | "status"), _) => return Ok(Frame::Other),
            (channel, kind) => {
                let (channel, kind) = (channel.unwrap_or("none"), kind.unwrap_or("no type"));
                return Ok(Frame::Unknown(format!("channel `{channel}` ({kind})")));
            }
        }
        m.data
            .into_iter()
            .map(|t| {
                let missing = |field: &str| format!("trade without `{field}`");
                let time = t.timestamp.ok_or_else(|| missing("timestamp"))?;
                let price = t
                    .price
                    .filter(|p| p.is_finite())
                    .ok_or_else(|| missing("price"))?;
                Ok(Print {
                    market: t.symbol.ok_or_else(|| missing("symbol"))?,
                    id: t.trade_id.ok_or_else(|| missing("trade_id"))?,
                    price,
                    size: t
                        .qty
                        .filter(|q| q.is_finite())
                        .ok_or_else(|| missing("qty"))?,
                    time_ms: DateTime::parse_from_rfc3339(&time)
                        .map_err(|_| format!("timestamp `{time}` is not RFC 3339"))?
                        .timestamp_millis(),
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Frame::Prints)
    }

    fn candles_url(&self, range: &CandleRange<'_>) -> String {
        let CandleRange {
            base,
            market,
            granularity,
            start_ms,
            ..
        } = *range;
        // `since` is exclusive: a second before the first candle wanted.
        format!(
            "{}/0/public/OHLC?pair={}&interval={}&since={}",
            base.trim_end_matches('/'),
            rest_pair(market),
            granularity / 60,
            start_ms / 1000 - 1
        )
    }

    fn read_candles(&self, body: &str) -> Result<Vec<VenueCandle>, String> {
        let ohlc: Ohlc =
            serde_json::from_str(body).map_err(|e| format!("OHLC does not read: {e}"))?;
        if !ohlc.error.is_empty() {
            return Err(ohlc.error.join("; "));
        }
        let result = ohlc.result.ok_or("OHLC without `result`")?;
        let rows = result
            .iter()
            .find(|(key, _)| *key != "last")
            .and_then(|(_, rows)| rows.as_array())
            .ok_or("OHLC without candles")?;
        rows.iter()
            .map(|row| {
                let row = row.as_array().ok_or("a candle is not a list")?;
                row_candle(row, 1000, 6)
            })
            .collect()
    }
}

/// A v2 symbol as the REST API names the pair: `BTC/USD` → `XBTUSD`.
fn rest_pair(symbol: &str) -> String {
    symbol
        .split('/')
        .map(|asset| match asset {
            "BTC" => "XBT",
            "DOGE" => "XDG",
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_trade_update_reads_and_the_rest_is_other() {
        // The update example of docs.kraken.com's "Trade" (WebSocket v2).
        let update = r#"{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}]}"#;
        assert_eq!(
            Kraken.read(update),
            Ok(Frame::Prints(vec![Print {
                market: "MATIC/USD".into(),
                id: 4_665_846,
                price: 0.5147,
                size: 6423.46326,
                time_ms: 1_695_628_116_925
            }]))
        );
        assert_eq!(Kraken.read(r#"{"channel":"heartbeat"}"#), Ok(Frame::Other));
        assert_eq!(
            Kraken.read(r#"{"method":"pong","req_id":1}"#),
            Ok(Frame::Other)
        );
        assert!(matches!(
            Kraken.read(r#"{"channel":"book","type":"update","data":[]}"#),
            Ok(Frame::Unknown(_))
        ));
        assert_eq!(Kraken.read(r#"{"channel":"status","type":"update","data":[{"api_version":"v2","system":"online"}]}"#), Ok(Frame::Other));
        let refused = r#"{"error":"Currency pair not supported BTC/XYZ","method":"subscribe","success":false,"symbol":"BTC/XYZ"}"#;
        assert!(
            matches!(Kraken.read(refused), Ok(Frame::Refused(r)) if r.contains("not supported"))
        );
        assert!(Kraken
            .read(r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","price":1}]}"#)
            .is_err());
    }

    #[test]
    fn ohlc_is_asked_for_by_the_rest_pair_and_read() {
        let url = Kraken.candles_url(&CandleRange {
            base: "https://api.kraken.com",
            market: "BTC/USD",
            granularity: 60,
            start_ms: 1_688_671_200_000,
            end_ms: 0,
        });
        assert_eq!(
            url,
            "https://api.kraken.com/0/public/OHLC?pair=XBTUSD&interval=1&since=1688671199"
        );
        // The shape of "Get OHLC Data"'s example answer.
        let body = r#"{"error":[],"result":{"XXBTZUSD":[[1688671200,"30306.1","30306.2","30305.7","30305.7","30306.1","3.39243896",23]],"last":1688672160}}"#;
        assert_eq!(
            Kraken.read_candles(body).unwrap(),
            [VenueCandle {
                open_ms: 1_688_671_200_000,
                open: 30306.1,
                high: 30306.2,
                low: 30305.7,
                close: 30305.7,
                volume: 3.39243896
            }]
        );
        assert_eq!(
            Kraken.read_candles(r#"{"error":["EQuery:Unknown asset pair"]}"#),
            Err("EQuery:Unknown asset pair".into())
        );
    }
}

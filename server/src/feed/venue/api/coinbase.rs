//! Coinbase Exchange's public feed (no key). Frames and limits follow Coinbase's own
//! documentation, docs.cdp.coinbase.com/exchange: "WebSocket Feed" (the endpoint
//! `wss://ws-feed.exchange.coinbase.com`; a `subscribe` within 5 s of connecting or
//! the connection is closed), "WebSocket Channels" (`matches`: a `match` per trade,
//! with `trade_id`, `sequence`, `time`, `product_id`, `size`, `price`, and one
//! `last_match` on subscribing; `heartbeat`: one a second per product with its
//! `last_trade_id`, to tell a missed trade) and the REST reference "Get product
//! candles" (`GET /products/{id}/candles?granularity=&start=&end=`, at most 300 a
//! call, each `[time, low, high, open, close, volume]`, newest first, granularity one
//! of 60, 300, 900, 3600, 21600, 86400).

use std::time::Duration;

use chrono::DateTime;
use serde::Deserialize;

use super::{decimal, CandleRange, Frame, Print, Profile, VenueApi, VenueCandle};
use crate::feed::venue::spec::Venue;

pub struct Coinbase;

/// The fields of the messages tickwire reads (`match`, `last_match`, `heartbeat`,
/// `error`); others are ignored, as Coinbase asks of clients.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    product_id: Option<&'a str>,
    trade_id: Option<u64>,
    last_trade_id: Option<u64>,
    price: Option<&'a str>,
    size: Option<&'a str>,
    time: Option<&'a str>,
    message: Option<String>,
    reason: Option<String>,
}

static PROFILE: Profile = Profile {
    venue: Venue::Coinbase,
    ws: "wss://ws-feed.exchange.coinbase.com",
    rest: "https://api.exchange.coinbase.com",
    granularities: &[60, 300, 900, 3600, 21_600, 86_400],
    candles_per_call: 300,
    max_connection_age: None,
    // Public endpoints allow 10 requests a second.
    rest_pace: Duration::from_millis(150),
};

impl VenueApi for Coinbase {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn subscribe(&self, markets: &[&str]) -> Vec<String> {
        let request = serde_json::json!({
            "type": "subscribe",
            "product_ids": markets,
            "channels": ["matches", "heartbeat"],
        });
        vec![request.to_string()]
    }

    fn read(&self, text: &str) -> Result<Frame, String> {
        let m: Message<'_> =
            serde_json::from_str(text).map_err(|e| format!("not a Coinbase message: {e}"))?;
        let missing = |field: &str| format!("{} without `{field}`", m.kind);
        match m.kind {
            "match" | "last_match" => {
                let time = m.time.ok_or_else(|| missing("time"))?;
                let time_ms = DateTime::parse_from_rfc3339(time)
                    .map_err(|_| format!("time `{time}` is not RFC 3339"))?
                    .timestamp_millis();
                Ok(Frame::Prints(vec![Print {
                    market: m
                        .product_id
                        .ok_or_else(|| missing("product_id"))?
                        .to_owned(),
                    id: m.trade_id.ok_or_else(|| missing("trade_id"))?,
                    price: decimal("price", m.price.ok_or_else(|| missing("price"))?)?,
                    size: decimal("size", m.size.ok_or_else(|| missing("size"))?)?,
                    time_ms,
                }]))
            }
            "heartbeat" => match (m.product_id, m.last_trade_id) {
                (Some(market), Some(last)) if last > 0 => Ok(Frame::LastTrade {
                    market: market.to_owned(),
                    id: last,
                }),
                _ => Ok(Frame::Other),
            },
            "error" => Ok(Frame::Refused(
                [m.message, m.reason]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": "),
            )),
            "subscriptions" => Ok(Frame::Other),
            kind => Ok(Frame::Unknown(format!("type `{kind}`"))),
        }
    }

    fn candles_url(&self, range: &CandleRange<'_>) -> String {
        let CandleRange {
            base,
            market,
            granularity,
            start_ms,
            end_ms,
        } = *range;
        let iso = |ms: i64| {
            DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        // `end` is inclusive: the last candle asked for opens a granularity before it.
        let last = end_ms - granularity as i64 * 1000;
        format!(
            "{}/products/{market}/candles?granularity={granularity}&start={}&end={}",
            base.trim_end_matches('/'),
            iso(start_ms),
            iso(last.max(start_ms))
        )
    }

    fn read_candles(&self, body: &str) -> Result<Vec<VenueCandle>, String> {
        let rows: Vec<[f64; 6]> =
            serde_json::from_str(body).map_err(|e| format!("candles do not read: {e}"))?;
        let mut candles: Vec<VenueCandle> = rows
            .iter()
            .map(|&[time, low, high, open, close, volume]| VenueCandle {
                open_ms: time as i64 * 1000,
                open,
                high,
                low,
                close,
                volume,
            })
            .collect();
        candles.sort_by_key(|c| c.open_ms);
        Ok(candles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_match_and_heartbeat_read() {
        // The `match` and heartbeat examples of "Exchange WebSocket Channels".
        let matched = r#"{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}"#;
        assert_eq!(
            Coinbase.read(matched),
            Ok(Frame::Prints(vec![Print {
                market: "BTC-USD".into(),
                id: 10,
                price: 400.23,
                size: 5.23512,
                time_ms: 1_415_348_367_028
            }]))
        );
        let heartbeat = r#"{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}"#;
        assert_eq!(
            Coinbase.read(heartbeat),
            Ok(Frame::LastTrade {
                market: "BTC-USD".into(),
                id: 20
            })
        );
        assert_eq!(
            Coinbase.read(r#"{"type":"subscriptions","channels":[]}"#),
            Ok(Frame::Other)
        );
        assert!(
            matches!(Coinbase.read(r#"{"type":"error","message":"Failed to subscribe","reason":"BTC-XYZ is not a valid product"}"#), Ok(Frame::Refused(r)) if r.contains("not a valid product"))
        );
        assert!(Coinbase.read(r#"{"type":"match","trade_id":1}"#).is_err());
    }

    #[test]
    fn the_subscription_names_both_channels() {
        let frames = Coinbase.subscribe(&["BTC-USD"]);
        let request: serde_json::Value = serde_json::from_str(&frames[0]).unwrap();
        assert_eq!(
            request["channels"],
            serde_json::json!(["matches", "heartbeat"])
        );
        assert_eq!(request["product_ids"], serde_json::json!(["BTC-USD"]));
    }

    #[test]
    fn candles_are_asked_for_and_read_oldest_first() {
        let url = Coinbase.candles_url(&CandleRange {
            base: "https://api.exchange.coinbase.com",
            market: "BTC-USD",
            granularity: 60,
            start_ms: 0,
            end_ms: 300_000,
        });
        assert_eq!(url, "https://api.exchange.coinbase.com/products/BTC-USD/candles?granularity=60&start=1970-01-01T00:00:00Z&end=1970-01-01T00:04:00Z");
        let body =
            "[[1415398800,399.0,401.0,400.0,400.5,12.5],[1415398740,398.0,400.0,399.0,400.0,3.0]]";
        let candles = Coinbase.read_candles(body).unwrap();
        assert_eq!(
            candles[0],
            VenueCandle {
                open_ms: 1_415_398_740_000,
                open: 399.0,
                high: 400.0,
                low: 398.0,
                close: 400.0,
                volume: 3.0
            }
        );
        assert_eq!(candles[1].open_ms, 1_415_398_800_000);
    }
}

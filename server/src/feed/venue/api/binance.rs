//! Binance spot, public market data only. Frames and limits follow Binance's own
//! documentation, binance/binance-spot-api-docs: `web-socket-streams.md` (combined
//! streams `/stream?streams=…` wrapping each event as `{"stream","data"}`, the
//! `<symbol>@trade` payload, `serverShutdown`, a ping every 20 s to answer, at most 5
//! incoming messages a second, a connection valid for 24 h) and `rest-api.md`
//! (`GET /api/v3/klines`, at most 1,000 a call; the market-data-only bases
//! `data-stream.binance.vision` and `data-api.binance.vision`).
//!
//! tickwire sends Binance no frame of its own: the streams are named in the URL, and
//! the pongs answering its pings are its only messages.

use std::time::Duration;

use protocol::Interval;
use serde::Deserialize;

use super::{decimal, row_candle, CandleRange, Frame, Print, Profile, VenueApi, VenueCandle};
use crate::feed::venue::spec::Venue;

pub struct Binance;

/// A combined stream's envelope.
#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: Event<'a>,
}

/// The fields of the events tickwire reads (`trade`, `serverShutdown`).
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "e")]
    kind: &'a str,
    #[serde(rename = "s")]
    symbol: Option<&'a str>,
    #[serde(rename = "t")]
    id: Option<u64>,
    #[serde(rename = "p")]
    price: Option<&'a str>,
    #[serde(rename = "q")]
    quantity: Option<&'a str>,
    #[serde(rename = "T")]
    time: Option<i64>,
}

/// An answer to a request (`{"result":…,"id":…}`) or an error (`{"code":…,"msg":…}`).
#[derive(Deserialize)]
struct Reply {
    code: Option<i64>,
    msg: Option<String>,
}

static PROFILE: Profile = Profile {
    venue: Venue::Binance,
    ws: "wss://data-stream.binance.vision",
    rest: "https://data-api.binance.vision",
    granularities: &[
        1, 60, 180, 300, 900, 1800, 3600, 7200, 14_400, 21_600, 28_800, 43_200, 86_400,
    ],
    candles_per_call: 1000,
    // Valid for 24 h: reconnect ten minutes before.
    max_connection_age: Some(Duration::from_secs(24 * 3600 - 600)),
    // Weight 2 a call of the 6,000 a minute allowed: ten a second leaves most of it.
    rest_pace: Duration::from_millis(100),
};

impl VenueApi for Binance {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn stream_url(&self, base: &str, markets: &[&str]) -> String {
        let streams: Vec<String> = markets
            .iter()
            .map(|m| format!("{}@trade", m.to_ascii_lowercase()))
            .collect();
        format!(
            "{}/stream?streams={}",
            base.trim_end_matches('/'),
            streams.join("/")
        )
    }

    fn subscribe(&self, _markets: &[&str]) -> Vec<String> {
        Vec::new()
    }

    fn read(&self, text: &str) -> Result<Frame, String> {
        if let Ok(Combined { data }) = serde_json::from_str::<Combined<'_>>(text) {
            return event(data);
        }
        if let Ok(data) = serde_json::from_str::<Event<'_>>(text) {
            return event(data);
        }
        match serde_json::from_str::<Reply>(text) {
            Ok(Reply {
                code: Some(code),
                msg,
            }) => Ok(Frame::Refused(format!(
                "error {code}: {}",
                msg.unwrap_or_default()
            ))),
            Ok(_) => Ok(Frame::Other),
            Err(e) => Err(format!("not a Binance event: {e}")),
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
        // Binance names its kline lengths as tickwire writes intervals (`1s`, `15m`,
        // `4h`, `1d`); no granularity is 0.
        let interval = Interval::from_secs(granularity)
            .map(|i| i.to_string())
            .unwrap_or_default();
        let limit = PROFILE.candles_per_call;
        format!(
            "{}/api/v3/klines?symbol={market}&interval={interval}&startTime={start_ms}&endTime={}&limit={limit}",
            base.trim_end_matches('/'),
            end_ms - 1
        )
    }

    fn read_candles(&self, body: &str) -> Result<Vec<VenueCandle>, String> {
        // Each kline: [open time, "open", "high", "low", "close", "volume", close time, …].
        let rows: Vec<Vec<serde_json::Value>> =
            serde_json::from_str(body).map_err(|e| format!("klines do not read: {e}"))?;
        rows.iter().map(|row| row_candle(row, 1, 5)).collect()
    }
}

fn event(data: Event<'_>) -> Result<Frame, String> {
    match data.kind {
        "trade" => {
            let missing = |field: &str| format!("trade without `{field}`");
            Ok(Frame::Prints(vec![Print {
                market: data.symbol.ok_or_else(|| missing("s"))?.to_owned(),
                id: data.id.ok_or_else(|| missing("t"))?,
                price: decimal("price", data.price.ok_or_else(|| missing("p"))?)?,
                size: decimal("quantity", data.quantity.ok_or_else(|| missing("q"))?)?,
                time_ms: data.time.ok_or_else(|| missing("T"))?,
            }]))
        }
        "serverShutdown" => Ok(Frame::Closing),
        kind => Ok(Frame::Unknown(format!("event `{kind}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_trade_reads_raw_and_combined() {
        // The `<symbol>@trade` payload of web-socket-streams.md.
        let raw = r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#;
        let expected = Frame::Prints(vec![Print {
            market: "BNBBTC".into(),
            id: 12345,
            price: 0.001,
            size: 100.0,
            time_ms: 1_672_515_782_136,
        }]);
        assert_eq!(Binance.read(raw), Ok(expected.clone()));
        let combined = format!(r#"{{"stream":"bnbbtc@trade","data":{raw}}}"#);
        assert_eq!(Binance.read(&combined), Ok(expected));
    }

    #[test]
    fn shutdown_replies_and_errors_are_told_apart_and_junk_is_refused() {
        let shutdown =
            r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}"#;
        assert_eq!(Binance.read(shutdown), Ok(Frame::Closing));
        assert_eq!(Binance.read(r#"{"result":null,"id":1}"#), Ok(Frame::Other));
        let depth = r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1}}"#;
        assert_eq!(
            Binance.read(depth),
            Ok(Frame::Unknown("event `depthUpdate`".into()))
        );
        assert!(
            matches!(Binance.read(r#"{"code":2,"msg":"Invalid request"}"#), Ok(Frame::Refused(m)) if m.contains("Invalid request"))
        );
        assert!(Binance.read("not json").is_err());
        let no_price = r#"{"e":"trade","E":1,"s":"BNBBTC","t":1,"q":"1","T":1}"#;
        assert_eq!(Binance.read(no_price), Err("trade without `p`".into()));
        let bad_price = r#"{"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"NaN","q":"1","T":1}"#;
        assert!(Binance.read(bad_price).is_err());
    }

    #[test]
    fn klines_are_asked_for_and_read_as_documented() {
        let url = Binance.candles_url(&CandleRange {
            base: "https://data-api.binance.vision",
            market: "BTCUSDT",
            granularity: 60,
            start_ms: 1_000,
            end_ms: 61_000,
        });
        assert_eq!(url, "https://data-api.binance.vision/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1000&endTime=60999&limit=1000");
        assert!(Binance
            .candles_url(&CandleRange {
                base: "x",
                market: "X",
                granularity: 14_400,
                start_ms: 0,
                end_ms: 1
            })
            .contains("interval=4h"));
        // The response of rest-api.md, "Kline/Candlestick data".
        let body = r#"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]"#;
        let candles = Binance.read_candles(body).unwrap();
        assert_eq!(
            candles,
            [VenueCandle {
                open_ms: 1_499_040_000_000,
                open: 0.0163479,
                high: 0.8,
                low: 0.015758,
                close: 0.015771,
                volume: 148_976.114_278_15
            }]
        );
        assert!(Binance.read_candles(r#"[[1499040000000,"x"]]"#).is_err());
    }
}

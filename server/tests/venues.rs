//! Venue feeds (docs/MARKETS.md) against fake venues that speak each venue's documented
//! frames: prints become ticks and candles, a fresh topic starts with the venue's
//! candles, and forced closes, silence, junk, duplicate trade ids and REST refusals
//! neither break the topic nor the server.

mod common;

use std::time::Duration;

use common::venue::{binance_klines, coinbase_candles, kraken_ohlc, Answer, FakeVenue, Push};
use common::*;
use serde_json::{json, Value};
use server::config::{ServeArgs, VenueUrl};
use server::feed::venue::{FeedSpec, Venue};
use server::serve::Running;

/// A trade as Binance's combined stream wraps it (web-socket-streams.md, "Trade Streams").
fn binance_trade(id: u64, price: f64) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    json!({"stream": "btcusdt@trade", "data": {"e": "trade", "E": now, "s": "BTCUSDT", "t": id, "p": format!("{price:.2}"), "q": "0.5", "T": now, "m": true, "M": true}}).to_string()
}

/// One venue as its tests drive it: its feed, its topic, and its documented frames.
struct Case {
    feed: &'static str,
    topic: &'static str,
    source: &'static str,
    /// A trade print with this id and price.
    trade: fn(u64, f64) -> String,
    /// A trade frame without its price (malformed).
    priceless: fn(u64) -> String,
    /// A frame of a kind tickwire did not ask for.
    unknown: &'static str,
    /// The body of the venue's REST candles for a request.
    candles: fn(&str) -> String,
}

/// A match as Coinbase's `matches` channel sends it ("Exchange WebSocket Channels").
fn coinbase_match(id: u64, price: f64) -> String {
    json!({"type": "match", "trade_id": id, "sequence": 50 + id, "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8", "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1", "time": chrono::Utc::now().to_rfc3339(), "product_id": "BTC-USD", "size": "0.5", "price": format!("{price:.2}"), "side": "sell"}).to_string()
}

/// A trade update as Kraken's v2 `trade` channel sends it ("Trade").
fn kraken_trade(id: u64, price: f64) -> String {
    json!({"channel": "trade", "type": "update", "data": [{"symbol": "BTC/USD", "side": "buy", "price": price, "qty": 0.5, "ord_type": "limit", "trade_id": id, "timestamp": chrono::Utc::now().to_rfc3339()}]}).to_string()
}

fn cases() -> [Case; 3] {
    [
        Case {
            feed: "binance:BTCUSDT",
            topic: "market:BTCUSDT",
            source: "binance",
            trade: binance_trade,
            priceless: |id| {
                json!({"stream": "btcusdt@trade", "data": {"e": "trade", "s": "BTCUSDT", "t": id, "q": "1", "T": 1}}).to_string()
            },
            unknown: r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1}}"#,
            candles: |call| binance_klines(call, 60_000),
        },
        Case {
            feed: "coinbase:BTC-USD",
            topic: "market:BTC-USD",
            source: "coinbase",
            trade: coinbase_match,
            priceless: |id| {
                json!({"type": "match", "trade_id": id, "product_id": "BTC-USD", "size": "1", "time": chrono::Utc::now().to_rfc3339()}).to_string()
            },
            unknown: r#"{"type":"ticker","product_id":"BTC-USD"}"#,
            candles: coinbase_candles,
        },
        Case {
            feed: "kraken:BTC/USD",
            topic: "market:BTC-USD",
            source: "kraken",
            trade: kraken_trade,
            priceless: |id| {
                json!({"channel": "trade", "type": "update", "data": [{"symbol": "BTC/USD", "qty": 1.0, "trade_id": id, "timestamp": chrono::Utc::now().to_rfc3339()}]}).to_string()
            },
            unknown: r#"{"channel":"book","type":"update","data":[]}"#,
            candles: kraken_ohlc,
        },
    ]
}

async fn served(venue: &FakeVenue, feed: &str, tweak: impl FnOnce(&mut ServeArgs)) -> Running {
    let spec: FeedSpec = feed.parse().expect("a feed");
    let which = match &spec {
        FeedSpec::Venue(v) => v.venue,
        _ => Venue::Binance,
    };
    server(|a| {
        a.feed = vec![spec];
        a.interval = "1m".parse().unwrap();
        a.history_candles = 30;
        a.feed_ws_url = vec![VenueUrl {
            venue: which,
            url: venue.ws_url(),
        }];
        a.feed_rest_url = vec![VenueUrl {
            venue: which,
            url: venue.rest_url(),
        }];
        tweak(a);
    })
    .await
}

/// The health report's entry for `symbol`, once `ready` says it is as wanted.
async fn feed_health(running: &Running, ready: impl Fn(&Value) -> bool) -> Value {
    eventually("the feed's health", || async {
        let health = get_json(running, "/api/ws/health").await;
        health["feeds"]
            .as_array()?
            .iter()
            .find(|f| ready(f))
            .cloned()
    })
    .await
}

/// A socket following one market topic, checking as it reads that the topic's seqs
/// run on without a gap or a repeat and that no `resync` ever comes.
struct Follower {
    socket: Socket,
    last_seq: Option<u64>,
    /// Open times of the closed candles seen: none may come twice.
    closed: std::collections::HashSet<String>,
}

impl Follower {
    async fn new(running: &Running, topic: &str) -> Follower {
        let mut socket = connect(running, "/api/ws").await;
        subscribe(&mut socket, topic, None).await;
        let snapshot = next_of_type(&mut socket, "snapshot").await;
        let closed = snapshot["data"]["candles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["closed"] == true)
            .filter_map(|c| c["open_time"].as_str().map(str::to_owned))
            .collect();
        Follower {
            socket,
            last_seq: snapshot["last_seq"].as_u64(),
            closed,
        }
    }

    /// The next `n` ticks.
    async fn ticks(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let read = async {
            while out.len() < n {
                let frame = next_json(&mut self.socket).await;
                assert_ne!(frame["type"], "resync", "the topic went on: {frame}");
                let Some(seq) = frame["seq"].as_u64() else {
                    continue;
                };
                if let Some(last) = self.last_seq {
                    assert_eq!(seq, last + 1, "no gap, no repeat: {frame}");
                }
                self.last_seq = Some(seq);
                if frame["type"] == "candle" && frame["data"]["closed"] == true {
                    let open_time = frame["data"]["open_time"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    assert!(
                        self.closed.insert(open_time),
                        "a candle closed twice: {frame}"
                    );
                }
                if frame["type"] == "tick" {
                    out.push(frame);
                }
            }
        };
        tokio::time::timeout(TYPE_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| panic!("{n} ticks not within {TYPE_TIMEOUT:?}"));
        out
    }
}

#[tokio::test]
async fn binance_prints_become_ticks_on_a_topic_that_starts_with_the_venues_candles() {
    let venue = FakeVenue::start().await;
    venue.candles(|call| binance_klines(call, 60_000));
    let running = served(&venue, "binance:BTCUSDT", |_| {}).await;
    feed_health(&running, |f| f["state"] == "connected").await;
    let call = venue.calls().first().cloned().expect("klines asked for");
    assert!(
        call.starts_with("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime="),
        "{call}"
    );

    let snapshot = get_json(&running, "/api/streams/market:BTCUSDT/snapshot").await;
    let mut follower = Follower::new(&running, "market:BTCUSDT").await;
    let candles = snapshot["data"]["candles"].as_array().expect("candles");
    assert!(
        candles.len() >= 30,
        "the venue's last 30 candles: {}",
        candles.len()
    );
    let closed = &candles[0];
    assert_eq!(
        (closed["source"].as_str(), closed["closed"].as_bool()),
        (Some("binance"), Some(true))
    );
    let minute = closed["open_time"]
        .as_str()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .timestamp_millis()
                / 60_000
        })
        .unwrap();
    assert_eq!(
        closed["close"].as_f64(),
        Some(100.0 + (minute % 10) as f64),
        "the venue's own close"
    );

    venue.text(binance_trade(1, 64_000.5));
    venue.text(binance_trade(2, 64_001.0));
    let got = follower.ticks(2).await;
    assert_eq!(got[0]["data"]["price"], 64_000.5);
    assert_eq!(got[0]["data"]["source"], "binance");
    assert_eq!(got[0]["data"]["volume"], 0.5);
    assert!(
        got[0]["data"]["time"].is_string(),
        "the venue's trade time: {}",
        got[0]
    );
    let health = feed_health(&running, |f| f["last_print_age_ms"].is_u64()).await;
    assert_eq!(
        (
            health["venue"].as_str(),
            health["symbol"].as_str(),
            health["topic"].as_str()
        ),
        (Some("binance"), Some("BTCUSDT"), Some("market:BTCUSDT"))
    );
    let symbols = get_json(&running, "/api/market/symbols").await;
    assert_eq!(symbols[0]["source"], "binance");
}

#[tokio::test]
async fn on_every_venue_a_forced_close_junk_and_repeats_leave_one_gapless_topic() {
    for case in cases() {
        let venue = FakeVenue::start().await;
        venue.candles(case.candles);
        let running = served(&venue, case.feed, |_| {}).await;
        feed_health(&running, |f| f["state"] == "connected").await;
        let mut follower = Follower::new(&running, case.topic).await;
        venue.text((case.trade)(10, 64_000.0));
        let first = follower.ticks(1).await;
        assert_eq!(first[0]["data"]["source"], case.source);

        // Junk, an unknown kind of frame and a trade without a price are dropped; the
        // connection and the topic carry on.
        venue.text("{not json");
        venue.text(case.unknown);
        venue.text((case.priceless)(11));
        venue.text((case.trade)(11, 64_011.0));
        assert_eq!(
            follower.ticks(1).await[0]["data"]["price"],
            64_011.0,
            "{}",
            case.feed
        );
        assert_eq!(venue.connections(), 1, "{}: junk closes nothing", case.feed);
        let health = feed_health(&running, |f| f["dropped"].as_u64() >= Some(3)).await;
        assert_eq!(
            health["dropped"], 3,
            "{}: the junk, the unknown frame, the trade without a price: {health}",
            case.feed
        );

        // A forced close: the feed connects again and goes on in the same topic; the
        // trade the venue sends again (id 11) is no second print.
        venue.push(Push::Close);
        eventually("the feed connects again", || async {
            (venue.connections() >= 2).then_some(())
        })
        .await;
        feed_health(&running, |f| f["state"] == "connected").await;
        venue.text((case.trade)(11, 64_011.0));
        venue.text((case.trade)(12, 64_012.0));
        assert_eq!(
            follower.ticks(1).await[0]["data"]["price"],
            64_012.0,
            "{}: id 11 again is no new print",
            case.feed
        );
        let health = feed_health(&running, |f| f["dropped"].as_u64() >= Some(4)).await;
        assert_eq!(
            (health["dropped"].as_u64(), health["reconnects"].as_u64()),
            (Some(4), Some(1)),
            "{}: {health}",
            case.feed
        );
        let metrics = reqwest::get(http(&running, "/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let symbol = health["symbol"].as_str().unwrap();
        let line = format!(
            r#"tickwire_feed_dropped_total{{venue="{}",symbol="{symbol}"}} 4"#,
            case.source
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
        running.shutdown.cancel();
    }
}

#[tokio::test]
async fn binance_announcing_its_shutdown_is_reconnected_at_once() {
    let venue = FakeVenue::start().await;
    venue.candles(|call| binance_klines(call, 60_000));
    let running = served(&venue, "binance:BTCUSDT", |_| {}).await;
    feed_health(&running, |f| f["state"] == "connected").await;
    let mut follower = Follower::new(&running, "market:BTCUSDT").await;
    venue.text(
        json!({"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1}}).to_string(),
    );
    eventually("reconnected after serverShutdown", || async {
        (venue.connections() >= 2).then_some(())
    })
    .await;
    let health = feed_health(&running, |f| f["reconnects"] == 1).await;
    assert_eq!(health["state"], "connected", "{health}");
    venue.text(binance_trade(13, 64_013.0));
    assert_eq!(follower.ticks(1).await[0]["data"]["price"], 64_013.0);
}

#[tokio::test]
async fn a_connection_past_its_age_is_replaced_and_the_chart_shows_no_gap() {
    let venue = FakeVenue::start().await;
    venue.candles(|call| binance_klines(call, 60_000));
    let running = served(&venue, "binance:BTCUSDT", |a| {
        a.feed_max_connection_secs = 1;
    })
    .await;
    let mut follower = Follower::new(&running, "market:BTCUSDT").await;
    let pushing = {
        let venue = venue.clone();
        tokio::spawn(async move {
            for id in 1.. {
                venue.text(binance_trade(id, 64_000.0 + (id % 50) as f64));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Replaced twice while prints flow: the topic goes on, no candle twice, no resync.
    eventually("the connection is replaced twice", || async {
        (venue.connections() >= 3).then_some(())
    })
    .await;
    follower.ticks(5).await;
    pushing.abort();
    let health = feed_health(&running, |f| f["reconnects"].as_u64() >= Some(2)).await;
    assert_eq!(health["dropped"], 0, "{health}");
}

#[tokio::test]
async fn every_silent_venue_is_reconnected_and_its_prints_flow_again() {
    for case in cases() {
        let venue = FakeVenue::start().await;
        venue.candles(case.candles);
        let running = served(&venue, case.feed, |a| a.feed_silence_secs = 1).await;
        let mut follower = Follower::new(&running, case.topic).await;
        eventually(
            "a silent connection is given up and opened again",
            || async { (venue.connections() >= 2).then_some(()) },
        )
        .await;
        // It may go silent again while this test pushes: push until a print comes through.
        let pushing = {
            let (venue, trade) = (venue.clone(), case.trade);
            tokio::spawn(async move {
                for id in 100.. {
                    venue.text(trade(id, 64_100.0));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        assert_eq!(
            follower.ticks(1).await[0]["data"]["price"],
            64_100.0,
            "{}",
            case.feed
        );
        pushing.abort();
        running.shutdown.cancel();
    }
}

#[tokio::test]
async fn rest_rate_limits_and_failures_are_waited_out_and_a_refused_location_is_down() {
    for case in cases() {
        let venue = FakeVenue::start().await;
        venue.candles(case.candles);
        venue.answer([
            Answer {
                status: 429,
                retry_after: Some(1),
                body: "too many requests".into(),
            },
            Answer {
                status: 503,
                retry_after: None,
                body: "unavailable".into(),
            },
        ]);
        let started = std::time::Instant::now();
        let running = served(&venue, case.feed, |_| {}).await;
        let snapshot = eventually("the history arrives after a 429 and a 503", || async {
            let s = get_json(&running, &format!("/api/streams/{}/snapshot", case.topic)).await;
            (s["data"]["candles"].as_array()?.len() >= 30).then_some(s)
        })
        .await;
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{}: Retry-After was waited out",
            case.feed
        );
        assert!(
            venue.calls().len() >= 3,
            "{}: {:?}",
            case.feed,
            venue.calls()
        );
        let candle = &snapshot["data"]["candles"][0];
        assert_eq!(
            (candle["source"].as_str(), candle["closed"].as_bool()),
            (Some(case.source), Some(true)),
            "{}",
            case.feed
        );
        running.shutdown.cancel();
    }

    // A venue that refuses this location (HTTP 451): down, named, not retried in a loop.
    let refusing = FakeVenue::start().await;
    refusing.answer([Answer {
        status: 451,
        retry_after: None,
        body: "restricted location".into(),
    }]);
    let running = served(&refusing, "binance:BTCUSDT", |_| {}).await;
    let down = feed_health(&running, |f| f["state"] == "down").await;
    assert!(
        down["reason"].as_str().unwrap().contains("HTTP 451"),
        "{down}"
    );
    assert_eq!(refusing.calls().len(), 1, "asked once, not in a storm");
    assert_eq!(refusing.connections(), 0);
}

#[tokio::test]
async fn coinbase_subscribes_to_matches_and_heartbeats_and_mends_a_gap_from_rest() {
    let venue = FakeVenue::start().await;
    venue.candles(|_| "[]".into());
    let running = served(&venue, "coinbase:BTC-USD", |_| {}).await;
    eventually("the feed subscribes", || async {
        (!venue.received().is_empty()).then_some(())
    })
    .await;
    let subscribe_frame: Value = serde_json::from_str(&venue.received()[0]).unwrap();
    assert_eq!(subscribe_frame["type"], "subscribe");
    assert_eq!(subscribe_frame["channels"], json!(["matches", "heartbeat"]));
    let mut follower = Follower::new(&running, "market:BTC-USD").await;
    let matched = |id: u64, price: &str| {
        json!({"type": "match", "trade_id": id, "sequence": 50 + id, "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8", "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1", "time": chrono::Utc::now().to_rfc3339(), "product_id": "BTC-USD", "size": "5.23512", "price": price, "side": "sell"}).to_string()
    };
    venue.text(matched(10, "400.23"));
    let tick = &follower.ticks(1).await[0];
    assert_eq!(
        (
            tick["data"]["price"].as_f64(),
            tick["data"]["source"].as_str()
        ),
        (Some(400.23), Some("coinbase"))
    );
    // A heartbeat whose last trade id is past the last match seen: the candles are
    // asked for again.
    let asked = venue.calls().len();
    venue.text(json!({"type": "heartbeat", "sequence": 90, "last_trade_id": 12, "product_id": "BTC-USD", "time": chrono::Utc::now().to_rfc3339()}).to_string());
    eventually("the gap is mended from REST", || async {
        (venue.calls().len() > asked).then_some(())
    })
    .await;
    assert_eq!(
        feed_health(&running, |f| f["gaps"] == 1).await["symbol"],
        "BTC-USD"
    );
    let call = venue.calls().last().cloned().unwrap();
    assert!(
        call.starts_with("/products/BTC-USD/candles?granularity=60&start="),
        "{call}"
    );
}

#[tokio::test]
async fn kraken_subscribes_in_its_v2_form_and_its_trades_become_ticks() {
    let venue = FakeVenue::start().await;
    venue.candles(|_| r#"{"error":[],"result":{"XXBTZUSD":[],"last":0}}"#.into());
    let running = served(&venue, "kraken:BTC/USD", |_| {}).await;
    eventually("the feed subscribes", || async {
        (!venue.received().is_empty()).then_some(())
    })
    .await;
    let request: Value = serde_json::from_str(&venue.received()[0]).unwrap();
    assert_eq!(request["params"]["channel"], "trade");
    assert_eq!(request["params"]["symbol"], json!(["BTC/USD"]));
    assert!(
        venue.calls()[0].starts_with("/0/public/OHLC?pair=XBTUSD&interval=1&since="),
        "{:?}",
        venue.calls()
    );
    let mut follower = Follower::new(&running, "market:BTC-USD").await;
    venue.text(r#"{"channel":"heartbeat"}"#);
    let update = json!({"channel": "trade", "type": "update", "data": [{"symbol": "BTC/USD", "side": "buy", "price": 30306.1, "qty": 0.25, "ord_type": "limit", "trade_id": 4665846, "timestamp": chrono::Utc::now().to_rfc3339()}]});
    venue.text(update.to_string());
    let tick = &follower.ticks(1).await[0];
    assert_eq!(
        (
            tick["data"]["price"].as_f64(),
            tick["data"]["source"].as_str()
        ),
        (Some(30306.1), Some("kraken"))
    );
}

#[tokio::test]
async fn two_feeds_naming_one_topic_refuse_to_start_and_say_how_to_rename() {
    let mut args = ServeArgs::defaults();
    args.database_url = "none".to_owned();
    args.addr = "127.0.0.1:0".parse().unwrap();
    args.feed = vec![FeedSpec::Synthetic, "coinbase:BTC-USD".parse().unwrap()];
    let err = server::serve::start(args)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains(
            "market:BTC-USD is named by both the synthetic feed (--symbols) and coinbase:BTC-USD"
        ),
        "{err}"
    );
    assert!(err.contains("VENUE:SYMBOL=ALIAS"), "{err}");
}

//! The market-data slice end to end: feed → hub → dedicated stream socket and HTTP.

mod common;

use common::*;

fn is_rfc3339_utc_millis(s: &str) -> bool {
    // 2026-11-22T14:03:11.123Z
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

#[tokio::test]
async fn market_stream_sends_spec_envelopes_with_contiguous_seq_after_the_snapshot() {
    let running = server(|_| {}).await;
    let mut socket = connect(&running, "/api/ws/stream/market-data/BTC-USD").await;

    let connected = next_json(&mut socket).await;
    assert_eq!(connected["type"], "connected");
    let subscribed = next_json(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["topic"], "market:BTC-USD");
    let epoch = subscribed["epoch"].as_str().expect("epoch").to_owned();
    let snapshot = next_json(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["epoch"], epoch.as_str());
    let snapshot_seq = snapshot["last_seq"].as_u64().expect("snapshot seq");
    assert_eq!(subscribed["next_seq"].as_u64(), Some(snapshot_seq + 1));

    let messages = next_messages(&mut socket, 40).await;
    let seqs = seqs(&messages);
    assert_eq!(
        seqs[0],
        snapshot_seq + 1,
        "live messages continue right after the snapshot"
    );
    assert_contiguous(&seqs);
    let mut prices = Vec::new();
    for m in &messages {
        assert_eq!(m["topic"], "market:BTC-USD");
        assert_eq!(m["epoch"], epoch.as_str());
        assert!(
            is_rfc3339_utc_millis(m["timestamp"].as_str().unwrap_or_default()),
            "timestamp {}",
            m["timestamp"]
        );
        let data = &m["data"];
        assert_eq!(data["symbol"], "BTC-USD");
        if m["type"] != "analysis" {
            assert_eq!(data["source"], "synthetic", "synthetic data says so: {m}");
        }
        match m["type"].as_str() {
            Some("tick") => prices.push(data["price"].as_f64().expect("price")),
            Some("candle") => {
                let (o, h, l, c) = (&data["open"], &data["high"], &data["low"], &data["close"]);
                let [o, h, l, c] = [o, h, l, c].map(|v| v.as_f64().expect("ohlc"));
                assert!(l <= o.min(c) && h >= o.max(c), "candle {data}");
                assert_eq!(data["interval"], "1s");
            }
            Some("analysis") => assert!(data["confluence"]
                .as_f64()
                .is_some_and(|c| (0.0..=1.0).contains(&c))),
            other => panic!("unexpected message type {other:?}"),
        }
    }
    assert!(prices.len() >= 10, "ticks arrive: {prices:?}");
    assert!(
        prices.windows(2).any(|w| w[0] != w[1]),
        "the price moves: {prices:?}"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn health_and_symbols_answer_with_live_figures() {
    let running = server(|_| {}).await;
    let mut socket = connect(&running, "/api/ws/stream/market-data/EURUSD").await;
    next_messages(&mut socket, 1).await;

    let health = eventually("the socket and its messages are counted", || async {
        let health = get_json(&running, "/api/ws/health").await;
        (health["connections"] == 1 && health["messages_out"].as_u64() > Some(0)).then_some(health)
    })
    .await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["connections"], 1);
    assert_eq!(health["backend"], "memory");
    assert!(health["topics"].as_u64().unwrap() >= 2, "{health}");
    assert!(health["messages_in"].as_u64().unwrap() > 0, "{health}");
    assert!(health["messages_out"].as_u64().unwrap() > 0, "{health}");

    let symbols = get_json(&running, "/api/market/symbols").await;
    let symbols = symbols.as_array().expect("a list");
    let names: Vec<&str> = symbols
        .iter()
        .filter_map(|s| s["symbol"].as_str())
        .collect();
    assert_eq!(names, ["BTC-USD", "EURUSD"]);
    assert!(symbols.iter().all(|s| s["source"] == "synthetic"
        && s["topic"] == format!("market:{}", s["symbol"].as_str().unwrap())));
    running.shutdown.cancel();
}

#[tokio::test]
async fn an_invalid_symbol_is_refused_with_400_naming_it() {
    let running = server(|_| {}).await;
    let url = format!("ws://{}/api/ws/stream/market-data/btc-usd", running.addr);
    let (status, body) = refused_upgrade(url).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid symbol `btc-usd`"), "{body}");
    let response = reqwest::get(http(&running, "/api/no/such/thing"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    running.shutdown.cancel();
}

#[tokio::test]
async fn reconnecting_with_since_resumes_without_gap_or_duplicate() {
    let running = server(|_| {}).await;
    let mut socket = connect(&running, "/api/ws/stream/market-data/BTC-USD").await;
    let epoch = next_of_type(&mut socket, "subscribed").await["epoch"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = next_messages(&mut socket, 10).await;
    let last = *seqs(&first).last().unwrap();
    drop(socket);
    // The feed publishes more while we are away.
    let topic = "market:BTC-USD".parse().unwrap();
    eventually("the feed publishes while we are away", || async {
        (running.hub.snapshot(&topic).await.unwrap().last_seq > last + 5).then_some(())
    })
    .await;

    let mut socket = connect(
        &running,
        &format!("/api/ws/stream/market-data/BTC-USD?since={last}&epoch={epoch}"),
    )
    .await;
    let subscribed = next_of_type(&mut socket, "subscribed").await;
    assert_eq!(subscribed["next_seq"].as_u64(), Some(last + 1));
    let resumed = next_messages(&mut socket, 40).await;
    let resumed_seqs = seqs(&resumed);
    assert_eq!(
        resumed_seqs[0],
        last + 1,
        "no gap and no duplicate at the reconnect"
    );
    assert_contiguous(&resumed_seqs);
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_foreign_epoch_gets_a_resync_with_a_fresh_snapshot() {
    let running = server(|_| {}).await;
    let mut socket = connect(
        &running,
        "/api/ws/stream/market-data/BTC-USD?since=5&epoch=01OLDEPOCH",
    )
    .await;
    let resync = next_of_type(&mut socket, "resync").await;
    assert_eq!(resync["reason"], "epoch_changed");
    assert_eq!(resync["snapshot"]["topic"], "market:BTC-USD");
    let snapshot_seq = resync["snapshot"]["last_seq"].as_u64().unwrap();
    let next = next_messages(&mut socket, 1).await;
    assert_eq!(seqs(&next)[0], snapshot_seq + 1);
    running.shutdown.cancel();
}

#[tokio::test]
async fn candle_history_is_served_over_http() {
    let running = server(|a| a.interval = "1s".parse().unwrap()).await;
    let candles = eventually("a closed one-second candle and the next", || async {
        let candles = get_json(&running, "/api/market/BTC-USD/candles?limit=2").await;
        let list = candles.as_array()?;
        (list.len() == 2 && list[0]["closed"] == true).then_some(candles)
    })
    .await;
    let candles = candles.as_array().expect("a list");
    assert_eq!(candles.len(), 2, "{candles:?}");
    assert!(candles[0]["closed"].as_bool().unwrap());
    assert!(candles[0]["open_time"].as_str() < candles[1]["open_time"].as_str());
    let response = reqwest::get(http(&running, "/api/market/btc/candles"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = reqwest::get(http(&running, "/api/market/BTC-USD/candles?limit=0"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    running.shutdown.cancel();
}

#[tokio::test]
async fn the_csv_feed_replays_real_bars_as_ticks_and_candles() {
    let goog = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/GOOG.csv");
    let running = server(|a| {
        a.feed = vec![server::feed::venue::FeedSpec::Csv];
        a.replay = vec![goog];
        a.replay_speed = 200.0;
    })
    .await;
    let symbols = get_json(&running, "/api/market/symbols").await;
    assert_eq!(symbols[0]["symbol"], "GOOG");
    assert_eq!(symbols[0]["source"], "csv_replay");
    assert_eq!(symbols[0]["interval"], "1d");

    let mut socket = connect(&running, "/api/ws/stream/market-data/GOOG?since=0&epoch=x").await;
    // A foreign epoch: the resync snapshot, then the live replay continues contiguously.
    next_of_type(&mut socket, "resync").await;
    let messages = next_messages(&mut socket, 60).await;
    assert_contiguous(&seqs(&messages));
    let closed: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["type"] == "candle" && m["data"]["closed"] == true)
        .collect();
    assert!(!closed.is_empty());
    for c in closed {
        assert_eq!(c["data"]["source"], "csv_replay");
        assert!(
            c["data"]["open_time"]
                .as_str()
                .unwrap()
                .ends_with("T00:00:00.000Z"),
            "daily bars keep their dates"
        );
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn the_chart_is_full_and_the_analysis_has_a_value_from_the_first_second() {
    let running = server(|_| {}).await;
    // The feed's past is published as it starts: a client that comes a moment later
    // finds it in the snapshot (as the dashboard does), without waiting for a candle.
    let snapshot = eventually("the feed's history is published", || async {
        let snapshot = get_json(&running, "/api/streams/market:BTC-USD/snapshot").await;
        let candles = snapshot["data"]["candles"].as_array()?;
        (candles.len() >= 299).then_some(snapshot)
    })
    .await;
    let candles = snapshot["data"]["candles"].as_array().unwrap();
    assert!(candles[..299].iter().all(|c| c["closed"] == true));
    let analysis = &snapshot["data"]["analysis"];
    assert!(
        analysis["indicators"]["rsi_14"].is_number(),
        "the analysis panel has a value: {analysis}"
    );
    let rest = get_json(&running, "/api/market/BTC-USD/candles?limit=300").await;
    assert!(rest.as_array().unwrap().len() >= 299, "and over REST");
    running.shutdown.cancel();
}

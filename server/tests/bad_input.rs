//! Bad input (docs/SPEC.md section 9): each case is answered with an `error` or a 4xx naming the
//! problem, the socket stays open where that is safe, and nobody else notices.

mod common;

use common::*;
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

async fn send_raw(socket: &mut Socket, text: &str) {
    socket
        .send(WsMessage::Text(text.to_owned().into()))
        .await
        .expect("send");
}

/// Pings and expects the pong: proves the socket is still served.
async fn still_open(socket: &mut Socket, id: u64) {
    send_json(socket, json!({"action": "ping", "id": id, "t": 1.5})).await;
    let pong = next_of_type(socket, "pong").await;
    assert_eq!(pong["id"], id);
    assert_eq!(pong["t"], 1.5);
}

#[tokio::test]
async fn every_bad_frame_gets_an_error_naming_it_and_the_socket_stays_open() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_subscriptions = 2;
    })
    .await;
    let mut socket = connect(&running, "/api/ws").await;
    next_of_type(&mut socket, "connected").await;

    let cases: [(&str, &str, &str); 6] = [
        ("{not json", "malformed JSON", ""),
        (
            r#"{"action":"dance"}"#,
            "invalid action",
            "unknown variant `dance`",
        ),
        (
            r#"{"action":"subscribe","topic":"market:btc"}"#,
            "invalid action",
            "invalid symbol `btc`",
        ),
        (
            r#"{"action":"subscribe","topic":"forex:EURUSD"}"#,
            "invalid action",
            "unknown topic kind `forex`",
        ),
        (
            r#"{"action":"subscribe"}"#,
            "invalid action",
            "missing field `topic`",
        ),
        (
            r#"{"action":"ping","id":"x"}"#,
            "invalid action",
            "invalid type",
        ),
    ];
    for (i, (frame, error, details)) in cases.iter().enumerate() {
        send_raw(&mut socket, frame).await;
        let reply = next_of_type(&mut socket, "error").await;
        assert_eq!(reply["error"], *error, "{frame}: {reply}");
        assert!(
            reply["details"]
                .as_str()
                .unwrap_or_default()
                .contains(details),
            "{frame}: {reply}"
        );
        still_open(&mut socket, i as u64).await;
    }

    socket
        .send(WsMessage::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(
        next_of_type(&mut socket, "error").await["error"],
        "binary frames are not supported"
    );

    for topic in ["backtest:a", "backtest:b"] {
        send_json(&mut socket, json!({"action": "subscribe", "topic": topic})).await;
        next_of_type(&mut socket, "subscribed").await;
    }
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:c"}),
    )
    .await;
    let refused = next_of_type(&mut socket, "error").await;
    assert_eq!(refused["topic"], "backtest:c");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("too many subscriptions"),
        "{refused}"
    );

    send_json(
        &mut socket,
        json!({"action": "unsubscribe", "topic": "backtest:zzz"}),
    )
    .await;
    assert_eq!(
        next_of_type(&mut socket, "error").await["error"],
        "not subscribed to backtest:zzz"
    );

    send_json(
        &mut socket,
        json!({"action": "pause", "topic": "backtest:a"}),
    )
    .await;
    let pause = next_of_type(&mut socket, "error").await;
    assert!(
        pause["error"]
            .as_str()
            .unwrap()
            .contains("nothing running owns backtest:a"),
        "{pause}"
    );
    still_open(&mut socket, 99).await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_socket_with_1009() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_message_bytes = 1024;
    })
    .await;
    let mut bystander = connect(&running, "/api/ws").await;
    let mut offender = connect(&running, "/api/ws").await;
    next_of_type(&mut offender, "connected").await;
    let big = json!({"action": "ping", "id": 1, "t": 0, "pad": "x".repeat(4096)}).to_string();
    send_raw(&mut offender, &big).await;
    let close = next_close(&mut offender).await;
    assert_eq!(close.code, CloseCode::Size);
    still_open(&mut bystander, 7).await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn bad_http_requests_get_4xx_naming_the_problem() {
    let running = server(|a| a.symbols.clear()).await;
    let get = |path: &str| reqwest::get(http(&running, path));
    let cases = [
        ("/api/streams/market:btc", 400, "invalid symbol `btc`"),
        (
            "/api/streams/backtest:x?since=abc&epoch=E",
            400,
            "`since` must be a whole number, got `abc`",
        ),
        (
            "/api/streams/backtest:x?since=3",
            400,
            "`since` 3 needs the `epoch` it came from",
        ),
        (
            "/api/streams/backtest:x?limit=0",
            400,
            "`limit` must be a whole number from 1 to 2048",
        ),
        ("/api/streams/nope/snapshot", 400, "no `kind:name` form"),
        (
            "/api/ws/stream/backtest/has%20space",
            400,
            "invalid id `has space`",
        ),
        (
            "/api/ws/stream/live-trading",
            400,
            "`symbols` must name at least one symbol",
        ),
        ("/api/ws/stream/bogus/x", 404, "no stream `bogus`"),
        (
            "/api/ws/stream/live-trading?symbols=AAA,BBB&since=1&epoch=E",
            400,
            "`since` resumes one topic",
        ),
        (
            "/api/ws/stream/backtest/ok",
            400,
            "this endpoint is a WebSocket",
        ),
        ("/api/nothing/here", 404, "no endpoint at /api/nothing/here"),
    ];
    for (path, status, message) in cases {
        let response = get(path).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap_or_default().contains(message),
            "{path}: {body}"
        );
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn publish_validates_every_message_and_names_the_field() {
    let running = server(|a| a.symbols.clear()).await;
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(http(&running, "/api/publish"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let tick = json!({"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "price": 10.5, "change_pct": 0.1, "volume": 3}});
    let ok: Value = post(tick.to_string()).await.unwrap().json().await.unwrap();
    assert_eq!(ok["published"][0]["seq"], 1);
    let batch = json!({"messages": [tick, tick]});
    let ok: Value = post(batch.to_string()).await.unwrap().json().await.unwrap();
    assert_eq!(
        ok["published"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );

    let cases = [
        ("{oops".to_string(), 400, "malformed JSON"),
        (json!({"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "price": -1, "change_pct": 0, "volume": 1}}).to_string(), 422, "`data.price` must be a positive number"),
        (json!({"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "change_pct": 0, "volume": 1}}).to_string(), 422, "missing field `price`"),
        (json!({"topic": "market:ACME", "type": "warp", "data": {}}).to_string(), 422, "unknown variant `warp`"),
        (json!({"topic": "market:acme", "type": "tick", "data": {"symbol": "ACME", "price": 1, "change_pct": 0, "volume": 1}}).to_string(), 422, "`topic` invalid symbol `acme`"),
        (json!({"topic": "backtest:b1", "type": "tick", "data": {"symbol": "ACME", "price": 1, "change_pct": 0, "volume": 1}}).to_string(), 422, "cannot be published on a backtest topic"),
        (json!({"messages": [{"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "price": 1, "change_pct": 0, "volume": 1}}, {"topic": "market:ACME"}]}).to_string(), 422, "`messages[1]` missing field `type`"),
        (json!({"topic": 5, "type": "tick", "data": {}}).to_string(), 422, "`topic` invalid type: integer `5`, expected a string"),
        (json!({"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "price": "high", "change_pct": 0, "volume": 1}}).to_string(), 422, "`data.price` invalid type: string \"high\", expected f64"),
        (json!({"messages": []}).to_string(), 422, "`messages` is empty"),
        (json!({"topic": "backtest:b1", "type": "log", "data": {"level": "info", "message": "x".repeat(9000), "target": "t"}}).to_string(), 422, "`data.message` must be at most 8192 bytes, got 9000"),
        ("[1,2]".to_string(), 422, "expected an object: {topic, type, data} or {messages: [...]}"),
        (json!({"messages": vec![json!({"topic": "market:ACME", "type": "paused"}); 1001]}).to_string(), 422, "`messages` has more than 1000 items"),
        (json!({"topic": "market:ACME", "messages": [tick]}).to_string(), 422, "not both"),
        (json!({"topic": "backtest:b1", "type": "paused", "idempotency_key": ""}).to_string(), 422, "`idempotency_key` must be 1 to 128 visible ASCII characters"),
        (json!({"messages": [{"topic": "backtest:b1", "type": "paused", "idempotency_key": "a b"}]}).to_string(), 422, "messages[0]: `idempotency_key` must be 1 to 128"),
        (json!({"topic": "backtest:b1", "type": "paused", "idempotency_key": "k".repeat(129)}).to_string(), 422, "`idempotency_key` must be 1 to 128"),
    ];
    for (body, status, message) in cases {
        let response = post(body.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let reply: Value = response.json().await.unwrap();
        assert!(
            reply["error"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{body}: {reply}"
        );
    }
    // A field that breaks a rule is named for programs too.
    let bad_price = json!({"messages": [{"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "price": -1, "change_pct": 0, "volume": 1}}]});
    let reply: Value = post(bad_price.to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reply["error"],
        "messages[0]: `data.price` must be a positive number, got -1"
    );
    assert_eq!(reply["details"]["field"], "data.price");
    // The rejected batch published nothing: the topic is still at seq 3.
    let snapshot = get_json(&running, "/api/streams/market:ACME/snapshot").await;
    assert_eq!(snapshot["last_seq"], 3);
    running.shutdown.cancel();
}

#[tokio::test]
async fn bodies_must_be_json_and_within_the_size_limit() {
    let running = server(|a| a.symbols.clear()).await;
    let client = reqwest::Client::new();
    let body = json!({"csv": "x", "strategy": "buy_and_hold"}).to_string();
    // What a cross-site form could send: refused before it is read.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = client
            .post(http(&running, "/api/backtests"))
            .body(body.clone());
        if let Some(t) = content_type {
            request = request.header("content-type", t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        let reply: Value = response.json().await.unwrap();
        assert!(
            reply["error"].as_str().unwrap().contains("must be JSON"),
            "{reply}"
        );
    }
    // 40 MiB, over the 16 MiB default: 413 with the limit, as JSON.
    let huge = format!(
        r#"{{"csv": "{}", "strategy": "buy_and_hold"}}"#,
        "x".repeat(40 << 20)
    );
    let response = client
        .post(http(&running, "/api/backtests"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["details"]["limit"], 16 << 20, "{reply}");
    assert_eq!(
        get_json(&running, "/api/backtests").await,
        json!([]),
        "nothing started"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn publish_needs_the_bearer_key_when_one_is_configured() {
    let running = server(|a| {
        a.symbols.clear();
        a.api_key = Some("s3cret".into());
    })
    .await;
    let client = reqwest::Client::new();
    let body = json!({"topic": "backtest:k", "type": "log", "data": {"level": "info", "message": "hi", "target": "t"}}).to_string();
    let send = |auth: Option<&str>| {
        let mut request = client
            .post(http(&running, "/api/publish"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        request.send()
    };
    assert_eq!(send(None).await.unwrap().status(), 401);
    assert_eq!(send(Some("Bearer wrong")).await.unwrap().status(), 401);
    assert_eq!(send(Some("Bearer s3cret")).await.unwrap().status(), 200);
    running.shutdown.cancel();
}

#[tokio::test]
async fn metrics_are_exported_in_prometheus_text() {
    let running = server(|a| a.symbols.clear()).await;
    let _socket = connect(&running, "/api/ws").await;
    running
        .hub
        .publish(
            &"backtest:m".parse().unwrap(),
            protocol::Message::Cancelled(Default::default()),
        )
        .await
        .unwrap();
    let text = eventually("the connection and the message are counted", || async {
        let text = reqwest::get(http(&running, "/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("tickwire_connections 1").then_some(text)
    })
    .await;
    assert!(text.contains("tickwire_connections 1"), "{text}");
    assert!(text.contains("tickwire_messages_in_total 1"), "{text}");
    assert!(
        text.contains("tickwire_slow_consumer_disconnects_total 0"),
        "{text}"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn control_actions_reach_the_run_and_never_a_topic_without_one() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    // Paced, so that it is still running when the pause comes.
    let run = json!({"id": "owned", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true, "pace": 50.0});
    assert_eq!(post_json(&running, "/api/backtests", &run).await.0, 201);
    // Paused before its first bar: a resume sent sooner would find nothing to resume.
    eventually("the run paused before its first bar", || async {
        let snapshot = get_json(&running, "/api/streams/backtest:owned/snapshot").await;
        (snapshot["data"]["status"] == "paused").then_some(())
    })
    .await;
    let mut socket = connect(&running, "/api/ws").await;
    subscribe(&mut socket, "backtest:owned", None).await;
    send_json(
        &mut socket,
        json!({"action": "resume", "topic": "backtest:owned"}),
    )
    .await;
    next_of_type(&mut socket, "resumed").await;
    send_json(
        &mut socket,
        json!({"action": "pause", "topic": "backtest:owned"}),
    )
    .await;
    next_of_type(&mut socket, "paused").await;
    send_json(
        &mut socket,
        json!({"action": "cancel", "topic": "backtest:owned"}),
    )
    .await;
    next_of_type(&mut socket, "cancelled").await;
    // Something owns this topic in the hub, but no run of the records is behind it
    // (on Redis: a run whose record is missing): control is refused, not trusted.
    let _ownership = running.hub.own(&"backtest:unrecorded".parse().unwrap());
    send_json(
        &mut socket,
        json!({"action": "pause", "topic": "backtest:unrecorded"}),
    )
    .await;
    let refused = next_of_type(&mut socket, "error").await;
    assert_eq!(
        refused["error"],
        "nothing running owns backtest:unrecorded: no backtest, session or sweep can be controlled there"
    );
    still_open(&mut socket, 1).await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_twice_the_heartbeat() {
    let running = server(|a| {
        a.symbols.clear();
        a.heartbeat_secs = 1;
    })
    .await;
    let mut silent = connect(&running, "/api/ws").await;
    // Not reading means not answering the server's pings either: the server gives up
    // on it (the close frame waits in the socket's buffer, read below).
    connections_become(&running, 1).await;
    connections_become(&running, 0).await;
    let close = next_close(&mut silent).await;
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(close.reason.as_str(), "heartbeat timeout");
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_quiet_but_live_connection_gets_application_heartbeats() {
    let running = server(|a| {
        a.symbols.clear();
        a.heartbeat_secs = 1;
    })
    .await;
    let mut socket = connect(&running, "/api/ws").await;
    let heartbeat = next_of_type(&mut socket, "heartbeat").await;
    assert!(heartbeat["timestamp"].as_str().unwrap().ends_with('Z'));
    // Reading answers the pings, so the connection stays open past the timeout.
    next_of_type(&mut socket, "heartbeat").await;
    next_of_type(&mut socket, "heartbeat").await;
    still_open(&mut socket, 3).await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn every_refusal_is_the_json_error_body_even_axums_own() {
    let running = server(|a| a.symbols.clear()).await;
    let client = reqwest::Client::new();
    let cases = [
        (
            reqwest::Method::GET,
            "/api/streams/market:ACME?since=1&since=2",
            400,
            "duplicate field `since`",
        ),
        (
            reqwest::Method::GET,
            "/api/market/ACME/candles?limit=lots",
            400,
            "limit",
        ),
        (
            reqwest::Method::PUT,
            "/api/backtests",
            405,
            "/api/backtests does not take PUT",
        ),
        (
            reqwest::Method::DELETE,
            "/api/ws/health",
            405,
            "does not take DELETE",
        ),
    ];
    for (method, path, status, words) in cases {
        let response = client
            .request(method.clone(), http(&running, path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/json", "{method} {path}");
        let body: Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{method} {path}: {body}");
    }
    running.shutdown.cancel();
}

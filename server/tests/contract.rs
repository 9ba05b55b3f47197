//! The machine-readable contracts (docs/PROTOCOL.md): the committed `docs/schema.json`
//! and `docs/openapi.json` are what the code generates, the schema accepts a real example
//! of every message type and control frame (and what a live server sends), and refuses
//! wrong shapes; both documents are served without a token.
//!
//! Regenerate the committed files with
//! `TICKWIRE_BLESS=1 cargo test -p server --test contract committed`.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use common::*;
use protocol::decode::{EveryKind, KindReader};
use protocol::fixtures::{
    at as t, candle, every_client_action, every_message, symbol as sym, tick, EPOCH as ULID,
};
use protocol::*;
use serde_json::{json, Value};
use server::contract;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

#[test]
fn committed_contract_documents_match_the_code() {
    let bless = std::env::var_os("TICKWIRE_BLESS").is_some_and(|v| v == "1");
    for (file, document) in [
        ("schema.json", contract::json_schema()),
        ("openapi.json", server::routes::openapi_document()),
    ] {
        let path = docs().join(file);
        let generated = contract::pretty(&document);
        if bless {
            std::fs::write(&path, &generated).expect("write the document");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/{file} is not what the code generates (did a type in protocol/src or a \
             #[utoipa::path] change?). Regenerate it with \
             `TICKWIRE_BLESS=1 cargo test -p server --test contract committed` and commit it."
        );
    }
}

/// A validator of `$defs/{name}` of the protocol's schema (as the Python suite builds it),
/// or of the root when `name` is `None`.
fn validator(name: Option<&str>) -> jsonschema::Validator {
    let schema = contract::json_schema();
    let schema = match name {
        None => schema,
        Some(name) => json!({
            "$schema": schema["$schema"],
            "$ref": format!("#/$defs/{name}"),
            "$defs": schema["$defs"],
        }),
    };
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} {value} fails: {errors:?}");
}

fn assert_invalid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    assert!(
        !validator.is_valid(value),
        "{what} {value} should be refused by the schema"
    );
}

/// One snapshot of every topic kind, none of them empty.
fn every_snapshot() -> Vec<Snapshot> {
    let messages = every_message();
    let of = |kind: TopicKind| -> Vec<Message> {
        messages
            .iter()
            .filter(|(_, t)| t.kind() == kind)
            .map(|(m, _)| m.clone())
            .collect()
    };
    let market = MarketSnapshot {
        candles: vec![candle()],
        last_tick: Some(tick()),
        analysis: of(TopicKind::Market).into_iter().find_map(|m| match m {
            Message::Analysis(a) => Some(a),
            _ => None,
        }),
    };
    let mut backtest = BacktestSnapshot {
        status: RunStatus::Complete,
        ..Default::default()
    };
    for m in of(TopicKind::Backtest) {
        match m {
            Message::Started(s) => backtest.started = Some(s),
            Message::Progress(p) => backtest.progress = Some(p),
            Message::Trade(t) => backtest.trades.push(t),
            Message::Equity(e) => backtest.equity.extend(e.points),
            Message::Log(l) => backtest.logs.push(l),
            Message::Metrics(m) => backtest.metrics = Some(m),
            Message::Complete(c) => backtest.complete = Some(c),
            Message::Error(e) => backtest.error = Some(e),
            _ => {}
        }
    }
    let mut session = SessionSnapshot {
        paused: true,
        ..Default::default()
    };
    for m in of(TopicKind::Session) {
        match m {
            Message::SessionInitialized(s) => session.initialized = Some(s),
            Message::Candle(c) => session.candles.push(c),
            Message::Thinking(t) => session.thinking.push(t),
            Message::Decision(d) => session.decisions.push(d),
            Message::PositionOpened(p) => session.open_positions.push(OpenPosition {
                opened: p,
                last_price: 9.5,
                unrealized_pnl: 1.0,
            }),
            Message::PositionClosed(p) => session.closed_positions.push(p),
            Message::StatsUpdate(s) => session.stats = Some(s),
            Message::Countdown(c) => session.countdown = Some(c),
            Message::SessionCompleted(c) => session.completed = Some(c),
            _ => {}
        }
    }
    let mut trading = TradingSnapshot::default();
    for m in of(TopicKind::Trading) {
        match m {
            Message::Order(o) => trading.orders.push(o),
            Message::Position(p) => trading.position = Some(p),
            Message::Pnl(p) => trading.pnl = Some(p),
            Message::Risk(r) => trading.risk = Some(r),
            _ => {}
        }
    }
    let mut sweep = sweep::SweepSnapshot::default();
    for m in of(TopicKind::Sweep) {
        sweep.apply(&m);
    }
    [
        ("market:BTC-USD", SnapshotData::Market(market)),
        ("sweep:sw-1", SnapshotData::Sweep(sweep)),
        ("backtest:run-1", SnapshotData::Backtest(backtest)),
        ("session:s_1", SnapshotData::Session(session)),
        ("trading:BTC-USD", SnapshotData::Trading(trading)),
        (
            "trading:EURUSD",
            SnapshotData::Trading(TradingSnapshot::default()),
        ),
    ]
    .into_iter()
    .map(|(topic, data)| Snapshot {
        topic: topic.parse().unwrap(),
        epoch: Epoch(ULID.into()),
        last_seq: 7,
        data,
    })
    .collect()
}

/// Every kind of control frame, with every optional field both present and absent.
fn every_control() -> Vec<Control> {
    let topic: Topic = "market:BTC-USD".parse().unwrap();
    let mut frames = vec![
        Control::Connected(Connected {
            connection_id: "c1".into(),
            heartbeat_secs: 30,
            max_message_bytes: 65_536,
            build: "0123456789ab".into(),
            stale_after_ms: [
                (TopicKind::Market, 2_000),
                (TopicKind::Backtest, 4_000),
                (TopicKind::Session, 4_000),
            ]
            .into(),
        }),
        Control::Subscribed(Subscribed {
            topic: topic.clone(),
            epoch: Epoch(ULID.into()),
            next_seq: 8,
        }),
        Control::Unsubscribed(Unsubscribed { topic }),
        Control::Pong(Pong { id: 3, t: 1234.5 }),
        Control::Heartbeat(Heartbeat { timestamp: t(0) }),
        Control::Error(ErrorFrame {
            topic: Some("market:x".into()),
            error: "invalid topic".into(),
            details: Some("no".into()),
        }),
        Control::Error(ErrorFrame {
            topic: None,
            error: "malformed JSON".into(),
            details: None,
        }),
        Control::DirectNotice(Notice {
            event: NoticeEvent::Announcement,
            title: "Maintenance at 22:00".into(),
            body: "The server restarts for a minute.".into(),
            reference: Some("market:BTCUSDT".into()),
        }),
    ];
    for (i, snapshot) in every_snapshot().into_iter().enumerate() {
        frames.push(Control::Resync(Resync {
            reason: [
                ResyncReason::EpochChanged,
                ResyncReason::OutsideHistory,
                ResyncReason::AheadOfTopic,
            ][i % 3],
            snapshot: snapshot.clone(),
        }));
        frames.push(Control::Snapshot(snapshot));
    }
    frames
}

#[test]
fn the_schema_is_valid_draft_2020_12_with_every_named_definition() {
    let schema = contract::json_schema();
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    for key in ["$id", "title", "description"] {
        assert!(schema[key].is_string(), "{key}");
    }
    for name in [
        "Message",
        "Envelope",
        "ServerFrame",
        "Control",
        "ClientAction",
        "AgentThinking",
        "AgentDecision",
        "Snapshot",
        "SymbolInfo",
        "Me",
    ] {
        assert!(schema["$defs"][name].is_object(), "$defs/{name} missing");
    }
}

#[test]
fn every_message_type_validates_in_an_envelope_and_as_a_published_message() {
    let envelope = validator(None);
    let message = validator(Some("Message"));
    let frame = validator(Some("ServerFrame"));
    let samples = every_message();
    let names: HashSet<&str> = samples.iter().map(|(m, _)| m.type_name()).collect();
    assert_eq!(
        names.len(),
        Message::TYPES.len(),
        "one sample of every message type"
    );
    for (i, (m, topic)) in samples.into_iter().enumerate() {
        m.validate_for(&topic).expect("a valid sample");
        let value = serde_json::to_value(&m).unwrap();
        assert_valid(&message, &value, "message");
        let env = Envelope {
            message: m,
            topic,
            seq: i as u64 + 1,
            epoch: Epoch(ULID.into()),
            timestamp: t(i as i64),
            conflated: 0,
        };
        let value = serde_json::to_value(&env).unwrap();
        assert_valid(&envelope, &value, "envelope");
        assert_valid(&frame, &value, "server frame");
    }
}

/// Every frame the server can send reads back, through the clients' decoder keyed on
/// `type` (`protocol::decode`), as exactly what was sent: one sample of every
/// message type and every control frame, polled pages and snapshots included.
#[test]
fn every_frame_reads_back_through_the_clients_decoder() {
    let frames: Vec<ServerFrame> = every_message()
        .into_iter()
        .enumerate()
        .map(|(i, (message, topic))| {
            ServerFrame::Message(Envelope {
                message,
                topic,
                seq: i as u64 + 1,
                epoch: Epoch(ULID.into()),
                timestamp: t(i as i64),
                conflated: 0,
            })
        })
        .chain(every_control().into_iter().map(ServerFrame::Control))
        .collect();
    for frame in &frames {
        let text = serde_json::to_string(frame).unwrap();
        let read = decode::server_frame(&text, &EveryKind).unwrap();
        assert_eq!(read.as_ref(), Some(frame), "{text}");
        // A page reads its topic's kind alone, to the same frame.
        if let ServerFrame::Message(envelope) = frame {
            let own = KindReader::of(envelope.topic.kind());
            let read = decode::server_frame(&text, &own).unwrap();
            assert_eq!(read.as_ref(), Some(frame), "{text}");
        }
    }
    for snapshot in every_snapshot() {
        let text = serde_json::to_string(&snapshot).unwrap();
        let read = decode::snapshot(&text, &EveryKind).unwrap();
        assert_eq!(read.as_ref(), Some(&snapshot), "{text}");
        let own = KindReader::of(snapshot.topic.kind());
        let read = decode::snapshot(&text, &own).unwrap();
        assert_eq!(read.as_ref(), Some(&snapshot), "{text}");
    }
    // A page's reader refuses what does not belong on its kind's topics, naming it.
    let tick_on_a_backtest = r#"{"type":"tick","seq":1,"topic":"backtest:b1","epoch":"E","timestamp":"2026-01-01T00:00:00.000Z","data":{"symbol":"X","price":1.5,"change_pct":0.1,"volume":3}}"#;
    let refused = decode::server_frame(tick_on_a_backtest, &KindReader::BACKTEST)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("unknown message type `tick` on a backtest topic"),
        "{refused}"
    );
    let page = json!({"epoch": ULID, "next_seq": 3, "messages": [
        serde_json::to_value(&frames[0]).unwrap(), serde_json::to_value(&frames[1]).unwrap()]});
    let (messages, resync) = decode::poll_page(&page.to_string(), &EveryKind).unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(resync, None);
    for (text, error) in [
        (r#"{"type":"dance"}"#, "unknown frame type `dance`"),
        (
            r#"{"type":"dance","seq":1,"topic":"market:X","epoch":"E","timestamp":"2026-01-01T00:00:00.000Z","data":{}}"#,
            "unknown message type `dance`",
        ),
        (r#"{"seq":1}"#, "missing field `type`"),
    ] {
        let refused = decode::server_frame(text, &EveryKind)
            .unwrap_err()
            .to_string();
        assert!(refused.contains(error), "{text}: {refused}");
    }
}

#[test]
fn every_control_frame_and_client_action_validates() {
    let frame = validator(Some("ServerFrame"));
    let envelope = validator(None);
    let snapshot = validator(Some("Snapshot"));
    for control in every_control() {
        let value = serde_json::to_value(ServerFrame::Control(control)).unwrap();
        assert_valid(&frame, &value, "control frame");
        assert_invalid(&envelope, &value, "a control frame as an envelope");
    }
    for s in every_snapshot() {
        assert_valid(&snapshot, &serde_json::to_value(&s).unwrap(), "snapshot");
    }
    let action = validator(Some("ClientAction"));
    for a in every_client_action() {
        assert_valid(&action, &serde_json::to_value(&a).unwrap(), "client action");
    }
    let thinking = validator(Some("AgentThinking"));
    assert_valid(&thinking, &json!({"chunk": "RSI is 71"}), "thinking");
    let decision = validator(Some("AgentDecision"));
    for d in [
        json!({"action": "buy", "reasoning": "up", "confidence": 0.6}),
        json!({"action": "hold"}),
        json!({"action": "sell", "confidence": null}),
    ] {
        serde_json::from_value::<AgentDecision>(d.clone()).expect("the server reads it");
        assert_valid(&decision, &d, "decision");
    }
    let symbol = validator(Some("SymbolInfo"));
    let info = SymbolInfo {
        symbol: sym(),
        topic: "market:BTC-USD".into(),
        interval: "5s".parse().unwrap(),
        source: DataSource::Synthetic,
        price_decimals: 2,
        description: "GBM".into(),
    };
    assert_valid(
        &symbol,
        &serde_json::to_value(&info).unwrap(),
        "symbol info",
    );
    let me = validator(Some("Me"));
    for m in [
        Me::Anonymous,
        Me::Token {
            sub: "ana".into(),
            admin: true,
            exp: 1,
        },
    ] {
        assert_valid(&me, &serde_json::to_value(&m).unwrap(), "me");
    }
}

#[test]
fn wrong_shapes_are_refused_like_the_server_refuses_them() {
    let message = validator(Some("Message"));
    let envelope = validator(None);
    let action = validator(Some("ClientAction"));
    let tick_json = serde_json::to_value(Message::Tick(tick())).unwrap();
    let mut wrong = vec![
        json!({"type": "teleport", "data": {}}),
        json!({"data": tick_json["data"]}),
        json!({"type": "tick"}),
        json!({"type": "tick", "data": {"symbol": "BTC-USD", "change_pct": 0, "volume": 1}}),
        json!({"type": "tick", "data": {"symbol": "BTC-USD", "price": "high", "change_pct": 0, "volume": 1}}),
        json!({"type": "tick", "data": {"symbol": "btc", "price": 1, "change_pct": 0, "volume": 1}}),
        json!({"type": "tick", "data": {"symbol": "X", "price": 1, "change_pct": 0, "volume": 1, "source": "moon"}}),
        json!({"type": "candle", "data": {"symbol": "X", "interval": "0m", "open_time": "2026-01-01T00:00:00Z",
            "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1, "closed": true}}),
        json!({"type": "candle", "data": {"symbol": "X", "interval": "1m", "open_time": "yesterday",
            "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1, "closed": true}}),
        json!({"type": "equity", "data": {"points": [["2026-01-01T00:00:00Z", 1.0]]}}),
        json!({"type": "trade", "data": {"id": -1, "side": "long", "action": "entry", "time": "2026-01-01T00:00:00Z",
            "price": 1, "size": 1, "reason": "x"}}),
    ];
    // Each is refused by the server's own parser too: the schema is not stricter than it.
    for value in &wrong {
        assert!(
            serde_json::from_value::<Message>(value.clone()).is_err(),
            "the server reads {value}"
        );
        assert_invalid(&message, value, "message");
    }
    let env = |change: &dyn Fn(&mut Value)| {
        let mut value = serde_json::to_value(Envelope {
            message: Message::Tick(tick()),
            topic: "market:BTC-USD".parse().unwrap(),
            seq: 1,
            epoch: Epoch(ULID.into()),
            timestamp: t(0),
            conflated: 0,
        })
        .unwrap();
        change(&mut value);
        value
    };
    assert_valid(&envelope, &env(&|_| {}), "envelope");
    wrong = vec![
        env(&|v| drop(v.as_object_mut().unwrap().remove("seq"))),
        env(&|v| v["seq"] = json!("1")),
        env(&|v| v["seq"] = json!(-1)),
        env(&|v| v["topic"] = json!("stocks:AAPL")),
        env(&|v| v["timestamp"] = json!(12)),
        env(&|v| v["type"] = json!("teleport")),
        env(&|v| drop(v.as_object_mut().unwrap().remove("epoch"))),
    ];
    for value in &wrong {
        assert!(serde_json::from_value::<Envelope>(value.clone()).is_err());
        assert_invalid(&envelope, value, "envelope");
    }
    for value in [
        json!({"action": "dance"}),
        json!({"action": "subscribe"}),
        json!({"action": "subscribe", "topic": "nope"}),
        json!({"action": "subscribe", "topic": "market:X", "since": {"seq": 7}}),
        json!({"action": "ping", "id": "one", "t": 1}),
        json!({"action": "auth"}),
    ] {
        assert!(serde_json::from_value::<ClientAction>(value.clone()).is_err());
        assert_invalid(&action, &value, "client action");
    }
    let decision = validator(Some("AgentDecision"));
    for value in [
        json!({"action": "buy", "mood": "bold"}),
        json!({"action": "panic"}),
        json!({"reasoning": "no action"}),
    ] {
        assert!(serde_json::from_value::<AgentDecision>(value.clone()).is_err());
        assert_invalid(&decision, &value, "decision");
    }
}

#[test]
fn the_openapi_document_names_every_endpoint_and_resolves_every_reference() {
    let doc = server::routes::openapi_document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "/api/publish",
        "/api/notices/read",
        "/api/notify",
        "/api/webhooks",
        "/api/webhooks/{id}",
        "/api/webhooks/{id}/deliveries",
        "/api/streams/{topic}",
        "/api/streams/{topic}/snapshot",
        "/api/streams/{topic}/record",
        "/api/datasets",
        "/api/backtests",
        "/api/backtests/{id}",
        "/api/backtests/{id}/{action}",
        "/api/backtests/{id}/bars",
        "/api/backtests/{id}/trades.csv",
        "/api/backtests/{id}/equity.csv",
        "/api/sweeps",
        "/api/sweeps/{id}",
        "/api/sweeps/{id}/results",
        "/api/sweeps/{id}/{action}",
        "/api/sessions",
        "/api/sessions/{id}",
        "/api/sessions/{id}/stop",
        "/api/sessions/{id}/thinking",
        "/api/sessions/{id}/decision",
        "/api/sessions/{id}/manual",
        "/api/sessions/{id}/trades.csv",
        "/api/sessions/{id}/equity.csv",
        "/api/ws/health",
        "/api/me",
        "/api/market/symbols",
        "/api/market/{symbol}/candles",
        "/api/ws",
        "/api/ws/stream/{stream}/{name}",
        "/api/ws/stream/live-trading",
        "/api/schema.json",
        "/api/openapi.json",
    ]
    .into_iter()
    .collect();
    assert_eq!(paths, expected);
    // Every operation has an id of its own (generators name functions after them).
    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(ids.insert(id), "{method} {path}: operationId `{id}` twice");
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path}: no responses"
            );
        }
    }
    assert_eq!(ids.len(), 47);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every `$ref` points at a schema the document holds.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if k == "$ref" => out.push(s),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{r} resolves to nothing");
    }
}

/// The documents, served, are the committed ones (in token mode, with the bearer token
/// required rather than optional); in token mode they need no token.
#[tokio::test]
async fn the_documents_are_served_without_a_token() {
    let anonymous = server(|a| a.symbols.clear()).await;
    let token_mode = server(|a| {
        a.symbols.clear();
        a.jwt_secret = Some("a secret of at least thirty-two bytes!".into());
    })
    .await;
    let optional = json!([{}, { "bearer": [] }]);
    assert_eq!(server::routes::openapi_document()["security"], optional);
    let mut required = server::routes::openapi_document();
    required["security"] = json!([{ "bearer": [] }]);
    for (running, openapi) in [
        (&anonymous, server::routes::openapi_document()),
        (&token_mode, required),
    ] {
        for (path, document) in [
            ("/api/schema.json", contract::json_schema()),
            ("/api/openapi.json", openapi),
        ] {
            let response = reqwest::get(http(running, path)).await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let text = response.text().await.unwrap();
            assert_eq!(text, contract::pretty(&document), "{path}");
        }
    }
    let (status, _) = call(&token_mode, reqwest::Method::GET, "/api/me", None, None).await;
    assert_eq!(status, 401, "other endpoints still need a token");
}

/// What a live server sends over a socket and a poll fits the schema.
#[tokio::test]
async fn a_live_servers_frames_fit_the_schema() {
    let running = server(|_| {}).await;
    let frame = validator(Some("ServerFrame"));
    let envelope = validator(None);
    let mut socket = connect(&running, "/api/ws").await;
    assert_valid(&frame, &next_json(&mut socket).await, "connected");
    let subscribed = subscribe(&mut socket, "market:BTC-USD", None).await;
    assert_valid(&frame, &subscribed, "subscribed");
    let snapshot = next_of_type(&mut socket, "snapshot").await;
    assert_valid(&frame, &snapshot, "snapshot");
    for _ in 0..5 {
        let value = next_json(&mut socket).await;
        assert_valid(&frame, &value, "live frame");
    }
    send_json(&mut socket, json!({"action": "dance"})).await;
    let error = next_of_type(&mut socket, "error").await;
    assert_valid(&frame, &error, "error frame");
    let page = get_json(&running, "/api/streams/market:BTC-USD?since=0").await;
    let messages = page["messages"].as_array().unwrap();
    assert!(!messages.is_empty());
    for m in messages {
        assert_valid(&envelope, m, "polled envelope");
    }
}

//! Starts a real tickwire server on a free port and talks to it over real sockets.
#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

pub mod postgres;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod venue;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use server::config::ServeArgs;
use server::serve::{start, Running};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single expected frame may take before a test fails.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// A server with a fast synthetic feed, listening on 127.0.0.1 with an OS-chosen port.
pub async fn server(tweak: impl FnOnce(&mut ServeArgs)) -> Running {
    let mut args = ServeArgs::defaults();
    args.addr = "127.0.0.1:0".parse().unwrap();
    args.tick_ms = 20;
    args.interval = "1s".parse().unwrap();
    args.symbols = vec!["BTC-USD".parse().unwrap(), "EURUSD".parse().unwrap()];
    // Tests about the store say which one they use.
    args.database_url = "none".to_owned();
    tweak(&mut args);
    start(args).await.expect("server starts")
}

/// The repository's real price history (`data/`).
pub fn data_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")
}

/// The status and body of the HTTP answer to a WebSocket upgrade the server refused;
/// fails the test if the socket opened instead.
pub async fn refused_upgrade<R>(request: R) -> (u16, String)
where
    R: tungstenite::client::IntoClientRequest + Unpin,
{
    match connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            (
                response.status().as_u16(),
                String::from_utf8_lossy(body).into_owned(),
            )
        }
        Ok(_) => panic!("the upgrade must be refused, but the socket opened"),
        Err(e) => panic!("the upgrade must be refused with an HTTP answer, got {e}"),
    }
}

pub fn http(running: &Running, path: &str) -> String {
    format!("http://{}{path}", running.addr)
}

pub async fn connect(running: &Running, path: &str) -> Socket {
    let url = format!("ws://{}{path}", running.addr);
    let (socket, _) = connect_async(url).await.expect("websocket connects");
    socket
}

/// The next text frame, parsed; fails the test on timeout, close or a non-JSON frame.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(FRAME_TIMEOUT, socket.next())
            .await
            .expect("a frame within the timeout")
            .expect("the socket stays open")
            .expect("a readable frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).expect("frames are JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// How long [`next_of_type`] reads past other frames before the test fails.
pub const TYPE_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads frames until one has `type` = `ty`, returning it.
pub async fn next_of_type(socket: &mut Socket, ty: &str) -> Value {
    let search = async {
        loop {
            let v = next_json(socket).await;
            if v["type"] == ty {
                return v;
            }
        }
    };
    tokio::time::timeout(TYPE_TIMEOUT, search)
        .await
        .unwrap_or_else(|_| panic!("no `{ty}` frame within {TYPE_TIMEOUT:?}"))
}

/// Reads the next `n` published messages (frames with a `seq` that are not snapshots);
/// fails the test if they take longer than [`TYPE_TIMEOUT`] in all, however many other
/// frames (heartbeats, pongs) keep arriving.
pub async fn next_messages(socket: &mut Socket, n: usize) -> Vec<Value> {
    let read = async {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let v = next_json(socket).await;
            if v.get("seq").is_some() && v["type"] != "snapshot" {
                out.push(v);
            }
        }
        out
    };
    tokio::time::timeout(TYPE_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("{n} messages not within {TYPE_TIMEOUT:?}"))
}

/// Reads until the server's close frame and returns it (within [`TYPE_TIMEOUT`]).
pub async fn next_close(socket: &mut Socket) -> CloseFrame {
    let read = async {
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, socket.next())
                .await
                .expect("frames then a close")
            {
                Some(Ok(Message::Close(frame))) => {
                    return frame.expect("a close frame with a code")
                }
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(TYPE_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("no close frame within {TYPE_TIMEOUT:?}"))
}

/// GETs `path` and parses the JSON body, whatever the status.
pub async fn get_json(running: &Running, path: &str) -> Value {
    reqwest::get(http(running, path))
        .await
        .expect("request")
        .json()
        .await
        .expect("a JSON body")
}

/// POSTs `body` as JSON; the status and the JSON answer.
pub async fn post_json(running: &Running, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(http(running, path))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// `method path` with `token` (if any): the status and the JSON body (null if none).
pub async fn call(
    running: &Running,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, http(running, path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Each body POSTed to `path` is refused with a 422 whose error contains its text.
pub async fn assert_unprocessable(running: &Running, path: &str, cases: &[(Value, &str)]) {
    for (body, expected) in cases {
        let (status, reply) = post_json(running, path, body).await;
        assert_eq!(status, 422, "{body}: {reply}");
        let error = reply["error"].as_str().unwrap();
        assert!(error.contains(expected), "{body}: {reply}");
        // An error that starts by naming a field carries it in `details` for programs.
        if let Some(field) = error.strip_prefix('`').and_then(|e| e.split('`').next()) {
            assert_eq!(reply["details"]["field"], field, "{body}: {reply}");
        }
    }
}

/// A log line with `text`: a valid message on any backtest topic.
pub fn log(text: String) -> protocol::Message {
    protocol::Message::Log(protocol::LogLine {
        level: protocol::LogLevel::Info,
        message: text,
        target: "test".into(),
        bar: None,
    })
}

/// A backtest's progress at `bars` of 1,000 bars: a message a later one replaces
/// (docs/SPEC.md section 6, "Rates").
pub fn progress(bars: u64) -> protocol::Message {
    protocol::Message::Progress(protocol::Progress {
        pct: bars as f64 / 10.0,
        bars_processed: bars,
        total_bars: 1_000,
        current_time: protocol::fixtures::at(bars as i64 * 60_000),
        trades: 0,
        equity: 10_000.0,
        pnl: 0.0,
        bars_per_sec: None,
        eta_ms: None,
    })
}

/// Each message of a polled `page` as (seq, conflated).
pub fn conflation(page: &Value) -> Vec<(u64, u64)> {
    page["messages"]
        .as_array()
        .expect("a page of messages")
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().unwrap(),
                m["conflated"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Publishes `messages` on `topic` in order, in process.
pub async fn publish_each(
    running: &Running,
    topic: &protocol::Topic,
    messages: impl IntoIterator<Item = protocol::Message>,
) {
    for message in messages {
        running
            .hub
            .publish(topic, message)
            .await
            .expect("published");
    }
}

/// Subscribes to `topic` (from `since` = (seq, epoch) if given) and returns the
/// `subscribed` frame.
pub async fn subscribe(socket: &mut Socket, topic: &str, since: Option<(u64, &str)>) -> Value {
    let mut action = serde_json::json!({"action": "subscribe", "topic": topic});
    if let Some((seq, epoch)) = since {
        action["since"] = serde_json::json!({"seq": seq, "epoch": epoch});
    }
    send_json(socket, action).await;
    next_of_type(socket, "subscribed").await
}

pub async fn send_json(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .expect("send");
}

pub fn seqs(messages: &[Value]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m["seq"].as_u64().expect("seq is a number"))
        .collect()
}

pub fn assert_contiguous(seqs: &[u64]) {
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "gap or duplicate in {seqs:?}");
    }
}

/// Reads published messages until one has `type` = `ty` (included); fails the test if
/// that takes longer than [`TYPE_TIMEOUT`] in all, however busy the topic.
pub async fn messages_until(socket: &mut Socket, ty: &str) -> Vec<Value> {
    let read = async {
        let mut out = vec![];
        loop {
            let m = next_messages(socket, 1).await.remove(0);
            let done = m["type"] == ty;
            out.push(m);
            if done {
                return out;
            }
        }
    };
    tokio::time::timeout(TYPE_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("no `{ty}` message within {TYPE_TIMEOUT:?}"))
}

/// How long [`eventually`] waits for a condition.
pub const CONDITION_TIMEOUT: Duration = Duration::from_secs(15);

/// Re-evaluates `check` (every 20 ms: a polling interval, not a synchronisation) until
/// it yields a value; fails the test naming `what` after [`CONDITION_TIMEOUT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + CONDITION_TIMEOUT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {CONDITION_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `GET /api/ws/health` reports `n` open connections.
pub async fn connections_become(running: &Running, n: u64) {
    eventually(&format!("{n} open connections"), || async move {
        let health = get_json(running, "/api/ws/health").await;
        (health["connections"].as_u64() == Some(n)).then_some(())
    })
    .await;
}

/// Posts a batch with idempotency keys to `first` through a proxy that lets the request
/// through but cuts the connection before the answer gets back (the producer never
/// learns it was published), then retries the same body on `retry` (the same instance,
/// or another of a cluster). Each item is published once: the retry answers the first
/// seqs with `duplicate: true`, and the topics read each message once.
pub async fn a_cut_batch_retried_lands_once(first: &Running, retry: &Running) {
    use proxy::{Fault, Proxy};

    let item = |topic: &str, text: &str| {
        serde_json::json!({"topic": topic, "type": "log", "idempotency_key": format!("key-{topic}-{text}"),
            "data": {"level": "info", "message": text, "target": "producer"}})
    };
    let batch = serde_json::json!({"messages": [
        item("backtest:retried-left", "one"),
        item("backtest:retried-right", "two"),
        item("backtest:retried-left", "three"),
    ]});
    let proxy = Proxy::start(first.addr).await;
    // The request goes through at once; the answer would take minutes.
    proxy.set(Fault::Throttle { bytes_per_sec: 1 });
    let url = format!("http://{}/api/publish", proxy.addr);
    let body = batch.clone();
    let lost = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
    });
    let texts = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["data"]["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    eventually("the first attempt is published", || async {
        let page = get_json(retry, "/api/streams/backtest:retried-left?since=0").await;
        (texts(&page).len() == 2).then_some(())
    })
    .await;
    proxy.cut();
    let outcome = tokio::time::timeout(FRAME_TIMEOUT, lost)
        .await
        .expect("the cut attempt ends");
    assert!(
        !matches!(outcome, Ok(Ok(_))),
        "the producer never heard back"
    );

    let (status, reply) = post_json(retry, "/api/publish", &batch).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["published"],
        serde_json::json!([
            {"topic": "backtest:retried-left", "seq": 1, "duplicate": true},
            {"topic": "backtest:retried-right", "seq": 1, "duplicate": true},
            {"topic": "backtest:retried-left", "seq": 2, "duplicate": true},
        ])
    );
    let left = get_json(retry, "/api/streams/backtest:retried-left?since=0").await;
    assert_eq!(texts(&left), ["one", "three"], "{left}");
    let right = get_json(first, "/api/streams/backtest:retried-right?since=0").await;
    assert_eq!(texts(&right), ["two"], "{right}");

    // A new key on the same topic is published as the next seq.
    let (status, reply) = post_json(
        retry,
        "/api/publish",
        &item("backtest:retried-left", "four"),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["published"],
        serde_json::json!([{"topic": "backtest:retried-left", "seq": 3}])
    );
}

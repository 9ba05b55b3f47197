//! A fake venue for the feed tests: one local server speaking a venue's WebSocket and
//! REST APIs, as its documentation shapes them, under the test's control — frames to
//! push, a connection to drop, silence, and REST answers to give (statuses with
//! `Retry-After`, bodies). What the server under test sends and asks is recorded.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::mpsc;

/// What to do to the open connections.
#[derive(Clone, Debug)]
pub enum Push {
    Text(String),
    /// Close the connection (a forced close).
    Close,
}

/// One scripted REST answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: String,
}

/// Makes the body of an unscripted REST answer from the request's path and query.
type CandleBody = Box<dyn Fn(&str) -> String + Send>;

#[derive(Default)]
struct Fake {
    sockets: Mutex<Vec<mpsc::UnboundedSender<Push>>>,
    connections: Mutex<usize>,
    received: Mutex<Vec<String>>,
    answers: Mutex<VecDeque<Answer>>,
    candles: Mutex<Option<CandleBody>>,
    calls: Mutex<Vec<String>>,
    /// Refuse upgrades with this status (HTTP 451, say).
    refuse_upgrades: Mutex<Option<u16>>,
}

/// A running fake venue.
#[derive(Clone)]
pub struct FakeVenue {
    pub addr: SocketAddr,
    fake: Arc<Fake>,
}

impl FakeVenue {
    pub async fn start() -> FakeVenue {
        let fake = Arc::new(Fake::default());
        let app = Router::new().fallback(any).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeVenue { addr, fake }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends `push` to every open connection.
    pub fn push(&self, push: Push) {
        self.fake
            .sockets
            .lock()
            .unwrap()
            .retain(|tx| tx.send(push.clone()).is_ok());
    }

    pub fn text(&self, text: impl Into<String>) {
        self.push(Push::Text(text.into()));
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        *self.fake.connections.lock().unwrap()
    }

    /// Text frames the server under test sent.
    pub fn received(&self) -> Vec<String> {
        self.fake.received.lock().unwrap().clone()
    }

    /// REST requests so far (path and query).
    pub fn calls(&self) -> Vec<String> {
        self.fake.calls.lock().unwrap().clone()
    }

    /// The next REST requests get these answers, in order; then the candle bodies.
    pub fn answer(&self, answers: impl IntoIterator<Item = Answer>) {
        self.fake.answers.lock().unwrap().extend(answers);
    }

    /// How unscripted REST requests are answered (200 with this body).
    pub fn candles(&self, body: impl Fn(&str) -> String + Send + 'static) {
        *self.fake.candles.lock().unwrap() = Some(Box::new(body));
    }

    pub fn refuse_upgrades(&self, status: Option<u16>) {
        *self.fake.refuse_upgrades.lock().unwrap() = status;
    }
}

async fn any(
    State(fake): State<Arc<Fake>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Ok(upgrade) = upgrade.map_err(drop).and_then(|u| {
        if headers.contains_key("sec-websocket-key") {
            Ok(u)
        } else {
            Err(())
        }
    }) {
        if let Some(status) = *fake.refuse_upgrades.lock().unwrap() {
            return StatusCode::from_u16(status).unwrap().into_response();
        }
        return upgrade.on_upgrade(move |socket| serve_socket(fake, socket));
    }
    let call = uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    fake.calls.lock().unwrap().push(call.clone());
    if let Some(answer) = fake.answers.lock().unwrap().pop_front() {
        let mut response =
            (StatusCode::from_u16(answer.status).unwrap(), answer.body).into_response();
        if let Some(secs) = answer.retry_after {
            response.headers_mut().insert("retry-after", secs.into());
        }
        return response;
    }
    let body = fake
        .candles
        .lock()
        .unwrap()
        .as_ref()
        .map_or_else(|| "[]".to_owned(), |f| f(&call));
    (StatusCode::OK, body).into_response()
}

async fn serve_socket(fake: Arc<Fake>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    fake.sockets.lock().unwrap().push(tx);
    *fake.connections.lock().unwrap() += 1;
    loop {
        tokio::select! {
            push = rx.recv() => match push {
                Some(Push::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(Push::Close) | None => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => fake.received.lock().unwrap().push(text.to_string()),
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// A query parameter of a recorded call (`startTime` of `/api/v3/klines?…`).
pub fn query<'a>(call: &'a str, name: &str) -> Option<&'a str> {
    call.split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Binance's answer to `GET /api/v3/klines` for the `startTime`, `endTime` and `limit`
/// of `call`, in candles of `step_ms`, each closing at `100 + n % 10` for the `n`th
/// step since the epoch (the shape of rest-api.md, "Kline/Candlestick data").
pub fn binance_klines(call: &str, step_ms: i64) -> String {
    let number = |name: &str, default: i64| {
        query(call, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (start, end, limit) = (
        number("startTime", 0),
        number("endTime", 0),
        number("limit", 500),
    );
    let first = (start + step_ms - 1) / step_ms;
    let rows: Vec<serde_json::Value> = (first..=end / step_ms)
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|n| {
            let close = 100.0 + (n % 10) as f64;
            serde_json::json!([
                n * step_ms,
                format!("{}", close - 0.5),
                format!("{}", close + 1.0),
                format!("{}", close - 1.0),
                format!("{close}"),
                "12.5",
                n * step_ms + step_ms - 1,
                "1250",
                40,
                "6",
                "600",
                "0"
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Coinbase's answer to `GET /products/{id}/candles` for the `start` and `end` of
/// `call` (RFC 3339, both included), minute candles newest first, each
/// `[time, low, high, open, close, volume]` ("Get product candles").
pub fn coinbase_candles(call: &str) -> String {
    let time = |name: &str| {
        query(call, name)
            .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            .map_or(0, |t| t.timestamp())
    };
    let (start, end) = (time("start"), time("end"));
    let rows: Vec<serde_json::Value> = ((start + 59) / 60..=end / 60)
        .rev()
        .take(300)
        .map(|minute| {
            let close = 100.0 + (minute % 10) as f64;
            serde_json::json!([
                minute * 60,
                close - 1.0,
                close + 1.0,
                close - 0.5,
                close,
                2.5
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Kraken's answer to `GET /0/public/OHLC` for the `since` of `call` (seconds,
/// excluded): minute candles up to now, at most 720, each `[time, "open", "high",
/// "low", "close", "vwap", "volume", count]` ("Get OHLC Data").
pub fn kraken_ohlc(call: &str) -> String {
    let since: i64 = query(call, "since")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let now = chrono::Utc::now().timestamp();
    let rows: Vec<serde_json::Value> = (since / 60 + 1..=now / 60)
        .take(720)
        .map(|minute| {
            let close = 100.0 + (minute % 10) as f64;
            serde_json::json!([
                minute * 60,
                format!("{}", close - 0.5),
                format!("{}", close + 1.0),
                format!("{}", close - 1.0),
                format!("{close}"),
                format!("{close}"),
                "2.5",
                9
            ])
        })
        .collect();
    serde_json::json!({"error": [], "result": {"XXBTZUSD": rows, "last": now}}).to_string()
}

//! WebSocket endpoints: the multiplexed `/api/ws` and the dedicated stream paths, which
//! subscribe on connect and resume from `?since=S&epoch=E`. The path and query are
//! checked before the upgrade, so a bad one is answered with a JSON 400 naming it.

mod connection;
mod flood;
mod identity;
mod pacer;

use std::net::IpAddr;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use protocol::{Symbol, Topic, TopicKind};
use serde::Deserialize;

pub use connection::Wanted;
use identity::{Identity, UpgradeToken};

use super::client_ip::ClientIp;
use super::rate::RateParam;
use super::resume::ResumeParams;
use super::ApiError;
use crate::admission::ConnectionPlace;
use crate::routes::state::AppState;
use protocol::api::ErrorBody;

/// `/api/ws`: subscriptions are made by the client's `subscribe` actions.
#[utoipa::path(
    get,
    path = "/api/ws",
    operation_id = "socket",
    tag = "sockets",
    description = "WebSocket upgrade (HTTP/1.1 `Upgrade: websocket`; answered with 101). The multiplexed socket: the client subscribes, unsubscribes, pings and controls runs with `ClientAction` frames.",
    security(()),
    params(("token" = Option<String>, Query, description = "Token mode: the JWT (or send `{\"action\":\"auth\",\"token\":T}` first within 10 s, or `Authorization: Bearer T`); a refused token closes the socket with 1008")),
    responses(
        (status = 101, description = "Switching to WebSocket: the server sends `ServerFrame`s (`#/components/schemas/ServerFrame`, `connected` first), the client `ClientAction`s (`#/components/schemas/ClientAction`)"),
        (status = 400, description = "Not a WebSocket upgrade", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` or `Host`", body = ErrorBody),
        (status = 503, description = "`--max-connections` or `--max-connections-per-ip` is reached", body = ErrorBody),
    )
)]
pub async fn multiplexed(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    place: HeldConnection,
    token: UpgradeToken,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    upgrade(ws, state, peer, place, token, Vec::new())
}

/// `/api/ws/stream/{stream}/{name}`: `market-data/{symbol}` → `market:{symbol}`,
/// `backtest/{id}` → `backtest:{id}`, `session/{id}` → `session:{id}`.
#[utoipa::path(
    get,
    path = "/api/ws/stream/{stream}/{name}",
    operation_id = "dedicated_stream",
    tag = "sockets",
    description = "WebSocket upgrade (answered with 101). A dedicated stream, subscribed on connect: `market-data/{SYMBOL}`, `backtest/{ID}`, `session/{ID}` or `sweep/{ID}`.",
    security(()),
    params(
        ("stream" = String, Path, description = "`market-data`, `backtest`, `session` or `sweep`"),
        ("name" = String, Path, description = "The symbol or id"),
        ("since" = Option<u64>, Query, description = "Resume after this seq; above 0 it needs `epoch` (`since=0` alone: from the oldest retained message)"),
        ("epoch" = Option<String>, Query, description = "The epoch `since` belongs to"),
        ("max_rate" = Option<f64>, Query, minimum = 0.01, maximum = 1000, description = "At most this many replaceable messages a second (ticks, open candles, analysis, progress, countdowns, session stats: the latest wins); every other message is always delivered"),
        ("token" = Option<String>, Query, description = "Token mode: the JWT (or send `{\"action\":\"auth\",\"token\":T}` first within 10 s, or `Authorization: Bearer T`); a refused token closes the socket with 1008"),
    ),
    responses(
        (status = 101, description = "Switching to WebSocket: the server sends `ServerFrame`s (`#/components/schemas/ServerFrame`, `connected` first), the client `ClientAction`s (`#/components/schemas/ClientAction`)"),
        (status = 400, description = "A symbol, id, resume point or `max_rate` that does not parse, or not a WebSocket upgrade", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` or `Host`", body = ErrorBody),
        (status = 404, description = "No such stream", body = ErrorBody),
        (status = 503, description = "`--max-connections` or `--max-connections-per-ip` is reached", body = ErrorBody),
    )
)]
pub async fn dedicated(
    Path((stream, name)): Path<(String, String)>,
    Query(query): Query<StreamQuery>,
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    place: HeldConnection,
    token: UpgradeToken,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let kind = match stream.as_str() {
        "market-data" => TopicKind::Market,
        "backtest" => TopicKind::Backtest,
        "session" => TopicKind::Session,
        "sweep" => TopicKind::Sweep,
        other => {
            return Err(ApiError::not_found(format!(
                "no stream `{other}`: use market-data/{{SYMBOL}}, backtest/{{ID}}, session/{{ID}}, sweep/{{ID}} or live-trading?symbols="
            )))
        }
    };
    let topic = Topic::new(kind, &name)?;
    let since = query.resume.into_since()?;
    let rate = query.rate.into_rate()?;
    upgrade(
        ws,
        state,
        peer,
        place,
        token,
        vec![Wanted { topic, since, rate }],
    )
}

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    #[serde(flatten)]
    resume: ResumeParams,
    #[serde(flatten)]
    rate: RateParam,
}

#[derive(Debug, Deserialize)]
pub struct LiveTradingQuery {
    symbols: Option<String>,
    #[serde(flatten)]
    resume: ResumeParams,
    #[serde(flatten)]
    rate: RateParam,
}

/// `/api/ws/stream/live-trading?symbols=A,B`: `trading:A`, `trading:B`, … A resume
/// point names one topic's seq, so `since` is only accepted with a single symbol.
#[utoipa::path(
    get,
    path = "/api/ws/stream/live-trading",
    operation_id = "live_trading_stream",
    tag = "sockets",
    description = "WebSocket upgrade (answered with 101). The `trading:{SYMBOL}` topic of every symbol named, subscribed on connect.",
    security(()),
    params(
        ("symbols" = String, Query, description = "Comma-separated symbols, e.g. `BTC-USD,EURUSD`"),
        ("since" = Option<u64>, Query, description = "Resume after this seq (a single symbol only); above 0 it needs `epoch`"),
        ("epoch" = Option<String>, Query, description = "The epoch `since` belongs to"),
        ("max_rate" = Option<f64>, Query, minimum = 0.01, maximum = 1000, description = "At most this many replaceable messages a second, per topic (`trading:` topics have none: every message is delivered)"),
        ("token" = Option<String>, Query, description = "Token mode: the JWT (or send `{\"action\":\"auth\",\"token\":T}` first within 10 s, or `Authorization: Bearer T`); a refused token closes the socket with 1008"),
    ),
    responses(
        (status = 101, description = "Switching to WebSocket: the server sends `ServerFrame`s (`#/components/schemas/ServerFrame`, `connected` first), the client `ClientAction`s (`#/components/schemas/ClientAction`)"),
        (status = 400, description = "No symbol, a symbol that does not parse, too many symbols, `since` with several symbols, a `max_rate` out of range, or not a WebSocket upgrade", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` or `Host`", body = ErrorBody),
        (status = 503, description = "`--max-connections` or `--max-connections-per-ip` is reached", body = ErrorBody),
    )
)]
pub async fn live_trading(
    Query(query): Query<LiveTradingQuery>,
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    place: HeldConnection,
    token: UpgradeToken,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let symbols = query.symbols.unwrap_or_default();
    let topics = symbols
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            Symbol::parse(s)
                .map(|s| Topic::trading(&s))
                .map_err(ApiError::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if topics.is_empty() {
        return Err(ApiError::bad_request(
            "`symbols` must name at least one symbol, e.g. ?symbols=BTC-USD,EURUSD",
        ));
    }
    if topics.len() > state.limits.max_subscriptions {
        return Err(ApiError::bad_request(format!(
            "too many symbols: at most {}",
            state.limits.max_subscriptions
        )));
    }
    let since = query.resume.into_since()?;
    if since.is_some() && topics.len() > 1 {
        return Err(ApiError::bad_request(
            "`since` resumes one topic: use it with a single symbol, or resume each on /api/ws",
        ));
    }
    let rate = query.rate.into_rate()?;
    let initial = topics
        .into_iter()
        .map(|topic| Wanted {
            topic,
            since: since.clone(),
            rate,
        })
        .collect();
    upgrade(ws, state, peer, place, token, initial)
}

/// The place of the TCP connection being upgraded (absent only when the router is
/// served without tickwire's listener).
pub struct HeldConnection(Option<ConnectionPlace>);

impl<S: Send + Sync> FromRequestParts<S> for HeldConnection {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(HeldConnection(parts.extensions.remove::<ConnectionPlace>()))
    }
}

/// Bytes read from a socket at a time (tungstenite's default is 128 KiB per socket).
/// Client frames are small actions, and tungstenite zeroes this much before every read
/// attempt, which every wake-up of the connection makes.
const READ_BUFFER: usize = 256;

/// Bytes of outgoing frames gathered before they are written to the socket within one
/// batch (tungstenite's default is 128 KiB). The buffer keeps the largest size it ever
/// reached, so this bounds what a burst leaves behind per connection.
const WRITE_BUFFER: usize = 1024;

/// Upgrades once the request itself was found valid and a connection slot is free for
/// `peer` (the socket holds it until it ends). A refused token is told on the socket,
/// closed with 1008 at once, so that browsers (which cannot read a refused upgrade's
/// status) learn why.
fn upgrade(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    state: AppState,
    peer: IpAddr,
    HeldConnection(place): HeldConnection,
    token: UpgradeToken,
    initial: Vec<Wanted>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::bad_request(format!("this endpoint is a WebSocket: {e}")))?;
    let slot = state.sockets.admit(Some(peer), false)?;
    let identity = Identity::at_upgrade(state.tokens.as_ref(), token, &state.awaiting_auth)?;
    let max = state.limits.max_message_bytes;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        // Client frames are small actions: a small read buffer keeps idle sockets cheap.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            // The TCP connection's place goes with the socket.
            let _held = place;
            connection::run(socket, state, slot, identity, initial).await;
        }))
}

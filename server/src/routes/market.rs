//! Market-data endpoints: `GET /api/market/symbols` and `GET /api/market/{symbol}/candles`.

use axum::extract::{Path, Query, State};
use axum::Json;
use protocol::{Candle, SnapshotData, Symbol, SymbolInfo, Topic, SNAPSHOT_CANDLES};

use super::paging::PageQuery;
use super::ApiError;
use crate::auth::Caller;
use crate::routes::state::AppState;
use protocol::api::ErrorBody;

/// The symbols the market feed publishes, with their topics and data source.
#[utoipa::path(
    get,
    path = "/api/market/symbols",
    operation_id = "market_symbols",
    tag = "market",
    responses(
        (status = 200, description = "The symbols the market feed publishes", body = ref("#/components/schemas/SymbolInfoList")),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A `Host` that is not this server's", body = ErrorBody),
    )
)]
pub async fn symbols(State(state): State<AppState>, _caller: Caller) -> Json<Vec<SymbolInfo>> {
    Json(state.symbols.to_vec())
}

/// The candles of a symbol the server holds (the same a market snapshot carries), oldest
/// first: the newest `limit` (1 to 500, default 500) opening before `before`, or the
/// most recent, the open one last. A chart panning left asks for the page before its
/// oldest candle.
#[utoipa::path(
    get,
    path = "/api/market/{symbol}/candles",
    operation_id = "market_candles",
    tag = "market",
    params(
        ("symbol" = String, Path, description = "A symbol (`[A-Z0-9][A-Z0-9._-]{0,31}`)"),
        ("before" = Option<String>, Query, format = DateTime, description = "Only candles opening before this RFC 3339 time"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many, 1 to 500 (default 500)"),
    ),
    responses(
        (status = 200, description = "The most recent candles, oldest first, the open one last", body = ref("#/components/schemas/CandleList")),
        (status = 400, description = "A symbol, `before` or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn candles(
    State(state): State<AppState>,
    caller: Caller,
    Path(symbol): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<Candle>>, ApiError> {
    let symbol = Symbol::parse(&symbol)?;
    let topic = Topic::market(&symbol);
    state.access.may_follow(&caller, &topic).await?;
    let page = query.page(SNAPSHOT_CANDLES, SNAPSHOT_CANDLES)?;
    let SnapshotData::Market(market) = state.hub.snapshot(&topic).await?.data else {
        return Err(ApiError::internal(
            "a market topic holds a non-market snapshot",
        ));
    };
    let mut candles = market.candles;
    if let Some(before) = page.before {
        candles.retain(|c| c.open_time < before);
    }
    let skip = candles.len().saturating_sub(page.limit);
    Ok(Json(candles.into_iter().skip(skip).collect()))
}

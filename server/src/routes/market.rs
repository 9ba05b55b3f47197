//! Market-data endpoints: `GET /api/market/symbols` and `GET /api/market/{symbol}/candles`.

use axum::extract::{Path, Query, State};
use axum::Json;
use protocol::{Candle, SnapshotData, Symbol, SymbolInfo, Topic, SNAPSHOT_CANDLES};
use serde::Deserialize;

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

#[derive(Deserialize)]
pub struct CandlesQuery {
    limit: Option<String>,
}

/// The most recent candles of a symbol (oldest first, the open one last), at most
/// `limit` (1 to 500, default 500): the same candles a market snapshot carries.
#[utoipa::path(
    get,
    path = "/api/market/{symbol}/candles",
    operation_id = "market_candles",
    tag = "market",
    params(
        ("symbol" = String, Path, description = "A symbol (`[A-Z0-9][A-Z0-9._-]{0,31}`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many, 1 to 500 (default 500)"),
    ),
    responses(
        (status = 200, description = "The most recent candles, oldest first, the open one last", body = ref("#/components/schemas/CandleList")),
        (status = 400, description = "A symbol or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn candles(
    State(state): State<AppState>,
    caller: Caller,
    Path(symbol): Path<String>,
    Query(query): Query<CandlesQuery>,
) -> Result<Json<Vec<Candle>>, ApiError> {
    let symbol = Symbol::parse(&symbol)?;
    let topic = Topic::market(&symbol);
    state.access.may_follow(&caller, &topic).await?;
    let limit = match query.limit {
        None => SNAPSHOT_CANDLES,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=SNAPSHOT_CANDLES).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "`limit` must be a whole number from 1 to {SNAPSHOT_CANDLES}, got `{l}`"
                )))
            }
        },
    };
    let SnapshotData::Market(market) = state.hub.snapshot(&topic).await?.data else {
        return Err(ApiError::internal(
            "a market topic holds a non-market snapshot",
        ));
    };
    let skip = market.candles.len().saturating_sub(limit);
    Ok(Json(market.candles.into_iter().skip(skip).collect()))
}

//! Market-data endpoints: `GET /api/market/symbols` and `GET /api/market/{symbol}/candles`.

use app::protocol::{Candle, SnapshotData, Symbol, SymbolInfo, Topic, SNAPSHOT_CANDLES};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

use super::ApiError;
use crate::auth::Caller;
use crate::state::AppState;

/// The symbols the market feed publishes, with their topics and data source.
pub async fn symbols(State(state): State<AppState>, _caller: Caller) -> Json<Vec<SymbolInfo>> {
    Json(state.symbols.to_vec())
}

#[derive(Deserialize)]
pub struct CandlesQuery {
    limit: Option<String>,
}

/// The most recent candles of a symbol (oldest first, the open one last), at most
/// `limit` (1 to 500, default 500): the same candles a market snapshot carries.
pub async fn candles(
    State(state): State<AppState>,
    caller: Caller,
    Path(symbol): Path<String>,
    Query(query): Query<CandlesQuery>,
) -> Result<Json<Vec<Candle>>, ApiError> {
    let symbol = Symbol::parse(&symbol)?;
    let topic = Topic::market(&symbol);
    state.may_follow(&caller, &topic).await?;
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

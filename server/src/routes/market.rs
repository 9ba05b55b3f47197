//! Market-data endpoints: `GET /api/market/symbols`.

use app::protocol::SymbolInfo;
use axum::extract::State;
use axum::Json;

use crate::state::AppState;

/// The symbols the market feed publishes, with their topics and data source.
pub async fn symbols(State(state): State<AppState>) -> Json<Vec<SymbolInfo>> {
    Json(state.symbols.to_vec())
}

//! HTTP and WebSocket endpoints over the hub, plus the server-rendered dashboard.

mod error;
mod health;
mod market;
mod ws;

pub use error::ApiError;

use app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let leptos = state.leptos.clone();
    let api = Router::new()
        .route("/ws", get(ws::multiplexed))
        .route("/ws/stream/market-data/{symbol}", get(ws::market_data))
        .route("/ws/health", get(health::health))
        .route("/market/symbols", get(market::symbols))
        .fallback(error::no_such_endpoint);
    Router::new()
        .nest("/api", api)
        .leptos_routes(&state, generate_route_list(App), {
            let leptos = leptos.clone();
            move || shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

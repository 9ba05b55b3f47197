//! HTTP and WebSocket endpoints over the hub, plus the server-rendered dashboard.

mod assets;
mod backtests;
mod caller;
mod client_ip;
mod error;
mod headers;
mod health;
mod history;
mod json;
mod market;
mod me;
mod metrics;
mod notices;
mod openapi;
mod origin;
mod paging;
mod publish;
mod quota;
mod rate;
mod resume;
mod run_control;
mod schemas;
mod sessions;
pub mod state;
mod streams;
mod sweeps;
mod webhooks;
mod ws;

pub use assets::hashed_site;
pub use caller::bearer;
pub use client_ip::TrustedProxies;
pub use error::ApiError;
pub use json::BodyBudget;
pub use openapi::openapi_document;
pub use origin::Origins;
pub use publish::{parse_body as parse_publish_body, Publishable, MAX_BATCH as MAX_PUBLISH_BATCH};
pub use quota::TopicQuota;

use app::{shell, App};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

use state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let leptos = state.leptos.clone();
    let api = Router::new()
        .route("/ws", get(ws::multiplexed))
        .route("/ws/stream/{stream}/{name}", get(ws::dedicated))
        .route("/ws/stream/live-trading", get(ws::live_trading))
        .route("/streams/{topic}", get(streams::poll))
        .route("/streams/{topic}/snapshot", get(streams::snapshot))
        .route("/streams/{topic}/record", get(streams::record))
        .route("/publish", post(publish::publish))
        .route("/notices/read", post(notices::read))
        .route("/notify", post(notices::notify))
        .route("/webhooks", post(webhooks::add).get(webhooks::list))
        .route("/webhooks/{id}", axum::routing::delete(webhooks::delete))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/datasets", get(backtests::datasets))
        .route("/backtests", post(backtests::start).get(backtests::list))
        .route(
            "/backtests/{id}",
            get(backtests::get)
                .patch(backtests::annotate)
                .delete(backtests::delete),
        )
        .route("/backtests/{id}/bars", get(backtests::bars))
        .route("/backtests/{id}/trades.csv", get(backtests::trades_csv))
        .route("/backtests/{id}/equity.csv", get(backtests::equity_csv))
        .route("/backtests/{id}/{action}", post(backtests::control))
        .route("/sweeps", post(sweeps::start).get(sweeps::list))
        .route(
            "/sweeps/{id}",
            get(sweeps::get)
                .patch(sweeps::annotate)
                .delete(sweeps::delete),
        )
        .route("/sweeps/{id}/results", get(sweeps::results))
        .route("/sweeps/{id}/{action}", post(sweeps::control))
        .route("/sessions", post(sessions::start).get(sessions::list))
        .route(
            "/sessions/{id}",
            get(sessions::get)
                .patch(sessions::annotate)
                .delete(sessions::delete),
        )
        .route("/sessions/{id}/stop", post(sessions::stop))
        .route("/sessions/{id}/trades.csv", get(sessions::trades_csv))
        .route("/sessions/{id}/equity.csv", get(sessions::equity_csv))
        .route("/sessions/{id}/thinking", post(sessions::thinking))
        .route("/sessions/{id}/decision", post(sessions::decision))
        .route("/sessions/{id}/manual", post(sessions::manual))
        .route("/ws/health", get(health::health))
        // The contract documents: public, like health (docs/SECURITY.md).
        .route("/schema.json", get(openapi::schema_json))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/me", get(me::me))
        .route("/market/symbols", get(market::symbols))
        .route("/market/{symbol}/candles", get(market::candles))
        .fallback(error::no_such_endpoint)
        .layer(middleware::from_fn(error::as_json));
    let app = Router::new()
        .nest("/api", api)
        .nest("/pkg", assets::pkg(&leptos))
        .route("/metrics", get(metrics::metrics))
        .leptos_routes(&state, generate_route_list(App), move || {
            shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.origins.clone(),
            origin::guard,
        ))
        // The path only: a socket's `?token=` must never reach a log line.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        );
    // Outermost, so that a refusal of the origin guard carries them too.
    headers::on_every_answer(app).with_state(state)
}

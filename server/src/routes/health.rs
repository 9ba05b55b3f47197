//! `GET /api/ws/health`: liveness and the hub's counters.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::feed::venue::FeedStatus;
use crate::hub::StatsSnapshot;
use crate::routes::state::AppState;

/// The health report.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` while the backend (Redis) is away.
    #[schema(value_type = String)]
    status: &'static str,
    uptime_secs: u64,
    topics: usize,
    #[serde(flatten)]
    stats: StatsSnapshot,
    /// Where topics live: `memory` (this process) or `redis`.
    #[schema(value_type = String)]
    backend: &'static str,
    backend_healthy: bool,
    /// Each venue feed's markets on this instance (docs/MARKETS.md): its connection's
    /// state (`connected`, `reconnecting`, `down`), why, and its last print's age. On
    /// Redis, only the instance holding the feed lease runs them.
    feeds: Vec<FeedStatus>,
}

/// `ok`, or `degraded` while the backend (Redis) is away: sockets stay open and topics
/// held here still serve, but nothing can be published or started.
#[utoipa::path(
    get,
    path = "/api/ws/health",
    operation_id = "health",
    tag = "server",
    security(()),
    responses(
        (status = 200, description = "Liveness and the hub's counters (no token needed)", body = Health),
        (status = 403, description = "A `Host` that is not this server's", body = protocol::api::ErrorBody),
    )
)]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let backend_healthy = state.hub.backend_healthy();
    Json(Health {
        status: if backend_healthy { "ok" } else { "degraded" },
        uptime_secs: state.started.elapsed().as_secs(),
        topics: state.hub.topic_count(),
        stats: state.hub.stats().snapshot(),
        backend: state.hub.backend(),
        backend_healthy,
        feeds: state.feeds.snapshot(),
    })
}

//! `GET /api/ws/health`: liveness and the hub's counters.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::hub::StatsSnapshot;
use crate::state::AppState;

/// The health report.
#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    uptime_secs: u64,
    topics: usize,
    #[serde(flatten)]
    stats: StatsSnapshot,
    /// Where topics live: `memory` (this process) or `redis`.
    backend: &'static str,
    backend_healthy: bool,
}

pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        uptime_secs: state.started.elapsed().as_secs(),
        topics: state.hub.topic_count(),
        stats: state.hub.stats().snapshot(),
        backend: "memory",
        backend_healthy: true,
    })
}

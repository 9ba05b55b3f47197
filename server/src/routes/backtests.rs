//! Backtest endpoints: start, list, inspect, and pause / resume / cancel.

use app::protocol::{RunStatus, Snapshot, SnapshotData, Topic, TopicKind};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::json::JsonBody;
use super::ApiError;
use crate::auth::Caller;
use crate::backtest::{BacktestRequest, RunInfo, StartedRun};
use crate::hub::Command;
use crate::request::RequestError;
use crate::state::AppState;

/// `POST /api/backtests` → 201 `{backtest_id, topic, stream_url}`.
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<BacktestRequest>,
) -> Result<(StatusCode, Json<StartedRun>), ApiError> {
    let started = state.backtests.start(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `GET /api/backtests`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<RunInfo>> {
    Json(state.backtests.list(&caller).await)
}

/// `GET /api/datasets`: what `dataset` may name in `POST /api/backtests`.
pub async fn datasets(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<String>>, ApiError> {
    state
        .backtests
        .datasets()
        .map(Json)
        .map_err(|e| ApiError::internal(format!("cannot list the data directory: {e}")))
}

/// A run's set-up and its state (the topic's snapshot), for late joiners and polling.
#[derive(Serialize)]
pub struct RunState {
    #[serde(flatten)]
    info: RunInfo,
    state: Snapshot,
}

fn topic(id: &str) -> Result<Topic, ApiError> {
    Ok(Topic::new(TopicKind::Backtest, id)?)
}

/// `GET /api/backtests/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunState>, ApiError> {
    let topic = topic(&id)?;
    let info = state.backtests.get(&caller, &id).await?;
    Ok(Json(RunState {
        info,
        state: state.hub.snapshot(&topic).await?,
    }))
}

/// `POST /api/backtests/{id}/{pause|resume|cancel}` → 202 once the run has the request.
pub async fn control(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let topic = topic(&id)?;
    let command = match action.as_str() {
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        "cancel" => Command::Cancel,
        other => {
            return Err(ApiError::not_found(format!(
                "no action `{other}`: use pause, resume or cancel"
            )))
        }
    };
    state.backtests.get(&caller, &id).await?;
    let over = || RequestError::Finished {
        kind: "backtest",
        id: id.clone(),
    };
    // The topic says first: a client that has seen `complete` gets 409 even while the
    // finished run's control channel is still being taken down.
    if let SnapshotData::Backtest(run) = state.hub.snapshot(&topic).await?.data {
        if matches!(
            run.status,
            RunStatus::Complete | RunStatus::Cancelled | RunStatus::Failed
        ) {
            return Err(over().into());
        }
    }
    state
        .hub
        .command(&topic, command)
        .await
        .map_err(|_| over())?;
    Ok(StatusCode::ACCEPTED)
}

//! Paper-trading session endpoints: start, list, inspect, stop, and an outside agent's
//! thinking and decisions.

use app::protocol::{AgentDecision, AgentThinking, Snapshot, Timestamp, Topic, TopicKind};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::json::JsonBody;
use super::ApiError;
use crate::auth::Caller;
use crate::hub::Command;
use crate::request::RequestError;
use crate::session::{SessionInfo, SessionRequest};
use crate::state::AppState;

/// `POST /api/sessions` → 201 with the session's topics and stream.
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SessionRequest>,
) -> Result<(StatusCode, Json<SessionInfo>), ApiError> {
    let started = state.sessions.start(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `GET /api/sessions`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<SessionInfo>> {
    Json(state.sessions.list(&caller).await)
}

/// A session's set-up and its state (the topic's snapshot).
#[derive(Serialize)]
pub struct SessionState {
    #[serde(flatten)]
    info: SessionInfo,
    state: Snapshot,
}

async fn lookup(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(SessionInfo, Topic), ApiError> {
    let topic = Topic::new(TopicKind::Session, id)?;
    Ok((state.sessions.get(caller, id).await?, topic))
}

/// `GET /api/sessions/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionState>, ApiError> {
    let (info, topic) = lookup(&state, &caller, &id).await?;
    Ok(Json(SessionState {
        info,
        state: state.hub.snapshot(&topic).await?,
    }))
}

/// `DELETE /api/sessions/{id}`: stops it, closing any position at the last price.
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionState>, ApiError> {
    let (_, topic) = lookup(&state, &caller, &id).await?;
    let info = state.sessions.stop(&caller, &id).await?;
    Ok(Json(SessionState {
        info,
        state: state.hub.snapshot(&topic).await?,
    }))
}

/// What an agent's thinking or decision was taken for.
#[derive(Serialize)]
pub struct Taken {
    session_id: String,
    /// Open time of the bar the message is about.
    bar_time: Timestamp,
}

async fn from_agent(
    state: &AppState,
    caller: &Caller,
    id: String,
    command: Command,
) -> Result<(StatusCode, Json<Taken>), ApiError> {
    let bar_time = state.sessions.from_agent(caller, &id, command).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Taken {
            session_id: id,
            bar_time,
        }),
    ))
}

/// `POST /api/sessions/{id}/thinking` → 202: a chunk of an outside agent's reasoning,
/// published on the session's topic.
pub async fn thinking(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(thinking): JsonBody<AgentThinking>,
) -> Result<(StatusCode, Json<Taken>), ApiError> {
    thinking.validate().map_err(RequestError::from)?;
    from_agent(&state, &caller, id, Command::Think(thinking)).await
}

/// `POST /api/sessions/{id}/decision` → 202: an outside agent's decision on the last
/// closed bar, filled at the next print like a built-in strategy's.
pub async fn decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(decision): JsonBody<AgentDecision>,
) -> Result<(StatusCode, Json<Taken>), ApiError> {
    decision.validate().map_err(RequestError::from)?;
    from_agent(&state, &caller, id, Command::Decide(decision)).await
}

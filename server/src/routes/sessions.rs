//! Paper-trading session endpoints: start, list, inspect, stop, and an outside agent's
//! thinking and decisions.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use protocol::{
    AgentDecision, AgentThinking, DecisionAction, ManualOrder, Snapshot, Timestamp, Topic,
    TopicKind,
};
use serde::Serialize;

use super::history::{self, ListQuery};
use super::json::JsonBody;
use super::schemas::{snapshot_schema, timestamp_schema};
use super::ApiError;
use crate::auth::Caller;
use crate::hub::Command;
use crate::refusal::RequestError;
use crate::routes::state::AppState;
use crate::runs::Table;
use protocol::api::ErrorBody;
use protocol::api::{RunNotesPatch, SessionInfo, SessionRequest};

/// `POST /api/sessions` → 201 with the session's topics and stream.
#[utoipa::path(
    post,
    path = "/api/sessions",
    operation_id = "start_session",
    tag = "sessions",
    request_body(content = SessionRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Started", body = SessionInfo),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` / `Host`", body = ErrorBody),
        (status = 409, description = "The id is taken (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "A field does not fit or breaks a rule (an unknown symbol or strategy, bad params): `details.field` names it", body = ErrorBody),
        (status = 429, description = "`--max-sessions` sessions are active already (`details.limit`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SessionRequest>,
) -> Result<(StatusCode, Json<SessionInfo>), ApiError> {
    let started = state.sessions.start(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `GET /api/sessions`.
#[utoipa::path(
    get,
    path = "/api/sessions",
    operation_id = "list_sessions",
    tag = "sessions",
    description = "The caller's sessions (every one for an admin or in anonymous mode), newest first, a page at a time: every session the store keeps (docs/STORE.md), or with `--database-url none` the ones retained in memory.",
    params(
        ("strategy" = Option<String>, Query, description = "Only sessions of this strategy (or `external`)"),
        ("symbol" = Option<String>, Query, description = "Only sessions on this symbol"),
        ("status" = Option<String>, Query, pattern = "^(pending|running|paused|cancelled|complete|failed|interrupted)$", description = "Only sessions with this status: running, paused, complete or interrupted"),
        ("before" = Option<String>, Query, description = "Only sessions started before this one: the last id of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 to 1,000 (default 100)"),
    ),
    responses(
        (status = 200, description = "The sessions, newest first", body = [SessionInfo]),
        (status = 400, description = "A `status` or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A `Host` that is not this server's", body = ErrorBody),
        (status = 422, description = "`limit` outside 1 to 1,000, or a `before` that names no session (`details.field`)", body = ErrorBody),
        (status = 503, description = "The store did not answer", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    let listing = query.listing()?;
    Ok(Json(state.sessions.list(&caller, &listing).await?))
}

/// `PATCH /api/sessions/{id}`: its title, notes and tags.
#[utoipa::path(
    patch,
    path = "/api/sessions/{id}",
    operation_id = "annotate_session",
    tag = "sessions",
    description = "Sets the session's `title`, `notes` or `tags`: each field given replaces the kept one, the others stay. Answers the session's listing.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    request_body(content = RunNotesPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The session, annotated", body = SessionInfo),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's session, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "A field too long, too many tags, or an unknown field (`details.field`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn annotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<RunNotesPatch>,
) -> Result<Json<SessionInfo>, ApiError> {
    Topic::new(TopicKind::Session, &id)?;
    Ok(Json(state.sessions.annotate(&caller, &id, patch).await?))
}

/// `GET /api/sessions/{id}/trades.csv`.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/trades.csv",
    operation_id = "session_trades_csv",
    tag = "sessions",
    description = "Every trade of its whole record, as CSV: position_id, side, qty, entry_time, entry_price, exit_time, exit_price, pnl, return_pct, reason.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's session, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn trades_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    export(&state, &caller, &id, Table::Trades).await
}

/// `GET /api/sessions/{id}/equity.csv`.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/equity.csv",
    operation_id = "session_equity_csv",
    tag = "sessions",
    description = "Its equity over its whole record, as CSV: time, equity, cash, realized_pnl, unrealized_pnl, return_pct.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's session, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn equity_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    export(&state, &caller, &id, Table::Equity).await
}

async fn export(
    state: &AppState,
    caller: &Caller,
    id: &str,
    table: Table,
) -> Result<Response, ApiError> {
    Topic::new(TopicKind::Session, id)?;
    let body = state.sessions.export(caller, id, table).await?;
    Ok(history::csv(body, &format!("{id}-{}", table.file())))
}

/// A session's set-up and its state (the topic's snapshot).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionState {
    #[serde(flatten)]
    info: SessionInfo,
    /// The `session:{ID}` snapshot.
    #[schema(schema_with = snapshot_schema)]
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
#[utoipa::path(
    get,
    path = "/api/sessions/{id}",
    operation_id = "get_session",
    tag = "sessions",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "The session and its state", body = SessionState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionState>, ApiError> {
    let (info, topic) = lookup(&state, &caller, &id).await?;
    Ok(Json(SessionState {
        info,
        state: state.sessions.state(&id, &topic).await?,
    }))
}

/// `POST /api/sessions/{id}/stop`: stops it, closing any position at the last price.
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/stop",
    operation_id = "stop_session",
    tag = "sessions",
    description = "Stops the session: an open position is closed at the last price and `session_completed {reason: \"stopped\"}` is published. The session stays listed (for `--retain-runs`). A stopped session answers as it is. Takes no body. Answers like GET.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "Stopped: the session and its final state", body = SessionState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionState>, ApiError> {
    let (_, topic) = lookup(&state, &caller, &id).await?;
    let info = state.sessions.stop(&caller, &id).await?;
    Ok(Json(SessionState {
        info,
        state: state.sessions.state(&id, &topic).await?,
    }))
}

/// `DELETE /api/sessions/{id}`: stops it if it runs, then forgets it.
#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    operation_id = "delete_session",
    tag = "sessions",
    description = "Stops the session if it runs (as `POST /api/sessions/{id}/stop`), then forgets it: its topic and record go, and GET answers 404 after. Answers with what it was when it ended.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "Forgotten: the session and its final state, as they were", body = SessionState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionState>, ApiError> {
    let (_, topic) = lookup(&state, &caller, &id).await?;
    state.sessions.stop(&caller, &id).await?;
    // Its last state, read before it is forgotten.
    let last = state.sessions.state(&id, &topic).await?;
    let info = state.sessions.forget(&caller, &id).await?;
    Ok(Json(SessionState { info, state: last }))
}

/// What an agent's thinking or decision was taken for.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Taken {
    session_id: String,
    /// Open time of the bar the message is about.
    #[schema(schema_with = timestamp_schema)]
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
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/thinking",
    operation_id = "agent_thinking",
    tag = "sessions",
    description = "A chunk of an `external` session's reasoning about the bar that closed last, published as `thinking`. Owner only; any instance.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    request_body(content = ref("#/components/schemas/AgentThinking"), content_type = "application/json"),
    responses(
        (status = 202, description = "Taken, for the bar that opened at `bar_time`", body = Taken),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 409, description = "The session cannot take it now: not `external`, finished, paused, no closed bar yet, or its last bar is decided already (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit the request, or a value breaks a rule: `error` names the field, `details.field` too", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/decision",
    operation_id = "agent_decision",
    tag = "sessions",
    description = "An `external` session's decision (`buy`, `sell` or `hold`) on the bar that closed last, one per bar, filled at the next print. Owner only; any instance.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    request_body(content = ref("#/components/schemas/AgentDecision"), content_type = "application/json"),
    responses(
        (status = 202, description = "Taken, for the bar that opened at `bar_time`", body = Taken),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 409, description = "The session cannot take it now: not `external`, finished, paused, no closed bar yet, or its last bar is decided already (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit, `action` is `close`, or `confidence` is outside 0..1: `details.field` names it", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(decision): JsonBody<AgentDecision>,
) -> Result<(StatusCode, Json<Taken>), ApiError> {
    decision.validate().map_err(RequestError::from)?;
    from_agent(&state, &caller, id, Command::Decide(decision)).await
}

/// What an order placed by hand was taken as.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Placed {
    session_id: String,
    /// `buy`, `sell` or `close`.
    #[schema(value_type = String)]
    action: DecisionAction,
}

/// `POST /api/sessions/{id}/manual` → 202: the session's user buys, sells short or
/// closes by hand; the session publishes it as a `decision` with `source: manual` and
/// fills it at the next print.
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/manual",
    operation_id = "manual_order",
    tag = "sessions",
    description = "An order placed by hand on a running session (`buy`, `sell` or `close`), whatever drives it: published as a `decision` with `source: manual`, filled at the next print like the session's own. Owner or admin; any instance.",
    params(("id" = String, Path, description = "The session id (`[A-Za-z0-9_-]{1,64}`)")),
    request_body(content = ref("#/components/schemas/ManualOrder"), content_type = "application/json"),
    responses(
        (status = 202, description = "The session has the order", body = Placed),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's session, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such session (`details.id`)", body = ErrorBody),
        (status = 409, description = "The session cannot take it now: finished, paused, already on that side, or nothing to close (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit, or `action` is `hold`: `details.field` names it", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away", body = ErrorBody),
    )
)]
pub async fn manual(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(order): JsonBody<ManualOrder>,
) -> Result<(StatusCode, Json<Placed>), ApiError> {
    Topic::new(TopicKind::Session, &id)?;
    order.validate().map_err(RequestError::from)?;
    state.sessions.manual(&caller, &id, order.action).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Placed {
            session_id: id,
            action: order.action,
        }),
    ))
}

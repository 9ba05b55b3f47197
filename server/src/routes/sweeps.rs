//! Sweep endpoints: start, list, inspect, annotate, delete, results, and pause / resume
//! / cancel.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use protocol::api::{
    ErrorBody, RunNotesPatch, SweepCreated, SweepInfo, SweepRequest, SweepResultsPage,
    MAX_SWEEP_RESULTS_PAGE, SWEEP_RESULTS_PAGE,
};
use protocol::{Snapshot, Topic, TopicKind};
use serde::{Deserialize, Serialize};

use super::history::ListQuery;
use super::json::JsonBody;
use super::run_control;
use super::schemas::snapshot_schema;
use super::ApiError;
use crate::auth::Caller;
use crate::routes::state::AppState;

/// `POST /api/sweeps` → 201 `{sweep_id, topic, combos}`.
#[utoipa::path(
    post,
    path = "/api/sweeps",
    operation_id = "start_sweep",
    tag = "sweeps",
    description = "Runs every combination of `grid` (each parameter a list of values or `{from, to, step}`) on the same bars, on every core, and streams each result to `sweep:{ID}` as it lands: `sweep_started`, `sweep_result` batches, `sweep_progress`, then `sweep_complete` with the `top_n` best by `objective`.",
    request_body(content = SweepRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Started: follow `topic`", body = SweepCreated),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` / `Host`", body = ErrorBody),
        (status = 409, description = "The id is taken (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit the request, or a value breaks a rule (a grid past `--max-sweep-combos` among them): `error` names the field, `details.field` too", body = ErrorBody),
        (status = 429, description = "`--max-sweeps` sweeps are active already, or the caller runs `--max-sweeps-per-user` (`details.limit`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SweepRequest>,
) -> Result<(StatusCode, Json<SweepCreated>), ApiError> {
    let created = state.sweeps.start(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/sweeps`.
#[utoipa::path(
    get,
    path = "/api/sweeps",
    operation_id = "list_sweeps",
    tag = "sweeps",
    description = "The caller's sweeps (every one for an admin or in anonymous mode), newest first, a page at a time, as `GET /api/backtests` lists runs.",
    params(
        ("strategy" = Option<String>, Query, description = "Only sweeps of this strategy"),
        ("symbol" = Option<String>, Query, description = "Only sweeps on this symbol"),
        ("status" = Option<String>, Query, pattern = "^(pending|running|paused|cancelled|complete|failed|interrupted)$", description = "Only sweeps with this status"),
        ("before" = Option<String>, Query, description = "Only sweeps started before this one: the last id of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 to 1,000 (default 100)"),
    ),
    responses(
        (status = 200, description = "The sweeps, newest first", body = [SweepInfo]),
        (status = 400, description = "A `status` or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A `Host` that is not this server's", body = ErrorBody),
        (status = 422, description = "`limit` outside 1 to 1,000, or a `before` that names no sweep (`details.field`)", body = ErrorBody),
        (status = 503, description = "The store did not answer", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<SweepInfo>>, ApiError> {
    let listing = query.listing()?;
    Ok(Json(state.sweeps.list(&caller, &listing).await?))
}

/// A sweep's set-up and its state (the topic's snapshot: every value by index, the
/// best so far).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SweepState {
    #[serde(flatten)]
    info: SweepInfo,
    /// The `sweep:{ID}` snapshot.
    #[schema(schema_with = snapshot_schema)]
    state: Snapshot,
}

/// `GET /api/sweeps/{id}`.
#[utoipa::path(
    get,
    path = "/api/sweeps/{id}",
    operation_id = "get_sweep",
    tag = "sweeps",
    params(("id" = String, Path, description = "The sweep id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "The sweep and its state", body = SweepState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's sweep, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such sweep (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SweepState>, ApiError> {
    Ok(Json(state_of(&state, &caller, &id).await?))
}

/// The sweep `id` as `caller` may see it, with its topic's state.
async fn state_of(state: &AppState, caller: &Caller, id: &str) -> Result<SweepState, ApiError> {
    let topic = topic(id)?;
    let info = state.sweeps.get(caller, id).await?;
    Ok(SweepState {
        info,
        state: state.sweeps.state(id, &topic).await?,
    })
}

/// `PATCH /api/sweeps/{id}`: its title, notes and tags.
#[utoipa::path(
    patch,
    path = "/api/sweeps/{id}",
    operation_id = "annotate_sweep",
    tag = "sweeps",
    description = "Sets the sweep's `title`, `notes` or `tags`: each field given replaces the kept one, the others stay. Answers the sweep's listing.",
    params(("id" = String, Path, description = "The sweep id (`[A-Za-z0-9_-]{1,64}`)")),
    request_body(content = RunNotesPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The sweep, annotated", body = SweepInfo),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's sweep, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such sweep (`details.id`)", body = ErrorBody),
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
) -> Result<Json<SweepInfo>, ApiError> {
    topic(&id)?;
    Ok(Json(state.sweeps.annotate(&caller, &id, patch).await?))
}

/// `DELETE /api/sweeps/{id}`: forgets a finished sweep.
#[utoipa::path(
    delete,
    path = "/api/sweeps/{id}",
    operation_id = "delete_sweep",
    tag = "sweeps",
    description = "Forgets a finished sweep everywhere: its row, record, topic and results. A `GET` after it answers 404. Answers what it was.",
    params(("id" = String, Path, description = "The sweep id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "Forgotten: the sweep and its last state, as they were", body = SweepState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's sweep, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such sweep (`details.id`)", body = ErrorBody),
        (status = 409, description = "The sweep is still running: cancel it first (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SweepState>, ApiError> {
    // Its last state, read before it is forgotten.
    let last = state_of(&state, &caller, &id).await?;
    state.sweeps.delete(&caller, &id).await?;
    Ok(Json(last))
}

/// `?offset=&limit=` of `GET /api/sweeps/{id}/results`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsQuery {
    offset: Option<u64>,
    limit: Option<usize>,
}

/// `GET /api/sweeps/{id}/results?offset=&limit=`.
#[utoipa::path(
    get,
    path = "/api/sweeps/{id}/results",
    operation_id = "sweep_results",
    tag = "sweeps",
    description = "Every combination's full result (parameters, metrics, objective value, or why it was skipped) by index, from `offset`: those landed so far while the sweep runs.",
    params(
        ("id" = String, Path, description = "The sweep id (`[A-Za-z0-9_-]{1,64}`)"),
        ("offset" = Option<u64>, Query, description = "The first combination index (default 0)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100000, description = "At most this many, 1 to 100,000 (default 10,000)"),
    ),
    responses(
        (status = 200, description = "A page of results by index", body = SweepResultsPage),
        (status = 400, description = "An id, `offset` or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's sweep, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such sweep (`details.id`)", body = ErrorBody),
        (status = 409, description = "No results of it are kept here (it ran on another instance, and no store keeps it)", body = ErrorBody),
        (status = 422, description = "`limit` outside 1 to 100,000 (`details.field`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ResultsQuery>,
) -> Result<Json<SweepResultsPage>, ApiError> {
    topic(&id)?;
    let limit = query.limit.unwrap_or(SWEEP_RESULTS_PAGE);
    protocol::validate::within("limit", limit as f64, 1.0, MAX_SWEEP_RESULTS_PAGE as f64)
        .map_err(crate::refusal::RequestError::from)?;
    let page = state
        .sweeps
        .results(&caller, &id, query.offset.unwrap_or(0), limit)
        .await?;
    Ok(Json(page))
}

/// `POST /api/sweeps/{id}/{pause|resume|cancel}` → 202 once the sweep has the request.
#[utoipa::path(
    post,
    path = "/api/sweeps/{id}/{action}",
    operation_id = "control_sweep",
    tag = "sweeps",
    description = "Pauses, resumes or cancels a sweep; it answers by publishing `paused`, `resumed` or `cancelled` on its topic. No body.",
    params(
        ("id" = String, Path, description = "The sweep id (`[A-Za-z0-9_-]{1,64}`)"),
        ("action" = String, Path, pattern = "^(pause|resume|cancel)$", description = "`pause`, `resume` or `cancel`"),
    ),
    responses(
        (status = 202, description = "The sweep has the request"),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's sweep, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such sweep (`details.id`), or no such action", body = ErrorBody),
        (status = 409, description = "The sweep is finished (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away", body = ErrorBody),
    )
)]
pub async fn control(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let topic = topic(&id)?;
    let command = run_control::command_of(&action)?;
    state.sweeps.get(&caller, &id).await?;
    run_control::send(&state, &topic, command).await?;
    Ok(StatusCode::ACCEPTED)
}

fn topic(id: &str) -> Result<Topic, ApiError> {
    Ok(Topic::new(TopicKind::Sweep, id)?)
}

//! Backtest endpoints: start, list, inspect, and pause / resume / cancel.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use protocol::{Snapshot, Topic, TopicKind};
use serde::Serialize;

use super::history::{self, ListQuery};
use super::json::JsonBody;
use super::paging::PageQuery;
use super::run_control;
use super::schemas::snapshot_schema;
use super::ApiError;
use crate::auth::Caller;
use crate::routes::state::AppState;
use crate::runs::Table;
use protocol::api::ErrorBody;
use protocol::api::{
    BacktestRequest, RunBars, RunInfo, RunNotesPatch, StartedRun, BARS_PAGE, MAX_BARS_PAGE,
};

/// `POST /api/backtests` → 201 `{backtest_id, topic, stream_url}`.
#[utoipa::path(
    post,
    path = "/api/backtests",
    operation_id = "start_backtest",
    tag = "backtests",
    request_body(content = BacktestRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Started: follow `topic` on `stream_url`", body = StartedRun),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` / `Host`", body = ErrorBody),
        (status = 409, description = "The id is taken (`details.id`)", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit the request, or a value breaks a rule: `error` names the field, `details.field` too", body = ErrorBody),
        (status = 429, description = "`--max-backtests` runs are active already (`details.limit`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<BacktestRequest>,
) -> Result<(StatusCode, Json<StartedRun>), ApiError> {
    let started = state.backtests.start(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `GET /api/backtests`.
#[utoipa::path(
    get,
    path = "/api/backtests",
    operation_id = "list_backtests",
    tag = "backtests",
    description = "The caller's backtests (every one for an admin or in anonymous mode), newest first, a page at a time: every run the store keeps (docs/STORE.md), or with `--database-url none` the ones retained in memory.",
    params(
        ("strategy" = Option<String>, Query, description = "Only runs of this strategy"),
        ("symbol" = Option<String>, Query, description = "Only runs on this symbol"),
        ("status" = Option<String>, Query, pattern = "^(pending|running|paused|cancelled|complete|failed|interrupted)$", description = "Only runs with this status: pending, running, paused, cancelled, complete, failed or interrupted"),
        ("before" = Option<String>, Query, description = "Only runs started before this one: the last id of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 to 1,000 (default 100)"),
    ),
    responses(
        (status = 200, description = "The runs, newest first", body = [RunInfo]),
        (status = 400, description = "A `status` or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A `Host` that is not this server's", body = ErrorBody),
        (status = 422, description = "`limit` outside 1 to 1,000, or a `before` that names no run (`details.field`)", body = ErrorBody),
        (status = 503, description = "The store did not answer", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<RunInfo>>, ApiError> {
    let listing = query.listing()?;
    Ok(Json(state.backtests.list(&caller, &listing).await?))
}

/// `PATCH /api/backtests/{id}`: its title, notes and tags.
#[utoipa::path(
    patch,
    path = "/api/backtests/{id}",
    operation_id = "annotate_backtest",
    tag = "backtests",
    description = "Sets the run's `title`, `notes` or `tags`: each field given replaces the kept one, the others stay. Answers the run's listing.",
    params(("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)")),
    request_body(content = RunNotesPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The run, annotated", body = RunInfo),
        (status = 400, description = "Malformed JSON, or an id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`)", body = ErrorBody),
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
) -> Result<Json<RunInfo>, ApiError> {
    topic(&id)?;
    Ok(Json(state.backtests.annotate(&caller, &id, patch).await?))
}

/// `DELETE /api/backtests/{id}`: forgets a finished run.
#[utoipa::path(
    delete,
    path = "/api/backtests/{id}",
    operation_id = "delete_backtest",
    tag = "backtests",
    description = "Forgets a finished run everywhere: its row, record and topic. A `GET` after it answers 404. Answers what it was.",
    params(("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "Forgotten: the run and its last state, as they were", body = RunState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`)", body = ErrorBody),
        (status = 409, description = "The run is still running: cancel it first (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunState>, ApiError> {
    // Its last state, read before it is forgotten.
    let last = state_of(&state, &caller, &id).await?;
    state.backtests.delete(&caller, &id).await?;
    Ok(Json(last))
}

/// `GET /api/backtests/{id}/bars?before=&limit=`.
#[utoipa::path(
    get,
    path = "/api/backtests/{id}/bars",
    operation_id = "backtest_bars",
    tag = "backtests",
    description = "The bars the run traded on, oldest first: the newest `limit` opening before `before` (or the newest of all). `first` is the index of the page's first bar among the run's `total`: pass the page's first `time` as `before` for the page before.",
    params(
        ("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)"),
        ("before" = Option<String>, Query, format = DateTime, description = "Only bars opening before this RFC 3339 time"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 20000, description = "At most this many, 1 to 20,000 (default 5,000)"),
    ),
    responses(
        (status = 200, description = "A page of the run's bars", body = RunBars),
        (status = 400, description = "An id, `before` or `limit` that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`)", body = ErrorBody),
        (status = 409, description = "The data the run named changed or is gone since it ran, or (a cluster without a store) it ran on another instance", body = ErrorBody),
        (status = 503, description = "The backend (Redis) or the store is away", body = ErrorBody),
    )
)]
pub async fn bars(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<RunBars>, ApiError> {
    topic(&id)?;
    let page = query.page(BARS_PAGE, MAX_BARS_PAGE)?;
    let bars = state
        .backtests
        .bars(&caller, &id, page.before, page.limit)
        .await?;
    Ok(Json(bars))
}

/// `GET /api/backtests/{id}/trades.csv`.
#[utoipa::path(
    get,
    path = "/api/backtests/{id}/trades.csv",
    operation_id = "backtest_trades_csv",
    tag = "backtests",
    description = "Every trade of its whole record, as CSV: id, time, side, action, price, size, pnl, return_pct, reason.",
    params(("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`)", body = ErrorBody),
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

/// `GET /api/backtests/{id}/equity.csv`.
#[utoipa::path(
    get,
    path = "/api/backtests/{id}/equity.csv",
    operation_id = "backtest_equity_csv",
    tag = "backtests",
    description = "Its equity over its whole record, as CSV: time, equity, drawdown_pct.",
    params(("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`)", body = ErrorBody),
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
    Topic::new(TopicKind::Backtest, id)?;
    let body = state.backtests.export(caller, id, table).await?;
    Ok(history::csv(body, &format!("{id}-{}", table.file())))
}

/// `GET /api/datasets`: what `dataset` may name in `POST /api/backtests`.
#[utoipa::path(
    get,
    path = "/api/datasets",
    operation_id = "list_datasets",
    tag = "backtests",
    description = "The CSV stems in `--data-dir`, sorted: what `dataset` may name.",
    responses(
        (status = 200, description = "The dataset names", body = [String]),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A `Host` that is not this server's", body = ErrorBody),
        (status = 500, description = "The data directory cannot be listed", body = ErrorBody),
    )
)]
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
#[derive(Serialize, utoipa::ToSchema)]
pub struct RunState {
    #[serde(flatten)]
    info: RunInfo,
    /// The `backtest:{ID}` snapshot.
    #[schema(schema_with = snapshot_schema)]
    state: Snapshot,
}

fn topic(id: &str) -> Result<Topic, ApiError> {
    Ok(Topic::new(TopicKind::Backtest, id)?)
}

/// `GET /api/backtests/{id}`.
#[utoipa::path(
    get,
    path = "/api/backtests/{id}",
    operation_id = "get_backtest",
    tag = "backtests",
    params(("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)")),
    responses(
        (status = 200, description = "The run and its state", body = RunState),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunState>, ApiError> {
    Ok(Json(state_of(&state, &caller, &id).await?))
}

/// The run `id` as `caller` may see it, with its topic's state.
async fn state_of(state: &AppState, caller: &Caller, id: &str) -> Result<RunState, ApiError> {
    let topic = topic(id)?;
    let info = state.backtests.get(caller, id).await?;
    Ok(RunState {
        info,
        state: state.backtests.state(id, &topic).await?,
    })
}

/// `POST /api/backtests/{id}/{pause|resume|cancel}` → 202 once the run has the request.
#[utoipa::path(
    post,
    path = "/api/backtests/{id}/{action}",
    operation_id = "control_backtest",
    tag = "backtests",
    description = "Pauses, resumes or cancels a run; the run answers by publishing `paused`, `resumed` or `cancelled` on its topic. No body.",
    params(
        ("id" = String, Path, description = "The backtest id (`[A-Za-z0-9_-]{1,64}`)"),
        ("action" = String, Path, pattern = "^(pause|resume|cancel)$", description = "`pause`, `resume` or `cancel`"),
    ),
    responses(
        (status = 202, description = "The run has the request"),
        (status = 400, description = "An id that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "No such run (`details.id`), or no such action", body = ErrorBody),
        (status = 409, description = "The run is finished (`details.id`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn control(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let topic = topic(&id)?;
    let command = run_control::command_of(&action)?;
    state.backtests.get(&caller, &id).await?;
    run_control::send(&state, &topic, command).await?;
    Ok(StatusCode::ACCEPTED)
}

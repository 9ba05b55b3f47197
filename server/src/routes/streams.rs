//! Polling endpoints: `GET /api/streams/{topic}` (the same envelopes the sockets carry)
//! and `GET /api/streams/{topic}/snapshot`; and a run's full record for replays,
//! `GET /api/streams/{topic}/record`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::{Epoch, Resync, Snapshot, Topic, TopicKind};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::rate::RateParam;
use super::resume::ResumeParams;
use super::schemas::{envelopes_schema, epoch_schema, resync_schema};
use super::ApiError;
use crate::auth::Caller;
use crate::hub::Recorded;
use crate::routes::state::AppState;
use protocol::api::ErrorBody;

/// Largest page a poll may ask for.
pub const MAX_PAGE: usize = 2048;
/// Page size when the poll names none.
pub const DEFAULT_PAGE: usize = 500;

#[derive(Debug, Deserialize)]
pub struct PollQuery {
    #[serde(flatten)]
    resume: ResumeParams,
    #[serde(flatten)]
    rate: RateParam,
    limit: Option<String>,
}

/// One page of a topic's messages.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollPage {
    #[schema(schema_with = epoch_schema)]
    epoch: Epoch,
    /// Envelopes, byte for byte as a socket subscriber received them.
    #[schema(schema_with = envelopes_schema)]
    messages: Vec<Box<RawValue>>,
    /// Ask for `since = next_seq - 1` next time.
    next_seq: u64,
    /// Present when `since` could not be honoured: why, and the snapshot to replace
    /// state with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = resync_schema)]
    resync: Option<Resync>,
}

pub fn parse_topic(topic: &str) -> Result<Topic, ApiError> {
    Ok(topic.parse::<Topic>()?)
}

/// `GET /api/streams/{topic}?since=S&epoch=E&limit=L`.
#[utoipa::path(
    get,
    path = "/api/streams/{topic}",
    operation_id = "poll_stream",
    tag = "streams",
    description = "The polling fallback: the retained envelopes after `since`, the same bytes a socket carries. Ask again with `since = next_seq - 1`. A topic that does not exist answers an empty page in the nil epoch.",
    params(
        ("topic" = String, Path, description = "`market:{SYMBOL}`, `backtest:{ID}`, `session:{ID}` or `trading:{SYMBOL}`"),
        ("since" = Option<u64>, Query, description = "Resume after this seq; above 0 it needs `epoch` (`since=0` alone: from the oldest retained message)"),
        ("epoch" = Option<String>, Query, description = "The epoch `since` belongs to"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 2048, description = "Page size, 1 to 2,048 (default 500)"),
        ("max_rate" = Option<f64>, Query, minimum = 0.01, maximum = 1000, description = "Conflate the page as a socket at this rate would be: the latest of each replaceable value (tick, open candle, analysis, progress, countdown, session stats) and every other message, each carrying `conflated`, how many it stands for"),
    ),
    responses(
        (status = 200, description = "A page of envelopes, or a `resync` with a snapshot when `since` cannot be honoured", body = PollPage),
        (status = 400, description = "A topic, `since`, `epoch`, `limit` or `max_rate` that does not parse, or `since` above 0 without `epoch`", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn poll(
    State(state): State<AppState>,
    caller: Caller,
    Path(topic): Path<String>,
    Query(query): Query<PollQuery>,
) -> Result<Json<PollPage>, ApiError> {
    let topic = parse_topic(&topic)?;
    state.access.may_follow(&caller, &topic).await?;
    let since = query.resume.into_since()?;
    let rate = query.rate.into_rate()?;
    let limit = match query.limit {
        None => DEFAULT_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "`limit` must be a whole number from 1 to {MAX_PAGE}, got `{l}`"
                )))
            }
        },
    };
    let page = state.hub.page(&topic, since.as_ref(), limit, rate).await?;
    let messages = page
        .messages
        .into_iter()
        .map(|frame| RawValue::from_string(frame.as_str().to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(format!("a retained frame is not JSON: {e}")))?;
    Ok(Json(PollPage {
        epoch: page.epoch,
        messages,
        next_seq: page.next_seq,
        resync: page
            .resync
            .map(|(reason, snapshot)| Resync { reason, snapshot }),
    }))
}

/// `GET /api/streams/{topic}/snapshot`.
#[utoipa::path(
    get,
    path = "/api/streams/{topic}/snapshot",
    operation_id = "stream_snapshot",
    tag = "streams",
    description = "The topic's current state and the seq it is consistent with (`last_seq`).",
    params(("topic" = String, Path, description = "`market:{SYMBOL}`, `backtest:{ID}`, `session:{ID}` or `trading:{SYMBOL}`")),
    responses(
        (status = 200, description = "The snapshot", body = ref("#/components/schemas/Snapshot")),
        (status = 400, description = "A topic that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Path(topic): Path<String>,
) -> Result<Json<Snapshot>, ApiError> {
    let topic = parse_topic(&topic)?;
    state.access.may_follow(&caller, &topic).await?;
    Ok(Json(state.hub.snapshot(&topic).await?))
}

/// Says whether a record is a run's whole stream (`complete`) or not (`partial`).
pub const RECORD_HEADER: &str = "x-tickwire-record";

/// `GET /api/streams/{topic}/record`.
#[utoipa::path(
    get,
    path = "/api/streams/{topic}/record",
    operation_id = "stream_record",
    tag = "streams",
    description = "A backtest's or session's whole stream for replays, as NDJSON: one envelope per line, in seq order, the same bytes a socket carried. Kept from the run's start (up to `--record-messages`) in the store and, for `--retain-runs`, in memory by the instance that ran it; any instance serves a kept run's record from the store; other topics: the retained history. The `x-tickwire-record` header says `complete` (from seq 1, nothing left out) or `partial`.",
    params(("topic" = String, Path, description = "`backtest:{ID}` or `session:{ID}` (any topic: its retained history)")),
    responses(
        (status = 200, description = "NDJSON envelopes", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "A topic that does not parse", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "The caller may not: another user's run, a topic outside the token's `topics`, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away", body = ErrorBody),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(topic): Path<String>,
) -> Result<Response, ApiError> {
    let topic = parse_topic(&topic)?;
    state.access.may_follow(&caller, &topic).await?;
    let mut recorded = state.hub.recorded(&topic).await?;
    if !recorded.complete || recorded.messages.is_empty() {
        // A run's record does not live only with the instance that ran it.
        let kept = match topic.kind() {
            TopicKind::Backtest => state.backtests.kept_record(topic.name()).await?,
            TopicKind::Session => state.sessions.kept_record(topic.name()).await?,
            _ => None,
        };
        if let Some((messages, cut)) = kept.filter(|(m, _)| !m.is_empty()) {
            recorded = Recorded {
                messages,
                complete: !cut,
            };
        }
    }
    let length = recorded.messages.iter().map(|m| m.len() + 1).sum();
    let mut body = String::with_capacity(length);
    for message in &recorded.messages {
        body.push_str(message.as_str());
        body.push('\n');
    }
    let completeness = if recorded.complete {
        "complete"
    } else {
        "partial"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (HeaderName::from_static(RECORD_HEADER), completeness),
        ],
        body,
    )
        .into_response())
}

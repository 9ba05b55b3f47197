//! Polling endpoints: `GET /api/streams/{topic}` (the same envelopes the sockets carry)
//! and `GET /api/streams/{topic}/snapshot`.

use app::protocol::{Epoch, ResyncReason, Snapshot, Topic};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::resume::ResumeParams;
use super::ApiError;
use crate::auth::Caller;
use crate::state::AppState;

/// Largest page a poll may ask for.
pub const MAX_PAGE: usize = 2048;
/// Page size when the poll names none.
pub const DEFAULT_PAGE: usize = 500;

#[derive(Debug, Deserialize)]
pub struct PollQuery {
    #[serde(flatten)]
    resume: ResumeParams,
    limit: Option<String>,
}

/// One page of a topic's messages.
#[derive(Serialize)]
pub struct PollPage {
    epoch: Epoch,
    /// Envelopes, byte for byte as a socket subscriber received them.
    messages: Vec<Box<RawValue>>,
    /// Ask for `since = next_seq - 1` next time.
    next_seq: u64,
    /// Present when `since` could not be honoured: replace state with this snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    resync: Option<Resync>,
}

#[derive(Serialize)]
struct Resync {
    reason: ResyncReason,
    snapshot: Snapshot,
}

pub fn parse_topic(topic: &str) -> Result<Topic, ApiError> {
    Ok(topic.parse::<Topic>()?)
}

/// `GET /api/streams/{topic}?since=S&epoch=E&limit=L`.
pub async fn poll(
    State(state): State<AppState>,
    caller: Caller,
    Path(topic): Path<String>,
    Query(query): Query<PollQuery>,
) -> Result<Json<PollPage>, ApiError> {
    let topic = parse_topic(&topic)?;
    state.may_follow(&caller, &topic).await?;
    let since = query.resume.into_since()?;
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
    let page = state.hub.page(&topic, since.as_ref(), limit).await?;
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
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Path(topic): Path<String>,
) -> Result<Json<Snapshot>, ApiError> {
    let topic = parse_topic(&topic)?;
    state.may_follow(&caller, &topic).await?;
    Ok(Json(state.hub.snapshot(&topic).await?))
}

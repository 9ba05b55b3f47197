//! Personal channels and direct notices: `POST /api/notices/read` (a user marks their
//! notices read, on every tab and device) and `POST /api/notify` (an admin sends a notice
//! to one connection, one user's connections, or everyone).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use protocol::api::ErrorBody;
use protocol::{NotifyRequest, NotifyTarget, ReadNotices};
use serde::Serialize;

use super::json::JsonBody;
use super::publish::Publisher;
use super::ApiError;
use crate::auth::Caller;
use crate::hub::{Direct, Recipients};
use crate::notices::ReadError;
use crate::refusal::RequestError;
use crate::routes::state::AppState;

/// What `POST /api/notices/read` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticesReadAnswer {
    /// The caller's channel (`user:{SUB}`).
    topic: String,
    up_to_seq: u64,
}

/// Marks the caller's notices read up to `up_to_seq`.
#[utoipa::path(
    post,
    path = "/api/notices/read",
    operation_id = "read_notices",
    tag = "notices",
    description = "Marks every notice of the caller's personal channel (`user:{SUB}`; `user:anonymous` in anonymous mode) up to `up_to_seq` read: a `notices_read` message there, so every tab and device shows the same unread count.",
    request_body(content = ref("#/components/schemas/ReadNotices"), content_type = "application/json"),
    responses(
        (status = 200, description = "Marked", body = NoticesReadAnswer),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` / `Host`", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit, or the token's `sub` cannot have a channel", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached", body = ErrorBody),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(read): JsonBody<ReadNotices>,
) -> Result<Json<NoticesReadAnswer>, ApiError> {
    let topic = state
        .notices
        .mark_read(caller.sub(), read.up_to_seq)
        .await
        .map_err(|e| match e {
            ReadError::NoChannel => ApiError::unprocessable(e),
            ReadError::Publish(e) => e.into(),
        })?;
    Ok(Json(NoticesReadAnswer {
        topic: topic.to_string(),
        up_to_seq: read.up_to_seq,
    }))
}

/// What `POST /api/notify` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotifyAnswer {
    /// Whom it went to: `connection ID`, `user SUB` or `everyone`.
    to: String,
}

/// Sends a notice to one connection, to every connection of one user, or to everyone.
#[utoipa::path(
    post,
    path = "/api/notify",
    operation_id = "notify",
    tag = "notices",
    description = "Sends a `direct_notice` frame (event `announcement`) to the connection `connection_id` (its `connected` frame's), to every connection of `user`, or to everyone (`everyone: true`): exactly one of the three, on every instance of a cluster. A connection not open now never gets it (nothing is kept). Admins only: an `admin` token, or the `--api-key`; anyone on an anonymous server without one.",
    request_body(content = ref("#/components/schemas/NotifyRequest"), content_type = "application/json"),
    responses(
        (status = 202, description = "Sent to the connections open now that it is for", body = NotifyAnswer),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No API key or token, a wrong API key, or a bad or expired token", body = ErrorBody),
        (status = 403, description = "The token is not an admin's, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not fit, or a value breaks a rule (`details.field`): no target or several, an empty or long title", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away", body = ErrorBody),
    )
)]
pub async fn notify(
    State(state): State<AppState>,
    Publisher(caller): Publisher,
    JsonBody(request): JsonBody<NotifyRequest>,
) -> Result<(StatusCode, Json<NotifyAnswer>), ApiError> {
    if !caller.may_reach(None) {
        return Err(ApiError::forbidden("only admins send notices"));
    }
    let target = request.validate().map_err(RequestError::from)?;
    let (to, recipients) = match target {
        NotifyTarget::Connection(id) => (
            format!("connection {id}"),
            Recipients::Connection(id.to_owned()),
        ),
        NotifyTarget::User(user) => (format!("user {user}"), Recipients::User(user.to_owned())),
        NotifyTarget::Everyone => ("everyone".to_owned(), Recipients::Everyone),
    };
    let direct = Direct {
        to: recipients,
        notice: request.notice(),
    };
    state.hub.send_direct(direct).await?;
    Ok((StatusCode::ACCEPTED, Json(NotifyAnswer { to })))
}

//! Errors as the HTTP API returns them: `{"error": "...", "details": ...}` and a status.
//! Domain errors become an [`ApiError`] through `From`, so handlers use `?`.

use axum::extract::{OriginalUri, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::api::ErrorBody;
use protocol::{InvalidMessage, TopicError};
use serde_json::json;

use crate::access::Denied;
use crate::admission::Full;
use crate::auth::TokenError;
use crate::hub::{HubError, PublishError, TopicsFull, Unavailable};
use crate::refusal::RequestError;

/// An error answer with a status and a message a user can act on.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    /// What the message names, for programs: the field, the id, the limit.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// `status` with `error`.
    pub fn new(status: StatusCode, error: impl ToString) -> Self {
        ApiError {
            status,
            error: error.to_string(),
            details: None,
        }
    }

    /// The same error with `details` (the field, the limit…).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(error: impl ToString) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// 401: the caller must say who they are (or said it wrongly).
    pub fn unauthorized(error: impl ToString) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }

    /// 403: the caller is known, and may not do this.
    pub fn forbidden(error: impl ToString) -> Self {
        Self::new(StatusCode::FORBIDDEN, error)
    }

    /// 422: the request parsed, but what it says cannot be done.
    pub fn unprocessable(error: impl ToString) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error)
    }

    /// 404: no such endpoint or resource.
    pub fn not_found(error: impl ToString) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    /// 500: a fault of the server, not of the request.
    pub fn internal(error: impl ToString) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error)
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let (status, details) = match &e {
            RequestError::Invalid(f) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "field": f.field }),
            ),
            RequestError::Exists { id, .. }
            | RequestError::Finished { id, .. }
            | RequestError::NotNow { id, .. } => (StatusCode::CONFLICT, json!({ "id": id })),
            RequestError::NotFound { id, .. } => (StatusCode::NOT_FOUND, json!({ "id": id })),
            RequestError::Forbidden { id, .. } => (StatusCode::FORBIDDEN, json!({ "id": id })),
            RequestError::TooMany { limit, .. } | RequestError::TooManyOfYours { limit, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, json!({ "limit": limit }))
            }
            RequestError::Hub(e) => return (*e).into(),
            RequestError::Store(_) => return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e),
        };
        ApiError::new(status, e).with_details(details)
    }
}

/// A message the hub refused: 422 naming the field of `data` (a fault of the server
/// when it cannot serialize its own message: 500).
impl From<PublishError> for ApiError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Invalid(InvalidMessage::Field(f)) => {
                let field = format!("data.{}", f.field);
                ApiError::unprocessable(InvalidMessage::Field(f))
                    .with_details(json!({ "field": field }))
            }
            PublishError::Invalid(e) => ApiError::unprocessable(e),
            PublishError::Serialize(e) => ApiError::internal(PublishError::Serialize(e)),
            PublishError::Full(full) => full.into(),
            PublishError::Unavailable(e) => e.into(),
            PublishError::Fenced => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e),
            PublishError::NotYours(_) => ApiError::new(StatusCode::FORBIDDEN, e),
        }
    }
}

/// No place for a connection or a socket (docs/SPEC.md section 12): 503 with the cap
/// that was reached.
impl From<Full> for ApiError {
    fn from(full: Full) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{full}: try again later"),
        )
        .with_details(json!({ "limit": full.limit() }))
    }
}

/// Redis is away (docs/SPEC.md section 8): 503 `{"error":"redis unavailable"}`.
impl From<Unavailable> for ApiError {
    fn from(e: Unavailable) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Full(e) => e.into(),
            HubError::Unavailable(e) => e.into(),
        }
    }
}

/// No room for another topic: 503.
impl From<TopicsFull> for ApiError {
    fn from(e: TopicsFull) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e).with_details(json!({ "limit": e.limit }))
    }
}

/// A missing, malformed, forged or expired token: 401.
impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::unauthorized(e.explain())
    }
}

/// A topic or run the caller may not reach: 403 (503 when that cannot be known now).
impl From<Denied> for ApiError {
    fn from(e: Denied) -> Self {
        match e {
            Denied::Unknown(e) => e.into(),
            e => ApiError::forbidden(e),
        }
    }
}

/// A topic, symbol or id in a path or query that does not parse: 400.
impl From<TopicError> for ApiError {
    fn from(e: TopicError) -> Self {
        ApiError::bad_request(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error,
            details: self.details,
        };
        (self.status, Json(body)).into_response()
    }
}

/// Every refusal of the API as the one error body. axum's own rejections — a path or a
/// query that does not parse, a method an endpoint does not take — answer `text/plain`
/// or nothing; they leave here as `{"error": ...}` with their words (and `Allow`).
pub async fn as_json(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // Nested under /api, the request's own URI has lost its prefix.
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(request.uri(), |original| &original.0)
        .path()
        .to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let said = axum::body::to_bytes(response.into_body(), REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let error = match (&allow, said.is_empty()) {
        _ if status == StatusCode::METHOD_NOT_ALLOWED => match &allow {
            Some(allow) => format!(
                "{path} does not take {method}: it takes {}",
                allow.to_str().unwrap_or("other methods")
            ),
            None => format!("{path} does not take {method}"),
        },
        (_, false) => said,
        (_, true) => status.canonical_reason().unwrap_or("refused").to_owned(),
    };
    let mut answer = ApiError::new(status, error).into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// The most of a rejection's text kept (axum's are one line).
const REJECTION_TEXT: usize = 8 * 1024;

/// Any `/api/...` path that is not an endpoint.
pub async fn no_such_endpoint(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("no endpoint at {}", uri.path()))
}

//! Errors as the HTTP API returns them: `{"error": "...", "details": ...}` and a status.

use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer with a status and a message a user can act on.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
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

    /// 400 with `error`.
    pub fn bad_request(error: impl ToString) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: error.to_string(),
            details: None,
        }
    }

    /// 422 with `error`: the request parsed but its content is invalid.
    pub fn unprocessable(error: impl ToString) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: error.to_string(),
            details: None,
        }
    }

    /// 409 with `error`: the request names something that already exists.
    pub fn conflict(error: impl ToString) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            error: error.to_string(),
            details: None,
        }
    }

    /// 401 with `error`.
    pub fn unauthorized(error: impl ToString) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            error: error.to_string(),
            details: None,
        }
    }

    /// 500 with `error`: a fault of the server, not of the request.
    pub fn internal(error: impl ToString) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: error.to_string(),
            details: None,
        }
    }

    /// 404 with `error`.
    pub fn not_found(error: impl ToString) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            error: error.to_string(),
            details: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.details {
            Some(details) => json!({ "error": self.error, "details": details }),
            None => json!({ "error": self.error }),
        };
        (self.status, Json(body)).into_response()
    }
}

/// Any `/api/...` path that is not an endpoint.
pub async fn no_such_endpoint(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("no endpoint at {}", uri.path()))
}

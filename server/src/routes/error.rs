//! Errors as the HTTP API returns them: `{"error": "...", "details": ...}` and a status.

use axum::http::{StatusCode, Uri};
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
    /// 400 with `error`.
    pub fn bad_request(error: impl ToString) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, error: error.to_string(), details: None }
    }

    /// 404 with `error`.
    pub fn not_found(error: impl ToString) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, error: error.to_string(), details: None }
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
pub async fn no_such_endpoint(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no endpoint at {}", uri.path()))
}

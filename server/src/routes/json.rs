//! JSON request bodies: one extractor for every handler that takes one, and one parser
//! for the JSON a handler digs out itself. A body that does not say it is JSON is a
//! 415 (a cross-site form cannot post `application/json` without CORS, which this
//! server never grants); one over `--max-body-bytes` is a 413; malformed JSON is a
//! 400; JSON that does not fit the request type is a 422 whose error names the field
//! (`serde_path_to_error`), e.g. "`cash` invalid type: string \"lots\", expected f64",
//! with the field in `details`.
//!
//! Bodies being read hold their bytes from one [`BodyBudget`]
//! (`--max-body-bytes-in-flight`): a few callers sending large bodies slowly cannot make
//! the server hold an unbounded sum of buffers; past the budget a body is a 503 before
//! it is read.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ApiError;
use crate::routes::state::AppState;

/// A request body parsed as `T`; its rejection is an [`ApiError`].
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_json(req.headers())?;
        let limit = state.limits.max_body_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than this server's limit of {limit} bytes"),
            )
            .with_details(json!({ "limit": limit }))
        };
        let promised = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if promised.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // Without a length (chunked), the body may grow to the limit: reserve that.
        let _reserved = state
            .bodies
            .reserve(promised.map_or(limit, |n| n as usize))?;
        let within = state.limits.body_timeout;
        let bytes = tokio::time::timeout(within, axum::body::to_bytes(req.into_body(), limit))
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the body did not arrive within {} s (`--body-timeout-secs`)",
                        within.as_secs()
                    ),
                )
                .with_details(json!({ "limit": within.as_secs() }))
            })?
            .map_err(|_| too_large())?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(refusal)
    }
}

/// Refuses a body whose `Content-Type` is not JSON (`application/json`, or any
/// `application/…+json`).
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        return Ok(());
    }
    let shown = if given.is_empty() { "none" } else { given };
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!("the body must be JSON (`Content-Type: application/json`), got {shown}"),
    ))
}

/// Parses JSON already read (a value, or a map built from values) as `T`.
pub fn parse<'de, D, T>(de: D) -> Result<T, ApiError>
where
    D: serde::Deserializer<'de, Error = serde_json::Error>,
    T: serde::Deserialize<'de>,
{
    serde_path_to_error::deserialize(de).map_err(refusal)
}

/// Parses JSON whose syntax is known good (a payload kept as raw text from a body that
/// parsed): whatever fails is the data's fault, a 422 (serde_json calls a list where an
/// enum's name belongs a syntax error).
pub fn parse_checked<'de, D, T>(de: D) -> Result<T, ApiError>
where
    D: serde::Deserializer<'de, Error = serde_json::Error>,
    T: serde::Deserialize<'de>,
{
    serde_path_to_error::deserialize(de).map_err(data_refusal)
}

/// The answer to a body that failed to parse, naming the field where there is one.
fn refusal(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    if e.inner().classify() != Category::Data {
        return ApiError::bad_request(format!("malformed JSON: {}", e.into_inner()));
    }
    data_refusal(e)
}

/// The answer to JSON that does not fit the request's type: 422 naming the field.
fn data_refusal(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    // serde_json's position ("at line 1 column 20") means nothing to a caller who
    // names fields.
    let full = inner.to_string();
    let reason = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(reason, _)| reason);
    if path == "." {
        ApiError::unprocessable(reason)
    } else {
        ApiError::unprocessable(format!("`{path}` {reason}")).with_details(json!({ "field": path }))
    }
}

/// The bytes every request body being read may hold together
/// (`--max-body-bytes-in-flight`, docs/SPEC.md section 12).
#[derive(Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: u32,
}

impl BodyBudget {
    pub fn new(total: u32) -> Self {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Room for a body of `bytes` (at most the whole budget) until the permit drops,
    /// or the 503 that says the budget is spent.
    fn reserve(&self, bytes: usize) -> Result<OwnedSemaphorePermit, ApiError> {
        let want = u32::try_from(bytes).unwrap_or(u32::MAX).min(self.total);
        self.bytes.clone().try_acquire_many_owned(want).map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "request bodies being read hold this server's budget of {} bytes: try again later",
                    self.total
                ),
            )
            .with_details(json!({ "limit": self.total }))
        })
    }
}

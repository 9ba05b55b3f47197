//! JSON request bodies: one extractor for every handler that takes one, and one parser
//! for the JSON a handler digs out itself. Malformed JSON is a 400; JSON that does not
//! fit the request type is a 422 whose error names the field (`serde_path_to_error`),
//! e.g. "`cash` invalid type: string \"lots\", expected f64", with the field in
//! `details`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::json;

use super::ApiError;

/// A request body parsed as `T`; its rejection is an [`ApiError`].
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(refusal)
    }
}

/// Parses JSON already read (a value, or a map built from values) as `T`.
pub fn parse<'de, D, T>(de: D) -> Result<T, ApiError>
where
    D: serde::Deserializer<'de, Error = serde_json::Error>,
    T: serde::Deserialize<'de>,
{
    serde_path_to_error::deserialize(de).map_err(refusal)
}

/// The answer to a body that failed to parse, naming the field where there is one.
fn refusal(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.classify() != Category::Data {
        return ApiError::bad_request(format!("malformed JSON: {inner}"));
    }
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

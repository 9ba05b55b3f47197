//! The caller of an HTTP request (the `Caller` extractor): anonymous without a JWT key;
//! otherwise the holder of the token in `Authorization: Bearer`, or a 401 naming what
//! is wrong with it.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::state::AppState;
use super::ApiError;
use crate::auth::{Caller, TokenError};

/// The token in `Authorization: Bearer <token>`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(keys) = &state.tokens else {
            return Ok(Caller::Anonymous);
        };
        let token = bearer(&parts.headers).ok_or(TokenError::Missing)?;
        Ok(Caller::Token(Arc::new(keys.verify(token)?)))
    }
}

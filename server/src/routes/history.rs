//! What the run endpoints share for kept runs (docs/STORE.md): the listing's query
//! (`?strategy=&symbol=&status=&before=&limit=`) and CSV answers.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use protocol::RunStatus;
use serde::Deserialize;

use super::ApiError;
use crate::runs::Listing;

/// `GET /api/backtests` and `GET /api/sessions` query, read as text so each bad value
/// is named.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    strategy: Option<String>,
    symbol: Option<String>,
    status: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    pub fn listing(self) -> Result<Listing, ApiError> {
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<RunStatus>().map_err(|_| {
                let names: Vec<&'static str> = <RunStatus as strum::VariantArray>::VARIANTS
                    .iter()
                    .map(|s| s.into())
                    .collect();
                ApiError::bad_request(format!(
                    "`status` must be one of {}, got `{text}`",
                    names.join(", ")
                ))
            })?),
        };
        let limit = match self.limit.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!("`limit` must be a whole number, got `{text}`"))
            })?),
        };
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        Ok(Listing {
            strategy: given(self.strategy),
            symbol: given(self.symbol),
            status,
            before: given(self.before),
            limit,
        })
    }
}

/// A CSV answer, offered as a download named `name`.
pub fn csv(body: String, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

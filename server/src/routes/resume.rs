//! `?since=S&epoch=E`: the resume point of a dedicated stream or a poll.

use protocol::{Epoch, Since};
use serde::Deserialize;

use super::ApiError;

/// The raw query parameters, checked by [`ResumeParams::into_since`].
#[derive(Debug, Default, Deserialize)]
pub struct ResumeParams {
    since: Option<String>,
    epoch: Option<String>,
}

impl ResumeParams {
    /// Neither, or `since` a whole number with its `epoch` (`since=0` may go without:
    /// from the oldest message still retained).
    pub fn into_since(self) -> Result<Option<Since>, ApiError> {
        let seq = match (self.since, &self.epoch) {
            (None, None) => return Ok(None),
            (None, Some(_)) => return Err(ApiError::bad_request("`epoch` needs `since` too")),
            (Some(seq), _) => seq.parse().map_err(|_| {
                ApiError::bad_request(format!("`since` must be a whole number, got `{seq}`"))
            })?,
        };
        Since::new(seq, self.epoch.map(Epoch))
            .map(Some)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }
}

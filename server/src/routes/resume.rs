//! `?since=S&epoch=E`: the resume point of a dedicated stream or a poll.

use app::protocol::{Epoch, Since};
use serde::Deserialize;

use super::ApiError;

/// The raw query parameters, checked by [`ResumeParams::into_since`].
#[derive(Debug, Default, Deserialize)]
pub struct ResumeParams {
    since: Option<String>,
    epoch: Option<String>,
}

impl ResumeParams {
    /// Both or neither; `since` a whole number.
    pub fn into_since(self) -> Result<Option<Since>, ApiError> {
        match (self.since, self.epoch) {
            (None, None) => Ok(None),
            (Some(seq), Some(epoch)) => {
                let seq = seq.parse().map_err(|_| {
                    ApiError::bad_request(format!("`since` must be a whole number, got `{seq}`"))
                })?;
                Ok(Some(Since {
                    seq,
                    epoch: Epoch(epoch),
                }))
            }
            (Some(_), None) => Err(ApiError::bad_request("`since` needs `epoch` too")),
            (None, Some(_)) => Err(ApiError::bad_request("`epoch` needs `since` too")),
        }
    }
}

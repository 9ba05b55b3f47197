//! `?max_rate=N`: the rate a dedicated stream or a poll asks for (docs/SPEC.md section 6,
//! "Rates").

use protocol::rate::MaxRate;
use serde::Deserialize;

use super::ApiError;

/// The raw query parameter, checked by [`RateParam::into_rate`].
#[derive(Debug, Default, Deserialize)]
pub struct RateParam {
    max_rate: Option<String>,
}

impl RateParam {
    /// None, or messages per second within [`MaxRate`]'s range.
    pub fn into_rate(self) -> Result<Option<MaxRate>, ApiError> {
        self.max_rate
            .map(|text| {
                text.parse::<MaxRate>()
                    .map_err(|e| ApiError::bad_request(format!("{e}, got `{text}`")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Result<Option<MaxRate>, String> {
        RateParam {
            max_rate: Some(text.to_owned()),
        }
        .into_rate()
        .map_err(|e| e.error)
    }

    #[test]
    fn a_rate_is_messages_per_second_in_range_and_anything_else_is_named() {
        assert_eq!(rate("2"), Ok(MaxRate::new(2.0).ok()));
        assert_eq!(rate("0.5"), Ok(MaxRate::new(0.5).ok()));
        for bad in ["0", "-1", "fast", "1e6", ""] {
            let e = rate(bad).unwrap_err();
            assert!(
                e.contains("invalid max_rate") && e.contains(&format!("`{bad}`")),
                "{e}"
            );
        }
        assert_eq!(
            RateParam::default().into_rate().map_err(|e| e.error),
            Ok(None)
        );
    }
}

//! The query of the endpoints that page through bars and candles back in time
//! (`?before=&limit=`), read as text so each bad value is named.

use protocol::Timestamp;
use serde::Deserialize;

use super::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

/// A page back in time: at most `limit` items, the newest opening before `before`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Page {
    pub before: Option<Timestamp>,
    pub limit: usize,
}

impl PageQuery {
    /// `before` an RFC 3339 time (an empty one is refused: it is no time); `limit` 1 to
    /// `max`, `default` when absent.
    pub fn page(self, default: usize, max: usize) -> Result<Page, ApiError> {
        let before = match self.before.as_deref() {
            None => None,
            Some(text) => Some(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|t| Timestamp::from_datetime(t.to_utc()))
                    .map_err(|_| {
                        ApiError::bad_request(format!(
                            "`before` must be an RFC 3339 time (e.g. 2024-01-02T03:04:05Z), got `{text}`"
                        ))
                    })?,
            ),
        };
        let limit = match self.limit.as_deref() {
            None => default,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`limit` must be a whole number from 1 to {max}, got `{text}`"
                    )))
                }
            },
        };
        Ok(Page { before, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(before: Option<&str>, limit: Option<&str>) -> PageQuery {
        PageQuery {
            before: before.map(str::to_owned),
            limit: limit.map(str::to_owned),
        }
    }

    #[test]
    fn a_page_reads_its_time_and_size_and_names_what_is_wrong() {
        let page = query(Some("2024-01-02T03:04:05+01:00"), Some("10"))
            .page(500, 1000)
            .unwrap();
        assert_eq!(page.before.unwrap().to_string(), "2024-01-02T02:04:05.000Z");
        assert_eq!(page.limit, 10);
        assert_eq!(query(None, None).page(500, 1000).unwrap().limit, 500);
        let bad = |q: PageQuery| q.page(500, 1000).unwrap_err().error;
        assert!(bad(query(Some("yesterday"), None)).contains("`before` must be an RFC 3339"));
        assert!(
            bad(query(Some(""), None)).contains("got ``"),
            "empty is not a time"
        );
        assert!(bad(query(None, Some("0"))).contains("from 1 to 1000, got `0`"));
        assert!(bad(query(None, Some("1001"))).contains("got `1001`"));
    }
}

//! Which runs a listing shows: `GET /api/backtests?strategy=&symbol=&status=&before=&limit=`
//! (and the same for sessions), newest first, a page at a time. The store answers it
//! with a query; without a store the book filters what it holds the same way.

use std::cmp::Reverse;

use protocol::RunStatus;

use super::Info;
use crate::refusal::{invalid, RequestError};
use crate::store::ListFilter;

/// Runs a page holds when the listing names no `limit`.
pub const DEFAULT_PAGE: usize = 100;
/// The most runs one page holds.
pub const MAX_PAGE: usize = 1_000;

/// A listing's filters and page.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub strategy: Option<String>,
    pub symbol: Option<String>,
    pub status: Option<RunStatus>,
    /// The last id of the previous page: runs started before it.
    pub before: Option<String>,
    pub limit: Option<usize>,
}

impl Listing {
    /// The page size, checked (422 naming `limit` outside 1 to [`MAX_PAGE`]).
    pub fn limit(&self) -> Result<usize, RequestError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(n) => Err(invalid(
                "limit",
                format!("must be from 1 to {MAX_PAGE}, got {n}"),
            )),
        }
    }

    /// The store's query for it; `owner`: only that user's runs.
    pub fn filter(&self, owner: Option<&str>) -> Result<ListFilter, RequestError> {
        Ok(ListFilter {
            owner: owner.map(str::to_owned),
            strategy: self.strategy.clone(),
            symbol: self.symbol.clone(),
            status: self.status,
            before: self.before.clone(),
            limit: self.limit()?,
        })
    }

    /// The page of `infos` (every run the caller may see, any order) it shows.
    pub fn apply<I: Info>(&self, mut infos: Vec<I>) -> Result<Vec<I>, RequestError> {
        let limit = self.limit()?;
        infos.retain(|i| {
            self.strategy.as_deref().is_none_or(|s| i.strategy() == s)
                && self.symbol.as_deref().is_none_or(|s| i.symbol() == s)
                && self.status.is_none_or(|s| i.outcome().status == s)
        });
        infos.sort_by_key(|i| Reverse((i.created(), i.id().to_owned())));
        if let Some(before) = &self.before {
            let Some(at) = infos.iter().position(|i| i.id() == before) else {
                return Err(no_such_run(before));
            };
            infos.drain(..=at);
        }
        infos.truncate(limit);
        Ok(infos)
    }
}

/// `before` names no run the listing holds.
pub fn no_such_run(before: &str) -> RequestError {
    invalid(
        "before",
        format!("names no run `{before}`: pass the last id of the previous page"),
    )
}

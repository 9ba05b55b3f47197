//! A venue's REST candles over a span, in as many calls as its per-call limit needs,
//! each asked for and read by the venue's API: the feed's history and rebuilds, and
//! `tickwire download`, page the same way.

use tokio_util::sync::CancellationToken;

use super::api::{CandleRange, Profile, VenueApi, VenueCandle};
use super::rest::{Rest, RestError};

/// The calls that cover `[from_ms, to_ms)` in candles of `granularity` seconds, each
/// call's `[start, end)`; the first starts on a candle's open.
pub fn calls(profile: &Profile, granularity: u64, from_ms: i64, to_ms: i64) -> Vec<(i64, i64)> {
    let candle = granularity as i64 * 1000;
    let step = candle * profile.candles_per_call as i64;
    let mut start = from_ms - from_ms.rem_euclid(candle);
    let mut calls = Vec::new();
    while start < to_ms {
        let end = (start + step).min(to_ms);
        calls.push((start, end));
        start = end;
    }
    calls
}

/// The candles one call gives: those opening in its range, oldest first, each open
/// time once.
pub async fn call(
    api: &dyn VenueApi,
    rest: &Rest,
    range: &CandleRange<'_>,
    shutdown: &CancellationToken,
) -> Result<Vec<VenueCandle>, RestError> {
    let body = rest.get(&api.candles_url(range), shutdown).await?;
    let candles = api
        .read_candles(&body)
        .map_err(|why| RestError::Unreadable {
            venue: api.profile().venue.name(),
            why,
        })?;
    let mut candles: Vec<VenueCandle> = candles
        .into_iter()
        .filter(|c| c.open_ms >= range.start_ms && c.open_ms < range.end_ms)
        .collect();
    candles.sort_by_key(|c| c.open_ms);
    candles.dedup_by_key(|c| c.open_ms);
    Ok(candles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_covered_by_calls_of_the_most_candles_each() {
        let profile = crate::feed::venue::api::of(crate::feed::venue::Venue::Coinbase).profile();
        // 700 minutes from a time inside a minute: 300, 300 and 100 candles.
        let calls = calls(profile, 60, 30_000, 700 * 60_000);
        assert_eq!(
            calls,
            [
                (0, 18_000_000),
                (18_000_000, 36_000_000),
                (36_000_000, 42_000_000)
            ]
        );
        assert!(super::calls(profile, 60, 60_000, 60_000).is_empty());
    }
}

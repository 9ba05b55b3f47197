//! The times a bar file may carry (docs/MARKETS.md, "CSV files"): RFC 3339 with a zone,
//! ISO-like date-times without one (taken as UTC), dates, MetaTrader's `YYYY.MM.DD`, and
//! epoch numbers, whose unit is told by their magnitude.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

/// What the time formats are, for errors.
pub const ACCEPTED: &str = "RFC 3339 (2017-04-19T09:00:00+00:00), YYYY-MM-DD[ HH:MM[:SS]], \
YYYY.MM.DD[ HH:MM[:SS]], or epoch seconds, milliseconds or microseconds";

/// A time of one field, as Unix milliseconds.
pub fn parse(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let dots = raw.bytes().filter(|&b| b == b'.').count();
    if !raw.is_empty() && dots <= 1 && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch(raw);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some(t.timestamp_millis());
        }
    }
    let (date, time) = match raw.split_once([' ', 'T']) {
        Some((date, time)) => (date, Some(time)),
        None => (raw, None),
    };
    join(date, time.unwrap_or("00:00:00"))
}

/// A date and a time of day from two fields (MetaTrader's `<DATE>` and `<TIME>`).
pub fn join(date: &str, time: &str) -> Option<i64> {
    let date = parse_date(date.trim())?;
    let time = parse_time_of_day(time.trim())?;
    Some(NaiveDateTime::new(date, time).and_utc().timestamp_millis())
}

/// An epoch number: seconds below 10^11 (to the year 5138), milliseconds below 10^14,
/// microseconds below 10^17, else nanoseconds; a fraction only on seconds.
fn epoch(raw: &str) -> Option<i64> {
    if let Ok(n) = raw.parse::<i64>() {
        return Some(match n {
            n if n < 100_000_000_000 => n.checked_mul(1000)?,
            n if n < 100_000_000_000_000 => n,
            n if n < 100_000_000_000_000_000 => n / 1_000,
            n => n / 1_000_000,
        });
    }
    let seconds = raw
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s < 1e11)?;
    Some((seconds * 1000.0).round() as i64)
}

fn parse_date(raw: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(raw, format).ok())
}

fn parse_time_of_day(raw: &str) -> Option<NaiveTime> {
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|format| NaiveTime::parse_from_str(raw, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_492_592_400_000; // 2017-04-19T09:00:00Z

    #[test]
    fn every_accepted_form_names_the_same_instant() {
        for raw in [
            "2017-04-19T09:00:00+00:00",
            "2017-04-19T11:00:00+02:00",
            "2017-04-19T09:00:00Z",
            "2017-04-19T09:00:00.000Z",
            "2017-04-19 09:00:00",
            "2017-04-19 09:00:00+00:00",
            "2017-04-19 09:00:00+0000",
            "2017-04-19T09:00:00",
            "2017-04-19 09:00",
            "2017.04.19 09:00:00",
            "2017.04.19 09:00",
            "1492592400",
            "1492592400000",
            "1492592400000000",
            "1492592400.0",
        ] {
            assert_eq!(parse(raw), Some(T), "{raw}");
        }
        assert_eq!(join("2017.04.19", "09:00:00"), Some(T));
        assert_eq!(join("20170419", "09:00"), Some(T));
        assert_eq!(parse("2017-04-19"), Some(T - 9 * 3_600_000));
    }

    #[test]
    fn what_is_no_time_is_none() {
        for raw in [
            "",
            "yesterday",
            "2017-13-01",
            "19/04/2017",
            "2017-04-19 25:00",
            "-5",
            "1e400",
        ] {
            assert_eq!(parse(raw), None, "{raw}");
        }
    }
}

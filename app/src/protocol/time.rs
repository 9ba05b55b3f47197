//! Wire timestamps: RFC 3339, UTC, millisecond precision (`2026-11-22T14:03:11.123Z`).

use std::fmt;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time as the protocol carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Wraps a UTC time, truncated to whole milliseconds.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self::from_unix_ms(t.timestamp_millis())
    }

    /// The time `ms` milliseconds after the Unix epoch (clamped to chrono's range).
    pub fn from_unix_ms(ms: i64) -> Self {
        Timestamp(
            Utc.timestamp_millis_opt(ms)
                .single()
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        )
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The underlying UTC time.
    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }
}

impl Timestamp {
    /// `HH:MM:SS` (UTC), the wall-clock part the dashboard shows.
    pub fn clock(self) -> String {
        let t = self.0;
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, written field by field: this runs for every message
    /// and every equity point, and chrono's general formatter is several times slower.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.timestamp_subsec_millis()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Timestamp::from_datetime(t.with_timezone(&Utc)))
            .map_err(|e| {
                serde::de::Error::custom(format!("invalid RFC 3339 timestamp `{text}`: {e}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_utc_hours_minutes_seconds() {
        assert_eq!(Timestamp::from_unix_ms(3_723_456).clock(), "01:02:03");
    }

    #[test]
    fn timestamps_serialize_as_rfc3339_utc_milliseconds() {
        let t = Timestamp::from_unix_ms(1_795_356_191_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-22T14:03:11.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn the_fast_formatter_matches_chronos_rfc3339() {
        for ms in [
            0,
            1,
            999,
            86_399_999,
            1_795_356_191_123,
            951_782_400_000,
            -1_000,
        ] {
            let t = Timestamp::from_unix_ms(ms);
            assert_eq!(
                t.to_string(),
                t.datetime()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "{ms}"
            );
        }
    }

    #[test]
    fn offsets_are_normalised_to_utc_and_garbage_is_rejected() {
        let t: Timestamp = serde_json::from_str("\"2026-11-22T15:03:11.123+01:00\"").unwrap();
        assert_eq!(t.to_string(), "2026-11-22T14:03:11.123Z");
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid RFC 3339 timestamp `yesterday`"),
            "{err}"
        );
    }
}

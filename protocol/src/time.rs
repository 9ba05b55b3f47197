//! Wire timestamps: RFC 3339, UTC, millisecond precision (`2026-11-22T14:03:11.123Z`).

use std::fmt;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time as the protocol carries it: milliseconds since the Unix epoch, within
/// chrono's range (every message carries one, so it is made and written without a
/// calendar; [`Timestamp::datetime`] gives one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// chrono's range, in milliseconds since the Unix epoch.
const MIN_MS: i64 = DateTime::<Utc>::MIN_UTC.timestamp_millis();
const MAX_MS: i64 = DateTime::<Utc>::MAX_UTC.timestamp_millis();

impl Timestamp {
    /// Wraps a UTC time, truncated to whole milliseconds.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self::from_unix_ms(t.timestamp_millis())
    }

    /// The time `ms` milliseconds after the Unix epoch (clamped to chrono's range).
    pub fn from_unix_ms(ms: i64) -> Self {
        Timestamp(ms.clamp(MIN_MS, MAX_MS))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> i64 {
        self.0
    }

    /// The underlying UTC time.
    pub fn datetime(self) -> DateTime<Utc> {
        // In range by construction; the minimum only if chrono's range ever shrank.
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Timestamp {
    /// `HH:MM:SS` (UTC), the wall-clock part the dashboard shows.
    pub fn clock(self) -> String {
        let t = self.datetime();
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: the wire form's length.
const RFC3339_LEN: usize = 24;

impl Timestamp {
    /// The wire form written digit by digit into `buf`, for years 0 to 9999 (`None`
    /// otherwise): this runs for every message and every equity point, and formatting
    /// through `fmt` costs several times more.
    fn rfc3339(self, buf: &mut [u8; RFC3339_LEN]) -> Option<&str> {
        let ms = self.unix_ms();
        let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let fields = [
            (0, 4, year as u32),
            (5, 2, month),
            (8, 2, day),
            (11, 2, (ms_of_day / 3_600_000) as u32),
            (14, 2, (ms_of_day / 60_000 % 60) as u32),
            (17, 2, (ms_of_day / 1_000 % 60) as u32),
            (20, 3, (ms_of_day % 1_000) as u32),
        ];
        *buf = *b"0000-00-00T00:00:00.000Z";
        for (at, width, mut value) in fields {
            for digit in buf[at..at + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        std::str::from_utf8(buf).ok()
    }
}

/// Year, month (1–12) and day (1–31) of the proleptic Gregorian calendar, `days` after
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.rfc3339(&mut [0; RFC3339_LEN]) {
            return f.write_str(text);
        }
        let t = self.datetime();
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
        match self.rfc3339(&mut [0; RFC3339_LEN]) {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(self),
        }
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
            -62_135_596_800_000,
            253_402_300_799_999,
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
    fn the_fast_formatter_matches_chrono_every_few_hours_from_1600_to_2600() {
        let step = 37 * 3_600_000 + 61_001;
        let mut ms = -11_676_096_000_000;
        while ms < 19_880_899_200_000 {
            let t = Timestamp::from_unix_ms(ms);
            let chrono = t
                .datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(t.to_string(), chrono, "{ms}");
            ms += step;
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

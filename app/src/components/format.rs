//! How the dashboard writes values: the protocol's enums by their wire names, money,
//! prices and percentages, and the class that colours a gain or a loss. One place, so
//! every table writes a figure the same way.

/// The wire name of a protocol enum (`"long"`, `"running"`, `"info"`): what the page
/// shows and what its `data-*` attributes and CSS classes carry.
pub fn wire_name(value: impl Into<&'static str>) -> &'static str {
    value.into()
}

/// Money: two decimals.
pub fn money(value: f64) -> String {
    format!("{value:.2}")
}

/// A fill or mark price: four decimals.
pub fn price(value: f64) -> String {
    format!("{value:.4}")
}

/// A percentage with `decimals` decimals: `12.5%`.
pub fn percent(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}%")
}

/// A duration left, from milliseconds: `42 s`, `3 min 05 s`, `2 h 07 min`.
pub fn time_left(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// A time as the data's resolution calls for: the date alone when every time of the
/// series falls on midnight UTC (daily bars), else the full RFC 3339 time.
pub fn time_at(t: protocol::Timestamp, dates_only: bool) -> String {
    let text = t.to_string();
    if dates_only {
        text.get(..10).unwrap_or(&text).to_owned()
    } else {
        text
    }
}

/// Whether every one of `times` is a midnight UTC (a daily series).
pub fn all_midnights(mut times: impl Iterator<Item = protocol::Timestamp>) -> bool {
    times.all(|t| t.unix_ms().rem_euclid(86_400_000) == 0)
}

/// `up` for a gain (or nothing), `down` for a loss.
pub fn gain_class(value: f64) -> &'static str {
    if value < 0.0 {
        "down"
    } else {
        "up"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{LogLevel, RunStatus, Side};

    #[test]
    fn time_left_reads_in_the_largest_units_that_fit() {
        assert_eq!(time_left(0), "0 s");
        assert_eq!(time_left(1), "1 s", "a run not done is never 0 s away");
        assert_eq!(time_left(185_000), "3 min 05 s");
        assert_eq!(time_left(7_620_000), "2 h 07 min");
    }

    #[test]
    fn enums_are_written_by_their_wire_names() {
        assert_eq!(wire_name(Side::Long), "long");
        assert_eq!(wire_name(RunStatus::Complete), "complete");
        assert_eq!(wire_name(LogLevel::Warn), "warn");
    }

    #[test]
    fn figures_keep_their_decimals() {
        assert_eq!(money(1234.5), "1234.50");
        assert_eq!(price(1.23456), "1.2346");
        assert_eq!(percent(-3.16, 1), "-3.2%");
    }

    #[test]
    fn a_loss_is_down_and_anything_else_up() {
        assert_eq!(gain_class(-0.01), "down");
        assert_eq!(gain_class(0.0), "up");
    }

    #[test]
    fn a_daily_series_shows_dates_and_an_intraday_one_times() {
        use protocol::Timestamp;
        let day = Timestamp::from_unix_ms(86_400_000);
        let noon = Timestamp::from_unix_ms(86_400_000 + 43_200_000);
        assert!(all_midnights([day].into_iter()));
        assert!(!all_midnights([day, noon].into_iter()));
        assert_eq!(time_at(day, true), "1970-01-02");
        assert_eq!(time_at(noon, false), "1970-01-02T12:00:00.000Z");
    }
}

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
    use crate::protocol::{LogLevel, RunStatus, Side};

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
}

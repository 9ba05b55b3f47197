//! Timeframes a viewer picks for a chart; their candles are built from the base
//! candles a topic carries by `protocol::api::Bar::aggregate`.
//!
//! Decision (docs/DASHBOARD.md, "Timeframes"): the aggregation happens in the viewer.
//! The socket already carries every base candle; building a 1h candle from 60 one-minute
//! ones is a few additions. A topic per timeframe on the server would publish every
//! price six times over and cost each instance a builder per symbol and timeframe for
//! viewers who may never ask; here a viewer's choice costs nothing to anyone else, and
//! two panes of one symbol share one subscription.

use protocol::api::Bar;

/// The timeframes a chart offers, shortest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
pub enum Timeframe {
    #[strum(serialize = "1m")]
    M1,
    #[strum(serialize = "5m")]
    M5,
    #[strum(serialize = "15m")]
    M15,
    #[strum(serialize = "1h")]
    H1,
    #[strum(serialize = "4h")]
    H4,
    #[strum(serialize = "1d")]
    D1,
}

impl Timeframe {
    pub fn secs(self) -> i64 {
        match self {
            Timeframe::M1 => 60,
            Timeframe::M5 => 300,
            Timeframe::M15 => 900,
            Timeframe::H1 => 3_600,
            Timeframe::H4 => 14_400,
            Timeframe::D1 => 86_400,
        }
    }

    pub fn label(self) -> &'static str {
        self.into()
    }

    pub fn parse(text: &str) -> Option<Self> {
        <Self as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .find(|t| t.label() == text)
    }

    /// The timeframes that can be built from candles `base_secs` long: every longer one
    /// that is a whole multiple of it (the base itself is the chart's own).
    pub fn offered(base_secs: i64) -> Vec<Timeframe> {
        <Self as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .filter(|t| t.secs() > base_secs && t.secs() % base_secs.max(1) == 0)
            .collect()
    }
}

/// How the base timeframe is named (`5s`, `1m`, `1d`).
pub fn base_label(secs: i64) -> String {
    u64::try_from(secs)
        .ok()
        .and_then(|s| protocol::Interval::from_secs(s).ok())
        .map_or_else(|| "base".to_owned(), |i| i.to_string())
}

/// The spacing of `bars` (the smallest gap between neighbours, in seconds), if there are
/// two.
pub fn base_secs(bars: &[Bar]) -> Option<i64> {
    bars.windows(2)
        .rev()
        .take(64)
        .map(|w| (w[1].time.unix_ms() - w[0].time.unix_ms()) / 1_000)
        .filter(|&gap| gap > 0)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::fixtures::bar;

    #[test]
    fn only_whole_multiples_of_the_base_are_offered() {
        let labels = |base| -> Vec<&str> {
            Timeframe::offered(base)
                .into_iter()
                .map(Timeframe::label)
                .collect()
        };
        assert_eq!(labels(5), ["1m", "5m", "15m", "1h", "4h", "1d"]);
        assert_eq!(labels(60), ["5m", "15m", "1h", "4h", "1d"]);
        assert_eq!(labels(3_600), ["4h", "1d"]);
        assert!(labels(86_400).is_empty());
        assert_eq!(
            labels(480),
            ["4h", "1d"],
            "8 minutes divide 4 hours, not an hour"
        );
        assert_eq!(
            (base_label(5), base_label(86_400)),
            ("5s".to_owned(), "1d".to_owned())
        );
        assert_eq!(Timeframe::parse("4h"), Some(Timeframe::H4));
        assert_eq!(base_secs(&[bar(0, 1.0, 1.0), bar(5, 1.0, 1.0)]), Some(300));
    }
}

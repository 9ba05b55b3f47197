//! Built-in strategies. Each turns the closes into one signal per bar, computed on that
//! bar's close: go long, go short, or nothing (docs/SPEC.md section 10).

use std::collections::BTreeMap;

use protocol::validate::{within, FieldError};
use protocol::Side;
use strum::VariantNames as _;

use protocol::indicators::{rsi, sma};

/// A validated strategy with its parameters.
#[derive(Clone, Debug, PartialEq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(StrategyKind),
    derive(strum::EnumString, strum::IntoStaticStr, strum::VariantNames),
    strum(serialize_all = "snake_case")
)]
pub enum Strategy {
    /// Long when the fast SMA crosses above the slow one, short when it crosses below.
    SmaCross { fast: usize, slow: usize },
    /// Long when RSI (Wilder) crosses below `lower`, short when it crosses above `upper`.
    RsiReversion {
        period: usize,
        lower: f64,
        upper: f64,
    },
    /// Long from the first bar to the last.
    BuyAndHold,
}

/// Why a strategy or its parameters were refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StrategyError {
    #[error("unknown strategy `{0}` (expected {expected})", expected = StrategyKind::VARIANTS.join(", "))]
    Unknown(String),
    #[error("`{strategy}` has no parameter `{param}` (it takes {expected})")]
    UnknownParam {
        strategy: &'static str,
        param: String,
        expected: String,
    },
    #[error("parameter {0}")]
    Invalid(#[from] FieldError),
    #[error("{strategy} needs at least {needed} bars, the data has {have}")]
    DataTooShort {
        strategy: &'static str,
        needed: usize,
        have: usize,
    },
}

/// What a bar's close says to do: go `Some(side)`, or nothing.
pub type Signal = Option<Side>;
pub const LONG: Signal = Some(Side::Long);
pub const SHORT: Signal = Some(Side::Short);
pub const NONE: Signal = None;

impl StrategyKind {
    /// The parameters this strategy takes.
    pub fn params(self) -> &'static [&'static str] {
        match self {
            StrategyKind::SmaCross => &["fast", "slow"],
            StrategyKind::RsiReversion => &["period", "lower", "upper"],
            StrategyKind::BuyAndHold => &[],
        }
    }
}

impl Strategy {
    /// Builds `name` from `params`, filling defaults and checking every value.
    pub fn from_params(name: &str, params: &BTreeMap<String, f64>) -> Result<Self, StrategyError> {
        let kind: StrategyKind = name
            .parse()
            .map_err(|_| StrategyError::Unknown(name.to_owned()))?;
        let expected = kind.params();
        if let Some(param) = params.keys().find(|k| !expected.contains(&k.as_str())) {
            return Err(StrategyError::UnknownParam {
                strategy: kind.into(),
                param: param.clone(),
                expected: if expected.is_empty() {
                    "no parameters".to_owned()
                } else {
                    expected.join(", ")
                },
            });
        }
        let get = |p: &str, default: f64| params.get(p).copied().unwrap_or(default);
        match kind {
            StrategyKind::SmaCross => {
                let fast = period("fast", get("fast", 10.0))?;
                let slow = period("slow", get("slow", 20.0))?;
                if fast >= slow {
                    return Err(FieldError::new(
                        "fast",
                        format!("({fast}) must be less than `slow` ({slow})"),
                    )
                    .into());
                }
                Ok(Strategy::SmaCross { fast, slow })
            }
            StrategyKind::RsiReversion => {
                let period = period("period", get("period", 14.0))?;
                let (lower, upper) = (get("lower", 30.0), get("upper", 70.0));
                within("lower", lower, 0.0, 100.0)?;
                within("upper", upper, 0.0, 100.0)?;
                if lower >= upper {
                    return Err(FieldError::new(
                        "lower",
                        format!("({lower}) must be less than `upper` ({upper})"),
                    )
                    .into());
                }
                Ok(Strategy::RsiReversion {
                    period,
                    lower,
                    upper,
                })
            }
            StrategyKind::BuyAndHold => Ok(Strategy::BuyAndHold),
        }
    }

    /// The name requests use (`sma_cross`).
    pub fn name(&self) -> &'static str {
        StrategyKind::from(self).into()
    }

    /// The parameters in effect (defaults filled in).
    pub fn params(&self) -> BTreeMap<String, f64> {
        let pairs: Vec<(&str, f64)> = match *self {
            Strategy::SmaCross { fast, slow } => vec![("fast", fast as f64), ("slow", slow as f64)],
            Strategy::RsiReversion {
                period,
                lower,
                upper,
            } => vec![
                ("period", period as f64),
                ("lower", lower),
                ("upper", upper),
            ],
            Strategy::BuyAndHold => vec![],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Fails when `bars` cannot produce a single signal and its fill.
    pub fn check_data(&self, bars: usize) -> Result<(), StrategyError> {
        let needed = match *self {
            Strategy::SmaCross { slow, .. } => slow + 2,
            Strategy::RsiReversion { period, .. } => period + 3,
            Strategy::BuyAndHold => 2,
        };
        if bars < needed {
            return Err(StrategyError::DataTooShort {
                strategy: self.name(),
                needed,
                have: bars,
            });
        }
        Ok(())
    }

    /// One signal per bar.
    pub fn signals(&self, close: &[f64]) -> Vec<Signal> {
        match *self {
            Strategy::SmaCross { fast, slow } => sma_cross(close, fast, slow),
            Strategy::RsiReversion {
                period,
                lower,
                upper,
            } => rsi_reversion(close, period, lower, upper),
            Strategy::BuyAndHold => {
                let mut s = vec![NONE; close.len()];
                if let Some(first) = s.first_mut() {
                    *first = LONG;
                }
                s
            }
        }
    }
}

fn period(param: &'static str, v: f64) -> Result<usize, StrategyError> {
    if v.fract() == 0.0 && (1.0..=1_000_000.0).contains(&v) {
        Ok(v as usize)
    } else {
        Err(FieldError::new(
            param,
            format!("must be a whole number of bars ≥ 1, got {v}"),
        )
        .into())
    }
}

/// Two indicator values within this relative distance are equal (docs/SPEC.md section 10), so
/// a result never depends on the order in which a mean was summed.
pub const TIE: f64 = 1e-9;

/// `a` is below `b` by more than a tie.
fn below(a: f64, b: f64) -> bool {
    a < b && (b - a) > TIE * a.abs().max(b.abs())
}

/// `a` is above `b` by more than a tie.
fn above(a: f64, b: f64) -> bool {
    below(b, a)
}

fn sma_cross(close: &[f64], fast: usize, slow: usize) -> Vec<Signal> {
    let (f, s) = (sma(close, fast), sma(close, slow));
    let mut signals = vec![NONE; close.len()];
    for i in slow..close.len() {
        if below(f[i - 1], s[i - 1]) && above(f[i], s[i]) {
            signals[i] = LONG;
        } else if above(f[i - 1], s[i - 1]) && below(f[i], s[i]) {
            signals[i] = SHORT;
        }
    }
    signals
}

fn rsi_reversion(close: &[f64], period: usize, lower: f64, upper: f64) -> Vec<Signal> {
    let r = rsi(close, period);
    let mut signals = vec![NONE; close.len()];
    for i in period + 1..close.len() {
        if !below(r[i - 1], lower) && below(r[i], lower) {
            signals[i] = LONG;
        } else if !above(r[i - 1], upper) && above(r[i], upper) {
            signals[i] = SHORT;
        }
    }
    signals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_cross_needs_strictly_below_then_strictly_above() {
        // fast = close (n=1), slow = mean of 2: crosses when the close turns.
        let close = [5.0, 4.0, 3.0, 4.0, 5.0, 4.0, 3.0];
        let signals = sma_cross(&close, 1, 2);
        assert_eq!(signals, vec![NONE, NONE, NONE, LONG, NONE, SHORT, NONE]);
        // Touching (fast == slow) is not a cross.
        assert_eq!(sma_cross(&[2.0, 2.0, 2.0, 2.0], 1, 2), vec![NONE; 4]);
    }

    #[test]
    fn values_within_a_relative_1e9_tie_and_a_tie_is_not_a_cross() {
        assert!(!below(1.0, 1.0 + 1e-12) && !above(1.0 + 1e-12, 1.0));
        assert!(below(1.0, 1.0 + 1e-6) && above(1.0 + 1e-6, 1.0));
        // 0.1 + 0.2 summed in another order differs in the last bit: still a tie.
        assert!(!below(0.1 + 0.2, 0.3) && !above(0.1 + 0.2, 0.3));
        // fast (n=1) sits one ulp under slow (n=2) at bar 1 — a tie, not "below" — and
        // rises at bar 2: no cross (strict comparisons would signal LONG here).
        let close = [0.1 + 0.2, 0.3, 0.4];
        assert_eq!(sma_cross(&close, 1, 2), vec![NONE, NONE, NONE]);
        // Clearly below, then above: a cross.
        assert_eq!(sma_cross(&[0.31, 0.3, 0.4], 1, 2), vec![NONE, NONE, LONG]);
    }

    #[test]
    fn rsi_is_100_when_prices_only_rise_and_reversion_signals_on_crossings() {
        let rising: Vec<f64> = (1..30).map(f64::from).collect();
        assert_eq!(rsi(&rising, 14)[20], 100.0);
        let mut close: Vec<f64> = (0..20).map(|i| 100.0 + f64::from(i)).collect();
        close.extend((0..20).map(|i| 119.0 - 2.0 * f64::from(i)));
        let signals = rsi_reversion(&close, 5, 30.0, 70.0);
        let first_long = signals
            .iter()
            .position(|&s| s == LONG)
            .expect("a long signal in the fall");
        assert!(
            first_long > 20,
            "long only once the fall has pushed RSI under 30: {first_long}"
        );
    }

    #[test]
    fn parameters_are_validated_with_the_reason() {
        let cases = [
            (
                "sma_cross",
                params(&[("fast", 20.0), ("slow", 10.0)]),
                "parameter `fast` (20) must be less than `slow` (10)",
            ),
            (
                "sma_cross",
                params(&[("fast", 0.0)]),
                "parameter `fast` must be a whole number of bars ≥ 1, got 0",
            ),
            ("sma_cross", params(&[("fast", 2.5)]), "got 2.5"),
            (
                "sma_cross",
                params(&[("speed", 3.0)]),
                "`sma_cross` has no parameter `speed` (it takes fast, slow)",
            ),
            (
                "rsi_reversion",
                params(&[("lower", 80.0), ("upper", 70.0)]),
                "`lower` (80) must be less than `upper` (70)",
            ),
            (
                "rsi_reversion",
                params(&[("upper", 170.0)]),
                "`upper` must be between 0 and 100",
            ),
            (
                "buy_and_hold",
                params(&[("x", 1.0)]),
                "it takes no parameters",
            ),
            ("macd", params(&[]), "unknown strategy `macd`"),
        ];
        for (name, p, expected) in cases {
            let err = Strategy::from_params(name, &p).unwrap_err().to_string();
            assert!(err.contains(expected), "{name} {p:?}: {err}");
        }
        let s = Strategy::from_params("sma_cross", &params(&[])).unwrap();
        assert_eq!(s, Strategy::SmaCross { fast: 10, slow: 20 });
        assert_eq!(
            s.check_data(21).unwrap_err().to_string(),
            "sma_cross needs at least 22 bars, the data has 21"
        );
        assert!(s.check_data(22).is_ok());
    }
}

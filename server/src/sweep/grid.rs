//! A sweep's grid: each parameter's values, from a list or a `{from, to, step}` range,
//! checked against the strategy and counted before anything is expanded, so a request
//! for more than `--max-sweep-combos` combinations is refused without allocating them.

use std::collections::BTreeMap;

use protocol::api::GridAxis;
use protocol::sweep::{params_of, SweepAxis};

use crate::backtest::strategy::StrategyKind;
use crate::refusal::{invalid, RequestError};

/// What a range's last step may fall short of its `to` and still reach it (floats:
/// 0.3 / 0.1 is 2.9999999999999996).
const RANGE_SLACK: f64 = 1e-9;

/// A checked grid: its axes in the order the sweep walks them (by parameter name, the
/// last fastest) and how many combinations they make.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    axes: Vec<SweepAxis>,
    combos: u64,
}

impl Grid {
    /// Checks `grid` for `strategy`: every parameter one it takes, every axis at least
    /// one finite value, a range's step positive and its `to` not below its `from`, and
    /// the product of the axes' sizes at most `max_combos`.
    pub fn new(
        strategy: StrategyKind,
        grid: &BTreeMap<String, GridAxis>,
        max_combos: u64,
    ) -> Result<Grid, RequestError> {
        let takes = strategy.params();
        if grid.is_empty() {
            return Err(invalid(
                "grid",
                format!(
                    "names no parameter ({} takes {})",
                    <&str>::from(strategy),
                    list(takes)
                ),
            ));
        }
        let mut combos: u64 = 1;
        for (param, axis) in grid {
            if !takes.contains(&param.as_str()) {
                return Err(invalid(
                    "grid",
                    format!(
                        "`{}` has no parameter `{param}` (it takes {})",
                        <&str>::from(strategy),
                        list(takes)
                    ),
                ));
            }
            let size = size_of(param, axis, max_combos)?;
            combos = combos.saturating_mul(size);
            if combos > max_combos {
                return Err(invalid(
                    "grid",
                    format!(
                        "makes more than {max_combos} combinations; --max-sweep-combos allows {max_combos}"
                    ),
                ));
            }
        }
        let axes = grid
            .iter()
            .map(|(param, axis)| SweepAxis {
                param: param.clone(),
                values: values_of(axis),
            })
            .collect();
        Ok(Grid { axes, combos })
    }

    /// The grid of axes a [`Grid::new`] made (a sweep's spec read back from Redis).
    pub fn from_axes(axes: Vec<SweepAxis>) -> Grid {
        let combos = axes
            .iter()
            .fold(1u64, |n, axis| n.saturating_mul(axis.values.len() as u64));
        Grid { axes, combos }
    }

    pub fn axes(&self) -> &[SweepAxis] {
        &self.axes
    }

    pub fn combos(&self) -> u64 {
        self.combos
    }

    /// The parameters of combination `index` (none past the last).
    pub fn params(&self, index: u64) -> Option<BTreeMap<String, f64>> {
        params_of(&self.axes, index)
    }
}

fn list(params: &[&str]) -> String {
    if params.is_empty() {
        "no parameters".to_owned()
    } else {
        params.join(", ")
    }
}

/// How many values `axis` has, checked; at most `max` (past it, `max + 1`).
fn size_of(param: &str, axis: &GridAxis, max: u64) -> Result<u64, RequestError> {
    let field = || format!("grid.{param}");
    let bad = |problem: String| invalid("grid", format!("{}: {problem}", field()));
    match axis {
        GridAxis::Values(values) => {
            if values.is_empty() {
                return Err(bad("lists no value".to_owned()));
            }
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(bad(format!("{v} is not a number")));
            }
            Ok(values.len() as u64)
        }
        GridAxis::Range { from, to, step } => {
            if !(from.is_finite() && to.is_finite() && step.is_finite()) {
                return Err(bad("`from`, `to` and `step` must be numbers".to_owned()));
            }
            if *step <= 0.0 {
                return Err(bad(format!("`step` must be above 0, got {step}")));
            }
            if to < from {
                return Err(bad(format!("`to` ({to}) is below `from` ({from})")));
            }
            let steps = ((to - from) / step + RANGE_SLACK).floor();
            Ok(if steps >= max as f64 {
                max + 1
            } else {
                steps as u64 + 1
            })
        }
    }
}

/// The values of a checked axis, in order.
fn values_of(axis: &GridAxis) -> Vec<f64> {
    match axis {
        GridAxis::Values(values) => values.clone(),
        GridAxis::Range { from, to, step } => {
            let steps = ((to - from) / step + RANGE_SLACK).floor() as u64;
            // Each value from its own multiple: no drift from adding the step again and
            // again, and a decimal step lands on the decimals a user typed.
            (0..=steps)
                .map(|k| round_to_step(from + k as f64 * step, *step))
                .collect()
        }
    }
}

/// `value` without the float noise of `k × step` (0.1 × 3 = 0.30000000000000004): rounded
/// to the step's own decimals, and a few more.
fn round_to_step(value: f64, step: f64) -> f64 {
    let decimals = (-step.log10().floor()).clamp(0.0, 12.0) as i32 + 3;
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(pairs: &[(&str, GridAxis)]) -> BTreeMap<String, GridAxis> {
        pairs
            .iter()
            .map(|(p, a)| ((*p).to_owned(), a.clone()))
            .collect()
    }

    fn range(from: f64, to: f64, step: f64) -> GridAxis {
        GridAxis::Range { from, to, step }
    }

    #[test]
    fn lists_and_ranges_make_axes_by_name_and_their_product_of_combinations() {
        let g = Grid::new(
            StrategyKind::SmaCross,
            &grid(&[
                ("slow", range(20.0, 60.0, 10.0)),
                ("fast", GridAxis::Values(vec![5.0, 10.0])),
            ]),
            100,
        );
        let Ok(g) = g else {
            panic!("a good grid: {g:?}");
        };
        assert_eq!(g.combos(), 10);
        assert_eq!(g.axes()[0].param, "fast");
        assert_eq!(g.axes()[1].values, [20.0, 30.0, 40.0, 50.0, 60.0]);
        assert_eq!(
            g.params(6),
            Some(BTreeMap::from([
                ("fast".into(), 10.0),
                ("slow".into(), 30.0)
            ]))
        );
        assert_eq!(g.params(10), None);
    }

    #[test]
    fn a_decimal_range_lands_on_its_decimals_and_includes_its_end() {
        let g = Grid::new(
            StrategyKind::RsiReversion,
            &grid(&[("lower", range(20.0, 20.3, 0.1))]),
            100,
        )
        .map(|g| g.axes()[0].values.clone());
        assert_eq!(g, Ok(vec![20.0, 20.1, 20.2, 20.3]));
    }

    #[test]
    fn each_bad_grid_is_refused_naming_what_is_wrong() {
        let refused = |pairs: &[(&str, GridAxis)], max: u64| match Grid::new(
            StrategyKind::SmaCross,
            &grid(pairs),
            max,
        ) {
            Err(e) => e.to_string(),
            Ok(g) => panic!("refused, not {g:?}"),
        };
        assert!(refused(&[], 10).contains("names no parameter"));
        assert!(refused(&[("period", range(1.0, 2.0, 1.0))], 10).contains("no parameter `period`"));
        assert!(refused(&[("fast", GridAxis::Values(vec![]))], 10)
            .contains("grid.fast: lists no value"));
        assert!(refused(&[("fast", range(1.0, 5.0, 0.0))], 10).contains("`step` must be above 0"));
        assert!(refused(&[("fast", range(5.0, 1.0, 1.0))], 10).contains("is below `from`"));
        let huge = refused(&[("fast", range(1.0, 1e15, 1.0))], 100_000);
        assert!(
            huge.contains("more than 100000 combinations; --max-sweep-combos allows 100000"),
            "{huge}"
        );
        let product = refused(
            &[
                ("fast", range(1.0, 10.0, 1.0)),
                ("slow", range(1.0, 10.0, 1.0)),
            ],
            99,
        );
        assert!(product.contains("more than 99"), "{product}");
    }
}

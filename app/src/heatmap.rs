//! A sweep's heatmap, without the DOM: the first two axes of its grid as rows and
//! columns, each cell the best value of the combinations with those two values (by the
//! sweep's objective: with two axes, the one combination's own), and the range of the
//! values for a colour scale. One axis is a line instead: each value its cell.

use protocol::sweep::{Objective, SweepStarted};

/// One cell: the best landed value among its combinations, and which one that was.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cell {
    pub value: Option<f64>,
    pub index: Option<u64>,
}

/// The grid of cells, rows by the first axis's values, columns by the second's (one
/// column when the grid has one axis).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Heatmap {
    pub rows: (String, Vec<f64>),
    pub columns: Option<(String, Vec<f64>)>,
    /// Row by row.
    pub cells: Vec<Cell>,
    /// The lowest and highest value landed.
    pub range: Option<(f64, f64)>,
    pub objective: Objective,
}

impl Heatmap {
    /// The heatmap of `started`'s grid with `values` landed (by combination index).
    pub fn of(started: &SweepStarted, values: &[Option<f64>]) -> Heatmap {
        let axes = &started.axes;
        let Some(first) = axes.first() else {
            return Heatmap::default();
        };
        let columns = axes.get(1);
        let width = columns.map_or(1, |c| c.values.len().max(1));
        let mut cells = vec![Cell::default(); first.values.len() * width];
        // Combinations per value of the first axis, and per value of the second.
        let inner: usize = axes.iter().skip(1).map(|a| a.values.len().max(1)).product();
        let below: usize = axes.iter().skip(2).map(|a| a.values.len().max(1)).product();
        let objective = started.objective;
        let mut range: Option<(f64, f64)> = None;
        for (index, value) in values.iter().enumerate() {
            let Some(value) = *value else {
                continue;
            };
            let row = index / inner.max(1);
            let column = (index / below.max(1)) % width;
            let Some(cell) = cells.get_mut(row * width + column) else {
                continue;
            };
            if cell.value.is_none_or(|best| better(objective, value, best)) {
                *cell = Cell {
                    value: Some(value),
                    index: Some(index as u64),
                };
            }
            range = Some(range.map_or((value, value), |(lo, hi)| (lo.min(value), hi.max(value))));
        }
        Heatmap {
            rows: (first.param.clone(), first.values.clone()),
            columns: columns.map(|c| (c.param.clone(), c.values.clone())),
            cells,
            range,
            objective,
        }
    }

    /// Where `value` stands between the worst (0) and the best (1) landed.
    pub fn shade(&self, value: f64) -> f64 {
        let Some((lo, hi)) = self.range else {
            return 0.5;
        };
        if hi <= lo {
            return 1.0;
        }
        let up = (value - lo) / (hi - lo);
        if self.objective.minimised() {
            1.0 - up
        } else {
            up
        }
    }

    /// `fast=10,slow=20`: the values of row `row` and column `column`.
    pub fn params(&self, row: usize, column: usize) -> String {
        let mut text = format!("{}={}", self.rows.0, number(self.rows.1[row]));
        if let Some((name, values)) = &self.columns {
            text += &format!(",{name}={}", number(values[column]));
        }
        text
    }
}

/// Whether `a` is a better value than `b` by `objective`.
fn better(objective: Objective, a: f64, b: f64) -> bool {
    if objective.minimised() {
        a < b
    } else {
        a > b
    }
}

/// A parameter value as a user typed it: `10`, not `10.0`.
pub fn number(value: f64) -> String {
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::sweep::SweepAxis;

    fn started(axes: &[(&str, &[f64])], objective: Objective) -> SweepStarted {
        SweepStarted {
            sweep_id: "s".into(),
            strategy: "rsi_reversion".into(),
            symbol: "X".into(),
            axes: axes
                .iter()
                .map(|(p, v)| SweepAxis {
                    param: (*p).into(),
                    values: v.to_vec(),
                })
                .collect(),
            combos: axes.iter().map(|(_, v)| v.len() as u64).product(),
            objective,
            top_n: 10,
            total_bars: 100,
            cash: 10_000.0,
            commission: 0.0,
        }
    }

    #[test]
    fn two_axes_put_each_combination_in_its_own_cell() {
        let s = started(
            &[("fast", &[5.0, 10.0]), ("slow", &[20.0, 30.0, 40.0])],
            Objective::ReturnPct,
        );
        let values = [Some(1.0), None, Some(3.0), Some(-1.0), Some(2.0), Some(0.5)];
        let map = Heatmap::of(&s, &values);
        assert_eq!(map.cells.len(), 6);
        assert_eq!(
            map.cells[2],
            Cell {
                value: Some(3.0),
                index: Some(2)
            }
        );
        assert_eq!(map.cells[1].value, None, "not landed yet");
        assert_eq!(map.params(1, 2), "fast=10,slow=40");
        assert_eq!(map.range, Some((-1.0, 3.0)));
        assert_eq!(map.shade(3.0), 1.0);
        assert_eq!(map.shade(-1.0), 0.0);
    }

    #[test]
    fn a_third_axis_shows_the_best_of_its_values_and_a_drawdown_the_lowest() {
        let s = started(
            &[
                ("lower", &[20.0, 30.0]),
                ("period", &[10.0]),
                ("upper", &[70.0, 80.0]),
            ],
            Objective::MaxDrawdownPct,
        );
        // lower=20: upper 70 → 9, upper 80 → 4; lower=30: 7, 8.
        let map = Heatmap::of(&s, &[Some(9.0), Some(4.0), Some(7.0), Some(8.0)]);
        assert_eq!(map.cells.len(), 2, "rows by lower, one column for period");
        assert_eq!(
            map.cells[0],
            Cell {
                value: Some(4.0),
                index: Some(1)
            }
        );
        assert_eq!(
            map.cells[1],
            Cell {
                value: Some(7.0),
                index: Some(2)
            }
        );
        assert_eq!(map.shade(4.0), 1.0, "the lowest drawdown is the best");
    }

    #[test]
    fn one_axis_is_a_single_column() {
        let s = started(&[("period", &[5.0, 10.0, 15.0])], Objective::Sharpe);
        let map = Heatmap::of(&s, &[Some(0.1), Some(0.3), None]);
        assert_eq!(map.columns, None);
        assert_eq!(map.cells.len(), 3);
        assert_eq!(map.params(1, 0), "period=10");
    }
}

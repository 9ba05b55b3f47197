//! Payloads of `sweep:{ID}` topics: a parameter sweep's grid, each combination's result
//! as it lands, its progress, and its best combinations by the objective it ranks by
//! (docs/SPEC.md section 10, "Sweeps").
//!
//! A sweep walks every combination of its grid's values: the axes in the order
//! `sweep_started` lists them (by parameter name), the last axis fastest, so
//! combination `index` has, on each axis, the value at its digit of `index` written in
//! the axes' sizes. [`SweepStarted::params`] says it, so a heatmap needs only the
//! axes and each index's value.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::backtest::{ErrorInfo, Metrics, RunStatus};

/// What a sweep ranks its combinations by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::VariantArray, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Objective {
    /// Total return, in percent: higher is better.
    #[default]
    ReturnPct,
    /// Higher is better.
    Sharpe,
    /// Higher is better.
    Sortino,
    /// Gross profit over gross loss: higher is better. A combination with no losing
    /// trade has none (the ratio is unbounded) and ranks after those that have one.
    ProfitFactor,
    /// Percent of round trips won: higher is better.
    WinRate,
    /// The deepest fall from a peak, in percent: lower is better.
    MaxDrawdownPct,
    /// Cash at the end: higher is better.
    FinalEquity,
}

impl Objective {
    /// Whether a lower value is the better one.
    pub fn minimised(self) -> bool {
        matches!(self, Objective::MaxDrawdownPct)
    }

    /// The value a run with these `metrics` and `final_equity` scores (none: it cannot
    /// be ranked by this objective).
    pub fn value(self, metrics: &Metrics, final_equity: f64) -> Option<f64> {
        let value = match self {
            Objective::ReturnPct => metrics.return_pct,
            Objective::Sharpe => metrics.sharpe,
            Objective::Sortino => metrics.sortino,
            Objective::ProfitFactor => metrics.profit_factor?,
            Objective::WinRate => metrics.win_rate,
            Objective::MaxDrawdownPct => metrics.max_drawdown_pct,
            Objective::FinalEquity => final_equity,
        };
        value.is_finite().then_some(value)
    }

    /// How `a` ranks against `b`: `Less` when `a` is the better. The better value
    /// first, those without a value last, and among equals the lower index first, so
    /// a ranking never depends on the order results landed in.
    pub fn rank(self, a: &SweepEntry, b: &SweepEntry) -> Ordering {
        let by_value = match (a.value, b.value) {
            (Some(x), Some(y)) if self.minimised() => x.total_cmp(&y),
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_value.then(a.index.cmp(&b.index))
    }
}

/// One parameter's values, in the order the sweep walks them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepAxis {
    pub param: String,
    pub values: Vec<f64>,
}

/// `sweep_started`: what the sweep runs, sent once before any result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepStarted {
    pub sweep_id: String,
    pub strategy: String,
    pub symbol: String,
    /// The grid, by parameter name; the last axis varies fastest.
    pub axes: Vec<SweepAxis>,
    /// Combinations in the grid: the product of the axes' sizes.
    pub combos: u64,
    pub objective: Objective,
    /// How many of the best combinations are kept in order.
    pub top_n: u32,
    pub total_bars: u64,
    pub cash: f64,
    pub commission: f64,
}

impl SweepStarted {
    /// The parameters of combination `index` (none past the last).
    pub fn params(&self, index: u64) -> Option<BTreeMap<String, f64>> {
        params_of(&self.axes, index)
    }
}

/// The parameters of combination `index` of `axes` (none past the last).
pub fn params_of(axes: &[SweepAxis], index: u64) -> Option<BTreeMap<String, f64>> {
    let mut rest = index;
    let mut params = BTreeMap::new();
    for axis in axes.iter().rev() {
        let size = axis.values.len() as u64;
        if size == 0 {
            return None;
        }
        params.insert(axis.param.clone(), axis.values[(rest % size) as usize]);
        rest /= size;
    }
    (rest == 0).then_some(params)
}

/// One combination's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepEntry {
    /// Its place in the grid (see the module's docs).
    pub index: u64,
    pub params: BTreeMap<String, f64>,
    /// Its objective's value; none when it has none, or it was not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The run's figures, as a single backtest with these parameters reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_equity: Option<f64>,
    /// Why it was not run (the strategy refused these parameters, say `fast` ≥ `slow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// `sweep_result`: a batch of combinations' results, in the order they landed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepResults {
    pub results: Vec<SweepEntry>,
}

/// `sweep_progress`: how far the sweep is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepProgress {
    /// Combinations done (run or skipped).
    pub done: u64,
    pub combos: u64,
    /// 0 to 100.
    pub pct: f64,
    /// Combinations a second of running time so far (pauses excluded).
    pub combos_per_sec: f64,
    /// Time left at that speed, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_ms: Option<u64>,
}

/// `sweep_complete`: every combination is done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepComplete {
    pub done: u64,
    /// Combinations the strategy refused.
    pub skipped: u64,
    pub duration_ms: u64,
    /// The `top_n` best by the objective, best first.
    pub top: Vec<SweepEntry>,
}

/// A sweep topic's state for a late joiner: each combination's objective value by
/// index (the whole heatmap) and the best so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SweepSnapshot {
    pub status: RunStatus,
    pub started: Option<SweepStarted>,
    pub progress: Option<SweepProgress>,
    /// By combination index: its objective's value, none until it lands (or when it
    /// has none).
    pub values: Vec<Option<f64>>,
    /// Combinations landed so far.
    pub done: u64,
    /// The best so far, best first (at most `top_n`).
    pub top: Vec<SweepEntry>,
    pub complete: Option<SweepComplete>,
    pub error: Option<ErrorInfo>,
}

impl SweepSnapshot {
    /// Folds a batch of results in: each value at its index, and the best kept in
    /// order.
    pub fn land(&mut self, results: &SweepResults) {
        let Some(started) = &self.started else {
            return;
        };
        let objective = started.objective;
        let top_n = started.top_n as usize;
        for entry in &results.results {
            if let Some(slot) = self.values.get_mut(entry.index as usize) {
                *slot = entry.value;
                self.done += 1;
            }
            if entry.skipped.is_some() {
                continue;
            }
            let at = self
                .top
                .partition_point(|kept| objective.rank(kept, entry) == Ordering::Less);
            if at < top_n {
                self.top.insert(at, entry.clone());
                self.top.truncate(top_n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Vec<SweepAxis> {
        vec![
            SweepAxis {
                param: "fast".into(),
                values: vec![5.0, 10.0],
            },
            SweepAxis {
                param: "slow".into(),
                values: vec![20.0, 30.0, 40.0],
            },
        ]
    }

    fn entry(index: u64, value: Option<f64>) -> SweepEntry {
        SweepEntry {
            index,
            params: params_of(&axes(), index).unwrap_or_default(),
            value,
            metrics: None,
            final_equity: None,
            skipped: None,
        }
    }

    #[test]
    fn the_last_axis_varies_fastest_and_past_the_grid_is_nothing() {
        let of = |i| params_of(&axes(), i).map(|p| (p["fast"], p["slow"]));
        assert_eq!(of(0), Some((5.0, 20.0)));
        assert_eq!(of(1), Some((5.0, 30.0)));
        assert_eq!(of(3), Some((10.0, 20.0)));
        assert_eq!(of(5), Some((10.0, 40.0)));
        assert_eq!(of(6), None);
    }

    #[test]
    fn the_best_come_first_a_drawdown_lowest_and_ties_by_index() {
        let (a, b, none) = (entry(4, Some(2.0)), entry(1, Some(2.0)), entry(0, None));
        let up = Objective::ReturnPct;
        assert_eq!(
            up.rank(&b, &a),
            Ordering::Less,
            "a tie goes to the lower index"
        );
        assert_eq!(up.rank(&entry(5, Some(3.0)), &b), Ordering::Less);
        assert_eq!(up.rank(&none, &a), Ordering::Greater, "no value ranks last");
        let down = Objective::MaxDrawdownPct;
        assert_eq!(down.rank(&entry(5, Some(3.0)), &b), Ordering::Greater);
    }

    #[test]
    fn a_snapshot_keeps_every_value_and_the_top_n_whatever_the_order_they_land_in() {
        let started = SweepStarted {
            sweep_id: "s".into(),
            strategy: "sma_cross".into(),
            symbol: "X".into(),
            axes: axes(),
            combos: 6,
            objective: Objective::ReturnPct,
            top_n: 2,
            total_bars: 100,
            cash: 10_000.0,
            commission: 0.0,
        };
        let values = [Some(1.0), Some(5.0), None, Some(5.0), Some(-2.0), Some(3.0)];
        let mut forward = SweepSnapshot {
            started: Some(started),
            values: vec![None; 6],
            ..SweepSnapshot::default()
        };
        let mut backward = forward.clone();
        for i in 0..6 {
            forward.land(&SweepResults {
                results: vec![entry(i, values[i as usize])],
            });
        }
        backward.land(&SweepResults {
            results: (0..6).rev().map(|i| entry(i, values[i as usize])).collect(),
        });
        assert_eq!(forward, backward);
        assert_eq!(forward.done, 6);
        assert_eq!(forward.values, values);
        let top: Vec<u64> = forward.top.iter().map(|e| e.index).collect();
        assert_eq!(top, [1, 3], "5 and 5, the lower index first");
    }
}

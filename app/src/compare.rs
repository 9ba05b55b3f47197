//! Two to four backtests side by side (the backtests page's compare view): their equity
//! curves normalised to 100 at their start, their drawdowns, their metrics with the
//! best of each row marked, and the parameters that differ. Plain data, no view: the
//! view (`components::compare_view`) shows what this computes.

use std::collections::BTreeSet;

use protocol::api::RunInfo;
use protocol::{BacktestSnapshot, Metrics};

/// The most runs compared at once, and the fewest that make a comparison.
pub const MOST: usize = 4;
pub const FEWEST: usize = 2;

/// One run as the comparison reads it: its listing and its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    pub info: RunInfo,
    pub state: BacktestSnapshot,
}

/// `(time ms, equity)` rescaled so the first point is 100.
pub fn normalised(state: &BacktestSnapshot) -> Vec<(f64, f64)> {
    let Some(first) = state.equity.first().map(|p| p.1).filter(|e| *e > 0.0) else {
        return Vec::new();
    };
    state
        .equity
        .iter()
        .map(|p| (p.0.unix_ms() as f64, p.1 / first * 100.0))
        .collect()
}

/// `(time ms, -drawdown %)`: under water, below zero.
pub fn drawdowns(state: &BacktestSnapshot) -> Vec<(f64, f64)> {
    state
        .equity
        .iter()
        .map(|p| (p.0.unix_ms() as f64, -p.2))
        .collect()
}

/// Which way a figure is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
    /// Neither: a count or a share that says nothing of quality alone.
    Neither,
}

/// One row of the metrics table: a figure of each run (none when the run has none yet).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    pub label: &'static str,
    pub cells: Vec<Option<f64>>,
    /// The cells holding the row's best value (ties share it); empty when the row
    /// has no better and worse, or fewer than two values.
    pub best: Vec<usize>,
    pub unit: Unit,
}

/// How a figure is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Money,
    Percent,
    Ratio,
    Count,
}

type Figure = (&'static str, Better, Unit, fn(&Compared) -> Option<f64>);

fn metrics(run: &Compared) -> Option<&Metrics> {
    run.state.metrics.as_ref()
}

const FIGURES: &[Figure] = &[
    ("Final equity", Better::Higher, Unit::Money, |r| {
        r.info
            .outcome
            .final_equity
            .or(r.state.complete.as_ref().map(|c| c.final_equity))
    }),
    ("Return", Better::Higher, Unit::Percent, |r| {
        metrics(r).map(|m| m.return_pct)
    }),
    ("Sharpe", Better::Higher, Unit::Ratio, |r| {
        metrics(r).map(|m| m.sharpe)
    }),
    ("Sortino", Better::Higher, Unit::Ratio, |r| {
        metrics(r).map(|m| m.sortino)
    }),
    ("Max drawdown", Better::Lower, Unit::Percent, |r| {
        metrics(r).map(|m| m.max_drawdown_pct)
    }),
    ("Win rate", Better::Higher, Unit::Percent, |r| {
        metrics(r).map(|m| m.win_rate)
    }),
    ("Profit factor", Better::Higher, Unit::Ratio, |r| {
        metrics(r).and_then(|m| m.profit_factor)
    }),
    ("Trades", Better::Neither, Unit::Count, |r| {
        metrics(r).map(|m| m.trades as f64)
    }),
    ("Exposure", Better::Neither, Unit::Percent, |r| {
        metrics(r).map(|m| m.exposure_pct)
    }),
];

/// The metrics table of `runs`.
pub fn metric_rows(runs: &[Compared]) -> Vec<MetricRow> {
    FIGURES
        .iter()
        .map(|(label, better, unit, figure)| {
            let cells: Vec<Option<f64>> = runs.iter().map(figure).collect();
            MetricRow {
                label,
                best: best(&cells, *better),
                cells,
                unit: *unit,
            }
        })
        .collect()
}

/// The cells with the best value, if the row has a better and two values or more.
fn best(cells: &[Option<f64>], better: Better) -> Vec<usize> {
    let values: Vec<(usize, f64)> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, (*v)?)).filter(|(_, v)| v.is_finite()))
        .collect();
    if values.len() < FEWEST {
        return Vec::new();
    }
    let pick = |a: f64, b: f64| match better {
        Better::Higher => a.max(b),
        Better::Lower => a.min(b),
        Better::Neither => f64::NAN,
    };
    let top = values
        .iter()
        .map(|(_, v)| *v)
        .reduce(pick)
        .unwrap_or(f64::NAN);
    if !top.is_finite() {
        return Vec::new();
    }
    values
        .into_iter()
        .filter(|(_, v)| *v == top)
        .map(|(i, _)| i)
        .collect()
}

/// One row of the set-up table: a value of each run, and whether they differ.
#[derive(Clone, Debug, PartialEq)]
pub struct SetupRow {
    pub label: String,
    pub cells: Vec<String>,
    pub differs: bool,
}

/// Strategy, data, account and every parameter any of `runs` has.
pub fn setup_rows(runs: &[Compared]) -> Vec<SetupRow> {
    let row = |label: String, cells: Vec<String>| SetupRow {
        differs: cells.iter().collect::<BTreeSet<_>>().len() > 1,
        label,
        cells,
    };
    let mut rows = vec![
        row(
            "Strategy".into(),
            runs.iter().map(|r| r.info.strategy.clone()).collect(),
        ),
        row(
            "Symbol".into(),
            runs.iter().map(|r| r.info.symbol.clone()).collect(),
        ),
        row(
            "Bars".into(),
            runs.iter().map(|r| r.info.bars.to_string()).collect(),
        ),
        row(
            "Cash".into(),
            runs.iter().map(|r| r.info.cash.to_string()).collect(),
        ),
        row(
            "Commission".into(),
            runs.iter().map(|r| r.info.commission.to_string()).collect(),
        ),
    ];
    let names: BTreeSet<&String> = runs.iter().flat_map(|r| r.info.params.keys()).collect();
    for name in names {
        let cells = runs
            .iter()
            .map(|r| {
                r.info
                    .params
                    .get(name)
                    .map_or("—".to_owned(), f64::to_string)
            })
            .collect();
        rows.push(row(name.clone(), cells));
    }
    rows
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use protocol::api::{RunNotes, RunOutcome};
    use protocol::{EquityPoint, Timestamp};

    fn run(id: &str, params: &[(&str, f64)], equity: &[f64], metrics: Option<Metrics>) -> Compared {
        Compared {
            info: RunInfo {
                backtest_id: id.into(),
                topic: format!("backtest:{id}"),
                strategy: "sma_cross".into(),
                params: params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), *v))
                    .collect::<BTreeMap<_, _>>(),
                symbol: "GOOG".into(),
                bars: 10,
                cash: 10_000.0,
                commission: 0.0,
                created: Timestamp::from_unix_ms(0),
                outcome: RunOutcome::default(),
                notes: RunNotes::default(),
            },
            state: BacktestSnapshot {
                equity: equity
                    .iter()
                    .enumerate()
                    .map(|(i, e)| EquityPoint(Timestamp::from_unix_ms(i as i64 * 1000), *e, 0.0))
                    .collect(),
                metrics,
                ..BacktestSnapshot::default()
            },
        }
    }

    fn metrics(return_pct: f64, max_drawdown_pct: f64, profit_factor: Option<f64>) -> Metrics {
        Metrics {
            return_pct,
            sharpe: 1.0,
            sortino: 1.0,
            max_drawdown_pct,
            win_rate: 50.0,
            profit_factor,
            trades: 3,
            exposure_pct: 40.0,
        }
    }

    #[test]
    fn curves_start_at_100_whatever_the_cash() {
        let small = run("a", &[], &[5_000.0, 6_000.0], None);
        assert_eq!(normalised(&small.state), [(0.0, 100.0), (1000.0, 120.0)]);
        assert!(normalised(&run("b", &[], &[], None).state).is_empty());
    }

    #[test]
    fn the_best_of_each_row_is_marked_and_a_lower_drawdown_is_better() {
        let runs = [
            run("a", &[], &[1.0], Some(metrics(12.0, 8.0, None))),
            run("b", &[], &[1.0], Some(metrics(20.0, 15.0, Some(1.5)))),
            run("c", &[], &[1.0], None),
        ];
        let rows = metric_rows(&runs);
        let row = |label: &str| rows.iter().find(|r| r.label == label).unwrap();
        assert_eq!(row("Return").best, [1]);
        assert_eq!(row("Max drawdown").best, [0]);
        assert_eq!(row("Sharpe").best, [0, 1], "a tie shares the mark");
        assert!(
            row("Profit factor").best.is_empty(),
            "one value is no comparison"
        );
        assert!(row("Trades").best.is_empty(), "a count has no better");
        assert_eq!(
            row("Return").cells[2],
            None,
            "a run without metrics has empty cells"
        );
    }

    #[test]
    fn parameters_that_differ_are_flagged() {
        let runs = [
            run("a", &[("fast", 10.0), ("slow", 20.0)], &[], None),
            run("b", &[("fast", 5.0), ("slow", 20.0)], &[], None),
        ];
        let rows = setup_rows(&runs);
        let row = |label: &str| rows.iter().find(|r| r.label == label).unwrap();
        assert!(row("fast").differs);
        assert!(!row("slow").differs);
        assert!(!row("Strategy").differs);
        assert_eq!(row("fast").cells, ["10", "5"]);
    }
}

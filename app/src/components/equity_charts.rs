//! A backtest run's equity and drawdown curves, side by side.

use leptos::prelude::*;

use super::line_chart::LineChart;
use protocol::{BacktestSnapshot, EquityPoint};

/// Both charts of the run's equity points. Equity arrives in batches; other messages
/// (progress, trades, logs) do not rebuild the charts' points.
#[component]
pub fn EquityCharts(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let equity_changed =
        Memo::new(move |_| state.with(|s| (s.equity.len(), s.equity.last().map(|p| p.0))));
    let series = move |y: fn(&EquityPoint) -> f64| {
        Signal::derive(move || {
            // Read, not only tracked: an unread memo is never computed, so it would
            // not follow `state`.
            let _key = equity_changed.get();
            state.with_untracked(|s| {
                s.equity
                    .iter()
                    .map(|p| (p.0.unix_ms() as f64, y(p)))
                    .collect::<Vec<_>>()
            })
        })
    };
    let equity = series(|p| p.1);
    let drawdown = series(|p| -p.2);
    view! {
        <div class="run-charts">
            <LineChart points=equity colour="#4f9cf9" label="Equity" testid="equity-chart" />
            <LineChart
                points=drawdown
                colour="#ef5350"
                label="Drawdown %"
                testid="drawdown-chart"
                fill=true
            />
        </div>
    }
}

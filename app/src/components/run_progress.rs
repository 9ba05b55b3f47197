//! A backtest run's progress bar: percent done, bars, trades and equity so far; and
//! why the run failed, if it did.

use leptos::prelude::*;

use crate::protocol::{BacktestSnapshot, RunStatus};

/// The bar (its `data-pct` is the whole percent the tests wait for) and the run's error.
#[component]
pub fn RunProgress(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let pct = move || {
        state.with(|s| match s.status {
            RunStatus::Complete => 100.0,
            _ => s.progress.as_ref().map_or(0.0, |p| p.pct),
        })
    };
    let text = move || {
        state.with(|s| match &s.progress {
            Some(p) => format!(
                "{:.0}% · {} / {} bars · {} trades · equity {:.2}",
                pct(),
                p.bars_processed,
                p.total_bars,
                p.trades,
                p.equity
            ),
            None => format!("{:.0}%", pct()),
        })
    };
    let error = move || {
        state.with(|s| s.error.clone()).map(|e| {
            view! { <p class="error">{e.error}{e.details.map(|d| format!(": {d}"))}</p> }
        })
    };
    view! {
        <div
            class="progress"
            data-testid="backtest-progress"
            data-pct=move || format!("{:.0}", pct())
        >
            <div class="progress-bar" style:width=move || format!("{:.1}%", pct())></div>
            <span class="progress-text">{text}</span>
        </div>
        {error}
    }
}

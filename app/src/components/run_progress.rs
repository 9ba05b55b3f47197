//! A backtest run's progress bar: percent done, bars, trades and equity so far, its
//! speed and the time left (from the server's `progress`); and why the run failed, if
//! it did.

use leptos::prelude::*;

use super::format::time_left;
use protocol::{BacktestSnapshot, RunStatus};

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
    let speed = move || {
        state.with(|s| {
            s.progress
                .as_ref()
                .and_then(|p| p.bars_per_sec)
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.0} bars/s"))
        })
    };
    let ended = move || state.with(|s| s.status.is_over());
    // The time left while the run can still go on; "ended" once it did.
    let eta_ms = move || {
        if ended() {
            return None;
        }
        state.with(|s| s.progress.as_ref().and_then(|p| p.eta_ms))
    };
    let eta = move || match (ended(), eta_ms()) {
        (true, _) => "ended".to_owned(),
        (false, Some(ms)) => format!("{} left", time_left(ms)),
        (false, None) => "–".to_owned(),
    };
    let error = move || {
        state.with(|s| s.error.clone()).map(|e| {
            view! {
                <p class="error" role="alert">
                    {e.error}
                    {e.details.map(|d| format!(": {d}"))}
                </p>
            }
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
        <p class="progress-speed muted">
            <span data-testid="backtest-throughput">{speed}</span>
            " · "
            <span
                data-testid="backtest-eta"
                data-eta-ms=move || eta_ms().map(|ms| ms.to_string()).unwrap_or_default()
            >
                {eta}
            </span>
        </p>
        {error}
    }
}

//! A backtest run's equity and drawdown curves, side by side, and on the equity chart
//! the buy-and-hold line: the starting cash held in the asset from the run's first
//! close, without commission (what "did I beat holding?" is measured against).

use leptos::prelude::*;

use super::format::{gain_class, money};
use super::line_chart::LineChart;
use super::run_chart::RunCloses;
use protocol::{BacktestSnapshot, EquityPoint};

/// Both charts of the run's equity points. Equity arrives in batches; other messages
/// (progress, trades, logs) do not rebuild the charts' points. `closes` are the run's
/// first close and the (time, close) of the bars loaded, once they are.
#[component]
pub fn EquityCharts(
    #[prop(into)] state: Signal<BacktestSnapshot>,
    #[prop(optional, into)] closes: Signal<Option<RunCloses>>,
) -> impl IntoView {
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
    let cash = Memo::new(move |_| state.with(|s| s.started.as_ref().and_then(|s| s.cash)));
    // Held up to the run's last equity point (a running run is not shown the future).
    let hold = Memo::new(move |_| {
        let _key = equity_changed.get();
        let until = state.with_untracked(|s| s.equity.last().map(|p| p.0.unix_ms() as f64));
        match (cash.get(), until, closes.get()) {
            (Some(cash), Some(until), Some(closes)) if closes.first > 0.0 => closes
                .points
                .into_iter()
                .take_while(|(t, _)| *t <= until)
                .map(|(t, close)| (t, cash * close / closes.first))
                .collect(),
            _ => Vec::new(),
        }
    });
    let verdict = move || {
        let held = hold.with(|h| h.last().map(|p| p.1))?;
        let ended = equity.with(|e| e.last().map(|p| p.1))?;
        let cash = cash.get()?;
        Some(view! {
            <p class="buy-and-hold" data-testid="buy-and-hold" data-held=held data-equity=ended>
                "Buy and hold: "
                <span class=gain_class(held - cash)>{money(held)}</span>
                " · the strategy: "
                <span class=gain_class(
                    ended - held,
                )>
                    {format!(
                        "{} ({} holding)",
                        money(ended),
                        if ended >= held { "beats" } else { "trails" },
                    )}
                </span>
            </p>
        })
    };
    view! {
        <div class="run-charts">
            <LineChart
                points=equity
                colour="#4f9cf9"
                label="Equity (grey: buy and hold)"
                testid="equity-chart"
                reference=hold
            />
            <LineChart
                points=drawdown
                colour="#ef5350"
                label="Drawdown %"
                testid="drawdown-chart"
                fill=true
            />
        </div>
        {verdict}
    }
}

//! Panels of figures: the stream's own (latency, message rate, mode, last update,
//! reconnections), a backtest run's final metrics and a session's running statistics.
//! The last two are a [`MetricsGrid`] of labelled [`Figure`]s.

use leptos::prelude::*;

use super::format::{money, percent};
use super::status::{tab_role_text, LastMessage};
use crate::stream::StreamClient;
use protocol::{BacktestSnapshot, SessionSnapshot, Topic};

/// The stream's metrics, from the [`StreamClient`] in context, and how long `topic`
/// (the page's stream) has been silent.
#[component]
pub fn MetricsPanel(#[prop(into)] topic: Signal<Option<Topic>>) -> impl IntoView {
    let s = expect_context::<StreamClient>().status;
    let latency = move || {
        s.latency_ms
            .get()
            .map_or("—".to_owned(), |ms| format!("{ms:.0} ms"))
    };
    let last_update = move || {
        s.last_update_ms.get().map_or("—".to_owned(), |ms| {
            protocol::Timestamp::from_unix_ms(ms as i64).clock()
        })
    };
    view! {
        <section class="metrics panel" aria-label="Stream metrics">
            <div>
                <span class="k">"Latency"</span>
                <span class="v" data-testid="metrics-latency">
                    {latency}
                </span>
            </div>
            <div>
                <span class="k">"Rate"</span>
                <span class="v" data-testid="metrics-rate">
                    {move || format!("{:.0} msg/s", s.rate.get())}
                </span>
            </div>
            <div>
                <span class="k">"Mode"</span>
                <span class="v" data-testid="metrics-mode">
                    {move || s.mode.get().as_str()}
                </span>
            </div>
            <div>
                <span class="k">"Last update"</span>
                <span class="v" data-testid="metrics-last-update">
                    {last_update}
                </span>
            </div>
            <div>
                <span class="k">"Tab"</span>
                <span class="v" data-testid="tab-role" data-role=move || s.tab_role.get().as_str()>
                    {move || tab_role_text(s)}
                </span>
            </div>
            <div>
                <span class="k">"Stream"</span>
                <span class="v">
                    <LastMessage topic />
                </span>
            </div>
            <div>
                <span class="k">"Reconnects"</span>
                <span class="v" data-testid="metrics-reconnects">
                    {move || s.reconnects.get()}
                </span>
            </div>
        </section>
    }
}

/// One labelled value of a [`MetricsGrid`].
pub struct Figure {
    pub label: &'static str,
    pub value: String,
    /// The value's `data-testid`, if the tests read it.
    pub testid: Option<&'static str>,
}

impl Figure {
    /// `label`: `value`.
    pub fn new(label: &'static str, value: impl ToString) -> Self {
        Figure {
            label,
            value: value.to_string(),
            testid: None,
        }
    }

    /// The same, with a `data-testid` on the value.
    pub fn testid(self, testid: &'static str) -> Self {
        Figure {
            testid: Some(testid),
            ..self
        }
    }
}

/// Figures as a definition list (`dl.metrics-grid`), label then value.
#[component]
pub fn MetricsGrid(
    figures: Vec<Figure>,
    /// The list's `data-testid`, if the tests look for it.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView {
    view! {
        <dl class="metrics-grid" data-testid=testid>
            {figures
                .into_iter()
                .map(|f| {
                    view! {
                        <dt>{f.label}</dt>
                        <dd data-testid=f.testid>{f.value}</dd>
                    }
                })
                .collect_view()}
        </dl>
    }
}

/// A backtest run's final metrics, once it is complete.
#[component]
pub fn RunMetrics(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    move || {
        state.with(|s| s.complete.clone()).map(|c| {
            let m = c.metrics;
            let figures = vec![
                Figure::new("Final equity", money(c.final_equity)),
                Figure::new("Return", percent(m.return_pct, 2)),
                Figure::new("Sharpe", format!("{:.2}", m.sharpe)),
                Figure::new("Sortino", format!("{:.2}", m.sortino)),
                Figure::new("Max drawdown", percent(m.max_drawdown_pct, 2)),
                Figure::new("Win rate", percent(m.win_rate, 1)),
                Figure::new(
                    "Profit factor",
                    m.profit_factor
                        .map_or("—".to_owned(), |v| format!("{v:.2}")),
                ),
                Figure::new("Trades", m.trades).testid("backtest-trades-count"),
                Figure::new("Exposure", percent(m.exposure_pct, 1)),
                Figure::new("Duration", format!("{} ms", c.duration_ms)),
            ];
            view! { <MetricsGrid figures testid="backtest-metrics" /> }
        })
    }
}

/// A session's running statistics (equity, cash, P&L, return, trades, win rate).
#[component]
pub fn SessionStats(#[prop(into)] state: Signal<SessionSnapshot>) -> impl IntoView {
    let stats = move || {
        state.with(|s| s.stats.clone()).map(|st| {
            let figures = vec![
                Figure::new("Equity", money(st.equity)),
                Figure::new("Cash", money(st.cash)),
                Figure::new("Realized P&L", money(st.realized_pnl)),
                Figure::new("Unrealized P&L", money(st.unrealized_pnl)),
                Figure::new("Return", percent(st.return_pct, 2)),
                Figure::new("Trades", st.trades),
                Figure::new("Win rate", percent(st.win_rate, 1)),
            ];
            view! { <MetricsGrid figures /> }
        })
    };
    view! {
        <div class="panel session-stats" data-testid="session-pnl">
            {stats}
        </div>
    }
}

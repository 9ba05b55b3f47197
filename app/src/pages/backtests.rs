//! The backtests page: a form that starts a run on a server dataset, and every run
//! streaming live — progress, equity and drawdown, trades, logs, final metrics.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::components::form::{
    parse_number, strategy_title, Choice, NumberField, StrategyFields, StrategyInput,
};
use crate::components::line_chart::LineChart;
use crate::protocol::{BacktestSnapshot, EquityPoint, RunStatus, Topic, TopicKind};
use crate::stream::use_topic_state;

/// Rows shown in the trades table and the log panel (the most recent).
const RECENT_ROWS: usize = 50;

/// `POST /api/backtests`.
#[derive(Serialize)]
struct StartRequest {
    dataset: String,
    strategy: String,
    params: std::collections::BTreeMap<String, f64>,
    cash: f64,
    commission: f64,
}

/// A run as `POST /api/backtests` answers and `GET /api/backtests` lists it.
#[derive(Clone, Deserialize)]
struct RunRef {
    backtest_id: String,
}

#[component]
pub fn BacktestsPage() -> impl IntoView {
    let runs = RwSignal::new(Vec::<String>::new());
    let datasets = RwSignal::new(Vec::<String>::new());
    let dataset = RwSignal::new(String::new());
    let strategy = StrategyInput::new("sma_cross", &[]);
    let cash = RwSignal::new("10000".to_owned());
    let commission = RwSignal::new("0.001".to_owned());
    let error = RwSignal::new(None::<String>);

    api::spawn(async move {
        match api::get::<Vec<String>>("/api/datasets").await {
            Ok(list) => {
                if dataset.get_untracked().is_empty() {
                    let pick = list.iter().find(|d| *d == "GOOG").or(list.first());
                    dataset.set(pick.cloned().unwrap_or_default());
                }
                datasets.set(list);
            }
            Err(e) => error.set(Some(format!("could not list datasets: {e}"))),
        }
        if let Ok(list) = api::get::<Vec<RunRef>>("/api/backtests").await {
            runs.update(|r| {
                for run in list.into_iter().rev() {
                    if !r.contains(&run.backtest_id) {
                        r.push(run.backtest_id);
                    }
                }
            });
        }
    });

    let request = move || -> Result<StartRequest, String> {
        Ok(StartRequest {
            dataset: dataset.get_untracked(),
            strategy: strategy.strategy.get_untracked(),
            params: strategy.params()?,
            cash: parse_number("cash", &cash.get_untracked())?,
            commission: parse_number("commission", &commission.get_untracked())?,
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = match request() {
            Ok(body) => body,
            Err(e) => return error.set(Some(e)),
        };
        error.set(None);
        api::spawn(async move {
            match api::post::<RunRef>("/api/backtests", &body).await {
                Ok(run) => runs.update(|r| r.insert(0, run.backtest_id)),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <section class="backtests">
            <form class="panel backtest-form" on:submit=submit>
                <h2>"New backtest"</h2>
                <Choice label="Dataset" name="dataset" value=dataset options=datasets/>
                <StrategyFields input=strategy/>
                <NumberField label="Cash" name="cash" value=cash/>
                <NumberField label="Commission" name="commission" value=commission/>
                <button type="submit" data-testid="backtest-start">"Start"</button>
                {move || error.get().map(|e| view! { <p class="error" data-testid="backtest-error">{e}</p> })}
            </form>
            <div class="runs">
                {move || runs.with(Vec::is_empty).then(|| view! { <p class="muted">"No backtests yet: start one with the form."</p> })}
                <For each=move || runs.get() key=|id| id.clone() let:id>
                    <BacktestRun id/>
                </For>
            </div>
        </section>
    }
    .into_any()
}

/// One run, following `backtest:{id}`.
#[component]
fn BacktestRun(id: String) -> impl IntoView {
    let topic = Topic::new(TopicKind::Backtest, &id).ok();
    let state = use_topic_state::<BacktestSnapshot>(Signal::derive(move || topic.clone()));

    let status = move || state.with(|s| s.status);
    let pct = move || {
        state.with(|s| match s.status {
            RunStatus::Complete => 100.0,
            _ => s.progress.as_ref().map_or(0.0, |p| p.pct),
        })
    };
    // Equity arrives in batches; other messages (progress, trades, logs) must not
    // rebuild the charts' points, so they follow this key, not the whole state.
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
    let title = move || {
        state.with(|s| {
            s.started.as_ref().map_or("starting…".to_owned(), |st| {
                strategy_title(
                    &st.strategy,
                    &st.params,
                    &st.symbol,
                    format_args!("{} bars", st.total_bars),
                )
            })
        })
    };
    let control_id = id.clone();
    let control = move |action: &'static str| {
        let url = format!("/api/backtests/{control_id}/{action}");
        api::spawn(async move {
            let _ = api::post::<serde_json::Value>(&url, &serde_json::json!({})).await;
        });
    };
    let running = move || matches!(status(), RunStatus::Running | RunStatus::Pending);

    view! {
        <article class="panel run" data-testid="backtest-run" data-backtest-id=id.clone() data-status=move || format!("{:?}", status()).to_lowercase()>
            <header>
                <h3>{title}</h3>
                <span class="run-status">{move || format!("{:?}", status()).to_lowercase()}</span>
                <span class="controls">
                    {
                        let control = control.clone();
                        move || running().then(|| { let control = control.clone(); view! { <button data-testid="backtest-pause" on:click=move |_| control("pause")>"Pause"</button> } })
                    }
                    {
                        let control = control.clone();
                        move || (status() == RunStatus::Paused).then(|| { let control = control.clone(); view! { <button data-testid="backtest-resume" on:click=move |_| control("resume")>"Resume"</button> } })
                    }
                    {
                        let control = control.clone();
                        move || (running() || status() == RunStatus::Paused).then(|| { let control = control.clone(); view! { <button data-testid="backtest-cancel" on:click=move |_| control("cancel")>"Cancel"</button> } })
                    }
                </span>
            </header>
            <div class="progress" data-testid="backtest-progress" data-pct=move || format!("{:.0}", pct())>
                <div class="progress-bar" style:width=move || format!("{:.1}%", pct())></div>
                <span class="progress-text">{move || state.with(|s| match &s.progress {
                    Some(p) => format!("{:.0}% · {} / {} bars · {} trades · equity {:.2}", pct(), p.bars_processed, p.total_bars, p.trades, p.equity),
                    None => format!("{:.0}%", pct()),
                })}</span>
            </div>
            {move || state.with(|s| s.error.clone()).map(|e| view! { <p class="error">{e.error}{e.details.map(|d| format!(": {d}"))}</p> })}
            <div class="run-charts">
                <LineChart points=equity colour="#4f9cf9" label="Equity" testid="equity-chart"/>
                <LineChart points=drawdown colour="#ef5350" label="Drawdown %" testid="drawdown-chart" fill=true/>
            </div>
            {move || state.with(|s| s.complete.clone().map(|c| (c, s.metrics.clone()))).map(|(c, _)| {
                let m = c.metrics;
                let pf = m.profit_factor.map_or("—".to_owned(), |v| format!("{v:.2}"));
                view! {
                    <dl class="metrics-grid" data-testid="backtest-metrics">
                        <dt>"Final equity"</dt><dd>{format!("{:.2}", c.final_equity)}</dd>
                        <dt>"Return"</dt><dd>{format!("{:.2}%", m.return_pct)}</dd>
                        <dt>"Sharpe"</dt><dd>{format!("{:.2}", m.sharpe)}</dd>
                        <dt>"Sortino"</dt><dd>{format!("{:.2}", m.sortino)}</dd>
                        <dt>"Max drawdown"</dt><dd>{format!("{:.2}%", m.max_drawdown_pct)}</dd>
                        <dt>"Win rate"</dt><dd>{format!("{:.1}%", m.win_rate)}</dd>
                        <dt>"Profit factor"</dt><dd>{pf}</dd>
                        <dt>"Trades"</dt><dd data-testid="backtest-trades-count">{m.trades}</dd>
                        <dt>"Exposure"</dt><dd>{format!("{:.1}%", m.exposure_pct)}</dd>
                        <dt>"Duration"</dt><dd>{format!("{} ms", c.duration_ms)}</dd>
                    </dl>
                }
            })}
            <details class="run-trades" open>
                <summary>{move || format!("Trades ({})", state.with(|s| s.trades.len()))}</summary>
                <table>
                    <thead><tr><th>"#"</th><th>"Time"</th><th>"Side"</th><th>"Action"</th><th>"Price"</th><th>"Size"</th><th>"P&L"</th><th>"Reason"</th></tr></thead>
                    <tbody>
                        {move || state.with(|s| s.trades.iter().rev().take(RECENT_ROWS).map(|t| view! {
                            <tr>
                                <td>{t.id}</td>
                                <td>{t.time.to_string()}</td>
                                <td>{format!("{:?}", t.side).to_lowercase()}</td>
                                <td>{format!("{:?}", t.action).to_lowercase()}</td>
                                <td>{format!("{:.4}", t.price)}</td>
                                <td>{t.size}</td>
                                <td class=t.pnl.map_or("", |p| if p < 0.0 { "down" } else { "up" })>{t.pnl.map_or(String::new(), |p| format!("{p:.2}"))}</td>
                                <td>{t.reason.clone()}</td>
                            </tr>
                        }).collect_view())}
                    </tbody>
                </table>
            </details>
            <details class="run-logs">
                <summary>{move || format!("Log ({})", state.with(|s| s.logs.len()))}</summary>
                <ol class="log">
                    {move || state.with(|s| s.logs.iter().rev().take(RECENT_ROWS).map(|l| view! {
                        <li class=format!("log-{:?}", l.level).to_lowercase()>
                            <span class="log-level">{format!("{:?}", l.level).to_lowercase()}</span>
                            {l.bar.map(|b| view! { <span class="log-bar">{format!("bar {b}")}</span> })}
                            <span class="log-message">{l.message.clone()}</span>
                        </li>
                    }).collect_view())}
                </ol>
            </details>
        </article>
    }
    .into_any()
}

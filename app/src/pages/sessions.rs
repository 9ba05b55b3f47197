//! Paper-trading sessions: start one on a live symbol, list them, and watch one — its
//! countdown to the next bar, reasoning as it streams, decisions, positions and P&L.
//! Every tab that opens a session shows the same state (the topic's snapshot, then the
//! same messages).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::components::form::{
    parse_number, strategy_title, Choice, NumberField, StrategyFields, StrategyInput,
};
use crate::protocol::{SessionSnapshot, SymbolInfo, Topic, TopicKind};
use crate::stream::use_topic_state;

/// Decisions shown (the most recent).
const RECENT_DECISIONS: usize = 20;

/// `POST /api/sessions`.
#[derive(Serialize)]
struct StartRequest {
    symbol: String,
    strategy: String,
    params: std::collections::BTreeMap<String, f64>,
    cash: f64,
}

/// A session as `GET /api/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
struct SessionRef {
    session_id: String,
    symbol: String,
    strategy: String,
    running: bool,
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let sessions = RwSignal::new(Vec::<SessionRef>::new());
    let symbols = RwSignal::new(Vec::<String>::new());
    let symbol = RwSignal::new(String::new());
    // Shorter averages than a backtest's: a live session should act within minutes.
    let strategy = StrategyInput::new("sma_cross", &[("fast", "3"), ("slow", "8")]);
    let cash = RwSignal::new("100000".to_owned());
    let error = RwSignal::new(None::<String>);
    let navigate = leptos_router::hooks::use_navigate();

    api::spawn(async move {
        match api::get::<Vec<SymbolInfo>>("/api/market/symbols").await {
            Ok(list) => {
                let names: Vec<String> = list.iter().map(|s| s.symbol.to_string()).collect();
                if symbol.get_untracked().is_empty() {
                    symbol.set(names.first().cloned().unwrap_or_default());
                }
                symbols.set(names);
            }
            Err(e) => error.set(Some(format!("could not load symbols: {e}"))),
        }
        match api::get::<Vec<SessionRef>>("/api/sessions").await {
            Ok(list) => sessions.set(list),
            Err(e) => error.set(Some(format!("could not list sessions: {e}"))),
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = (|| -> Result<StartRequest, String> {
            Ok(StartRequest {
                symbol: symbol.get_untracked(),
                strategy: strategy.strategy.get_untracked(),
                params: strategy.params()?,
                cash: parse_number("cash", &cash.get_untracked())?,
            })
        })();
        let body = match body {
            Ok(body) => body,
            Err(e) => return error.set(Some(e)),
        };
        error.set(None);
        let navigate = navigate.clone();
        api::spawn(async move {
            match api::post::<SessionRef>("/api/sessions", &body).await {
                Ok(s) => {
                    navigate(&format!("/sessions/{}", s.session_id), Default::default());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <section class="sessions">
            <form class="panel session-form" on:submit=submit>
                <h2>"New paper-trading session"</h2>
                <Choice label="Symbol" name="symbol" value=symbol options=symbols/>
                <StrategyFields input=strategy/>
                <NumberField label="Cash" name="cash" value=cash/>
                <button type="submit" data-testid="session-start">"Start session"</button>
                {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
            </form>
            <div class="panel">
                <h2>"Sessions"</h2>
                {move || sessions.with(Vec::is_empty).then(|| view! { <p class="muted">"None yet."</p> })}
                <ul class="session-list">
                    <For each=move || sessions.get() key=|s| s.session_id.clone() let:s>
                        <li>
                            <a href=format!("/sessions/{}", s.session_id)>{s.session_id.clone()}</a>
                            {format!(" {} on {} · {}", s.strategy, s.symbol, if s.running { "running" } else { "stopped" })}
                        </li>
                    </For>
                </ul>
            </div>
        </section>
    }
    .into_any()
}

/// One session, following `session:{id}`.
#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let topic = Signal::derive(move || Topic::new(TopicKind::Session, &id()).ok());
    let state = use_topic_state::<SessionSnapshot>(topic);
    let stop_error = RwSignal::new(None::<String>);
    let stop = move |_| {
        let url = format!("/api/sessions/{}", id());
        api::spawn(async move {
            if let Err(e) = api::delete::<serde_json::Value>(&url).await {
                stop_error.set(Some(e));
            }
        });
    };
    let title = move || {
        state.with(|s| match &s.initialized {
            Some(i) => strategy_title(
                &i.strategy,
                &i.params,
                &i.symbol,
                format_args!("{} bars", i.interval),
            ),
            None => "waiting for the session…".to_owned(),
        })
    };
    let money = |v: f64| format!("{v:.2}");

    view! {
        <section class="session" data-testid="session-view" data-session-id=id>
            <header class="panel session-head">
                <h2>{move || format!("Session {}", id())}</h2>
                <p>{title}</p>
                <p class="countdown" data-testid="session-countdown">{move || state.with(|s| match (&s.completed, &s.countdown) {
                    (Some(c), _) => format!("Ended: {} (final equity {:.2})", c.reason, c.final_equity),
                    (None, Some(c)) => format!("Next bar in {} s", c.seconds_to_next_bar),
                    (None, None) => "Waiting for the open candle…".to_owned(),
                })}</p>
                {move || state.with(|s| s.completed.is_none()).then(|| view! { <button on:click=stop>"Stop session"</button> })}
                {move || stop_error.get().map(|e| view! { <p class="error">{e}</p> })}
            </header>
            <div class="panel session-stats" data-testid="session-pnl">
                {move || state.with(|s| s.stats.clone()).map(|st| view! {
                    <dl class="metrics-grid">
                        <dt>"Equity"</dt><dd>{money(st.equity)}</dd>
                        <dt>"Cash"</dt><dd>{money(st.cash)}</dd>
                        <dt>"Realized P&L"</dt><dd>{money(st.realized_pnl)}</dd>
                        <dt>"Unrealized P&L"</dt><dd>{money(st.unrealized_pnl)}</dd>
                        <dt>"Return"</dt><dd>{format!("{:.2}%", st.return_pct)}</dd>
                        <dt>"Trades"</dt><dd>{st.trades}</dd>
                        <dt>"Win rate"</dt><dd>{format!("{:.1}%", st.win_rate)}</dd>
                    </dl>
                })}
            </div>
            <div class="panel">
                <h3>"Open positions"</h3>
                <table data-testid="session-positions">
                    <thead><tr><th>"#"</th><th>"Side"</th><th>"Qty"</th><th>"Entry"</th><th>"Last"</th><th>"Unrealized"</th></tr></thead>
                    <tbody>
                        {move || state.with(|s| s.open_positions.iter().map(|p| view! {
                            <tr data-position-id=p.opened.position_id data-side=format!("{:?}", p.opened.side).to_lowercase() data-qty=p.opened.qty data-entry=p.opened.entry_price>
                                <td>{p.opened.position_id}</td>
                                <td>{format!("{:?}", p.opened.side).to_lowercase()}</td>
                                <td>{p.opened.qty}</td>
                                <td>{format!("{:.4}", p.opened.entry_price)}</td>
                                <td>{format!("{:.4}", p.last_price)}</td>
                                <td class=if p.unrealized_pnl < 0.0 { "down" } else { "up" }>{money(p.unrealized_pnl)}</td>
                            </tr>
                        }).collect_view())}
                    </tbody>
                </table>
                <h3>"Closed positions"</h3>
                <table data-testid="session-closed">
                    <thead><tr><th>"#"</th><th>"Exit"</th><th>"P&L"</th><th>"Return"</th><th>"Reason"</th></tr></thead>
                    <tbody>
                        {move || state.with(|s| s.closed_positions.iter().rev().map(|p| view! {
                            <tr data-position-id=p.position_id>
                                <td>{p.position_id}</td>
                                <td>{format!("{:.4}", p.exit_price)}</td>
                                <td class=if p.pnl < 0.0 { "down" } else { "up" }>{money(p.pnl)}</td>
                                <td>{format!("{:.2}%", p.return_pct)}</td>
                                <td>{p.reason.clone()}</td>
                            </tr>
                        }).collect_view())}
                    </tbody>
                </table>
            </div>
            <div class="panel reasoning">
                <h3>"Reasoning"</h3>
                <p class="thinking" data-testid="session-thinking">{move || state.with(|s| s.thinking.iter().map(|t| t.chunk.as_str()).collect::<Vec<_>>().join(" "))}</p>
                <ol class="decisions" data-testid="session-decisions">
                    {move || state.with(|s| s.decisions.iter().rev().take(RECENT_DECISIONS).map(|d| view! {
                        <li>
                            <span class=format!("decision decision-{:?}", d.action).to_lowercase()>{format!("{:?}", d.action).to_uppercase()}</span>
                            <span class="decision-time">{d.bar_time.clock()}</span>
                            " "{d.reasoning.clone()}
                        </li>
                    }).collect_view())}
                </ol>
            </div>
        </section>
    }
    .into_any()
}

//! Paper-trading sessions: start one on a live symbol, list every kept one (the
//! history, as for backtests), and watch one — its
//! countdown to the next bar, reasoning as it streams, decisions, positions and P&L.
//! Every tab that opens a session shows the same state (the topic's snapshot, then the
//! same messages).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::form::{
    parse_number, Choice, ErrorLine, NumberField, StrategyFields, StrategyInput,
};
use crate::components::replay::RecordReplay;
use crate::components::run_history::SessionHistory;
use crate::components::session_body::SessionBody;
use crate::components::session_header::SessionHeader;
use crate::components::sessions_overview::SessionsOverview;
use crate::components::status::LastMessage;
use crate::components::sync_view::SyncAny;
use crate::stream::{use_topic_state, Display};
use protocol::api::{SessionInfo, SessionRequest};
use protocol::{SessionSnapshot, SymbolInfo, Topic, TopicKind};

#[component]
pub fn SessionsPage() -> impl IntoView {
    let symbols = RwSignal::new(Vec::<String>::new());
    let symbol = RwSignal::new(String::new());
    // Shorter averages than a backtest's: a live session should act within minutes.
    let strategy = StrategyInput::new("sma_cross", &[("fast", "3"), ("slow", "8")]).with_external();
    let cash = RwSignal::new("100000".to_owned());
    let error = RwSignal::new(None::<String>);
    let navigate = leptos_router::hooks::use_navigate();
    let open_session = navigate.clone();

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
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = (|| -> Result<SessionRequest, String> {
            Ok(SessionRequest {
                symbol: symbol.get_untracked(),
                strategy: strategy.strategy.get_untracked(),
                params: strategy.params()?,
                cash: Some(parse_number("cash", &cash.get_untracked())?),
                commission: None,
                id: None,
            })
        })();
        let navigate = navigate.clone();
        api::submit("/api/sessions", body, error, move |s: SessionInfo| {
            navigate(&format!("/sessions/{}", s.session_id), Default::default());
        });
    };

    view! {
        <section class="sessions">
            <form class="panel session-form" on:submit=submit>
                <h2>"New paper-trading session"</h2>
                <Choice label="Symbol" name="symbol" value=symbol options=symbols />
                <StrategyFields input=strategy />
                <NumberField label="Cash" name="cash" value=cash />
                <button type="submit" data-testid="session-start">
                    "Start session"
                </button>
                <ErrorLine error=error />
            </form>
            <SessionsOverview />
            <SessionHistory open=move |id: String| {
                open_session(&format!("/sessions/{id}"), Default::default());
            } />
        </section>
    }
    .into_sync_any()
}

/// One session, following `session:{id}`.
#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.with(|p| p.get("id").unwrap_or_default()));
    let topic = Signal::derive(move || Topic::new(TopicKind::Session, &id.get()).ok());
    let state = use_topic_state::<SessionSnapshot>(topic, Display::Focus);
    view! {
        <section class="session" data-testid="session-view" data-session-id=move || id.get()>
            <SessionHeader id state />
            <LastMessage topic />
            <SessionBody state />
            <RecordReplay
                topic
                finished=Signal::derive(move || state.with(|s| s.completed.is_some()))
            />
        </section>
    }
    .into_sync_any()
}

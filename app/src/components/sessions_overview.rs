//! Every running session at a glance (`sessions-overview`): its P&L, open positions,
//! state and the time to its next bar, live from each session's topic, and a link to
//! its page.

use leptos::prelude::*;

use super::form::ErrorLine;
use super::format::{gain_class, money, percent, wire_name};
use super::sync_view::SyncAny;
use crate::api;
use crate::stream::{use_topic_state, Display};
use protocol::api::SessionInfo;
use protocol::{SessionSnapshot, Topic, TopicKind};

/// Sessions followed at once (the newest running ones).
const MOST: usize = 20;

#[component]
pub fn SessionsOverview() -> impl IntoView {
    let running = RwSignal::new(None::<Vec<SessionInfo>>);
    let error = RwSignal::new(None::<String>);
    api::spawn(async move {
        let path = format!("/api/sessions?status=running&limit={MOST}");
        match api::get::<Vec<SessionInfo>>(&path).await {
            Ok(list) => running.set(Some(list)),
            Err(e) => error.set(Some(format!("could not list the running sessions: {e}"))),
        }
    });
    let rows = move || {
        running.get().map(|list| {
            if list.is_empty() {
                return view! {
                    <tr>
                        <td colspan="7" class="muted">
                            "No session is running."
                        </td>
                    </tr>
                }
                .into_sync_any();
            }
            list.into_iter()
                .map(|info| view! { <OverviewRow info /> })
                .collect_view()
                .into_sync_any()
        })
    };
    view! {
        <section class="panel sessions-overview" data-testid="sessions-overview">
            <h2>"Running sessions"</h2>
            <ErrorLine error />
            <table>
                <thead>
                    <tr>
                        <th>"Session"</th>
                        <th>"Symbol"</th>
                        <th>"State"</th>
                        <th>"P&L"</th>
                        <th>"Return"</th>
                        <th>"Open positions"</th>
                        <th>"Next bar"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// One running session, following its topic.
#[component]
fn OverviewRow(info: SessionInfo) -> impl IntoView {
    let topic = Topic::new(TopicKind::Session, &info.session_id).ok();
    let state =
        use_topic_state::<SessionSnapshot>(Signal::derive(move || topic.clone()), Display::Glance);
    let cash = info.cash;
    let pnl = move || state.with(|s| s.stats.as_ref().map(|st| st.equity - cash));
    let status = move || {
        state.with(|s| match (&s.completed, s.paused) {
            (Some(_), _) => "ended",
            (None, true) => "paused",
            (None, false) => "running",
        })
    };
    let id = info.session_id.clone();
    view! {
        <tr data-session-id=id data-state=status>
            <td>
                <a href=format!("/sessions/{id}")>{id.clone()}</a>
            </td>
            <td>{info.symbol}</td>
            <td>{status}</td>
            <td
                class=move || pnl().map_or("", gain_class)
                data-pnl=move || pnl().map(|p| format!("{p:.2}"))
            >
                {move || pnl().map_or("—".to_owned(), money)}
            </td>
            <td>
                {move || {
                    state
                        .with(|s| {
                            s.stats
                                .as_ref()
                                .map_or("—".to_owned(), |st| percent(st.return_pct, 2))
                        })
                }}
            </td>
            <td data-open=move || {
                state.with(|s| s.open_positions.len())
            }>
                {move || {
                    state
                        .with(|s| {
                            s.open_positions
                                .iter()
                                .map(|p| format!("{} {}", wire_name(p.opened.side), p.opened.qty))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                }}
            </td>
            <td>
                {move || {
                    state
                        .with(|s| {
                            s.countdown
                                .as_ref()
                                .map_or(
                                    "—".to_owned(),
                                    |c| format!("{} s", c.seconds_to_next_bar),
                                )
                        })
                }}
            </td>
        </tr>
    }
}

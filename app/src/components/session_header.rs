//! A session's header: what it trades, the countdown to the next bar (or how it
//! ended), and the button that stops it on the server.

use leptos::prelude::*;

use super::asked::{ask, Asked, AskedLine};
use super::form::strategy_title;
use protocol::SessionSnapshot;

/// Title, countdown and the stop button of session `id`.
#[component]
pub fn SessionHeader(
    #[prop(into)] id: Signal<String>,
    #[prop(into)] state: Signal<SessionSnapshot>,
) -> impl IntoView {
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
    let countdown = move || {
        state.with(|s| match (&s.completed, &s.countdown) {
            (Some(c), _) => format!("Ended: {} (final equity {:.2})", c.reason, c.final_equity),
            (None, Some(c)) => format!("Next bar in {} s", c.seconds_to_next_bar),
            (None, None) => "Waiting for the open candle…".to_owned(),
        })
    };
    let asked = RwSignal::new(Asked::Idle);
    let stop = move |_| {
        ask(
            format!("/api/sessions/{}/stop", id.get_untracked()),
            "Stop",
            asked,
        );
    };
    view! {
        <header class="panel session-head">
            <h2>{move || format!("Session {}", id.get())}</h2>
            <p>{title}</p>
            <p class="countdown" data-testid="session-countdown">
                {countdown}
            </p>
            {move || {
                state
                    .with(|s| s.completed.is_none())
                    .then(|| {
                        view! {
                            <button
                                data-testid="session-stop"
                                disabled=move || asked.with(Asked::is_pending)
                                on:click=stop
                            >
                                "Stop session"
                            </button>
                        }
                    })
            }}
            <AskedLine asked />
        </header>
    }
}

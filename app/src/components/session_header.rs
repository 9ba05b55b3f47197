//! A session's header: what it trades, the countdown to the next bar (or how it
//! ended), orders placed by hand (`force-entry`, `force-exit`) and the button that stops
//! it on the server.

use leptos::prelude::*;

use super::asked::{ask, ask_with, Asked, AskedLine};
use super::form::strategy_title;
use protocol::{DecisionAction, ManualOrder, SessionSnapshot, Side};

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
    // Buy, sell short or close by hand, at the next print.
    let order = move |action: DecisionAction, what: &'static str| {
        ask_with(
            format!("/api/sessions/{}/manual", id.get_untracked()),
            ManualOrder { action },
            what,
            asked,
        );
    };
    let held = move || state.with(|s| s.open_positions.last().map(|p| p.opened.side));
    let manual = move || {
        state.with(|s| s.completed.is_none()).then(|| {
            view! {
                <div
                    class="manual"
                    role="group"
                    aria-label="Orders by hand, filled at the next print"
                >
                    <button
                        data-testid="force-entry"
                        data-side="long"
                        disabled=move || asked.with(Asked::is_pending) || held() == Some(Side::Long)
                        on:click=move |_| order(DecisionAction::Buy, "Buy")
                    >
                        "Buy"
                    </button>
                    <button
                        data-testid="force-entry"
                        data-side="short"
                        disabled=move || {
                            asked.with(Asked::is_pending) || held() == Some(Side::Short)
                        }
                        on:click=move |_| order(DecisionAction::Sell, "Sell short")
                    >
                        "Sell short"
                    </button>
                    <button
                        data-testid="force-exit"
                        disabled=move || asked.with(Asked::is_pending) || held().is_none()
                        on:click=move |_| order(DecisionAction::Close, "Close position")
                    >
                        "Close position"
                    </button>
                </div>
            }
        })
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
            {manual}
            <AskedLine asked />
        </header>
    }
}

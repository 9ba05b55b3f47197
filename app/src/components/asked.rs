//! What became of a control a user clicked (pause, resume, cancel, stop, an order by
//! hand): sent and
//! waiting, done, or refused with the server's reason — never a click that does nothing
//! visible when the server is away.

use leptos::prelude::*;

use serde::Serialize;

use crate::api;

/// Where the last control asked of the server stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asked {
    Idle,
    Pending(&'static str),
    Done(&'static str),
    Refused(&'static str, String),
}

impl Asked {
    /// Whether a control is on its way (the buttons wait for it).
    pub fn is_pending(&self) -> bool {
        matches!(self, Asked::Pending(_))
    }
}

/// Posts the command at `url` (`what` names it to the user) and follows its answer in
/// `asked`.
pub fn ask(url: String, what: &'static str, asked: RwSignal<Asked>) {
    follow(what, asked, async move { api::command(&url).await });
}

/// Posts `body` to `url`, followed the same way.
pub fn ask_with<B: Serialize + 'static>(
    url: String,
    body: B,
    what: &'static str,
    asked: RwSignal<Asked>,
) {
    follow(what, asked, async move {
        api::post::<serde_json::Value>(&url, &body)
            .await
            .map(|_| ())
    });
}

fn follow(
    what: &'static str,
    asked: RwSignal<Asked>,
    request: impl std::future::Future<Output = Result<(), String>> + 'static,
) {
    asked.set(Asked::Pending(what));
    api::spawn(async move {
        match request.await {
            Ok(()) => asked.set(Asked::Done(what)),
            Err(e) => asked.set(Asked::Refused(what, e)),
        }
    });
}

/// The line that says what became of the last control (`control-state`, `data-state`
/// `pending`, `done` or `refused`).
#[component]
pub fn AskedLine(asked: RwSignal<Asked>) -> impl IntoView {
    move || {
        let (state, text, role) = match asked.get() {
            Asked::Idle => return None,
            Asked::Pending(what) => (
                "pending",
                format!("{what}: sent, waiting for the server…"),
                "status",
            ),
            Asked::Done(what) => ("done", format!("{what}: done"), "status"),
            Asked::Refused(what, why) => ("refused", format!("{what} refused: {why}"), "alert"),
        };
        Some(view! {
            <p
                class=format!("asked {state}")
                data-testid="control-state"
                data-state=state
                role=role
            >
                {text}
            </p>
        })
    }
}

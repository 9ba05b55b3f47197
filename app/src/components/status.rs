//! The connection status dot in the header: green connected, yellow reconnecting or
//! stale (a stream that should move is silent), red polling or disconnected; its tooltip
//! tells state, endpoint, attempts, last error, latency and the stale streams, and a
//! counter shows reconnections so far. [`LastMessage`] tells one stream's silence.

use leptos::prelude::*;

use crate::stream::{StreamClient, StreamStatus, TabRole};
use protocol::Topic;

#[component]
pub fn StatusIndicator() -> impl IntoView {
    let s = expect_context::<StreamClient>().status;
    let name = move || s.state.get().as_str();
    let label = move || match (s.state.get().as_str(), s.reconnects.get()) {
        ("reconnecting", 0) => "connecting",
        (name, _) => name,
    };
    let title = move || {
        let mut lines = vec![
            format!("State: {}", s.state.get().as_str()),
            format!("Endpoint: {}", s.endpoint.get()),
            format!(
                "Attempts: {} failed in a row, {} reconnections",
                s.failures.get(),
                s.reconnects.get()
            ),
        ];
        if let Some(ms) = s.latency_ms.get() {
            lines.push(format!("Latency: {ms:.0} ms"));
        }
        if let Some(e) = s.last_error.get() {
            lines.push(format!("Last error: {e}"));
        }
        lines.push(format!("Tab: {}", tab_role_text(s)));
        s.streams.with(|streams| {
            for stream in streams.iter().filter(|s| s.stale) {
                let silent = stream.silent_secs.unwrap_or_default();
                lines.push(format!("Stale: {} silent for {silent} s", stream.topic));
            }
        });
        lines.join("\n")
    };
    view! {
        <span
            class="status"
            data-testid="connection-status"
            data-state=name
            data-reconnects=move || s.reconnects.get()
            title=title
        >
            <span class=move || format!("dot dot-{}", s.state.get().colour())></span>
            // Announced to screen readers as it changes.
            <span class="status-label" role="status" aria-live="polite">
                {label}
            </span>
            <span class="status-reconnects" title="reconnections">
                {move || format!("↻{}", s.reconnects.get())}
            </span>
        </span>
    }
}

/// What this tab does about the one socket all tabs share.
pub fn tab_role_text(s: StreamStatus) -> String {
    match s.tab_role.get() {
        TabRole::Alone => "has its own socket".to_owned(),
        TabRole::Leader => match s.tab_followers.get() {
            0 => "leads (no other tab yet)".to_owned(),
            1 => "leads, for 1 other tab".to_owned(),
            n => format!("leads, for {n} other tabs"),
        },
        TabRole::Follower => "follows the leading tab's socket".to_owned(),
    }
}

/// "last message N s ago" for `topic`'s stream, refreshed once a second;
/// `data-stale` when the header calls it stale.
#[component]
pub fn LastMessage(#[prop(into)] topic: Signal<Option<Topic>>) -> impl IntoView {
    let s = expect_context::<StreamClient>().status;
    let age = Memo::new(move |_| {
        let topic = topic.get()?;
        s.streams
            .with(|streams| streams.iter().find(|a| a.topic == topic).cloned())
    });
    let text = move || match age.get().and_then(|a| a.silent_secs) {
        Some(secs) => format!("last message {secs} s ago"),
        None => "no message yet".to_owned(),
    };
    view! {
        <span
            class="stream-age"
            data-testid="stream-age"
            data-topic=move || topic.get().map(|t| t.to_string())
            data-stale=move || age.get().is_some_and(|a| a.stale).to_string()
        >
            {text}
        </span>
    }
}

/// The real-time switch: on streams over the WebSocket, off polls over HTTP.
#[component]
pub fn RealtimeToggle() -> impl IntoView {
    let client = expect_context::<StreamClient>();
    view! {
        <label class="toggle">
            <input
                type="checkbox"
                data-testid="realtime-toggle"
                prop:checked=move || client.status.realtime.get()
                on:change=move |ev| client.set_realtime(event_target_checked(&ev))
            />
            " Real-time"
        </label>
    }
}

/// After a deploy: the server runs another build than this page was compiled from, so
/// its frames may not read as this page expects. Offers a reload instead of guessing.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let s = expect_context::<StreamClient>().status;
    let outdated = move || {
        s.server_build
            .get()
            .is_some_and(|build| build != protocol::BUILD_ID)
    };
    let reload = move |_| {
        #[cfg(feature = "hydrate")]
        let _ = window().location().reload();
    };
    view! {
        <Show when=outdated>
            <div class="update-banner" role="alert" data-testid="update-banner">
                "A newer version of tickwire is running on the server. "
                <button type="button" on:click=reload>
                    "Reload"
                </button>
            </div>
        </Show>
    }
}

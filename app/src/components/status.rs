//! The connection status dot in the header: green connected, yellow reconnecting, red
//! polling or disconnected; its tooltip tells state, endpoint, attempts, last error and
//! latency, and a counter shows reconnections so far.

use leptos::prelude::*;

use crate::stream::StreamClient;

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
            .is_some_and(|build| build != crate::BUILD_ID)
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

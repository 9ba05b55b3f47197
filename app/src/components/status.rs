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
            <span class="status-label">{label}</span>
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

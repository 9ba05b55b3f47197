//! The connection status dot: green connected, yellow connecting, red disconnected.

use leptos::prelude::*;

use crate::stream::ConnectionState;

/// A dot and a word for a stream's state, with the last error as its tooltip.
#[component]
pub fn StatusDot(
    state: Signal<ConnectionState>,
    last_error: Signal<Option<String>>,
) -> impl IntoView {
    let name = move || state.get().as_str();
    let title = move || match last_error.get() {
        Some(e) => format!("{}: {e}", state.get().as_str()),
        None => state.get().as_str().to_owned(),
    };
    view! {
        <span class="status" data-testid="connection-status" data-state=name title=title>
            <span class=move || format!("dot dot-{}", name())></span>
            <span class="status-label">{name}</span>
        </span>
    }
}

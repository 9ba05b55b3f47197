//! The metrics panel: latency, message rate, mode, last update, reconnections.

use leptos::prelude::*;

use crate::stream::StreamClient;

#[component]
pub fn MetricsPanel() -> impl IntoView {
    let s = expect_context::<StreamClient>().status;
    let latency = move || {
        s.latency_ms
            .get()
            .map_or("—".to_owned(), |ms| format!("{ms:.0} ms"))
    };
    let last_update = move || {
        s.last_update_ms.get().map_or("—".to_owned(), |ms| {
            crate::protocol::Timestamp::from_unix_ms(ms as i64).clock()
        })
    };
    view! {
        <section class="metrics panel" aria-label="Stream metrics">
            <div><span class="k">"Latency"</span><span class="v" data-testid="metrics-latency">{latency}</span></div>
            <div><span class="k">"Rate"</span><span class="v" data-testid="metrics-rate">{move || format!("{:.0} msg/s", s.rate.get())}</span></div>
            <div><span class="k">"Mode"</span><span class="v" data-testid="metrics-mode">{move || s.mode.get().as_str()}</span></div>
            <div><span class="k">"Last update"</span><span class="v" data-testid="metrics-last-update">{last_update}</span></div>
            <div><span class="k">"Reconnects"</span><span class="v" data-testid="metrics-reconnects">{move || s.reconnects.get()}</span></div>
        </section>
    }
}

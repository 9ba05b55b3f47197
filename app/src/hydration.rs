//! Hydrating the dashboard, and when it has finished.
//!
//! The page hydrates asynchronously (`hydrate_from_async`): the way down to `<Routes>`
//! waits for a lazy route's wasm chunk before the route's page hydrates. While it waits,
//! the effects of what already hydrated run. An effect that changed app-wide state then
//! (the identity `/api/me` answers, the stream's status) would make the page, and the
//! toasts after it, hydrate against other values than the server rendered them with:
//! a hydration mismatch, which panics. So the effects that start the page's work wait
//! for [`done`].

use leptos::prelude::*;

thread_local! {
    static DONE: ArcRwSignal<bool> = ArcRwSignal::new(false);
}

/// Whether the whole page has hydrated (tracked: an effect that reads it runs again
/// when it has). Always `false` on the server, where effects never run.
pub fn done() -> bool {
    DONE.with(|done| done.get())
}

/// Hydrates the server-rendered dashboard from `<body>`, lazy routes included, then
/// marks hydration [`done`].
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::tachys::dom::body();
        let mounted = hydrate_from_async(body, crate::App).await;
        mounted.forget();
        DONE.with(|done| done.set(true));
    });
}

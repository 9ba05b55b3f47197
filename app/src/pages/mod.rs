//! One module per routed page.
//!
//! The market page is the landing page and ships in the main wasm (as a lazy route its
//! hydration raced a token-mode start: docs/DASHBOARD.md, "Loading"). The backtests and
//! sessions pages are lazy routes: `cargo leptos build --split` puts their code in
//! chunks of their own, fetched when the route is first shown (or hydrated), so the
//! landing page does not load them (BENCHMARKS.md, "Dashboard budgets").

pub mod backtests;
pub mod market;
pub mod sessions;

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::components::sync_view::SyncAny;

/// A route whose page loads lazily: `$route` is its [`LazyRoute`] (no data of its own;
/// the page loads what it needs), `$page` the page's component.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:path) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $page().into_sync_any()
            }
        }
    };
}

lazy_page!(
    /// `/backtests`.
    Backtests => backtests::BacktestsPage
);
lazy_page!(
    /// `/sessions`.
    Sessions => sessions::SessionsPage
);
lazy_page!(
    /// `/sessions/{id}`.
    Session => sessions::SessionPage
);

//! One module per routed page.
//!
//! Every page is a lazy route: `cargo leptos build --split` puts its code in chunks of
//! its own (and the code pages share, the price chart among it, in shared chunks),
//! fetched when the route is first shown or named by the server-rendered page's
//! preload links, so the main wasm holds the shell, the stream and what every page
//! needs (BENCHMARKS.md, "Dashboard budgets").

pub mod backtests;
pub mod market;
pub mod sessions;
pub mod sweeps;

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
    /// `/`.
    Market => market::MarketPage
);
lazy_page!(
    /// `/backtests`.
    Backtests => backtests::BacktestsPage
);
lazy_page!(
    /// `/sessions`.
    Sessions => sessions::SessionsPage
);
lazy_page!(
    /// `/sweeps`.
    Sweeps => sweeps::SweepsPage
);
lazy_page!(
    /// `/sessions/{id}`.
    Session => sessions::SessionPage
);

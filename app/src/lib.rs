//! tickwire's shared crate.
//!
//! The wire types every server, dashboard and outside client agrees on are the
//! `protocol` crate's; this one renders them.
//!
//! - [`stream`]: the browser side of tickwire's streams: one reconnecting client per page.
//! - [`chart`]: chart geometry (the canvas drawing is in `components`).
//! - [`replay`]: a finished run's record as a tape to play back.
//! - [`compare`]: two to four backtests side by side (curves, metrics, set-ups).
//! - [`periods`]: a run's closed trades by day, week, month or year; [`trade_query`]:
//!   its trades filtered, sorted, paged and written as CSV.
//! - `components` and `pages`: the Leptos dashboard, rendered on the server and hydrated
//!   in the browser by the `frontend` crate ([`hydration`]); `api` is its REST client and `auth` holds
//!   the token it acts with on a server in token mode.

// Leptos views are deeply nested types; the async hydration of a run's panel needs more
// than the default 128 levels to lay out.
#![recursion_limit = "256"]

pub mod chart;
pub mod compare;
pub mod heatmap;
pub mod hydration;
pub mod periods;
pub mod replay;
pub mod stream;
pub mod trade_query;

mod alerts;
mod api;
mod auth;
mod components;
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, ParamSegment, StaticSegment};

use auth::Auth;
use components::sign_in::SignInPanel;
use components::sync_view::sync_view;
use components::toast::{ToastList, Toasts};
use stream::StreamClient;

/// The HTML document around the app, rendered by the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // The stylesheet's name carries its hash in a release build (hash-files).
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The dashboard: header on every page, the sign-in panel when the server wants a
/// token, then the routed page. One stream client (one socket) serves every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let toasts = Toasts::new();
    provide_context(toasts);
    let auth = Auth::provide();
    StreamClient::provide(move |text| toasts.push(text), auth);
    view! {
        <Title text="tickwire" />
        <Router>
            // Only the way down to <Routes> hydrates asynchronously (components::sync_view).
            {sync_view(view! { <components::header::Header /> })}
            <main>
                {sync_view(view! { <SignInPanel /> })}
                // The page is rebuilt on each sign-in: it reloads what a missing or
                // expired token kept from it.
                {move || {
                    auth.track_sign_ins();
                    let market = Lazy::<pages::Market>::new();
                    let backtests = Lazy::<pages::Backtests>::new();
                    let sessions = Lazy::<pages::Sessions>::new();
                    let session = Lazy::<pages::Session>::new();
                    let sweeps = Lazy::<pages::Sweeps>::new();
                    // The lazy routes above: their pages load with the route.
                    view! {
                        <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                            <Route path=StaticSegment("") view=market />
                            <Route path=StaticSegment("backtests") view=backtests />
                            <Route path=StaticSegment("sessions") view=sessions />
                            <Route path=StaticSegment("sweeps") view=sweeps />
                            <Route
                                path=(StaticSegment("sessions"), ParamSegment("id"))
                                view=session
                            />
                        </Routes>
                    }
                }}
            </main> {sync_view(view! { <ToastList /> })}
        </Router>
    }
}

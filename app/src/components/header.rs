//! The header on every page: the product name, the navigation, the connection status,
//! the user's notifications and, on a server in token mode, whose token the page uses; under it, a banner when
//! the server runs a newer build than the page.

use leptos::prelude::*;

use super::notifications::NotificationCentre;
use super::sign_in::SignedInAs;
use super::status::{StatusIndicator, UpdateBanner};

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                "tickwire"
            </a>
            <nav>
                <a href="/">"Market"</a>
                <a href="/backtests">"Backtests"</a>
                <a href="/sessions">"Sessions"</a>
                <a href="/sweeps">"Sweeps"</a>
            </nav>
            <StatusIndicator />
            <NotificationCentre />
            <SignedInAs />
        </header>
        <UpdateBanner />
    }
}

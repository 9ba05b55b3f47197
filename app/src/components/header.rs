//! The header on every page: the product name and the navigation.

use leptos::prelude::*;

/// Brand and navigation.
#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">"tickwire"</a>
            <nav>
                <a href="/">"Market"</a>
            </nav>
        </header>
    }
}

//! What a session shows below its header, live or replayed: statistics, its price chart
//! with the reasoning beside it, open and closed positions.

use leptos::prelude::*;

use super::metrics::SessionStats;
use super::positions_table::{ClosedPositions, OpenPositions};
use super::reasoning::Reasoning;
use super::session_chart::SessionPriceChart;
use super::sync_view::SyncAny;
use protocol::SessionSnapshot;

#[component]
pub fn SessionBody(#[prop(into)] state: Signal<SessionSnapshot>) -> impl IntoView {
    view! {
        <SessionStats state />
        <div class="session-main">
            <SessionPriceChart state />
            <Reasoning state />
        </div>
        <div class="panel">
            <h3>"Open positions"</h3>
            <OpenPositions state />
            <h3>"Closed positions"</h3>
            <ClosedPositions state />
        </div>
    }
    .into_sync_any()
}

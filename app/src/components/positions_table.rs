//! A session's positions: those open (marked to the last price) and those closed, the
//! most recent first.

use leptos::prelude::*;

use super::format::{gain_class, money, percent, price, wire_name};
use super::table::{newest_first, Table};
use protocol::{OpenPosition, PositionClosed, SessionSnapshot};

/// The open positions; each row's `data-*` attributes say what two pages must agree on
/// (id, side, quantity, entry price).
#[component]
pub fn OpenPositions(#[prop(into)] state: Signal<SessionSnapshot>) -> impl IntoView {
    let rows = move || state.with(|s| s.open_positions.iter().map(open_row).collect_view());
    view! {
        <Table
            headers=&["#", "Side", "Qty", "Entry", "Last", "Unrealized"]
            testid="session-positions"
        >
            {rows}
        </Table>
    }
}

/// The closed positions, the most recent first.
#[component]
pub fn ClosedPositions(#[prop(into)] state: Signal<SessionSnapshot>) -> impl IntoView {
    let rows = move || state.with(|s| newest_first(&s.closed_positions, usize::MAX, closed_row));
    view! {
        <Table headers=&["#", "Exit", "P&L", "Return", "Reason"] testid="session-closed">
            {rows}
        </Table>
    }
}

/// One open position.
fn open_row(p: &OpenPosition) -> impl IntoView {
    let side = wire_name(p.opened.side);
    view! {
        <tr
            data-position-id=p.opened.position_id
            data-side=side
            data-qty=p.opened.qty
            data-entry=p.opened.entry_price
        >
            <td>{p.opened.position_id}</td>
            <td>{side}</td>
            <td>{p.opened.qty}</td>
            <td>{price(p.opened.entry_price)}</td>
            <td>{price(p.last_price)}</td>
            <td class=gain_class(p.unrealized_pnl)>{money(p.unrealized_pnl)}</td>
        </tr>
    }
}

/// One closed position.
fn closed_row(p: &PositionClosed) -> impl IntoView {
    view! {
        <tr data-position-id=p.position_id>
            <td>{p.position_id}</td>
            <td>{price(p.exit_price)}</td>
            <td class=gain_class(p.pnl)>{money(p.pnl)}</td>
            <td>{percent(p.return_pct, 2)}</td>
            <td>{p.reason.clone()}</td>
        </tr>
    }
}

//! A backtest run's trades, the most recent first, in a collapsible table.

use leptos::prelude::*;

use super::format::{all_midnights, gain_class, money, price, time_at, wire_name};
use super::table::{newest_first, Table};
use protocol::{BacktestSnapshot, Trade};

/// Trades shown (the most recent).
const RECENT_TRADES: usize = 50;

/// "Trades (n)", then the [`RECENT_TRADES`] most recent fills.
#[component]
pub fn TradesTable(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let rows = move || {
        state.with(|s| {
            let dates_only = all_midnights(s.trades.iter().map(|t| t.time));
            newest_first(&s.trades, RECENT_TRADES, move |t| trade_row(t, dates_only))
        })
    };
    view! {
        <details class="run-trades" open>
            <summary>{move || format!("Trades ({})", state.with(|s| s.trades.len()))}</summary>
            <Table headers=&[
                "#",
                "Time",
                "Side",
                "Action",
                "Price",
                "Size",
                "P&L",
                "Reason",
            ]>{rows}</Table>
        </details>
    }
}

/// One fill, its time written as the series' resolution calls for; the P&L (exits only)
/// coloured by its sign.
fn trade_row(t: &Trade, dates_only: bool) -> impl IntoView {
    view! {
        <tr>
            <td>{t.id}</td>
            <td>{time_at(t.time, dates_only)}</td>
            <td>{wire_name(t.side)}</td>
            <td>{wire_name(t.action)}</td>
            <td>{price(t.price)}</td>
            <td>{t.size}</td>
            <td class=t.pnl.map_or("", gain_class)>{t.pnl.map_or(String::new(), money)}</td>
            <td>{t.reason.clone()}</td>
        </tr>
    }
}

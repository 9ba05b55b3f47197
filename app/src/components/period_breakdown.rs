//! A backtest's closed trades by day, week, month or year (`period-breakdown`), from
//! `crate::periods`.

use leptos::prelude::*;

use super::format::{gain_class, money, percent};
use super::table::Table;
use crate::periods::{breakdown, Period, PeriodRow};
use protocol::BacktestSnapshot;

/// The breakdown of the run's closed trades, by a period the viewer picks (month first).
#[component]
pub fn PeriodBreakdown(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let period = RwSignal::new(Period::Month);
    let rows = move || {
        let rows = state.with(|s| breakdown(&s.trades, period.get()));
        rows.into_iter().map(period_row).collect_view()
    };
    let selected = move || {
        let name: &'static str = period.get().into();
        name
    };
    let options = <Period as strum::VariantArray>::VARIANTS
        .iter()
        .map(|p| {
            let name: &'static str = p.into();
            view! { <option value=name>{name}</option> }
        })
        .collect_view();
    view! {
        <details class="period-breakdown" data-testid="period-breakdown">
            <summary>"By period"</summary>
            <label>
                "Period"
                <select
                    data-testid="period-select"
                    prop:value=selected
                    on:change=move |ev| {
                        if let Ok(p) = event_target_value(&ev).parse() {
                            period.set(p);
                        }
                    }
                >
                    {options}
                </select>
            </label>
            <Table headers=&["Period", "Trades", "Win rate", "P&L"]>{rows}</Table>
        </details>
    }
}

fn period_row(row: PeriodRow) -> impl IntoView {
    let win_rate = percent(row.win_rate(), 1);
    let (label, shown) = (row.label.clone(), row.label);
    view! {
        <tr data-period=label>
            <td>{shown}</td>
            <td>{row.trades}</td>
            <td>{win_rate}</td>
            <td class=gain_class(row.pnl)>{money(row.pnl)}</td>
        </tr>
    }
}

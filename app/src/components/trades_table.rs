//! A backtest run's trades in a table that answers questions: filtered by side,
//! outcome and date range (`trades-filter`), sorted by any column, paged however many
//! there are, and exported as CSV as shown (`trades-export`). The query itself is
//! `crate::trade_query`.

use leptos::prelude::*;

use super::download::download;
use super::format::{all_midnights, gain_class, money, price, time_at, wire_name};
use crate::trade_query::{csv, pages, Column, Outcome, TradeQuery, PAGE};
use protocol::{BacktestSnapshot, Side, Trade};

/// "Trades (shown of n)", the filter, the sortable table and its pager.
#[component]
pub fn TradesTable(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let query = RwSignal::new(TradeQuery::default());
    let page = RwSignal::new(0_usize);
    let count = Memo::new(move |_| state.with(|s| s.trades.len()));
    // The rows shown, recomputed when trades arrive or the query changes.
    let rows = Memo::new(move |_| {
        count.track();
        query.with(|q| state.with_untracked(|s| q.apply(&s.trades)))
    });
    let page_count = Memo::new(move |_| rows.with(|r| pages(r.len())));
    // A page past the end (the filter narrowed) shows the last one.
    let current = move || page.get().min(page_count.get() - 1);
    let body = move || {
        let dates_only = state.with(|s| all_midnights(s.trades.iter().map(|t| t.time)));
        let start = current() * PAGE;
        rows.with(|rows| {
            state.with_untracked(|s| {
                rows.iter()
                    .skip(start)
                    .take(PAGE)
                    .map(|&i| trade_row(&s.trades[i], dates_only))
                    .collect_view()
            })
        })
    };
    let export = move |_| {
        let text = rows.with_untracked(|rows| state.with_untracked(|s| csv(&s.trades, rows)));
        let id = state.with_untracked(|s| {
            s.started
                .as_ref()
                .map_or_else(|| "run".to_owned(), |s| s.backtest_id.clone())
        });
        download(&format!("{id}-trades.csv"), "text/csv", &text);
    };
    let header = move |column: Column| {
        let name: &'static str = column.into();
        let sorted = move || {
            query.with(|q| match (q.sort == column, q.descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            })
        };
        view! {
            <th aria-sort=sorted>
                <button
                    type="button"
                    class="sort"
                    data-sort=name
                    on:click=move |_| {
                        query.update(|q| q.sort_by(column));
                        page.set(0);
                    }
                >
                    {column.header()}
                </button>
            </th>
        }
    };
    let headers = <Column as strum::VariantArray>::VARIANTS
        .iter()
        .map(|c| header(*c))
        .collect_view();
    view! {
        <details class="run-trades" open>
            <summary data-testid="backtest-trades-summary">
                {move || {
                    let (shown, all) = (rows.with(Vec::len), count.get());
                    if shown == all {
                        format!("Trades ({all})")
                    } else {
                        format!("Trades ({shown} of {all})")
                    }
                }}
            </summary>
            <TradesFilter query page />
            <table data-testid="trades-table" data-rows=move || rows.with(Vec::len)>
                <thead>
                    <tr>{headers}</tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            <div
                class="pager"
                data-testid="trades-pager"
                data-page=move || current() + 1
                data-pages=page_count
            >
                <button
                    type="button"
                    data-testid="trades-prev"
                    disabled=move || current() == 0
                    on:click=move |_| page.set(current().saturating_sub(1))
                >
                    "‹ Newer"
                </button>
                <span>{move || format!("Page {} of {}", current() + 1, page_count.get())}</span>
                <button
                    type="button"
                    data-testid="trades-next"
                    disabled=move || { current() + 1 >= page_count.get() }
                    on:click=move |_| page.set(current() + 1)
                >
                    "Older ›"
                </button>
                <button type="button" data-testid="trades-export" on:click=export>
                    "Export CSV"
                </button>
            </div>
        </details>
    }
}

/// Side, outcome and first and last day.
#[component]
fn TradesFilter(query: RwSignal<TradeQuery>, page: RwSignal<usize>) -> impl IntoView {
    let set = move |f: fn(&mut TradeQuery, &str), ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        query.update(|q| f(q, &value));
        page.set(0);
    };
    // A first or last day (UTC, inclusive).
    let day = move |label: &'static str, name: &'static str, f: fn(&mut TradeQuery, &str)| {
        view! { <label>{label} <input type="date" name=name on:change=move |ev| set(f, ev) /></label> }
    };
    let sides = <Side as strum::VariantArray>::VARIANTS
        .iter()
        .map(|s| {
            let name = wire_name(*s);
            view! { <option value=name>{name}</option> }
        })
        .collect_view();
    let outcomes = <Outcome as strum::VariantArray>::VARIANTS
        .iter()
        .map(|o| {
            let name: &'static str = o.into();
            view! { <option value=name>{name}</option> }
        })
        .collect_view();
    view! {
        <div
            class="trades-filter"
            data-testid="trades-filter"
            role="group"
            aria-label="Filter trades"
        >
            <label>
                "Side "
                <select name="side" on:change=move |ev| set(|q, v| q.side = parse_side(v), ev)>
                    <option value="">"all"</option>
                    {sides}
                </select>
            </label>
            <label>
                "Outcome "
                <select
                    name="outcome"
                    on:change=move |ev| set(|q, v| q.outcome = v.parse().ok(), ev)
                >
                    <option value="">"all"</option>
                    {outcomes}
                </select>
            </label>
            {day("From ", "from", |q, v| q.from = v.parse().ok())}
            {day("To ", "to", |q, v| q.to = v.parse().ok())}
        </div>
    }
}

fn parse_side(name: &str) -> Option<Side> {
    <Side as strum::VariantArray>::VARIANTS
        .iter()
        .copied()
        .find(|s| wire_name(*s) == name)
}

/// One fill, its time written as the series' resolution calls for; the P&L (exits only)
/// coloured by its sign.
fn trade_row(t: &Trade, dates_only: bool) -> impl IntoView {
    view! {
        <tr data-trade=t.id>
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

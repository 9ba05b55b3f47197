//! A session's price chart: the closed candles of its market as its topic carries them,
//! its positions' entries and exits as markers, and the lines its strategy trades on.

use leptos::prelude::*;

use super::price_chart::{ChartFeed, PriceChart};
use crate::chart::bar_of;
use crate::chart::marks::{of_positions, strategy_lines};
use protocol::SessionSnapshot;

#[component]
pub fn SessionPriceChart(#[prop(into)] state: Signal<SessionSnapshot>) -> impl IntoView {
    let feed = ChartFeed::new();
    // A new candle or a changed last one is an update; anything else (a snapshot, the
    // oldest dropped) replaces the chart's bars.
    let shape = Memo::new(move |_| {
        state.with(|s| {
            (
                s.candles.len(),
                s.candles.first().map(|c| c.open_time),
                s.candles.last().map(bar_of),
            )
        })
    });
    Effect::new(
        move |previous: Option<(usize, Option<protocol::Timestamp>)>| {
            let (len, first, last) = shape.get();
            match (previous, last) {
                (Some((was, was_first)), Some(last)) if was_first == first && len <= was + 1 => {
                    feed.upsert(last);
                }
                _ => {
                    let bars: Vec<_> =
                        state.with_untracked(|s| s.candles.iter().map(bar_of).collect());
                    feed.reset(&bars, 0);
                }
            }
            (len, first)
        },
    );
    let started = Memo::new(move |_| {
        state.with(|s| {
            s.initialized
                .as_ref()
                .map(|i| (i.strategy.clone(), i.params.clone(), i.symbol.clone()))
        })
    });
    let lines = Signal::derive(move || {
        started.with(|s| {
            s.as_ref()
                .map(|(strategy, params, _)| strategy_lines(strategy, params))
                .unwrap_or_default()
        })
    });
    let positions =
        Memo::new(move |_| state.with(|s| (s.open_positions.len(), s.closed_positions.len())));
    let marks = Signal::derive(move || {
        positions.track();
        state.with_untracked(|s| of_positions(&s.open_positions, &s.closed_positions))
    });
    let label = Signal::derive(move || {
        started.with(|s| {
            s.as_ref().map_or_else(
                || "Session prices".to_owned(),
                |(_, _, symbol)| format!("{symbol} prices of this session"),
            )
        })
    });
    view! { <PriceChart feed decimals=2 lines marks label /> }
}

//! A backtest run's log: the engine's own events, the most recent first.

use leptos::prelude::*;

use super::format::wire_name;
use super::table::newest_first;
use protocol::{BacktestSnapshot, LogLine};

/// Log lines shown (the most recent).
const RECENT_LINES: usize = 50;

/// "Log (n)", then the [`RECENT_LINES`] most recent lines, each classed by its level
/// (`log-warn`, `log-error` are coloured).
#[component]
pub fn LogList(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let lines = move || state.with(|s| newest_first(&s.logs, RECENT_LINES, log_line));
    view! {
        <details class="run-logs">
            <summary>{move || format!("Log ({})", state.with(|s| s.logs.len()))}</summary>
            <ol class="log">{lines}</ol>
        </details>
    }
}

/// One line: level, bar (if any), message.
fn log_line(line: &LogLine) -> impl IntoView {
    let level = wire_name(line.level);
    view! {
        <li class=format!("log-{level}")>
            <span class="log-level">{level}</span>
            {line.bar.map(|b| view! { <span class="log-bar">{format!("bar {b}")}</span> })}
            <span class="log-message">{line.message.clone()}</span>
        </li>
    }
}

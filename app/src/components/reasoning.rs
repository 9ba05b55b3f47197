//! A session's reasoning: the chunks of the decision in progress as they stream, then
//! the decisions made, the most recent first.

use leptos::prelude::*;

use super::format::wire_name;
use super::table::newest_first;
use protocol::{Decision, DecisionSource, SessionSnapshot};

/// Decisions shown (the most recent).
const RECENT_DECISIONS: usize = 20;

/// The reasoning panel: the thinking in progress and the [`RECENT_DECISIONS`] latest
/// decisions.
#[component]
pub fn Reasoning(#[prop(into)] state: Signal<SessionSnapshot>) -> impl IntoView {
    let thinking = move || {
        state.with(|s| {
            s.thinking
                .iter()
                .map(|t| t.chunk.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let decisions =
        move || state.with(|s| newest_first(&s.decisions, RECENT_DECISIONS, decision_item));
    view! {
        <div class="panel reasoning">
            <h3>"Reasoning"</h3>
            <p class="thinking" data-testid="session-thinking">
                {thinking}
            </p>
            <ol class="decisions" data-testid="session-decisions">
                {decisions}
            </ol>
        </div>
    }
}

/// One decision: its action in capitals (classed `decision-buy`, `decision-sell`, …),
/// who made it when it was not the session's own strategy (`data-source`), the bar's
/// time and the reasoning.
fn decision_item(d: &Decision) -> impl IntoView {
    let action = wire_name(d.action);
    let source = d.source.map(|s| match s {
        DecisionSource::Manual => "manual",
    });
    view! {
        <li data-action=action data-source=source>
            <span class=format!("decision decision-{action}")>{action.to_ascii_uppercase()}</span>
            {source.map(|_| view! { <span class="badge">"by hand"</span> })}
            <span class="decision-time">{d.bar_time.clock()}</span>
            " "
            {d.reasoning.clone()}
            {d.confidence.map(|c| format!(" (confidence {c:.2})"))}
        </li>
    }
}

//! One sweep as it runs (`sweep:{ID}`): its progress, the heatmap of its first two
//! parameters filling as results land (a line for one parameter), and its best
//! combinations. A cell opens the full backtest of its parameters (`on_open`).

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api;
use crate::components::format::{percent, wire_name};
use crate::components::sync_view::SyncAny;
use crate::heatmap::{number, Heatmap};
use crate::stream::{use_topic_state, Display};
use protocol::sweep::{SweepEntry, SweepSnapshot};
use protocol::{RunStatus, Topic, TopicKind};

/// The parameters of a combination, as `fast=10, slow=20`.
fn params_text(params: &BTreeMap<String, f64>) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{name}={}", number(*value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value of the objective as shown: four significant decimals.
fn value_text(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.4}"))
}

#[component]
pub fn SweepView(
    id: String,
    /// Opens the full backtest of these parameters.
    on_open: Callback<BTreeMap<String, f64>>,
) -> impl IntoView {
    let topic = Topic::new(TopicKind::Sweep, &id).ok();
    let topic = Signal::derive(move || topic.clone());
    let state = use_topic_state::<SweepSnapshot>(topic, Display::Focus);
    let status = move || wire_name(state.with(|s| s.status));
    let title = move || {
        state.with(|s| {
            s.started.as_ref().map_or("starting…".to_owned(), |st| {
                format!(
                    "{} on {}: {} combinations by {}",
                    st.strategy,
                    st.symbol,
                    st.combos,
                    wire_name(st.objective)
                )
            })
        })
    };
    let progress = move || {
        state.with(|s| {
            let combos = s.started.as_ref().map_or(0, |st| st.combos);
            let speed = s.progress.as_ref().map_or(String::new(), |p| {
                let eta = p
                    .eta_ms
                    .filter(|_| !s.status.is_over())
                    .map_or(String::new(), |ms| {
                        format!(", {:.1} s left", ms as f64 / 1000.0)
                    });
                format!(" · {:.0} combinations/s{eta}", p.combos_per_sec)
            });
            format!("{} of {combos} done{speed}", s.done)
        })
    };
    let base = StoredValue::new(format!("/api/sweeps/{id}"));
    let control = move |action: &'static str| {
        let url = format!("{}/{action}", base.get_value());
        api::spawn(async move {
            let _ = api::command(&url).await;
        });
    };
    let paused = move || state.with(|s| s.status == RunStatus::Paused);
    let running = move || !state.with(|s| s.status.is_over());
    view! {
        <article class="panel sweep" data-testid="sweep" data-sweep-id=id data-status=status>
            <header class="sweep-header">
                <h3>{title}</h3>
                <span
                    class="muted"
                    data-testid="sweep-progress"
                    data-done=move || state.with(|s| s.done)
                >
                    {progress}
                </span>
                <Show when=paused>
                    <button data-testid="sweep-resume" on:click=move |_| control("resume")>
                        "Resume"
                    </button>
                </Show>
                <Show when=running>
                    <button data-testid="sweep-cancel" on:click=move |_| control("cancel")>
                        "Cancel"
                    </button>
                </Show>
            </header>
            <SweepMap state on_open />
            <SweepTop state on_open />
        </article>
    }
    .into_sync_any()
}

/// The heatmap (or, for one parameter, the line) of a sweep's landed values.
#[component]
fn SweepMap(
    state: Signal<SweepSnapshot>,
    on_open: Callback<BTreeMap<String, f64>>,
) -> impl IntoView {
    let map =
        Memo::new(move |_| state.with(|s| s.started.as_ref().map(|st| Heatmap::of(st, &s.values))));
    let open = move |index: u64| {
        let params = state.with_untracked(|s| s.started.as_ref().and_then(|st| st.params(index)));
        if let Some(params) = params {
            on_open.run(params);
        }
    };
    move || {
        let Some(map) = map.get() else {
            return ().into_sync_any();
        };
        let width = map
            .columns
            .as_ref()
            .map_or(1, |(_, values)| values.len().max(1));
        let header = map.columns.as_ref().map(|(name, values)| {
            let labels = values
                .iter()
                .map(|v| view! { <span class="sweep-col">{number(*v)}</span> })
                .collect_view();
            view! {
                <div class="sweep-row sweep-labels">
                    <span class="sweep-corner">{format!("{} ↓ {name} →", map.rows.0)}</span>
                    {labels}
                </div>
            }
        });
        let rows = map
            .rows
            .1
            .iter()
            .enumerate()
            .map(|(row, value)| {
                let cells = (0..width)
                    .map(|column| {
                        let cell = map.cells[row * width + column];
                        let shade = cell.value.map(|v| map.shade(v));
                        let style = shade.map_or(String::new(), |t| {
                            format!("background: hsl({:.0}, 55%, 32%)", 120.0 * t)
                        });
                        let text = cell.value.map(|v| format!("{v:.2}")).unwrap_or_default();
                        view! {
                            <button
                                class="sweep-cell"
                                data-testid="sweep-cell"
                                data-params=map.params(row, column)
                                data-value=cell.value.map(|v| v.to_string())
                                disabled=cell.index.is_none()
                                style=style
                                title=format!(
                                    "{}: {}",
                                    map.params(row, column),
                                    value_text(cell.value),
                                )
                                on:click=move |_| {
                                    if let Some(index) = cell.index {
                                        open(index);
                                    }
                                }
                            >
                                {text}
                            </button>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="sweep-row">
                        <span class="sweep-label">{number(*value)}</span>
                        {cells}
                    </div>
                }
            })
            .collect_view();
        let line = map.columns.is_none().then(|| line_of(&map));
        view! {
            <div class="sweep-heatmap" data-testid="sweep-heatmap">
                {header}
                {rows}
            </div>
            {line}
        }
        .into_sync_any()
    }
}

/// One parameter's values as a line: its landed values left to right.
fn line_of(map: &Heatmap) -> impl IntoView + use<> {
    let (lo, hi) = map.range.unwrap_or((0.0, 1.0));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let last = map.cells.len().saturating_sub(1).max(1) as f64;
    let points = map
        .cells
        .iter()
        .enumerate()
        .filter_map(|(i, cell)| {
            let v = cell.value?;
            Some(format!(
                "{:.1},{:.1}",
                300.0 * i as f64 / last,
                100.0 - 100.0 * (v - lo) / span
            ))
        })
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <svg class="sweep-line" data-testid="sweep-line" viewBox="-5 -5 310 110" role="img">
            <polyline points=points fill="none" stroke="currentColor" stroke-width="2" />
        </svg>
    }
}

/// The best combinations so far, best first.
#[component]
fn SweepTop(
    state: Signal<SweepSnapshot>,
    on_open: Callback<BTreeMap<String, f64>>,
) -> impl IntoView {
    let rows = move || {
        state
            .with(|s| s.top.clone())
            .into_iter()
            .enumerate()
            .map(move |(rank, entry)| {
                let SweepEntry {
                    params,
                    value,
                    metrics,
                    ..
                } = entry;
                let figures = metrics.map(|m| {
                    (
                        percent(m.return_pct, 2),
                        format!("{:.2}", m.sharpe),
                        percent(m.max_drawdown_pct, 2),
                        m.trades,
                    )
                });
                let (ret, sharpe, drawdown, trades) = figures.unwrap_or_default();
                let open = params.clone();
                view! {
                    <tr data-testid="sweep-top-row" data-params=params_text(&params)>
                        <td>{rank + 1}</td>
                        <td>
                            <button class="link" on:click=move |_| on_open.run(open.clone())>
                                {params_text(&params)}
                            </button>
                        </td>
                        <td>{value_text(value)}</td>
                        <td>{ret}</td>
                        <td>{sharpe}</td>
                        <td>{drawdown}</td>
                        <td>{trades}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <table class="sweep-top" data-testid="sweep-top">
            <thead>
                <tr>
                    <th>"#"</th>
                    <th>"Parameters"</th>
                    <th>"Objective"</th>
                    <th>"Return"</th>
                    <th>"Sharpe"</th>
                    <th>"Max drawdown"</th>
                    <th>"Trades"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

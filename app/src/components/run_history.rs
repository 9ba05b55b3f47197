//! Past runs (or sessions, or sweeps) as the store keeps them (docs/STORE.md): a page at a time,
//! newest first, filtered by strategy and status, each with its title, notes and tags,
//! opened in the same components as a live run, annotated or deleted; backtests are
//! also picked here for the compare view.

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::form::{strategy_names, ErrorLine};
use super::format::{gain_class, percent};
use crate::api;
use crate::compare;
use protocol::api::{Listed, RunInfo, RunNotesPatch, SessionInfo, SweepInfo};
use protocol::RunStatus;

/// Rows a page of the history holds.
const PAGE: usize = 10;

/// A kind of listing the history shows (`protocol::api::Listed`), and where it lists.
pub trait Kept:
    Listed + Clone + DeserializeOwned + Serialize + PartialEq + Send + Sync + 'static
{
    /// The kind's endpoint: `/api/backtests`, `/api/sessions` or `/api/sweeps`.
    const PATH: &'static str;
    /// What one is called in the history's first column.
    const NOUN: &'static str;
}

impl Kept for RunInfo {
    const PATH: &'static str = "/api/backtests";
    const NOUN: &'static str = "Run";
}

impl Kept for SessionInfo {
    const PATH: &'static str = "/api/sessions";
    const NOUN: &'static str = "Session";
}

impl Kept for SweepInfo {
    const PATH: &'static str = "/api/sweeps";
    const NOUN: &'static str = "Sweep";
}

/// The query of one page.
fn page_url(path: &str, strategy: &str, status: &str, before: Option<&String>) -> String {
    let mut url = format!("{path}?limit={PAGE}");
    for (name, value) in [("strategy", strategy), ("status", status)] {
        if !value.is_empty() {
            url.push_str(&format!("&{name}={value}"));
        }
    }
    if let Some(before) = before {
        url.push_str(&format!("&before={before}"));
    }
    url
}

/// Past backtests: `open` shows one live; `compare` holds the ids picked for the
/// compare view; `reload` is bumped when a run starts (the first page again).
#[component]
pub fn BacktestHistory(
    #[prop(into)] open: Callback<String>,
    compare: RwSignal<Vec<String>>,
    #[prop(into)] reload: Signal<u64>,
) -> impl IntoView {
    history::<RunInfo>(open, Some(compare), strategy_names(false), reload)
}

/// Past sessions: `open` shows one.
#[component]
pub fn SessionHistory(#[prop(into)] open: Callback<String>) -> impl IntoView {
    history::<SessionInfo>(open, None, strategy_names(true), Signal::stored(0))
}

/// Past sweeps: `open` shows one; `reload` is bumped when a sweep starts. Its return
/// is the best combination's.
#[component]
pub fn SweepHistory(
    #[prop(into)] open: Callback<String>,
    #[prop(into)] reload: Signal<u64>,
) -> impl IntoView {
    history::<SweepInfo>(open, None, strategy_names(false), reload)
}

/// The history of `T`s. `open` shows one; `compare`, when given, holds the ids picked
/// for the compare view (up to [`compare::MOST`]); the filter offers `strategies`.
fn history<T: Kept>(
    open: Callback<String>,
    compare: Option<RwSignal<Vec<String>>>,
    strategies: Vec<&'static str>,
    reload: Signal<u64>,
) -> impl IntoView {
    let rows = RwSignal::new(Vec::<T>::new());
    // The `before` of each page shown so far: empty on the first.
    let pages = RwSignal::new(Vec::<String>::new());
    let strategy = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let editing = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);

    let load = move || {
        let url = page_url(
            T::PATH,
            &strategy.get_untracked(),
            &status.get_untracked(),
            pages.with_untracked(|p| p.last().cloned()).as_ref(),
        );
        api::spawn(async move {
            match api::get::<Vec<T>>(&url).await {
                Ok(list) => {
                    error.set(None);
                    rows.set(list);
                }
                Err(e) => error.set(Some(format!("could not list past runs: {e}"))),
            }
        });
    };
    Effect::new(move |_| {
        reload.track();
        strategy.track();
        status.track();
        pages.set(Vec::new());
        load();
    });
    let older = move |_| {
        if let Some(last) = rows.with_untracked(|r| r.last().map(|r| r.id().to_owned())) {
            pages.update(|p| p.push(last));
            load();
        }
    };
    let newer = move |_| {
        pages.update(|p| {
            p.pop();
        });
        load();
    };
    let forget = move |id: String| {
        api::spawn(async move {
            match api::delete(&format!("{}/{id}", T::PATH)).await {
                Ok(()) => {
                    rows.update(|r| r.retain(|row| row.id() != id));
                    if let Some(picked) = compare {
                        picked.update(|p| p.retain(|x| *x != id));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let row = move |run: T| {
        let id = run.id().to_owned();
        let outcome = run.outcome().clone();
        let notes = run.notes().clone();
        let status: &'static str = outcome.status.into();
        let change = outcome.final_equity.map(|e| (e / run.cash() - 1.0) * 100.0);
        let pick = compare.map(|picked| {
            let id = id.clone();
            let checked = {
                let id = id.clone();
                move || picked.with(|p| p.contains(&id))
            };
            let full = {
                let id = id.clone();
                move || picked.with(|p| p.len() >= compare::MOST && !p.contains(&id))
            };
            view! {
                <td>
                    <input
                        type="checkbox"
                        data-testid="compare-select"
                        aria-label=format!("compare {id}")
                        prop:checked=checked
                        disabled=full
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            picked
                                .update(|p| {
                                    p.retain(|x| *x != id);
                                    if on {
                                        p.push(id.clone());
                                    }
                                });
                        }
                    />
                </td>
            }
        });
        let (open_id, edit_id, forget_id) = (id.clone(), id.clone(), id.clone());
        view! {
            <tr data-testid="history-row" data-id=id.clone() data-status=status>
                {pick}
                <td>
                    <span class="history-id">{id.clone()}</span>
                    {notes
                        .title
                        .clone()
                        .map(|t| view! { <strong class="history-title">{t}</strong> })}
                    {notes.notes.clone().map(|n| view! { <p class="muted history-notes">{n}</p> })}
                </td>
                <td>{run.strategy().to_owned()}</td>
                <td>{run.symbol().to_owned()}</td>
                <td>{status}</td>
                <td class=change
                    .map_or("", gain_class)>{change.map_or(String::new(), |c| percent(c, 2))}</td>
                <td>{run.created().to_string()}</td>
                <td class="tags">
                    {notes
                        .tags
                        .iter()
                        .map(|t| view! { <span class="tag">{t.clone()}</span> })
                        .collect_view()}
                </td>
                <td class="actions">
                    <button data-testid="history-open" on:click=move |_| open.run(open_id.clone())>
                        "Open"
                    </button>
                    <button
                        data-testid="history-annotate"
                        on:click=move |_| editing.set(Some(edit_id.clone()))
                    >
                        "Notes"
                    </button>
                    <button
                        data-testid="history-delete"
                        disabled=!outcome.status.is_over()
                        on:click=move |_| forget(forget_id.clone())
                    >
                        "Delete"
                    </button>
                </td>
            </tr>
        }
    };
    let columns = [
        T::NOUN,
        "Strategy",
        "Symbol",
        "Status",
        "Return",
        "Started",
        "Tags",
        "",
    ];
    let headers: Vec<&'static str> = compare.map(|_| "").into_iter().chain(columns).collect();

    view! {
        <section class="panel history" data-testid="run-history">
            <h2>"History"</h2>
            <div class="history-filters">
                <label>
                    "Strategy"
                    <select
                        name="history-strategy"
                        prop:value=move || strategy.get()
                        on:change=move |ev| strategy.set(event_target_value(&ev))
                    >
                        <option value="">"any"</option>
                        {strategies
                            .into_iter()
                            .map(|s| view! { <option value=s>{s}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Status"
                    <select
                        name="history-status"
                        prop:value=move || status.get()
                        on:change=move |ev| status.set(event_target_value(&ev))
                    >
                        <option value="">"any"</option>
                        {<RunStatus as strum::VariantArray>::VARIANTS
                            .iter()
                            .map(|s| {
                                let name: &'static str = s.into();
                                view! { <option value=name>{name}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button data-testid="history-refresh" on:click=move |_| load()>
                    "Refresh"
                </button>
            </div>
            <ErrorLine error testid="history-error" />
            {move || {
                rows.with(Vec::is_empty).then(|| view! { <p class="muted">"Nothing kept yet."</p> })
            }}
            <table>
                <thead>
                    <tr>{headers.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr>
                </thead>
                <tbody>
                    // Keyed by the whole listing: a row whose notes changed is drawn again.
                    <For
                        each=move || rows.get()
                        key=|r| serde_json::to_string(r).unwrap_or_default()
                        let:run
                    >
                        {row(run)}
                    </For>
                </tbody>
            </table>
            <div class="history-pages">
                <button
                    data-testid="history-newer"
                    disabled=move || pages.with(Vec::is_empty)
                    on:click=newer
                >
                    "Newer"
                </button>
                <button
                    data-testid="history-older"
                    disabled=move || rows.with(|r| r.len() < PAGE)
                    on:click=older
                >
                    "Older"
                </button>
            </div>
            {move || editing.get().map(|id| notes_editor(id, rows, editing, error))}
        </section>
    }
}

/// The title, notes and tags of run `id`, edited and saved with `PATCH`.
fn notes_editor<T: Kept>(
    id: String,
    rows: RwSignal<Vec<T>>,
    editing: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let kept = rows.with_untracked(|r| {
        r.iter()
            .find(|row| row.id() == id)
            .map(|row| row.notes().clone())
            .unwrap_or_default()
    });
    let title = RwSignal::new(kept.title.unwrap_or_default());
    let notes = RwSignal::new(kept.notes.unwrap_or_default());
    let tags = RwSignal::new(kept.tags.join(", "));
    let heading = format!("Notes on {id}");
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let patch = RunNotesPatch {
            title: Some(title.get_untracked()),
            notes: Some(notes.get_untracked()),
            tags: Some(
                tags.get_untracked()
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        };
        let id = id.clone();
        api::spawn(async move {
            match api::patch::<T>(&format!("{}/{id}", T::PATH), &patch).await {
                Ok(saved) => {
                    rows.update(|r| {
                        if let Some(row) = r.iter_mut().find(|row| row.id() == id) {
                            *row = saved;
                        }
                    });
                    editing.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="notes-editor" data-testid="notes-editor" on:submit=save>
            <h3>{heading}</h3>
            <label>
                "Title"
                <input
                    name="title"
                    maxlength="200"
                    prop:value=move || title.get()
                    on:input=move |ev| title.set(event_target_value(&ev))
                />
            </label>
            <label>
                "Notes"
                <textarea
                    name="notes"
                    maxlength="10000"
                    prop:value=move || notes.get()
                    on:input=move |ev| notes.set(event_target_value(&ev))
                ></textarea>
            </label>
            <label>
                "Tags (comma separated)"
                <input
                    name="tags"
                    prop:value=move || tags.get()
                    on:input=move |ev| tags.set(event_target_value(&ev))
                />
            </label>
            <button type="submit" data-testid="notes-save">
                "Save"
            </button>
            <button type="button" on:click=move |_| editing.set(None)>
                "Cancel"
            </button>
        </form>
    }
}

//! Replays of finished runs: a backtest's or session's record (or an NDJSON file of
//! one) played into the same components as the live run, at 1×, 10× or 100×, with a scrubber, and exported
//! as NDJSON. The tape's rules (contiguity, timing, folding) are in [`crate::replay`].

use std::sync::Arc;

use leptos::html::Input;
use leptos::prelude::*;

use super::csv_upload::{read_picked, Upload};
use super::download::download;
use super::form::ErrorLine;
use super::run_body::RunBody;
use super::session_body::SessionBody;
use super::sync_view::SyncAny;
use crate::api;
use crate::replay::{Tape, SPEEDS};
use crate::stream::TopicState;
use protocol::{BacktestSnapshot, SessionSnapshot, Topic, TopicKind};

/// How often a playing replay moves on, in ms of the page's time.
const STEP_MS: f64 = 50.0;

/// A replay: where it comes from (`origin`), its controls, and the components of its
/// topic's kind (a backtest run's or a session's) showing the replayed state.
#[component]
pub fn Replay(tape: Arc<Tape>, origin: String) -> impl IntoView {
    let title = format!("Replay of {} ({origin})", tape.topic());
    let partial = (!tape.from_start()).then(|| {
        view! {
            <p class="muted">
                {format!("Partial record: it starts at seq {}.", tape.between(0, 1)[0].seq)}
            </p>
        }
    });
    let body = match tape.topic().kind() {
        TopicKind::Session => {
            let state = RwSignal::new(SessionSnapshot::default());
            view! {
                <ReplayControls tape state />
                <SessionBody state />
            }
            .into_sync_any()
        }
        _ => {
            let state = RwSignal::new(BacktestSnapshot::default());
            view! {
                <ReplayControls tape state />
                <RunBody state />
            }
            .into_sync_any()
        }
    };
    view! {
        <article class="panel run replay" data-testid="replay">
            <h3>{title}</h3>
            {partial}
            {body}
        </article>
    }
    .into_sync_any()
}

/// A finished run's Replay button, and its replay once loaded from the server's record.
#[component]
pub fn RecordReplay(topic: Signal<Option<Topic>>, finished: Signal<bool>) -> impl IntoView {
    let replay = RwSignal::new(None::<Arc<Tape>>);
    let error = RwSignal::new(None::<String>);
    let load = move |_| {
        let Some(topic) = topic.get_untracked() else {
            return;
        };
        api::spawn(async move {
            let tape = api::get_text(&format!("/api/streams/{topic}/record"))
                .await
                .and_then(|text| Tape::from_ndjson(&text));
            match tape {
                Ok(tape) => {
                    error.set(None);
                    replay.set(Some(Arc::new(tape)));
                }
                Err(e) => error.set(Some(format!("cannot replay: {e}"))),
            }
        });
    };
    view! {
        <Show when=move || finished.get() && replay.with(Option::is_none)>
            <button type="button" data-testid="replay-open" on:click=load>
                "Replay"
            </button>
        </Show>
        <ErrorLine error testid="replay-error" />
        {move || {
            replay.get().map(|tape| view! { <Replay tape origin="its record".to_owned() /> })
        }}
    }
    .into_sync_any()
}

/// Play / pause, speed, the scrubber and the export of a tape that drives `state`.
#[component]
pub fn ReplayControls<S>(tape: Arc<Tape>, state: RwSignal<S>) -> impl IntoView
where
    S: TopicState + Clone,
{
    let len = tape.len();
    let position = RwSignal::new(0usize);
    let playing = RwSignal::new(false);
    let speed = RwSignal::new(SPEEDS[1]);
    // The replay's own clock, in ms of the record's time; before the first message.
    let clock = StoredValue::new(-1.0_f64);

    let seek = {
        let tape = tape.clone();
        move |to: usize| {
            let to = to.min(len);
            state.set(tape.state_at(to));
            position.set(to);
            clock.set_value(if to == 0 { -1.0 } else { tape.time_of(to - 1) });
        }
    };
    let step = {
        let tape = tape.clone();
        move || {
            if !playing.get_untracked() {
                return;
            }
            let now = clock.get_value() + STEP_MS * speed.get_untracked();
            clock.set_value(now);
            let from = position.get_untracked();
            let to = tape.position_at(now).max(from);
            if to > from {
                state.update(|s| {
                    for envelope in tape.between(from, to) {
                        s.apply(envelope);
                    }
                });
                position.set(to);
            }
            if to >= len {
                playing.set(false);
            }
        }
    };
    #[cfg(feature = "hydrate")]
    {
        let ticking =
            set_interval_with_handle(step, std::time::Duration::from_millis(STEP_MS as u64));
        on_cleanup(move || {
            if let Ok(handle) = ticking {
                handle.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = step;

    let play = {
        let seek = seek.clone();
        move |_| {
            if position.get_untracked() >= len {
                seek(0);
            }
            playing.update(|p| *p = !*p);
        }
    };
    let export = move |_| {
        let name = format!("{}.ndjson", tape.topic()).replace(':', "-");
        download(&name, "application/x-ndjson", &tape.to_ndjson());
    };
    view! {
        <div class="replay-controls">
            <button type="button" data-testid="replay-play" on:click=play>
                {move || if playing.get() { "Pause" } else { "Play" }}
            </button>
            <label>
                "Speed "
                <select
                    data-testid="replay-speed"
                    on:change=move |ev| {
                        if let Ok(x) = event_target_value(&ev).parse::<f64>() {
                            speed.set(x);
                        }
                    }
                >
                    {SPEEDS
                        .iter()
                        .map(|x| {
                            view! {
                                <option value=x.to_string() selected=*x == SPEEDS[1]>
                                    {format!("{x}×")}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <input
                type="range"
                aria-label="Position in the record"
                data-testid="replay-scrubber"
                min="0"
                max=len.to_string()
                step="1"
                prop:value=move || position.get().to_string()
                on:input=move |ev| {
                    if let Ok(to) = event_target_value(&ev).parse::<usize>() {
                        seek(to);
                    }
                }
            />
            <span
                class="replay-position"
                data-testid="replay-position"
                data-position=move || position.get()
                data-length=len
            >
                {move || format!("{} / {len} messages", position.get())}
            </span>
            <button type="button" data-testid="replay-export" on:click=export>
                "Export NDJSON"
            </button>
        </div>
    }
}

/// A file input that replays an NDJSON record from the user's disk into `replays`
/// (newest first), or says why it cannot.
#[component]
pub fn ReplayImport(replays: RwSignal<Vec<(Arc<Tape>, String)>>) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    let file = RwSignal::new(None::<Upload>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(Upload { name, text }) = file.get() else {
            return;
        };
        match Tape::from_ndjson(&text) {
            Ok(tape) => {
                error.set(None);
                replays.update(|r| r.insert(0, (Arc::new(tape), name)));
            }
            Err(e) => error.set(Some(format!("{name}: {e}"))),
        }
    });
    view! {
        <label>
            "Replay a record (NDJSON)"
            <input
                type="file"
                accept=".ndjson,.jsonl,application/x-ndjson"
                data-testid="replay-import"
                node_ref=input
                on:change=move |_| {
                    if let Some(input) = input.get_untracked() {
                        read_picked(&input, file, error);
                    }
                }
            />
        </label>
        <ErrorLine error=error testid="replay-error" />
    }
}

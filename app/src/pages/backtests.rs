//! The backtests page: a form that starts a run on a server dataset or an uploaded
//! CSV; the recent runs streaming live — progress, equity and drawdown, trades, logs,
//! final metrics; the history of every kept run, any of which opens in the same
//! components; and two to four runs compared side by side. A run is its topic's state
//! (`use_topic_state`) shown by the run components of `components/`.

use std::sync::Arc;

use leptos::prelude::*;

use crate::api;
use crate::compare;
use crate::components::compare_view::CompareView;
use crate::components::csv_upload::{CsvUpload, Upload};
use crate::components::form::{
    load_datasets, parse_number, Choice, ErrorLine, NumberField, StrategyFields, StrategyInput,
};
use crate::components::format::wire_name;
use crate::components::replay::{RecordReplay, Replay, ReplayImport};
use crate::components::run_body::RunBody;
use crate::components::run_header::RunHeader;
use crate::components::run_history::BacktestHistory;
use crate::components::status::LastMessage;
use crate::components::sync_view::SyncAny;
use crate::replay::Tape;
use crate::stream::{use_topic_state, Display};
use protocol::api::{BacktestRequest, RunInfo, StartedRun};
use protocol::{BacktestSnapshot, Topic, TopicKind};

/// Runs the page opens live when it loads: the most recent.
const OPENED_AT_LOAD: usize = 10;

#[component]
pub fn BacktestsPage() -> impl IntoView {
    let runs = RwSignal::new(Vec::<String>::new());
    let picked = RwSignal::new(Vec::<String>::new());
    let comparing = RwSignal::new(None::<Vec<String>>);
    let started = RwSignal::new(0_u64);
    let replays = RwSignal::new(Vec::<(Arc<Tape>, String)>::new());
    let datasets = RwSignal::new(Vec::<String>::new());
    let dataset = RwSignal::new(String::new());
    let upload = RwSignal::new(None::<Upload>);
    let strategy = StrategyInput::new("sma_cross", &[]);
    let cash = RwSignal::new("10000".to_owned());
    let commission = RwSignal::new("0.001".to_owned());
    let pace = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    api::spawn(async move {
        load_datasets(datasets, dataset, error).await;
        let recent = format!("/api/backtests?limit={OPENED_AT_LOAD}");
        if let Ok(list) = api::get::<Vec<RunInfo>>(&recent).await {
            runs.update(|r| {
                for run in list {
                    if !r.contains(&run.backtest_id) {
                        r.push(run.backtest_id);
                    }
                }
            });
        }
    });

    let request = move || -> Result<BacktestRequest, String> {
        let (dataset, csv, symbol) = match upload.get_untracked() {
            Some(Upload { name, text }) => {
                let stem = name.trim_end_matches(".csv").to_owned();
                (None, Some(text), Some(stem))
            }
            None => (Some(dataset.get_untracked()), None, None),
        };
        Ok(BacktestRequest {
            dataset,
            csv,
            symbol,
            strategy: strategy.strategy.get_untracked(),
            params: strategy.params()?,
            cash: Some(parse_number("cash", &cash.get_untracked())?),
            commission: Some(parse_number("commission", &commission.get_untracked())?),
            pace: match pace.get_untracked().trim() {
                "" => None,
                text => Some(parse_number("pace", text)?),
            },
            ..BacktestRequest::default()
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        api::submit(
            "/api/backtests",
            request(),
            error,
            move |run: StartedRun| {
                runs.update(|r| r.insert(0, run.backtest_id));
                started.update(|n| *n += 1);
            },
        );
    };

    let open = move |id: String| {
        runs.update(|r| {
            r.retain(|x| *x != id);
            r.insert(0, id);
        });
    };
    let can_compare = move || picked.with(|p| (compare::FEWEST..=compare::MOST).contains(&p.len()));
    let compare_bar = move || {
        view! {
            <div class="compare-bar">
                <span class="muted">
                    {move || {
                        format!(
                            "{} picked to compare (2 to {})",
                            picked.with(Vec::len),
                            compare::MOST,
                        )
                    }}
                </span>
                <button
                    data-testid="compare-open"
                    disabled=move || !can_compare()
                    on:click=move |_| comparing.set(Some(picked.get_untracked()))
                >
                    "Compare"
                </button>
            </div>
        }
    };

    view! {
        <section class="backtests">
            <form class="panel backtest-form" on:submit=submit>
                <h2>"New backtest"</h2>
                <Choice label="Dataset" name="dataset" value=dataset options=datasets />
                <CsvUpload file=upload error />
                <StrategyFields input=strategy />
                <NumberField label="Cash" name="cash" value=cash />
                <NumberField label="Commission" name="commission" value=commission />
                <NumberField label="Pace (bars/s, blank: full speed)" name="pace" value=pace />
                <button type="submit" data-testid="backtest-start">
                    "Start"
                </button>
                <ErrorLine error=error testid="backtest-error" />
                <ReplayImport replays />
            </form>
            <div class="runs">
                {move || {
                    comparing
                        .get()
                        .map(|ids| {
                            view! { <CompareView ids close=move |()| comparing.set(None) /> }
                        })
                }} <BacktestHistory open compare=picked reload=started /> {compare_bar}
                <For
                    each=move || replays.get()
                    key=|(tape, _)| Arc::as_ptr(tape) as usize
                    let:replay
                >
                    <Replay tape=replay.0 origin=replay.1 />
                </For>
                {move || {
                    runs.with(Vec::is_empty)
                        .then(|| {
                            view! {
                                <p class="muted">"No backtests yet: start one with the form."</p>
                            }
                        })
                }} <For each=move || runs.get() key=|id| id.clone() let:id>
                    <BacktestRun id />
                </For>
            </div>
        </section>
    }
    .into_sync_any()
}

/// One run, following `backtest:{id}`.
#[component]
pub fn BacktestRun(id: String) -> impl IntoView {
    let topic = Topic::new(TopicKind::Backtest, &id).ok();
    let topic = Signal::derive(move || topic.clone());
    let state = use_topic_state::<BacktestSnapshot>(topic, Display::Focus);
    let status = move || wire_name(state.with(|s| s.status));
    let finished = move || state.with(|s| s.status.is_over());
    let backtest_id = id.clone();
    view! {
        <article
            class="panel run"
            data-testid="backtest-run"
            data-backtest-id=backtest_id
            data-status=status
        >
            <RunHeader id state />
            <LastMessage topic />
            <RunBody state />
            <RecordReplay topic finished=Signal::derive(finished) />
        </article>
    }
    .into_sync_any()
}

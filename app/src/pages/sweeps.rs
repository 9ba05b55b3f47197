//! The sweeps page: a form that sweeps a strategy's parameters over a dataset, each
//! sweep started here filling its heatmap live as results land, the history of every
//! kept sweep (any of which opens in the same view), and the full backtest of any cell
//! opened beside it (its metrics are the cell's: docs/SPEC.md section 10, "Sweeps").

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api;
use crate::components::form::{load_datasets, parse_number, Choice, ErrorLine, NumberField};
use crate::components::run_history::SweepHistory;
use crate::components::sweep_view::SweepView;
use crate::components::sync_view::SyncAny;
use crate::pages::backtests::BacktestRun;
use protocol::api::{BacktestRequest, GridAxis, StartedRun, SweepCreated, SweepInfo, SweepRequest};
use protocol::sweep::Objective;
use strum::VariantArray as _;

/// A parameter and the range the form starts it with: from, to, step.
type Range = (&'static str, [&'static str; 3]);

/// Each sweepable strategy's parameters and their starting ranges.
const RANGES: &[(&str, &[Range])] = &[
    (
        "sma_cross",
        &[("fast", ["5", "30", "5"]), ("slow", ["20", "60", "10"])],
    ),
    (
        "rsi_reversion",
        &[
            ("period", ["6", "24", "6"]),
            ("lower", ["20", "35", "5"]),
            ("upper", ["65", "80", "5"]),
        ],
    ),
];

/// The range inputs of every parameter of every strategy: (strategy, parameter,
/// [from, to, step]).
type Ranges = Vec<(&'static str, &'static str, [RwSignal<String>; 3])>;

#[component]
pub fn SweepsPage() -> impl IntoView {
    let datasets = RwSignal::new(Vec::<String>::new());
    let dataset = RwSignal::new(String::new());
    let strategy = RwSignal::new("sma_cross".to_owned());
    let objective = RwSignal::new("return_pct".to_owned());
    let cash = RwSignal::new("10000".to_owned());
    let commission = RwSignal::new("0.001".to_owned());
    let error = RwSignal::new(None::<String>);
    let paused = RwSignal::new(false);
    // The sweeps shown, newest first, each with what its cells' backtests run on.
    let sweeps = RwSignal::new(Vec::<(String, BacktestRequest)>::new());
    let opened = RwSignal::new(Vec::<String>::new());
    let started = RwSignal::new(0_u64);
    let show = move |id: String, base: BacktestRequest| {
        sweeps.update(|s| {
            s.retain(|(shown, _)| *shown != id);
            s.insert(0, (id, base));
        });
    };
    let ranges: StoredValue<Ranges> = StoredValue::new(
        RANGES
            .iter()
            .flat_map(|(s, params)| {
                params.iter().map(move |(p, [from, to, step])| {
                    (
                        *s,
                        *p,
                        [from, to, step].map(|v| RwSignal::new((*v).to_owned())),
                    )
                })
            })
            .collect(),
    );

    api::spawn(load_datasets(datasets, dataset, error));

    let request = move || -> Result<SweepRequest, String> {
        let strategy = strategy.get_untracked();
        let mut grid = BTreeMap::new();
        ranges.with_value(|ranges| -> Result<(), String> {
            for (_, param, [from, to, step]) in ranges.iter().filter(|(s, _, _)| *s == strategy) {
                let number = |field: &str, text: RwSignal<String>| {
                    parse_number(&format!("{param} {field}"), &text.get_untracked())
                };
                let axis = GridAxis::Range {
                    from: number("from", *from)?,
                    to: number("to", *to)?,
                    step: number("step", *step)?,
                };
                grid.insert((*param).to_owned(), axis);
            }
            Ok(())
        })?;
        Ok(SweepRequest {
            dataset: Some(dataset.get_untracked()),
            strategy,
            grid,
            cash: Some(parse_number("cash", &cash.get_untracked())?),
            commission: Some(parse_number("commission", &commission.get_untracked())?),
            objective: objective
                .get_untracked()
                .parse::<Objective>()
                .map_err(|_| "pick an objective".to_owned())?,
            paused: paused.get_untracked(),
            ..SweepRequest::default()
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = request();
        // What a cell's full backtest runs on: the sweep's data and account.
        let base = body.as_ref().ok().map(|r| BacktestRequest {
            dataset: r.dataset.clone(),
            strategy: r.strategy.clone(),
            cash: r.cash,
            commission: r.commission,
            ..BacktestRequest::default()
        });
        api::submit("/api/sweeps", body, error, move |created: SweepCreated| {
            if let Some(base) = base {
                show(created.sweep_id, base);
            }
            started.update(|n| *n += 1);
        });
    };
    // A kept sweep, opened from the history: its cells' backtests run on its dataset.
    let open = move |id: String| {
        api::spawn(async move {
            match api::get::<SweepInfo>(&format!("/api/sweeps/{id}")).await {
                Ok(info) => show(
                    info.sweep_id,
                    BacktestRequest {
                        dataset: info.dataset,
                        strategy: info.strategy,
                        cash: Some(info.cash),
                        commission: Some(info.commission),
                        ..BacktestRequest::default()
                    },
                ),
                Err(e) => error.set(Some(format!("could not open sweep {id}: {e}"))),
            }
        });
    };
    let fields = move || {
        let strategy = strategy.get();
        ranges.with_value(|ranges| {
            ranges
                .iter()
                .filter(|(s, _, _)| *s == strategy)
                .map(|(_, param, [from, to, step])| {
                    view! {
                        <fieldset class="sweep-range">
                            <legend>{*param}</legend>
                            <NumberField label="from" name="from" value=*from />
                            <NumberField label="to" name="to" value=*to />
                            <NumberField label="step" name="step" value=*step />
                        </fieldset>
                    }
                })
                .collect_view()
        })
    };
    let strategies = Signal::derive(|| RANGES.iter().map(|(s, _)| (*s).to_owned()).collect());
    let objectives = Signal::derive(|| {
        Objective::VARIANTS
            .iter()
            .map(|o| <&str>::from(*o).to_owned())
            .collect()
    });

    view! {
        <section class="sweeps">
            <form class="panel sweep-form" on:submit=submit>
                <h2>"New sweep"</h2>
                <Choice label="Dataset" name="dataset" value=dataset options=datasets />
                <Choice label="Strategy" name="strategy" value=strategy options=strategies />
                {fields}
                <Choice label="Rank by" name="objective" value=objective options=objectives />
                <NumberField label="Cash" name="cash" value=cash />
                <NumberField label="Commission" name="commission" value=commission />
                <label>
                    <input
                        type="checkbox"
                        data-testid="sweep-paused"
                        prop:checked=move || paused.get()
                        on:change=move |ev| paused.set(event_target_checked(&ev))
                    />
                    "Start paused"
                </label>
                <button type="submit" data-testid="sweep-start">
                    "Sweep"
                </button>
                <ErrorLine error testid="sweep-error" />
            </form>
            <div class="runs">
                {move || {
                    sweeps
                        .with(Vec::is_empty)
                        .then(|| {
                            view! { <p class="muted">"No sweeps yet: start one with the form."</p> }
                        })
                }} <For each=move || opened.get() key=|id| id.clone() let:id>
                    <BacktestRun id />
                </For> <For each=move || sweeps.get() key=|(id, _)| id.clone() let:sweep>
                    <SweepView
                        id=sweep.0.clone()
                        on_open=Callback::new(move |params: BTreeMap<String, f64>| {
                            if sweep.1.dataset.is_none() {
                                error
                                    .set(
                                        Some(
                                            "this sweep ran on an uploaded file: run its backtest from the backtests page"
                                                .to_owned(),
                                        ),
                                    );
                                return;
                            }
                            let body = BacktestRequest {
                                params,
                                ..sweep.1.clone()
                            };
                            api::submit(
                                "/api/backtests",
                                Ok(body),
                                error,
                                move |run: StartedRun| {
                                    opened.update(|o| o.insert(0, run.backtest_id));
                                },
                            );
                        })
                    />
                </For>
            </div>
            <SweepHistory open=Callback::new(open) reload=started />
        </section>
    }
    .into_sync_any()
}

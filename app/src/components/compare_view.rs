//! The compare view of the backtests page: two to four runs side by side — equity
//! overlaid and normalised to 100, drawdowns, metrics with the best of each row marked
//! (`data-best`), and the set-ups with what differs marked (`data-differs`). What it
//! shows is computed by `crate::compare`.

use leptos::prelude::*;
use serde::Deserialize;

use super::form::ErrorLine;
use super::format::{money, percent};
use super::line_chart::{OverlayChart, PALETTE};
use crate::api;
use crate::compare::{self, Compared, MetricRow, Unit};
use protocol::api::RunInfo;
use protocol::{Snapshot, SnapshotData};

/// `GET /api/backtests/{id}`: the run and its state.
#[derive(Deserialize)]
struct RunState {
    #[serde(flatten)]
    info: RunInfo,
    state: Snapshot,
}

fn written(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Money => money(value),
        Unit::Percent => percent(value, 2),
        Unit::Ratio => format!("{value:.2}"),
        Unit::Count => format!("{value:.0}"),
    }
}

/// The runs `ids` (in order) side by side; `close` ends the comparison.
#[component]
pub fn CompareView(ids: Vec<String>, #[prop(into)] close: Callback<()>) -> impl IntoView {
    let runs = RwSignal::new(Vec::<Compared>::new());
    let error = RwSignal::new(None::<String>);
    api::spawn(async move {
        let mut loaded = Vec::with_capacity(ids.len());
        for id in &ids {
            match api::get::<RunState>(&format!("/api/backtests/{id}")).await {
                Ok(RunState {
                    info,
                    state:
                        Snapshot {
                            data: SnapshotData::Backtest(state),
                            ..
                        },
                }) => loaded.push(Compared { info, state }),
                Ok(_) => return error.set(Some(format!("{id} is not a backtest"))),
                Err(e) => return error.set(Some(format!("could not open {id}: {e}"))),
            }
        }
        runs.set(loaded);
    });
    let equity = Signal::derive(move || {
        runs.with(|r| r.iter().map(|c| compare::normalised(&c.state)).collect())
    });
    let drawdown = Signal::derive(move || {
        runs.with(|r| r.iter().map(|c| compare::drawdowns(&c.state)).collect())
    });
    let name = |c: &Compared| {
        c.info
            .notes
            .title
            .clone()
            .unwrap_or_else(|| c.info.backtest_id.clone())
    };
    let legend = move || {
        runs.with(|r| {
            r.iter()
                .zip(PALETTE.iter().cycle())
                .map(|(c, colour)| {
                    view! {
                        <li>
                            <span class="swatch" style=format!("background: {colour}")></span>
                            {name(c)}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let heads = move || {
        runs.with(|r| {
            r.iter()
                .map(|c| view! { <th>{name(c)}</th> })
                .collect_view()
        })
    };
    let metric_row = |row: MetricRow| {
        let cells = row
            .cells
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let best = row.best.contains(&i).then_some("true");
                view! { <td data-best=best>{v.map_or("—".to_owned(), |v| written(v, row.unit))}</td> }
            })
            .collect_view();
        view! {
            <tr data-metric=row.label>
                <th>{row.label}</th>
                {cells}
            </tr>
        }
    };
    let metrics = move || {
        runs.with(|r| {
            compare::metric_rows(r)
                .into_iter()
                .map(metric_row)
                .collect_view()
        })
    };
    let setups = move || {
        runs.with(|r| {
            compare::setup_rows(r)
                .into_iter()
                .map(|row| {
                    let differs = row.differs.then_some("true");
                    view! {
                        <tr data-differs=differs>
                            <th>{row.label}</th>
                            {row.cells.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section
            class="panel compare"
            data-testid="compare-view"
            data-runs=move || runs.with(Vec::len)
        >
            <header class="compare-header">
                <h2>"Compare"</h2>
                <button data-testid="compare-close" on:click=move |_| close.run(())>
                    "Close"
                </button>
            </header>
            <ErrorLine error testid="compare-error" />
            <ul class="legend">{legend}</ul>
            <div class="run-charts">
                <OverlayChart series=equity label="Equity (start = 100)" testid="compare-equity" />
                <OverlayChart
                    series=drawdown
                    label="Drawdown %"
                    testid="compare-drawdown"
                    fill=true
                />
            </div>
            <table data-testid="compare-metrics">
                <thead>
                    <tr>
                        <th>"Metric"</th>
                        {heads}
                    </tr>
                </thead>
                <tbody>{metrics}</tbody>
            </table>
            <table data-testid="compare-setup">
                <thead>
                    <tr>
                        <th>"Set-up"</th>
                        {heads}
                    </tr>
                </thead>
                <tbody>{setups}</tbody>
            </table>
        </section>
    }
}

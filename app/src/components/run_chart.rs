//! A backtest run's price chart: the bars it traded on (`GET /api/backtests/{id}/bars`,
//! older pages as the view pans left), its fills as markers and the lines its strategy
//! trades on; and the buy-and-hold line its equity is measured against.

use leptos::prelude::*;

use super::form::ErrorLine;
use super::price_chart::{ChartFeed, PriceChart};
use crate::api;
use crate::chart::marks::{of_trades, strategy_lines};
use protocol::api::{Bar, RunBars, BARS_PAGE};
use protocol::{BacktestSnapshot, Timestamp};

/// What a buy-and-hold line is drawn from: the run's first close, and the (time in ms,
/// close) of each bar loaded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunCloses {
    pub first: f64,
    pub points: Vec<(f64, f64)>,
}

/// The run's bars as the page holds them: its chart's feed, and its closes.
#[derive(Clone, Copy)]
pub struct RunBarsFeed {
    pub feed: ChartFeed,
    pub closes: RwSignal<Option<RunCloses>>,
    pub error: RwSignal<Option<String>>,
}

impl RunBarsFeed {
    /// Loads the newest page of run `id`'s bars once its id is known.
    pub fn follow(state: Signal<BacktestSnapshot>) -> Self {
        let this = RunBarsFeed {
            feed: ChartFeed::new(),
            closes: RwSignal::new(None),
            error: RwSignal::new(None),
        };
        let id =
            Memo::new(move |_| state.with(|s| s.started.as_ref().map(|s| s.backtest_id.clone())));
        Effect::new(move |_| {
            if let Some(id) = id.get() {
                api::spawn(this.load(id));
            }
        });
        this
    }

    async fn load(self, id: String) {
        let page = match api::get::<RunBars>(&format!("/api/backtests/{id}/bars")).await {
            Ok(page) => page,
            Err(e) => {
                self.error
                    .set(Some(format!("the run's prices cannot be shown: {e}")));
                return;
            }
        };
        self.feed.reset(&page.bars, 0);
        // The buy-and-hold line starts at the run's first bar, loaded or not.
        if let Some(opening) = page.opening {
            self.closes.set(Some(RunCloses {
                first: opening.close,
                points: closes(&page.bars),
            }));
        }
        if page.first == 0 {
            self.feed.prepend(&[], true);
        }
    }

    /// Loads the page before `before` (the chart neared the oldest bar held).
    fn older(self, id: String, before: Timestamp) {
        api::spawn(async move {
            let path = format!("/api/backtests/{id}/bars?before={before}&limit={BARS_PAGE}");
            match api::get::<RunBars>(&path).await {
                Ok(page) => {
                    self.feed.prepend(&page.bars, page.first == 0);
                    self.closes.update(|c| {
                        if let Some(c) = c {
                            c.points.splice(0..0, closes(&page.bars));
                        }
                    });
                }
                Err(_) => self.feed.older_failed(),
            }
        });
    }
}

fn closes(bars: &[Bar]) -> Vec<(f64, f64)> {
    bars.iter()
        .map(|b| (b.time.unix_ms() as f64, b.close))
        .collect()
}

/// The chart of the run `state` follows.
#[component]
pub fn RunPriceChart(
    #[prop(into)] state: Signal<BacktestSnapshot>,
    bars: RunBarsFeed,
) -> impl IntoView {
    let started = Memo::new(move |_| {
        state.with(|s| {
            s.started.as_ref().map(|s| {
                (
                    s.backtest_id.clone(),
                    s.strategy.clone(),
                    s.params.clone(),
                    s.symbol.clone(),
                )
            })
        })
    });
    let lines = Signal::derive(move || {
        started.with(|s| {
            s.as_ref()
                .map(|(_, strategy, params, _)| strategy_lines(strategy, params))
                .unwrap_or_default()
        })
    });
    let trades = Memo::new(move |_| state.with(|s| s.trades.len()));
    let marks = Signal::derive(move || {
        trades.track();
        state.with_untracked(|s| of_trades(&s.trades))
    });
    let older = Callback::new(move |before: Timestamp| match started.get_untracked() {
        Some((id, ..)) => bars.older(id, before),
        None => bars.feed.older_failed(),
    });
    let label = Signal::derive(move || {
        started.with(|s| {
            s.as_ref().map_or_else(
                || "Run prices".to_owned(),
                |(id, _, _, symbol)| format!("{symbol} prices of run {id}"),
            )
        })
    });
    view! {
        <PriceChart feed=bars.feed decimals=2 lines marks fit=true older label />
        <ErrorLine error=bars.error />
    }
}

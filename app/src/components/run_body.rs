//! What a backtest run shows below its header, live or replayed: progress, its price
//! chart with its fills, equity and drawdown against buy and hold, final metrics, the
//! closed trades by period, trades and logs.

use leptos::prelude::*;

use super::equity_charts::EquityCharts;
use super::log_list::LogList;
use super::metrics::RunMetrics;
use super::period_breakdown::PeriodBreakdown;
use super::run_chart::{RunBarsFeed, RunPriceChart};
use super::run_progress::RunProgress;
use super::sync_view::SyncAny;
use super::trades_table::TradesTable;
use protocol::BacktestSnapshot;

#[component]
pub fn RunBody(#[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let bars = RunBarsFeed::follow(state);
    view! {
        <RunProgress state />
        <RunPriceChart state bars />
        <EquityCharts state closes=bars.closes />
        <RunMetrics state />
        <PeriodBreakdown state />
        <TradesTable state />
        <LogList state />
    }
    .into_sync_any()
}

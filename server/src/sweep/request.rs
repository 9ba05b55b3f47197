//! `POST /api/sweeps`: the request, and its validation into a [`SweepPlan`] — the
//! strategy, its grid counted against `--max-sweep-combos`, the account, the objective
//! and the bars loaded once for every combination — or a [`RequestError`] naming the
//! field.

use std::path::Path;

use protocol::api::{SweepRequest, MAX_SWEEP_TOP_N};
use protocol::validate::within;
use protocol::{self as wire, Topic, TopicKind};

use super::evaluate::Workload;
use super::grid::Grid;
use super::live::SweepPlan;
use crate::backtest::engine::Account;
use crate::backtest::request::load_bars;
use crate::backtest::strategy::{StrategyError, StrategyKind};
use crate::refusal::{invalid, RequestError};

/// How big a sweep may be, and what it runs on.
#[derive(Clone, Copy, Debug)]
pub struct SweepLimits {
    /// `--max-sweep-combos`.
    pub max_combos: u64,
    /// Threads this instance runs sweep combinations on (`--sweep-threads`; on Redis
    /// 0 leaves them to the other instances).
    pub workers: usize,
}

/// How many of the best a sweep keeps when the request does not say.
pub const DEFAULT_TOP_N: u32 = 10;

/// Checks every field of a sweep request and loads its bars. Blocking work (a large
/// CSV).
pub fn plan(
    request: SweepRequest,
    data_dir: Option<&Path>,
    limits: SweepLimits,
) -> Result<SweepPlan, RequestError> {
    let strategy: StrategyKind = request
        .strategy
        .parse()
        .map_err(|_| invalid("strategy", StrategyError::Unknown(request.strategy.clone())))?;
    let grid = Grid::new(strategy, &request.grid, limits.max_combos)?;
    let account = Account::from_request(request.cash, request.commission)?;
    let top_n = request.top_n.unwrap_or(DEFAULT_TOP_N);
    within("top_n", f64::from(top_n), 1.0, f64::from(MAX_SWEEP_TOP_N))?;
    if let Some(symbol) = &request.symbol {
        wire::validate::texts(&[("symbol", symbol)])?;
    }
    let (bars, name) = load_bars(
        request.dataset.as_deref(),
        request.csv.as_deref(),
        request.path.as_deref(),
        data_dir,
    )?;
    let id = match request.id {
        Some(id) => {
            wire::validate_id(&id).map_err(|e| invalid("id", e))?;
            id
        }
        None => format!("sw-{}", ulid::Ulid::new().to_string().to_lowercase()),
    };
    let topic = Topic::new(TopicKind::Sweep, &id).map_err(|e| invalid("id", e))?;
    Ok(SweepPlan {
        id,
        topic,
        symbol: request.symbol.unwrap_or(name),
        work: Workload {
            bars,
            strategy,
            grid,
            account,
            objective: request.objective,
        },
        top_n,
        start_paused: request.paused,
        workers: limits.workers,
    })
}

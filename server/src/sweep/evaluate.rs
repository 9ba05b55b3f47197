//! A sweep's combinations run: one silent engine per combination on bars parsed once and
//! shared by every worker thread (no streaming per combination: a combination's whole
//! output is its [`SweepEntry`]), the results handed back in batches as they land.
//!
//! Workers take the next index from one counter and look at `keep_going` before each,
//! so a pause or a cancel stops every worker after the combination it runs, and every
//! index below the counter's value is done: the next stretch starts there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use protocol::sweep::{Objective, SweepEntry};

use super::grid::Grid;
use crate::backtest::engine::{run_silent, Account};
use crate::backtest::strategy::{Strategy, StrategyKind};
use crate::backtest::Bars;

/// Results in one `sweep_result` message, at most (about 250 bytes each). A sweep lands
/// what it has every [`LAND_EVERY`], so its subscribers get about ten batches a second
/// however fast its combinations run (a batch of 100 at 30,000 combinations a second
/// was 300 messages a second, and a reader that looked away was closed as slow); only
/// a sweep faster than 50,000 a second fills batches sooner.
pub const RESULTS_PER_BATCH: usize = 5_000;

/// The longest a result waits to be handed back.
pub const LAND_EVERY: Duration = Duration::from_millis(100);

/// What every combination of a sweep runs on.
pub struct Workload {
    pub bars: Bars,
    pub strategy: StrategyKind,
    pub grid: Grid,
    pub account: Account,
    pub objective: Objective,
}

impl Workload {
    /// Combination `index`, run: its metrics and objective value, or why it was skipped.
    pub fn evaluate(&self, index: u64) -> SweepEntry {
        let params = self.grid.params(index).unwrap_or_default();
        let strategy = Strategy::from_params(self.strategy.into(), &params).and_then(|s| {
            s.check_data(self.bars.len())?;
            Ok(s)
        });
        let mut entry = SweepEntry {
            index,
            params,
            value: None,
            metrics: None,
            final_equity: None,
            skipped: None,
        };
        match strategy {
            Ok(strategy) => {
                let outcome = run_silent(&self.bars, &strategy, self.account);
                entry.value = self.objective.value(&outcome.metrics, outcome.final_equity);
                entry.metrics = Some(outcome.metrics);
                entry.final_equity = Some(outcome.final_equity);
            }
            Err(e) => entry.skipped = Some(e.to_string()),
        }
        entry
    }

    /// Runs combinations from `next` up to `end` (the grid's size, or the end of a
    /// task of a shared sweep) on `workers` threads while `keep_going` says so, handing
    /// their results to `land` in batches (at most [`RESULTS_PER_BATCH`], at least every
    /// [`LAND_EVERY`]) on the calling thread. Returns once every worker has stopped and
    /// every result is landed; `next` is then where the sweep stands.
    pub fn run(
        &self,
        next: &AtomicU64,
        end: u64,
        workers: usize,
        keep_going: &(dyn Fn() -> bool + Sync),
        land: &mut dyn FnMut(Vec<SweepEntry>),
    ) {
        let combos = end.min(self.grid.combos());
        let (sender, results) = mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..workers.max(1) {
                let sender = sender.clone();
                scope.spawn(move || {
                    yield_to_live_work();
                    while keep_going() {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= combos {
                            break;
                        }
                        if sender.send(self.evaluate(index)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(sender);
            collect(&results, land);
        });
        // Workers that found the grid done took an index past it.
        next.fetch_min(combos, Ordering::Relaxed);
    }
}

/// Makes the calling thread (a sweep's worker) give way to everything else the server
/// does: Linux's batch policy at the lowest niceness, so the threads that deliver
/// messages and run the feeds get a core first whenever they are ready, and a sweep
/// still has every core the live traffic leaves (BENCHMARKS.md, "Sweeps"). A system
/// that refuses leaves the thread as it was.
fn yield_to_live_work() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadPriority, ThreadSchedulePolicy,
        };
        let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
        if let Err(e) =
            set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, batch)
        {
            tracing::debug!(error = ?e, "a sweep's worker keeps its priority");
        }
    }
}

/// Hands what `results` brings to `land` in batches until every sender is gone.
fn collect(results: &mpsc::Receiver<SweepEntry>, land: &mut dyn FnMut(Vec<SweepEntry>)) {
    let mut batch = Vec::with_capacity(RESULTS_PER_BATCH);
    let mut since = Instant::now();
    loop {
        let wait = LAND_EVERY.saturating_sub(since.elapsed());
        match results.recv_timeout(wait) {
            Ok(entry) => batch.push(entry),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if batch.len() >= RESULTS_PER_BATCH || since.elapsed() >= LAND_EVERY {
            if !batch.is_empty() {
                land(std::mem::take(&mut batch));
            }
            since = Instant::now();
        }
    }
    if !batch.is_empty() {
        land(batch);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use protocol::api::GridAxis;

    use super::*;

    fn workload(csv: &str, grid: &[(&str, Vec<f64>)]) -> Workload {
        let grid: BTreeMap<String, GridAxis> = grid
            .iter()
            .map(|(p, v)| ((*p).to_owned(), GridAxis::Values(v.clone())))
            .collect();
        let Ok(bars) = Bars::parse(csv, "test") else {
            panic!("the test's CSV parses");
        };
        let Ok(grid) = Grid::new(StrategyKind::SmaCross, &grid, 1_000) else {
            panic!("the test's grid is good");
        };
        Workload {
            bars,
            strategy: StrategyKind::SmaCross,
            grid,
            account: Account::default(),
            objective: Objective::ReturnPct,
        }
    }

    fn zigzag(bars: usize) -> String {
        let mut csv = String::from("time,open,high,low,close,volume\n");
        for i in 0..bars {
            let close = 100.0 + 10.0 * ((i as f64) / 7.0).sin() + (i % 5) as f64;
            let t = 1_700_000_000_000i64 + i as i64 * 60_000;
            csv += &format!("{t},{close},{},{},{close},1\n", close + 1.0, close - 1.0);
        }
        csv
    }

    #[test]
    fn every_combination_lands_once_equal_to_its_own_run_and_refused_ones_are_skipped() {
        let work = workload(
            &zigzag(400),
            &[("fast", vec![3.0, 5.0, 30.0]), ("slow", vec![10.0, 20.0])],
        );
        let next = AtomicU64::new(0);
        let mut landed = Vec::new();
        work.run(&next, 6, 3, &|| true, &mut |batch| landed.extend(batch));
        assert_eq!(next.load(Ordering::Relaxed), 6);
        landed.sort_by_key(|e| e.index);
        let indices: Vec<u64> = landed.iter().map(|e| e.index).collect();
        assert_eq!(indices, [0, 1, 2, 3, 4, 5]);
        for entry in &landed {
            let (fast, slow) = (entry.params["fast"], entry.params["slow"]);
            if fast >= slow {
                assert!(entry
                    .skipped
                    .as_deref()
                    .is_some_and(|s| s.contains("less than `slow`")));
                continue;
            }
            let Ok(strategy) = Strategy::from_params("sma_cross", &entry.params) else {
                panic!("valid parameters");
            };
            let single = run_silent(&work.bars, &strategy, Account::default());
            assert_eq!(entry.metrics.as_ref(), Some(&single.metrics));
            assert_eq!(entry.value, Some(single.metrics.return_pct));
        }
    }

    #[test]
    fn a_stop_leaves_every_index_below_the_counter_done_and_the_next_stretch_finishes() {
        let work = workload(
            &zigzag(300),
            &[
                ("fast", vec![2.0, 3.0, 4.0, 5.0]),
                ("slow", vec![10.0, 12.0, 14.0, 16.0, 18.0]),
            ],
        );
        let next = AtomicU64::new(0);
        // Five combinations, then a pause.
        let asked = AtomicU64::new(0);
        let mut landed = Vec::new();
        work.run(
            &next,
            20,
            2,
            &|| asked.fetch_add(1, Ordering::Relaxed) < 5,
            &mut |batch| landed.extend(batch),
        );
        let stood = next.load(Ordering::Relaxed);
        assert_eq!(stood, 5, "stopped where it was told");
        assert_eq!(landed.len(), 5, "every index taken is landed");
        work.run(&next, 20, 2, &|| true, &mut |batch| landed.extend(batch));
        let mut indices: Vec<u64> = landed.iter().map(|e| e.index).collect();
        indices.sort_unstable();
        assert_eq!(indices, (0..20).collect::<Vec<_>>(), "each once");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_worker_gives_way_to_the_servers_other_threads() {
        use thread_priority::{
            thread_schedule_policy, NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        let policy = std::thread::spawn(|| {
            yield_to_live_work();
            thread_schedule_policy().ok()
        })
        .join()
        .ok()
        .flatten();
        assert_eq!(
            policy,
            Some(ThreadSchedulePolicy::Normal(
                NormalThreadSchedulePolicy::Batch
            ))
        );
    }
}

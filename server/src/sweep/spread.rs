//! A sweep shared by the instances of a cluster (docs/SPEC.md section 8, "Shared
//! work"). On Redis, the instance that takes a sweep (its owner) posts its workload
//! once and its combinations as tasks of tens of milliseconds of one core's work; every
//! instance's [`serve`] loop claims tasks of the running sweeps, runs each on its sweep
//! threads and hands the results back; the owner lands them as it lands its own
//! (`live.rs`). A task whose instance died is claimed again by another, and a result
//! that arrives twice lands once, so a sweep's results are those of one instance.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use protocol::sweep::{Objective, SweepAxis, SweepEntry};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::evaluate::Workload;
use super::grid::Grid;
use crate::backtest::engine::Account;
use crate::backtest::Bars;
use crate::hub::{Unavailable, WorkQueue};

/// Bar steps in one task, about: tens of milliseconds of one core at the engine's 40-58
/// M bars a second, so a pause or a dead instance leaves little undone.
const TASK_BAR_STEPS: u64 = 2_000_000;
/// A sweep is cut into at least this many tasks when it has that many combinations,
/// so every instance gets a share of a small one.
const MIN_TASKS: u64 = 64;
/// And into at most this many: the tasks are posted in one step.
const MAX_TASKS: u64 = 4_096;
/// How often an instance with nothing to run looks for work again (one `HGETALL`):
/// what a new or resumed sweep waits for its first tasks to be taken, at most.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// How often the owner of a shared sweep looks for results when none were waiting:
/// what its last result waits to land, at most.
pub const RESULTS_POLL: Duration = Duration::from_millis(25);
/// How often the owner of a shared sweep waiting for results checks that Redis still
/// holds it ([`Posted::post_again_if_lost`]).
pub const LOST_CHECK_EVERY: Duration = Duration::from_secs(1);
/// Results the owner takes from Redis at once.
const RESULTS_PER_READ: usize = 64;

/// What every instance runs a sweep's tasks on: its workload, as JSON.
#[derive(Serialize, Deserialize)]
struct Spec {
    strategy: String,
    axes: Vec<SweepAxis>,
    cash: f64,
    commission: f64,
    objective: Objective,
    bars: Bars,
}

impl Spec {
    fn of(work: &Workload) -> Spec {
        Spec {
            strategy: <&str>::from(work.strategy).to_owned(),
            axes: work.grid.axes().to_vec(),
            cash: work.account.cash,
            commission: work.account.commission,
            objective: work.objective,
            bars: work.bars.clone(),
        }
    }

    fn workload(self) -> Option<Workload> {
        Some(Workload {
            strategy: self.strategy.parse().ok()?,
            grid: Grid::from_axes(self.axes),
            account: Account {
                cash: self.cash,
                commission: self.commission,
            },
            objective: self.objective,
            bars: self.bars,
        })
    }
}

/// The combinations `span` of a sweep of `combos` on `bars` bars, cut into tasks.
fn tasks(span: Range<u64>, combos: u64, bars: usize) -> Vec<Range<u64>> {
    let by_work = (TASK_BAR_STEPS / (bars as u64).max(1)).max(1);
    let per_task = by_work
        .min(combos.div_ceil(MIN_TASKS))
        .max(combos.div_ceil(MAX_TASKS))
        .max(1);
    let end = span.end.min(combos);
    (span.start..end)
        .step_by(per_task as usize)
        .map(|from| from..(from + per_task).min(end))
        .collect()
}

/// A sweep as its owner posted it to the cluster. Each post is a job of its own
/// (`sweep:{ID}:{POST}`), so nothing of an earlier post of the same id — a task still
/// running, a workload read once — can reach a later one.
pub struct Posted {
    queue: WorkQueue,
    job: String,
}

impl Posted {
    /// Posts sweep `sweep_id`'s workload and every task, as this instance's (paused: no
    /// task is taken until [`Posted::pause`] says otherwise).
    pub async fn post(
        queue: WorkQueue,
        sweep_id: &str,
        work: &Workload,
        paused: bool,
    ) -> Result<Posted, Unavailable> {
        let job = post_span(&queue, sweep_id, work, 0..work.grid.combos(), paused).await?;
        Ok(Posted { queue, job })
    }

    /// Pauses (no task of it is taken) or resumes the sweep.
    pub async fn pause(&self, paused: bool) -> Result<(), Unavailable> {
        self.queue.pause(&self.job, paused).await
    }

    /// Retires the sweep's work: what is left of it in Redis is deleted.
    pub async fn end(&self) -> Result<(), Unavailable> {
        self.queue.end(&self.job).await
    }

    /// The results handed back since the last call (a batch that does not parse is
    /// logged and left out).
    pub async fn results(&self) -> Result<Vec<SweepEntry>, Unavailable> {
        let batches = self.queue.results(&self.job, RESULTS_PER_READ).await?;
        let mut entries = Vec::new();
        for batch in batches {
            match serde_json::from_slice::<Vec<SweepEntry>>(&batch) {
                Ok(batch) => entries.extend(batch),
                Err(e) => {
                    tracing::warn!(job = self.job, error = %e, "a shared sweep's results do not parse");
                }
            }
        }
        Ok(entries)
    }

    /// Posts sweep `sweep_id` again if Redis no longer holds it while combinations are
    /// missing (`landed`: by index): a Redis that restarted without persistence, or an
    /// instance that took this one for dead. The tasks from the first missing
    /// combination to the last (those landed between them run again and are dropped
    /// on landing).
    pub async fn post_again_if_lost(
        &mut self,
        sweep_id: &str,
        work: &Workload,
        landed: &[bool],
    ) -> Result<(), Unavailable> {
        if self.queue.holds(&self.job).await? {
            return Ok(());
        }
        let first = landed.iter().position(|done| !done);
        let last = landed.iter().rposition(|done| !done);
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(());
        };
        tracing::warn!(
            sweep_id,
            "a shared sweep was lost from redis: its missing combinations are posted again"
        );
        let span = first as u64..last as u64 + 1;
        // What may be left of the lost post goes first.
        self.queue.end(&self.job).await?;
        self.job = post_span(&self.queue, sweep_id, work, span, false).await?;
        Ok(())
    }
}

/// Posts the combinations `span` of sweep `sweep_id` as a new job; its name.
async fn post_span(
    queue: &WorkQueue,
    sweep_id: &str,
    work: &Workload,
    span: Range<u64>,
    paused: bool,
) -> Result<String, Unavailable> {
    let job = format!(
        "sweep:{sweep_id}:{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let spec = serde_json::to_vec(&Spec::of(work)).map_err(|_| Unavailable)?;
    let tasks: Vec<Vec<u8>> = tasks(span, work.grid.combos(), work.bars.len())
        .into_iter()
        .map(|range| format!("[{},{}]", range.start, range.end).into_bytes())
        .collect();
    queue.post(&job, &spec, &tasks, paused).await?;
    Ok(job)
}

/// Runs tasks of the cluster's running sweeps on `threads` threads until `shutdown`.
pub async fn serve(queue: WorkQueue, threads: usize, shutdown: CancellationToken) {
    let mut workloads = HashMap::new();
    loop {
        // Redis away: nothing was run, and the next round tries again.
        let worked = round(&queue, threads, &mut workloads, &shutdown)
            .await
            .unwrap_or(false);
        if shutdown.is_cancelled() {
            return;
        }
        if !worked {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }
}

/// One task of each running sweep, at most; true if any was run. Forgets the sweeps
/// whose owner died (the owner's run is marked interrupted elsewhere: `runs`).
async fn round(
    queue: &WorkQueue,
    threads: usize,
    workloads: &mut HashMap<String, Arc<Workload>>,
    shutdown: &CancellationToken,
) -> Result<bool, Unavailable> {
    let jobs = queue.jobs().await?;
    workloads.retain(|job, _| jobs.iter().any(|(listed, _)| listed == job));
    let mut worked = false;
    for (job, listing) in jobs {
        if listing.paused || !job.starts_with("sweep:") || shutdown.is_cancelled() {
            continue;
        }
        if listing.owner != queue.instance() && !queue.is_alive(&listing.owner).await? {
            tracing::info!(job, owner = listing.owner, "a shared sweep's owner is gone");
            queue.end(&job).await?;
            continue;
        }
        let Some(work) = workload(queue, &job, workloads).await? else {
            continue;
        };
        let Some(task) = queue.take(&job).await? else {
            continue;
        };
        let range = parse_task(&task.body).unwrap_or_else(|| {
            tracing::warn!(job, "a task that does not parse is retired");
            0..0
        });
        let stop = shutdown.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let next = AtomicU64::new(range.start);
            let mut entries = Vec::new();
            work.run(
                &next,
                range.end,
                threads,
                &|| !stop.is_cancelled(),
                &mut |batch| entries.extend(batch),
            );
            entries
        })
        .await;
        let Ok(entries) = ran else {
            tracing::error!(job, "a shared sweep's task failed on its threads");
            continue;
        };
        if shutdown.is_cancelled() {
            // Cut short: the task stays claimed by this instance, and is claimed again
            // once this instance's liveness key has expired.
            return Ok(worked);
        }
        let result = serde_json::to_vec(&entries).map_err(|_| Unavailable)?;
        queue.finish(&job, &task, &result).await?;
        worked = true;
    }
    Ok(worked)
}

/// Job `job`'s workload, read once per instance (none once the job has ended, or if
/// its spec does not parse).
async fn workload(
    queue: &WorkQueue,
    job: &str,
    workloads: &mut HashMap<String, Arc<Workload>>,
) -> Result<Option<Arc<Workload>>, Unavailable> {
    if let Some(work) = workloads.get(job) {
        return Ok(Some(work.clone()));
    }
    let Some(spec) = queue.spec(job).await? else {
        return Ok(None);
    };
    let parsed = tokio::task::spawn_blocking(move || {
        serde_json::from_slice::<Spec>(&spec)
            .ok()
            .and_then(Spec::workload)
    })
    .await
    .ok()
    .flatten();
    let Some(work) = parsed else {
        tracing::warn!(job, "a shared sweep's spec does not parse");
        return Ok(None);
    };
    let work = Arc::new(work);
    workloads.insert(job.to_owned(), work.clone());
    Ok(Some(work))
}

fn parse_task(body: &[u8]) -> Option<Range<u64>> {
    let [from, to]: [u64; 2] = serde_json::from_slice(body).ok()?;
    (from <= to).then_some(from..to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_cover_every_combination_once_in_a_bounded_number_of_pieces() {
        for (combos, bars) in [
            (1, 5_000),
            (9, 5_000),
            (10_000, 5_000),
            (1_000_000, 20),
            (1_000_000, 1_000_000),
        ] {
            let cut = tasks(0..combos, combos, bars);
            assert!(
                cut.len() as u64 <= MAX_TASKS,
                "{combos}×{bars}: {} tasks",
                cut.len()
            );
            assert_eq!(cut.first().map(|r| r.start), Some(0));
            assert_eq!(cut.last().map(|r| r.end), Some(combos));
            assert!(cut
                .windows(2)
                .all(|w| w[0].end == w[1].start && !w[0].is_empty()));
        }
        assert_eq!(
            tasks(0..10_000, 10_000, 5_000).len(),
            64,
            "a small sweep is spread"
        );
        assert_eq!(
            tasks(9_000..9_500, 10_000, 5_000),
            [9_000..9_157, 9_157..9_314, 9_314..9_471, 9_471..9_500],
            "a span is cut as the whole sweep is"
        );
        assert_eq!(
            tasks(0..1_000_000, 1_000_000, 5_000).len(),
            2_500,
            "a task is a few million bar steps"
        );
    }

    #[test]
    fn a_task_is_read_back_as_it_was_posted_and_garbage_is_refused() {
        assert_eq!(parse_task(b"[40,80]"), Some(40..80));
        assert_eq!(parse_task(b"[80,40]"), None);
        assert_eq!(parse_task(b"{\"from\":1}"), None);
    }
}

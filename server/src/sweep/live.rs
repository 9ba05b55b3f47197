//! A sweep as it runs: `sweep_started`, then its combinations on every core in
//! stretches (a pause ends a stretch, and an async task waits for resume or cancel
//! holding no thread, as a backtest does), each batch of results published as it lands
//! with the sweep's progress, and its end: `sweep_complete` with the best, or
//! `cancelled` / `interrupted` where it stood.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocol::sweep::{
    SweepComplete, SweepEntry, SweepProgress, SweepResults, SweepSnapshot, SweepStarted,
};
use protocol::{ErrorInfo, Lifecycle, Message, Topic};

use super::evaluate::{Workload, LAND_EVERY};
use super::spread::{self, Posted};
use crate::backtest::live::control::{RunControl, Wanted};
use crate::hub::Hub;
use crate::runs::{RunContext, INTERRUPTED};

/// A checked sweep, ready to run.
pub struct SweepPlan {
    pub id: String,
    pub topic: Topic,
    pub symbol: String,
    pub work: Workload,
    pub top_n: u32,
    /// Paused before the first combination.
    pub start_paused: bool,
    /// Threads its combinations run on.
    pub workers: usize,
}

impl SweepPlan {
    pub fn started(&self) -> SweepStarted {
        let work = &self.work;
        SweepStarted {
            sweep_id: self.id.clone(),
            strategy: <&str>::from(work.strategy).to_owned(),
            symbol: self.symbol.clone(),
            axes: work.grid.axes().to_vec(),
            combos: work.grid.combos(),
            objective: work.objective,
            top_n: self.top_n,
            total_bars: work.bars.len() as u64,
            cash: work.account.cash,
            commission: work.account.commission,
        }
    }
}

/// Every combination's result as it landed, shared with the registry (`GET
/// /api/sweeps/{id}/results`): at most the grid's size.
pub type Landed = Arc<Mutex<Vec<SweepEntry>>>;

/// Runs `plan` in the background, publishing on its topic; `on_end` once its end is
/// published. Shutdown cancels it, and so does a pause longer than `max_pause`. On
/// Redis its combinations are shared with every instance (`spread.rs`).
pub fn spawn(
    context: &RunContext,
    plan: SweepPlan,
    landed: Landed,
    max_pause: Duration,
    on_end: impl FnOnce() + Send + 'static,
) {
    let commanded = RunControl::commanded(context, &plan.topic, plan.start_paused);
    let control = commanded.control.clone();
    let hub = context.hub.clone();
    let queue = hub.work_queue();
    context.tasks.spawn(async move {
        // Commands reach the sweep until it has ended.
        let _commanded = commanded;
        let plan = Arc::new(plan);
        let mut run = Course::new(&plan, landed);
        publish(&hub, &plan.topic, Message::SweepStarted(plan.started())).await;
        let mut shared = match queue {
            None => None,
            Some(queue) => {
                match Posted::post(queue, &plan.id, &plan.work, plan.start_paused).await {
                    Ok(posted) => Some(posted),
                    Err(_) => {
                        let error =
                            "the sweep could not be shared with the cluster: redis unavailable";
                        return fail(&hub, &plan.topic, error, on_end).await;
                    }
                }
            }
        };
        loop {
            let wanted = match control.wanted() {
                Wanted::Paused => {
                    publish(&hub, &plan.topic, Message::Paused(Lifecycle::default())).await;
                    let wanted = control.unpaused_within(max_pause, &plan.topic).await;
                    if wanted == Wanted::Running {
                        publish(&hub, &plan.topic, Message::Resumed(Lifecycle::default())).await;
                    }
                    wanted
                }
                wanted => wanted,
            };
            if wanted == Wanted::Cancelled {
                break;
            }
            run = match &mut shared {
                Some(posted) => {
                    run.stretch_shared(&hub, &plan, &control, posted).await;
                    run
                }
                None => {
                    let (stretch_hub, stretch_plan, stretch_control) =
                        (hub.clone(), plan.clone(), control.clone());
                    let stretch = tokio::task::spawn_blocking(move || {
                        run.stretch(&stretch_hub, &stretch_plan, &stretch_control);
                        run
                    });
                    match stretch.await {
                        Ok(run) => run,
                        Err(e) => {
                            // Its end is still said: the sweep failed where it stood.
                            tracing::error!(error = %e, "a sweep's threads failed");
                            let error = "the sweep's worker threads failed";
                            return fail(&hub, &plan.topic, error, on_end).await;
                        }
                    }
                }
            };
            if run.finished() {
                break;
            }
        }
        if let Some(posted) = &shared {
            if let Err(e) = posted.end().await {
                tracing::warn!(id = plan.id, error = %e, "a shared sweep's work was not retired");
            }
        }
        let end = run.end(&plan, &control);
        publish(&hub, &plan.topic, end).await;
        on_end();
    });
}

/// Ends a sweep with `error` on its topic.
async fn fail(hub: &Hub, topic: &Topic, error: &str, on_end: impl FnOnce()) {
    let error = ErrorInfo {
        error: error.to_owned(),
        details: None,
    };
    publish(hub, topic, Message::Error(error)).await;
    on_end();
}

/// Publishes `message` on `topic`; a refusal is logged (the engine alone writes there).
async fn publish(hub: &Hub, topic: &Topic, message: Message) {
    if let Err(e) = hub.publish(topic, message).await {
        tracing::warn!(%topic, error = %e, "a sweep's message was not published");
    }
}

/// Where a sweep stands between stretches.
struct Course {
    /// The next combination this instance runs: every one below it is done.
    next: Arc<AtomicU64>,
    /// The sweep's own fold of what it published: its count and its best.
    state: SweepSnapshot,
    /// The combinations landed, by index: a result that arrives twice (a shared task
    /// run again after its instance was thought dead) lands once.
    seen: Vec<bool>,
    landed: Landed,
    skipped: u64,
    /// Running time so far, pauses excluded.
    running: Duration,
}

impl Course {
    fn new(plan: &SweepPlan, landed: Landed) -> Self {
        let started = plan.started();
        let combos = started.combos as usize;
        Course {
            next: Arc::new(AtomicU64::new(0)),
            state: SweepSnapshot {
                values: vec![None; combos],
                started: Some(started),
                ..SweepSnapshot::default()
            },
            seen: vec![false; combos],
            landed,
            skipped: 0,
            running: Duration::ZERO,
        }
    }

    /// Every combination has landed.
    fn finished(&self) -> bool {
        self.state.done >= self.seen.len() as u64
    }

    /// Runs combinations here until the sweep is done, paused or cancelled, publishing
    /// each batch of results with the progress it makes. Blocking work.
    fn stretch(&mut self, hub: &Hub, plan: &SweepPlan, control: &RunControl) {
        let began = Instant::now();
        let keep_going = || control.wanted() == Wanted::Running;
        let next = self.next.clone();
        let mut land = |batch: Vec<SweepEntry>| {
            let Some(messages) = self.land(batch, began) else {
                return;
            };
            let refused = hub.publish_batch_blocking(&plan.topic, messages.into());
            for e in refused {
                tracing::warn!(topic = %plan.topic, error = %e, "a sweep's results were not published");
            }
        };
        plan.work.run(
            &next,
            plan.work.grid.combos(),
            plan.workers,
            &keep_going,
            &mut land,
        );
        self.running += began.elapsed();
    }

    /// Lands the results the cluster's instances hand back until the sweep is done,
    /// paused or cancelled; its tasks are taken while it runs, and a pause leaves the
    /// tasks in hand to finish (their results land on resume).
    async fn stretch_shared(
        &mut self,
        hub: &Hub,
        plan: &SweepPlan,
        control: &RunControl,
        posted: &mut Posted,
    ) {
        let began = Instant::now();
        if let Err(e) = posted.pause(false).await {
            tracing::warn!(id = plan.id, error = %e, "a shared sweep was not resumed");
        }
        // Results are held and landed together every `LAND_EVERY` (as a sweep run here
        // lands them), at its end, and when it stops.
        let combos = self.seen.len() as u64;
        let mut held = Vec::new();
        let mut landed_at = Instant::now();
        let mut checked_at = Instant::now();
        loop {
            let running = control.wanted() == Wanted::Running;
            let mut nothing_new = true;
            if running {
                match posted.results().await {
                    Ok(batch) => {
                        nothing_new = batch.is_empty();
                        held.extend(batch);
                    }
                    Err(e) => {
                        tracing::warn!(id = plan.id, error = %e, "a shared sweep's results wait");
                    }
                }
            }
            let all_in = self.state.done + held.len() as u64 >= combos;
            if !held.is_empty() && (!running || all_in || landed_at.elapsed() >= LAND_EVERY) {
                landed_at = Instant::now();
                if let Some(messages) = self.land(std::mem::take(&mut held), began) {
                    let items = messages.map(|m| (plan.topic.clone(), m)).into();
                    if let Err(e) = hub.publish_all(items).await {
                        tracing::warn!(topic = %plan.topic, error = %e, "a sweep's results were not published");
                    }
                }
            }
            if !running || self.finished() {
                break;
            }
            if nothing_new && checked_at.elapsed() >= spread::LOST_CHECK_EVERY {
                checked_at = Instant::now();
                let again = posted.post_again_if_lost(&plan.id, &plan.work, &self.seen);
                if let Err(e) = again.await {
                    tracing::warn!(id = plan.id, error = %e, "a shared sweep was not checked");
                }
            }
            if nothing_new {
                tokio::time::sleep(spread::RESULTS_POLL).await;
            }
        }
        self.running += began.elapsed();
        if control.wanted() == Wanted::Paused {
            if let Err(e) = posted.pause(true).await {
                tracing::warn!(id = plan.id, error = %e, "a shared sweep was not paused");
            }
        }
    }

    /// Folds `batch` in (each combination once, those outside the grid left out) and
    /// says it: the `sweep_result` and the `sweep_progress` to publish, none when
    /// nothing new landed. `began`: when the current stretch began.
    fn land(&mut self, batch: Vec<SweepEntry>, began: Instant) -> Option<[Message; 2]> {
        let fresh: Vec<SweepEntry> = batch
            .into_iter()
            .filter(|entry| {
                let seen = self.seen.get_mut(entry.index as usize);
                seen.is_some_and(|seen| !std::mem::replace(seen, true))
            })
            .collect();
        if fresh.is_empty() {
            return None;
        }
        let results = SweepResults { results: fresh };
        self.state.land(&results);
        self.skipped += results
            .results
            .iter()
            .filter(|e| e.skipped.is_some())
            .count() as u64;
        let combos = self.seen.len() as u64;
        let done = self.state.done;
        let running = (self.running + began.elapsed()).as_secs_f64();
        let per_sec = if running > 0.0 {
            done as f64 / running
        } else {
            0.0
        };
        let progress = SweepProgress {
            done,
            combos,
            pct: if combos == 0 {
                100.0
            } else {
                done as f64 * 100.0 / combos as f64
            },
            combos_per_sec: per_sec,
            eta_ms: (per_sec > 0.0)
                .then(|| ((combos - done.min(combos)) as f64 / per_sec * 1000.0) as u64),
        };
        if let Ok(mut landed) = self.landed.lock() {
            landed.extend(results.results.iter().cloned());
        }
        Some([
            Message::SweepResult(results),
            Message::SweepProgress(progress),
        ])
    }

    /// The message that ends the sweep: complete, or cancelled / interrupted where it
    /// stood.
    fn end(&self, plan: &SweepPlan, control: &RunControl) -> Message {
        let done = self.state.done;
        let combos = plan.work.grid.combos();
        if done >= combos {
            return Message::SweepComplete(SweepComplete {
                done,
                skipped: self.skipped,
                duration_ms: self.running.as_millis() as u64,
                top: self.state.top.clone(),
            });
        }
        let reason = if control.stopped_by_server() {
            format!("{INTERRUPTED}, after {done} of {combos} combinations")
        } else {
            format!("cancelled after {done} of {combos} combinations")
        };
        let lifecycle = Lifecycle {
            reason: Some(reason),
        };
        if control.stopped_by_server() {
            Message::Interrupted(lifecycle)
        } else {
            Message::Cancelled(lifecycle)
        }
    }
}

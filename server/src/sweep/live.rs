//! A sweep as it runs: `sweep_started`, then its combinations on every core in
//! stretches (a pause ends a stretch, and an async task waits for resume or cancel
//! holding no thread, as a backtest does), each batch of results published as it lands
//! with the sweep's progress, and its end: `sweep_complete` with the best, or
//! `cancelled` / `interrupted` where it stood.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocol::sweep::{
    SweepComplete, SweepEntry, SweepProgress, SweepResults, SweepSnapshot, SweepStarted,
};
use protocol::{ErrorInfo, Lifecycle, Message, Topic};

use super::evaluate::Workload;
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
/// published. Shutdown cancels it, and so does a pause longer than `max_pause`.
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
    context.tasks.spawn(async move {
        // Commands reach the sweep until it has ended.
        let _commanded = commanded;
        let plan = Arc::new(plan);
        let mut run = Course::new(&plan, landed);
        publish(&hub, &plan.topic, Message::SweepStarted(plan.started())).await;
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
            let (stretch_hub, stretch_plan, stretch_control) =
                (hub.clone(), plan.clone(), control.clone());
            let stretch = tokio::task::spawn_blocking(move || {
                run.stretch(&stretch_hub, &stretch_plan, &stretch_control);
                run
            });
            run = match stretch.await {
                Ok(run) => run,
                Err(e) => {
                    // Its end is still said: the sweep failed where it stood.
                    tracing::error!(error = %e, "a sweep's threads failed");
                    let error = ErrorInfo {
                        error: "the sweep's worker threads failed".to_owned(),
                        details: None,
                    };
                    publish(&hub, &plan.topic, Message::Error(error)).await;
                    return on_end();
                }
            };
            if run.finished(&plan) {
                break;
            }
        }
        let end = run.end(&plan, &control);
        publish(&hub, &plan.topic, end).await;
        on_end();
    });
}

/// Publishes `message` on `topic`; a refusal is logged (the engine alone writes there).
async fn publish(hub: &Hub, topic: &Topic, message: Message) {
    if let Err(e) = hub.publish(topic, message).await {
        tracing::warn!(%topic, error = %e, "a sweep's message was not published");
    }
}

/// Where a sweep stands between stretches.
struct Course {
    /// The next combination to run: every one below it is done.
    next: Arc<AtomicU64>,
    /// The sweep's own fold of what it published: its count and its best.
    state: SweepSnapshot,
    landed: Landed,
    skipped: u64,
    /// Running time so far, pauses excluded.
    running: Duration,
}

impl Course {
    fn new(plan: &SweepPlan, landed: Landed) -> Self {
        let started = plan.started();
        Course {
            next: Arc::new(AtomicU64::new(0)),
            state: SweepSnapshot {
                values: vec![None; started.combos as usize],
                started: Some(started),
                ..SweepSnapshot::default()
            },
            landed,
            skipped: 0,
            running: Duration::ZERO,
        }
    }

    fn finished(&self, plan: &SweepPlan) -> bool {
        self.next.load(Ordering::Relaxed) >= plan.work.grid.combos()
    }

    /// Runs combinations until the sweep is done, paused or cancelled, publishing each
    /// batch of results with the progress it makes. Blocking work.
    fn stretch(&mut self, hub: &Hub, plan: &SweepPlan, control: &RunControl) {
        let began = Instant::now();
        let combos = plan.work.grid.combos();
        let keep_going = || control.wanted() == Wanted::Running;
        let mut land = |batch: Vec<SweepEntry>| {
            let results = SweepResults { results: batch };
            self.state.land(&results);
            self.skipped += results
                .results
                .iter()
                .filter(|e| e.skipped.is_some())
                .count() as u64;
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
            let refused = hub.publish_batch_blocking(
                &plan.topic,
                vec![
                    Message::SweepResult(results.clone()),
                    Message::SweepProgress(progress),
                ],
            );
            for e in refused {
                tracing::warn!(topic = %plan.topic, error = %e, "a sweep's results were not published");
            }
            if let Ok(mut landed) = self.landed.lock() {
                landed.extend(results.results);
            }
        };
        plan.work
            .run(&self.next, plan.workers, &keep_going, &mut land);
        self.running += began.elapsed();
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

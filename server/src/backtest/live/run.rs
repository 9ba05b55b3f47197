//! Running a [`Plan`] with its topic owned (so pause, resume and cancel reach it),
//! publishing `started`, the stream, and the result. The bars run on a blocking thread
//! in stretches: a pause ends a stretch and hands the run's state back, and an async
//! task waits for resume or cancel holding no thread (docs/SPEC.md section 12).

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::{Complete, Lifecycle, Message, Started, Timestamp};

use crate::runs::INTERRUPTED;

use super::control::{RunControl, Wanted};
use super::logs::{self, RUN_TARGET};
use super::observer::LiveObserver;
use super::publisher::RunQueue;
use crate::backtest::engine::{Outcome, RunState};
use crate::backtest::request::Plan;
use crate::backtest::strategy::Signal;
use crate::hub::Hub;
use crate::runs::RunContext;

/// Runs the plan in the background, streaming to its topic; `on_end` once it has
/// published its end. Shutdown cancels it, paused or not (its `cancelled` is still
/// published), and so does a pause longer than `max_pause` (a paused run holds its
/// place and its memory).
pub fn spawn(
    context: &RunContext,
    plan: Plan,
    max_pause: Duration,
    on_end: impl FnOnce() + Send + 'static,
) {
    let commanded = RunControl::commanded(context, &plan.topic, plan.start_paused);
    let control = commanded.control.clone();
    let hub = context.hub.clone();
    context.tasks.spawn(async move {
        let mut run = StreamingRun::new(hub, Arc::new(plan), control.clone());
        let mut resumed = None;
        loop {
            // On a blocking thread: the stretch, and before it what a resume publishes
            // (on Redis, publishing from the engine's side waits for the round trip).
            let stretch = tokio::task::spawn_blocking(move || match resumed {
                Some(wanted) => StreamingRun::after_pause(run, wanted).advance(),
                None => run.advance(),
            });
            let paused = match stretch.await {
                Ok(Stretch::Paused(paused)) => paused,
                Ok(Stretch::Ended(_)) => break,
                Err(e) => {
                    tracing::error!(error = %e, "a backtest's thread failed");
                    break;
                }
            };
            // Paused: no thread is held while waiting, and not for longer than allowed.
            let wanted = control.unpaused_within(max_pause, &paused.plan.topic).await;
            resumed = Some(wanted);
            run = *paused;
        }
        drop(commanded);
        on_end();
    });
}

/// Runs a plan to its end on the calling thread (which waits out pauses), publishing
/// `started`, the stream, and `metrics` + `complete` (or `cancelled`).
pub fn run_streaming(hub: &Hub, plan: Arc<Plan>, control: Arc<RunControl>) -> Outcome {
    let mut run = StreamingRun::new(hub.clone(), plan, control.clone());
    loop {
        match run.advance() {
            Stretch::Ended(outcome) => return outcome,
            Stretch::Paused(paused) => run = paused.after_pause(control.unpaused_blocking()),
        }
    }
}

/// A backtest in progress: its plan, the engine's state between bars, its streamer and
/// publisher. Owned, so it moves to a blocking thread for each stretch of bars and back.
pub struct StreamingRun {
    plan: Arc<Plan>,
    signals: Vec<Signal>,
    state: RunState,
    streamer: LiveObserver,
    queue: RunQueue,
    control: Arc<RunControl>,
    clock: Option<Instant>,
}

/// How a stretch of bars ended.
pub enum Stretch {
    /// Paused by a client: `paused` is published; resume or stop it.
    Paused(Box<StreamingRun>),
    /// Complete, cancelled or blown: its end is published.
    Ended(Outcome),
}

impl StreamingRun {
    fn new(hub: Hub, plan: Arc<Plan>, control: Arc<RunControl>) -> Self {
        let queue = RunQueue::new(hub, plan.clone());
        StreamingRun {
            signals: plan.strategy.signals(&plan.bars.close),
            state: RunState::new(plan.account),
            streamer: LiveObserver::new(queue.clone(), plan.clone(), control.clone()),
            queue,
            control,
            plan,
            clock: None,
        }
    }

    /// `f` with the run's `tracing` events (info and above) going to its topic.
    fn logged<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let queue = self.queue.clone();
        logs::logged(&queue, || f(self))
    }

    /// Runs bars (publishing `started` first, the first time) until the run ends or is
    /// paused; returns once all it sent is published. Blocking work.
    pub fn advance(mut self) -> Stretch {
        let finished = self.logged(|run| {
            if run.clock.is_none() {
                run.clock = Some(Instant::now());
                run.announce();
            }
            run.state
                .advance(&run.plan.bars, &run.signals, &mut run.streamer)
        });
        if finished {
            let queue = self.queue.clone();
            let outcome = self.end();
            queue.finish();
            Stretch::Ended(outcome)
        } else {
            // `paused` is out, and no publisher thread waits out the pause.
            self.queue.finish();
            Stretch::Paused(Box::new(self))
        }
    }

    /// A paused run once its wait is over (`wanted`): resumed (`resumed` is published),
    /// or cancelled where it stands (the next [`Self::advance`] publishes its end
    /// without running a bar).
    pub fn after_pause(mut self, wanted: Wanted) -> Self {
        match wanted {
            Wanted::Running => self.logged(|run| run.streamer.resumed()),
            Wanted::Paused | Wanted::Cancelled => self.state.stop(),
        }
        self
    }

    fn announce(&self) {
        let bars = &self.plan.bars;
        self.streamer.publish(Message::Started(Started {
            backtest_id: self.plan.id.clone(),
            strategy: self.plan.strategy.name().to_owned(),
            params: self.plan.strategy.params(),
            symbol: self.plan.symbol.clone(),
            interval: None,
            from: Timestamp::from_unix_ms(bars.time[0]),
            to: Timestamp::from_unix_ms(bars.time[bars.len() - 1]),
            total_bars: bars.len() as u64,
            cash: Some(self.plan.account.cash),
        }));
        tracing::info!(
            target: RUN_TARGET,
            "running {} {:?} on {} bars of {}",
            self.plan.strategy.name(),
            self.plan.strategy.params(),
            bars.len(),
            self.plan.symbol
        );
    }

    /// Publishes `metrics` + `complete` (or `cancelled`).
    fn end(mut self) -> Outcome {
        self.logged(|run| {
            let state = std::mem::replace(&mut run.state, RunState::new(run.plan.account));
            let total = run.plan.bars.len();
            let outcome = state.finish(&run.plan.bars, &mut run.streamer);
            run.streamer.finish(&outcome);
            let metrics = outcome.metrics.clone();
            if outcome.stopped && run.control.stopped_by_server() {
                tracing::info!(target: RUN_TARGET, "interrupted after {} of {total} bars: the server stopped", outcome.bars);
                run.streamer.publish(Message::Metrics(metrics));
                run.streamer.publish(Message::Interrupted(Lifecycle {
                    reason: Some(format!("{INTERRUPTED}, after {} of {total} bars", outcome.bars)),
                }));
            } else if outcome.stopped {
                tracing::info!(target: RUN_TARGET, "cancelled after {} of {total} bars", outcome.bars);
                run.streamer.publish(Message::Metrics(metrics));
                run.streamer.publish(Message::Cancelled(Lifecycle {
                    reason: Some(format!("cancelled after {} of {total} bars", outcome.bars)),
                }));
            } else {
                tracing::info!(
            target: RUN_TARGET,
                    "complete: final equity {:.2}, {} trades",
                    outcome.final_equity,
                    outcome.trades.len()
                );
                run.streamer.publish(Message::Metrics(metrics.clone()));
                let elapsed = run.clock.map_or(0, |c| c.elapsed().as_millis() as u64);
                run.streamer.publish(Message::Complete(Complete {
                    final_equity: outcome.final_equity,
                    duration_ms: elapsed,
                    metrics,
                }));
            }
            outcome
        })
    }
}

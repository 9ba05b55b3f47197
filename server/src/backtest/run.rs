//! Running a [`Plan`]: a blocking thread per backtest with its topic owned (so pause,
//! resume and cancel reach it), publishing `started`, the stream, and the result.

use std::sync::Arc;
use std::time::Instant;

use app::protocol::{Complete, Lifecycle, Message, Started, Timestamp};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

use super::control::RunControl;
use super::engine::{self, Outcome};
use super::logs::TopicLogLayer;
use super::request::Plan;
use super::stream::Streamer;
use crate::hub::{Command, Hub};
use crate::runs::RunContext;

/// Runs the plan on a blocking thread, streaming to its topic; `on_end` once it has
/// published its end. Shutdown cancels it (its `cancelled` is still published).
pub fn spawn(context: &RunContext, plan: Plan, on_end: impl FnOnce() + Send + 'static) {
    let control = Arc::new(RunControl::stopped_by(context.shutdown.clone()));
    if plan.start_paused {
        control.apply(Command::Pause);
    }
    let mut ownership = context.hub.own(&plan.topic);
    let commands = control.clone();
    let forward = context.tasks.spawn(async move {
        while let Some(command) = ownership.commands.recv().await {
            commands.apply(command);
        }
    });
    let hub = context.hub.clone();
    context.tasks.spawn_blocking(move || {
        run_streaming(&hub, &plan, &control);
        forward.abort();
        on_end();
    });
}

/// Runs a plan to its end, publishing `started`, the stream, and `metrics` + `complete`
/// (or `cancelled`). The engine's `tracing` events (info and above) inside the run go to
/// its topic.
pub fn run_streaming(hub: &Hub, plan: &Plan, control: &RunControl) -> Outcome {
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(TopicLogLayer::new(hub.clone()).with_filter(LevelFilter::INFO)),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("backtest", backtest_topic = %plan.topic);
        let _entered = span.enter();
        let publish = |m: Message| {
            if let Err(e) = hub.publish(&plan.topic, m) {
                tracing::error!(error = %e, "could not publish");
            }
        };
        let bars = &plan.bars;
        publish(Message::Started(Started {
            backtest_id: plan.id.clone(),
            strategy: plan.strategy.name().to_owned(),
            params: plan.strategy.params(),
            symbol: plan.symbol.clone(),
            interval: None,
            from: Timestamp::from_unix_ms(bars.time[0]),
            to: Timestamp::from_unix_ms(bars.time[bars.len() - 1]),
            total_bars: bars.len() as u64,
        }));
        tracing::info!(
            "running {} {:?} on {} bars of {}",
            plan.strategy.name(),
            plan.strategy.params(),
            bars.len(),
            plan.symbol
        );
        let clock = Instant::now();
        let mut streamer = Streamer::new(
            hub,
            &plan.topic,
            bars,
            control,
            plan.frequency,
            plan.account.cash,
        );
        let outcome = engine::run(bars, &plan.strategy, plan.account, &mut streamer);
        streamer.finish(&outcome);
        let metrics = outcome.metrics.clone();
        if outcome.stopped {
            tracing::info!("cancelled after {} of {} bars", outcome.bars, bars.len());
            publish(Message::Metrics(metrics));
            publish(Message::Cancelled(Lifecycle {
                reason: Some(format!(
                    "cancelled after {} of {} bars",
                    outcome.bars,
                    bars.len()
                )),
            }));
        } else {
            tracing::info!(
                "complete: final equity {:.2}, {} trades",
                outcome.final_equity,
                outcome.trades.len()
            );
            publish(Message::Metrics(metrics.clone()));
            publish(Message::Complete(Complete {
                final_equity: outcome.final_equity,
                duration_ms: clock.elapsed().as_millis() as u64,
                metrics,
            }));
        }
        outcome
    })
}

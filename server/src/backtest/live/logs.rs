//! Routes the `tracing` events a backtest emits while it runs to that backtest's topic
//! as `log` messages, so a watcher sees the engine's own logging live, in order with
//! the rest of what the run publishes.
//!
//! One subscriber serves every run: [`logged`] makes it the thread's default while a
//! stretch of the run works, with the run's [`RunQueue`] as the thread's current run,
//! and every event at `info` or above goes to that queue. Nothing is built per run: a
//! `tracing` dispatcher of its own (with a span registry) cost each run tens of
//! microseconds, as much as the engine's whole work on a 5,000-bar file.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::LazyLock;

use protocol::{LogLevel, LogLine};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

use super::publisher::RunQueue;

/// The `target` a run's own log lines carry on the wire (`log` messages): fixed names,
/// not the module paths they began as, so that moving code changes no recorded run.
/// The run's lifecycle (`running …`, `complete: …`, `cancelled …`).
pub const RUN_TARGET: &str = "server::backtest::run";
/// What the observer sees in the bars (`paused`, `resumed`, a blown account, a signal
/// the cash cannot pay for).
pub const OBSERVER_TARGET: &str = "server::backtest::stream";

/// The least severe level a run's topic receives.
const LEVEL: LevelFilter = LevelFilter::INFO;

thread_local! {
    /// The run whose work this thread is doing, inside [`logged`].
    static CURRENT: RefCell<Option<RunQueue>> = const { RefCell::new(None) };
}

/// The subscriber every run's events go through while the run works.
static RUN_LOGS: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(RunLogs));

/// Runs `f` with this thread's `tracing` events (`info` and above) queued on `queue`
/// as `log` messages, and nowhere else.
pub fn logged<R>(queue: &RunQueue, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|current| current.replace(Some(queue.clone())));
    // Put back on the way out, even if `f` panics.
    struct Restore(Option<RunQueue>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    tracing::dispatcher::with_default(&RUN_LOGS, f)
}

/// Queues events on the thread's current run; spans are not tracked (an event inside
/// one is the run's like any other).
struct RunLogs;

impl Subscriber for RunLogs {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= LEVEL
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LEVEL)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some(line) = log_line(event) else {
            return;
        };
        CURRENT.with(|current| {
            if let Some(queue) = current.borrow().as_ref() {
                queue.push_log(line);
            }
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The `log` line of an event (`None` for one that says nothing).
fn log_line(event: &Event<'_>) -> Option<LogLine> {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let message = format!("{}{}", fields.message, fields.extra)
        .trim()
        .to_owned();
    if message.is_empty() {
        return None;
    }
    let meta = event.metadata();
    Some(LogLine {
        level: level(meta.level()),
        message,
        target: meta.target().to_owned(),
        bar: fields.bar,
    })
}

#[derive(Default)]
struct Fields {
    message: String,
    extra: String,
    bar: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "bar" {
            self.bar = Some(value);
        } else {
            let _ = write!(self.extra, " {}={value}", field.name());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match u64::try_from(value) {
            Ok(v) => self.record_u64(field, v),
            Err(_) => {
                let _ = write!(self.extra, " {}={value}", field.name());
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            name => {
                let _ = write!(self.extra, " {name}={value:?}");
            }
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            name => {
                let _ = write!(self.extra, " {name}={value}");
            }
        }
    }
}

fn level(l: &Level) -> LogLevel {
    match *l {
        Level::TRACE => LogLevel::Trace,
        Level::DEBUG => LogLevel::Debug,
        Level::INFO => LogLevel::Info,
        Level::WARN => LogLevel::Warn,
        Level::ERROR => LogLevel::Error,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backtest::request::{Frequency, Plan};
    use crate::backtest::{Account, Bars, Strategy};
    use crate::hub::{Hub, HubConfig};
    use protocol::{SnapshotData, Topic};

    #[test]
    fn events_while_a_run_works_become_log_messages_on_its_topic() {
        let hub = Hub::new(HubConfig::default());
        let topic: Topic = "backtest:b7".parse().unwrap();
        let plan = Plan {
            id: "b7".into(),
            topic: topic.clone(),
            symbol: "TEST".into(),
            bars: Bars::default(),
            strategy: Strategy::SmaCross { fast: 2, slow: 3 },
            account: Account::default(),
            frequency: Frequency::default(),
            start_paused: false,
            pace: None,
        };
        let queue = RunQueue::new(hub.clone(), Arc::new(plan));
        tracing::info!("outside any backtest");
        logged(&queue, || {
            tracing::debug!("below the run's level");
            let span = tracing::info_span!("inner");
            let _entered = span.enter();
            tracing::warn!(bar = 12u64, price = 3.5, "cannot afford one unit");
        });
        tracing::warn!("after the run");
        queue.finish();
        let snapshot = futures_util::FutureExt::now_or_never(hub.snapshot(&topic))
            .expect("memory answers at once")
            .unwrap();
        let SnapshotData::Backtest(b) = snapshot.data else {
            panic!("not a backtest snapshot")
        };
        assert_eq!(b.logs.len(), 1);
        assert_eq!(b.logs[0].level, LogLevel::Warn);
        assert_eq!(b.logs[0].message, "cannot afford one unit price=3.5");
        assert_eq!(b.logs[0].bar, Some(12));
        assert_eq!(b.logs[0].target, "server::backtest::live::logs::tests");
    }
}

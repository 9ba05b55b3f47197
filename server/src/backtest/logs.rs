//! Routes `tracing` events emitted inside a backtest's span to that backtest's topic as
//! `log` messages, so a watcher sees the engine's own logging live: the run's layer
//! hands them to the run's publisher, in order with the rest of what it publishes.

use std::fmt::Write as _;

use app::protocol::{LogLevel, LogLine, Topic};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::publisher::RunQueue;

/// The span field that names the topic a span's events go to.
pub const TOPIC_FIELD: &str = "backtest_topic";

/// A layer that queues the events inside a backtest's span on the run's publisher, in
/// order with the rest of what the run publishes on its topic.
pub struct TopicLogLayer {
    queue: RunQueue,
}

impl TopicLogLayer {
    pub fn new(queue: RunQueue) -> Self {
        TopicLogLayer { queue }
    }
}

/// Marks a span that names a backtest's topic: the events inside it are the run's.
struct RunSpan;

#[derive(Default)]
struct Fields {
    topic: Option<String>,
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
            TOPIC_FIELD => self.topic = Some(format!("{value:?}").trim_matches('"').to_owned()),
            name => {
                let _ = write!(self.extra, " {name}={value:?}");
            }
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            TOPIC_FIELD => self.topic = Some(value.to_owned()),
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

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for TopicLogLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if fields.topic.is_none_or(|t| t.parse::<Topic>().is_err()) {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(RunSpan);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        // Only events inside the run's span: its topic is the queue's.
        if !scope
            .into_iter()
            .any(|span| span.extensions().get::<RunSpan>().is_some())
        {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = format!("{}{}", fields.message, fields.extra)
            .trim()
            .to_owned();
        if message.is_empty() {
            return;
        }
        let meta = event.metadata();
        let line = LogLine {
            level: level(meta.level()),
            message,
            target: meta.target().to_owned(),
            bar: fields.bar,
        };
        self.queue.push_log(line);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backtest::request::Plan;
    use crate::backtest::stream::Frequency;
    use crate::backtest::{Account, Bars, Strategy};
    use crate::hub::{Hub, HubConfig};
    use app::protocol::SnapshotData;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_inside_a_backtest_span_become_log_messages_on_its_topic() {
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
        let subscriber = tracing_subscriber::registry().with(TopicLogLayer::new(queue.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any backtest");
            let span = tracing::info_span!("backtest", backtest_topic = "backtest:b7");
            let _entered = span.enter();
            tracing::warn!(bar = 12u64, price = 3.5, "cannot afford one unit");
        });
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
        assert_eq!(b.logs[0].target, "server::backtest::logs::tests");
    }
}

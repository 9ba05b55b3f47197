//! Routes `tracing` events emitted inside a backtest's span to that backtest's topic as
//! `log` messages, so a watcher sees the engine's own logging live. A run's layer hands
//! them to the run's publisher, in order with the rest of what it publishes.

use std::fmt::Write as _;

use app::protocol::{LogLevel, LogLine, Message, Topic};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::publisher::RunQueue;
use crate::hub::Hub;

thread_local! {
    /// Set while this thread publishes a log line.
    static PUBLISHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The span field that names the topic a span's events go to.
pub const TOPIC_FIELD: &str = "backtest_topic";

/// Where a layer's log lines go.
pub trait LogSink: Send + Sync + 'static {
    /// Sends `line` on `topic`.
    fn log(&self, topic: &Topic, line: LogLine);
}

impl LogSink for Hub {
    /// Published at once.
    fn log(&self, topic: &Topic, line: LogLine) {
        // Whatever publishing logs (Redis away, say) must not come back here.
        PUBLISHING.with(|publishing| {
            if !publishing.replace(true) {
                let _ = self.publish_blocking(topic, Message::Log(line));
                publishing.set(false);
            }
        });
    }
}

impl LogSink for RunQueue {
    /// Queued with what the run publishes (the run's own topic).
    fn log(&self, _: &Topic, line: LogLine) {
        self.push_log(line);
    }
}

/// A layer that sends events to the topic named by their enclosing span.
pub struct TopicLogLayer<S> {
    sink: S,
}

impl<S: LogSink> TopicLogLayer<S> {
    pub fn new(sink: S) -> Self {
        TopicLogLayer { sink }
    }
}

struct SpanTopic(Topic);

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

impl<K: LogSink, S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for TopicLogLayer<K> {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(topic), Some(span)) = (fields.topic.and_then(|t| t.parse().ok()), ctx.span(id))
        {
            span.extensions_mut().insert(SpanTopic(topic));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let Some(topic) = scope
            .into_iter()
            .find_map(|span| span.extensions().get::<SpanTopic>().map(|t| t.0.clone()))
        else {
            return;
        };
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
        self.sink.log(&topic, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubConfig;
    use app::protocol::SnapshotData;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_inside_a_backtest_span_become_log_messages_on_its_topic() {
        let hub = Hub::new(HubConfig::default());
        let subscriber = tracing_subscriber::registry().with(TopicLogLayer::new(hub.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any backtest");
            let span = tracing::info_span!("backtest", backtest_topic = "backtest:b7");
            let _entered = span.enter();
            tracing::warn!(bar = 12u64, price = 3.5, "cannot afford one unit");
        });
        let topic: Topic = "backtest:b7".parse().unwrap();
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

//! The envelope every published message travels in, and the rules a message must keep
//! to be published (its topic kind, from the table in `messages`, and its fields).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::backtest::Metrics;
use super::messages::Message;
use super::time::Timestamp;
use super::topic::Topic;
use super::validate::{
    finite, items, named_numbers, non_empty, non_negative, positive, texts, within, FieldError,
};

/// Names one lifetime of a topic's sequence; a new epoch means seq restarted at 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub String);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a message may not be published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMessage {
    #[error("message type `{message_type}` cannot be published on a {kind} topic")]
    WrongTopicKind {
        message_type: &'static str,
        kind: &'static str,
    },
    /// A field of `data` breaks a rule (the error names it `data.{field}`).
    #[error("`data.{}` {}", .0.field, .0.problem)]
    Field(#[from] FieldError),
}

impl Message {
    /// The wire name of this message's type (serde's `type` tag, from the table).
    pub fn type_name(&self) -> &'static str {
        self.into()
    }

    /// Checks that this message may be published on `topic` and that its numbers make
    /// sense (finite, prices positive, percentages in range, candles consistent).
    pub fn validate_for(&self, topic: &Topic) -> Result<(), InvalidMessage> {
        if !self.allowed_on(topic.kind()) {
            return Err(InvalidMessage::WrongTopicKind {
                message_type: self.type_name(),
                kind: topic.kind().prefix(),
            });
        }
        Ok(self.validate_fields()?)
    }

    fn validate_fields(&self) -> Result<(), FieldError> {
        use Message::*;
        match self {
            Candle(c) => {
                for (field, v) in [
                    ("open", c.open),
                    ("high", c.high),
                    ("low", c.low),
                    ("close", c.close),
                ] {
                    positive(field, v)?;
                }
                non_negative("volume", c.volume)?;
                if c.high < c.open.max(c.close) || c.low > c.open.min(c.close) || c.low > c.high {
                    return Err(FieldError::new(
                        "high",
                        "and `data.low` must bracket open and close",
                    ));
                }
                Ok(())
            }
            Tick(t) => {
                positive("price", t.price)?;
                finite("change_pct", t.change_pct)?;
                non_negative("volume", t.volume)
            }
            Analysis(a) => {
                within("confluence", a.confluence, 0.0, 1.0)?;
                items("patterns", a.patterns.len())?;
                for pattern in &a.patterns {
                    texts(&[("patterns", pattern)])?;
                }
                named_numbers("indicators", a.indicators.iter())
            }
            Started(s) => {
                texts(&[
                    ("backtest_id", &s.backtest_id),
                    ("strategy", &s.strategy),
                    ("symbol", &s.symbol),
                ])?;
                named_numbers("params", s.params.iter())?;
                if s.from > s.to {
                    return Err(FieldError::new("from", "is after `data.to`"));
                }
                Ok(())
            }
            Progress(p) => {
                within("pct", p.pct, 0.0, 100.0)?;
                if p.bars_processed > p.total_bars {
                    return Err(FieldError::new(
                        "bars_processed",
                        "exceeds `data.total_bars`",
                    ));
                }
                finite("equity", p.equity)?;
                if let Some(speed) = p.bars_per_sec {
                    non_negative("bars_per_sec", speed)?;
                }
                finite("pnl", p.pnl)
            }
            Trade(t) => {
                texts(&[("reason", &t.reason)])?;
                positive("price", t.price)?;
                positive("size", t.size)?;
                t.pnl.map_or(Ok(()), |v| finite("pnl", v))?;
                t.return_pct.map_or(Ok(()), |v| finite("return_pct", v))
            }
            Equity(e) => {
                items("points", e.points.len())?;
                e.points.iter().try_for_each(|p| {
                    finite("points", p.1)?;
                    within("points", p.2, 0.0, 100.0)
                })
            }
            Metrics(m) => validate_metrics(m),
            Complete(c) => {
                finite("final_equity", c.final_equity)?;
                validate_metrics(&c.metrics)
            }
            Log(l) => {
                texts(&[("message", &l.message), ("target", &l.target)])?;
                non_empty("message", &l.message)
            }
            Error(e) => {
                texts(&[
                    ("error", &e.error),
                    ("details", e.details.as_deref().unwrap_or("")),
                ])?;
                non_empty("error", &e.error)
            }
            Paused(l) | Resumed(l) | Cancelled(l) | Interrupted(l) => {
                texts(&[("reason", l.reason.as_deref().unwrap_or(""))])
            }
            SessionInitialized(s) => {
                texts(&[
                    ("session_id", &s.session_id),
                    ("strategy", &s.strategy),
                    ("symbol", &s.symbol),
                ])?;
                named_numbers("params", s.params.iter())?;
                positive("cash", s.cash)
            }
            Thinking(t) => {
                texts(&[("chunk", &t.chunk)])?;
                non_empty("chunk", &t.chunk)
            }
            Decision(d) => {
                texts(&[("reasoning", &d.reasoning)])?;
                if let Some(c) = d.confidence {
                    within("confidence", c, 0.0, 1.0)?;
                }
                positive("price", d.price)
            }
            PositionOpened(p) => {
                positive("qty", p.qty)?;
                positive("entry_price", p.entry_price)
            }
            PositionUpdated(p) => {
                positive("price", p.price)?;
                finite("unrealized_pnl", p.unrealized_pnl)
            }
            PositionClosed(p) => {
                texts(&[("reason", &p.reason)])?;
                positive("exit_price", p.exit_price)?;
                finite("pnl", p.pnl)
            }
            StatsUpdate(s) => {
                finite("equity", s.equity)?;
                within("win_rate", s.win_rate, 0.0, 100.0)
            }
            Countdown(_) => Ok(()),
            SweepStarted(s) => {
                texts(&[
                    ("sweep_id", &s.sweep_id),
                    ("strategy", &s.strategy),
                    ("symbol", &s.symbol),
                ])?;
                items("axes", s.axes.len())
            }
            SweepResult(r) => items("results", r.results.len()),
            SweepProgress(p) => within("pct", p.pct, 0.0, 100.0),
            SweepComplete(c) => items("top", c.top.len()),
            Notice(n) => {
                texts(&[("title", &n.title), ("body", &n.body)])?;
                texts(&[("ref", n.reference.as_deref().unwrap_or(""))])
            }
            NoticesRead(_) => Ok(()),
            SessionCompleted(s) => {
                texts(&[("reason", &s.reason)])?;
                finite("final_equity", s.final_equity)
            }
            Order(o) => {
                texts(&[
                    ("id", &o.id),
                    ("session_id", o.session_id.as_deref().unwrap_or("")),
                ])?;
                positive("qty", o.qty)?;
                positive("price", o.price)
            }
            Position(p) => {
                texts(&[("session_id", p.session_id.as_deref().unwrap_or(""))])?;
                finite("qty", p.qty)?;
                non_negative("avg_price", p.avg_price)
            }
            Pnl(p) => {
                texts(&[("session_id", p.session_id.as_deref().unwrap_or(""))])?;
                finite("realized", p.realized)?;
                finite("unrealized", p.unrealized)?;
                finite("total", p.total)
            }
            Risk(r) => {
                texts(&[("session_id", r.session_id.as_deref().unwrap_or(""))])?;
                non_negative("exposure", r.exposure)?;
                non_negative("leverage", r.leverage)?;
                within("drawdown_pct", r.drawdown_pct, 0.0, 100.0)
            }
        }
    }
}

fn validate_metrics(m: &Metrics) -> Result<(), FieldError> {
    within("win_rate", m.win_rate, 0.0, 100.0)?;
    within("exposure_pct", m.exposure_pct, 0.0, 100.0)?;
    within("max_drawdown_pct", m.max_drawdown_pct, 0.0, 100.0)?;
    finite("return_pct", m.return_pct)
}

/// A published message with its place in the topic's sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Envelope {
    #[serde(flatten)]
    pub message: Message,
    pub topic: Topic,
    /// Per-topic, from 1, +1 per message, no gaps.
    pub seq: u64,
    pub epoch: Epoch,
    /// When the hub accepted the message.
    pub timestamp: Timestamp,
    /// For a subscription with a `max_rate` (docs/SPEC.md section 6, "Rates"): how many
    /// of the topic's messages since the previous one the subscriber got were left out,
    /// each replaced by a later value. Absent (0) otherwise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub conflated: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Envelope {
    /// The first seq this message accounts for: itself, or the first of those it
    /// stands for.
    pub fn first_seq(&self) -> u64 {
        self.seq.saturating_sub(self.conflated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::*;
    use crate::fixtures::{at as t, candle, every_message, symbol as sym};
    use crate::market::{DataSource, Tick};
    use crate::topic::TopicKind;

    fn topic_of(kind: TopicKind) -> Topic {
        let name = if kind.keyed_by_symbol() {
            "BTC-USD"
        } else {
            "run-1"
        };
        Topic::new(kind, name).unwrap()
    }

    #[test]
    fn every_message_type_round_trips_in_an_envelope() {
        let samples = every_message();
        let names: std::collections::BTreeSet<_> =
            samples.iter().map(|(m, _)| m.type_name()).collect();
        let types: std::collections::BTreeSet<_> = Message::TYPES.iter().copied().collect();
        assert_eq!(
            names, types,
            "a fixture for every message type of the table"
        );
        for (message, topic) in samples {
            let env = Envelope {
                message,
                topic,
                seq: 1,
                epoch: Epoch("E".into()),
                timestamp: t(0),
                conflated: 0,
            };
            let value = serde_json::to_value(&env).unwrap();
            assert_eq!(value["type"], env.message.type_name());
            assert_eq!(value["seq"], 1);
            let back: Envelope = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(back, env, "{value}");
            env.message
                .validate_for(&env.topic)
                .unwrap_or_else(|e| panic!("{value}: {e}"));
        }
    }

    #[test]
    fn messages_are_refused_on_the_wrong_topic_kind() {
        let tick = Message::Tick(Tick {
            symbol: sym(),
            price: 1.0,
            change_pct: 0.0,
            volume: 1.0,
            source: DataSource::External,
            time: None,
        });
        let err = tick
            .validate_for(&topic_of(TopicKind::Backtest))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "message type `tick` cannot be published on a backtest topic"
        );
        let order = every_message()
            .into_iter()
            .find(|(m, _)| m.type_name() == "order")
            .unwrap()
            .0;
        assert!(order.validate_for(&topic_of(TopicKind::Market)).is_err());
    }

    #[test]
    fn nonsensical_numbers_are_refused_naming_the_field() {
        let mut bad = candle();
        bad.high = 9.5; // below the close
        let err = Message::Candle(bad)
            .validate_for(&topic_of(TopicKind::Market))
            .unwrap_err()
            .to_string();
        assert!(err.contains("data.high"), "{err}");
        let err = Message::Tick(Tick {
            symbol: sym(),
            price: -3.0,
            change_pct: 0.0,
            volume: 1.0,
            source: DataSource::External,
            time: None,
        })
        .validate_for(&topic_of(TopicKind::Market))
        .unwrap_err()
        .to_string();
        assert_eq!(err, "`data.price` must be a positive number, got -3");
        let progress = Message::Progress(Progress {
            pct: 140.0,
            bars_processed: 1,
            total_bars: 2,
            current_time: t(0),
            trades: 0,
            equity: 1.0,
            pnl: 0.0,
            bars_per_sec: None,
            eta_ms: None,
        });
        let err = progress
            .validate_for(&topic_of(TopicKind::Backtest))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "`data.pct` must be between 0 and 100, got 140");
    }

    #[test]
    fn every_list_and_map_of_a_message_is_bounded() {
        use crate::validate::MAX_LIST_ITEMS;
        let backtest = topic_of(TopicKind::Backtest);
        let points = vec![EquityPoint(t(0), 1.0, 0.0); MAX_LIST_ITEMS + 1];
        let err = Message::Equity(EquityBatch { points })
            .validate_for(&backtest)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "`data.points` must hold at most 10000 items, got 10001"
        );
        let ok = vec![EquityPoint(t(0), 1.0, 0.0); MAX_LIST_ITEMS];
        assert!(Message::Equity(EquityBatch { points: ok })
            .validate_for(&backtest)
            .is_ok());
        // Maps of named numbers (a run's params, a market's indicators) alike.
        for (message, topic) in every_message() {
            let mut big = message.clone();
            let many: std::collections::BTreeMap<String, f64> = (0..=MAX_LIST_ITEMS)
                .map(|i| (format!("p{i}"), 1.0))
                .collect();
            let map = match &mut big {
                Message::Started(s) => &mut s.params,
                Message::SessionInitialized(s) => &mut s.params,
                Message::Analysis(a) => &mut a.indicators,
                _ => continue,
            };
            *map = many;
            let err = big.validate_for(&topic).unwrap_err().to_string();
            assert!(err.contains("must hold at most 10000 items"), "{err}");
        }
    }

    #[test]
    fn missing_and_mistyped_fields_are_named_by_the_decoder() {
        let err = serde_json::from_str::<Message>(
            r#"{"type":"tick","data":{"symbol":"X","change_pct":0,"volume":1}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing field `price`"), "{err}");
        let err = serde_json::from_str::<Message>(
            r#"{"type":"tick","data":{"symbol":"X","price":"high","change_pct":0,"volume":1}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("invalid type: string \"high\""), "{err}");
        let err = serde_json::from_str::<Message>(r#"{"type":"teleport","data":{}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `teleport`"), "{err}");
    }
}

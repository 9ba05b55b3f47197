//! The envelope every published message travels in, and the message types it carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::backtest::{
    Complete, EquityBatch, ErrorInfo, Lifecycle, LogLine, Metrics, Progress, Started, Trade,
};
use super::market::{Analysis, Candle, Tick};
use super::session::{
    Countdown, Decision, PositionClosed, PositionOpened, PositionUpdated, SessionCompleted,
    SessionInitialized, SessionStats, Thinking,
};
use super::time::Timestamp;
use super::topic::{Topic, TopicKind};
use super::trading::{Order, Pnl, Position, Risk};
use super::validate::{finite, non_empty, non_negative, positive, texts, within, FieldError};

/// Names one lifetime of a topic's sequence; a new epoch means seq restarted at 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub String);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message published on a topic: `type` + `data` on the wire (docs/SPEC.md section 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Message {
    // market (candle also on session topics)
    Candle(Candle),
    Tick(Tick),
    Analysis(Analysis),
    // backtest (error also on session topics)
    Started(Started),
    Progress(Progress),
    Trade(Trade),
    Equity(EquityBatch),
    Metrics(Metrics),
    Log(LogLine),
    Paused(Lifecycle),
    Resumed(Lifecycle),
    Cancelled(Lifecycle),
    Complete(Complete),
    Error(ErrorInfo),
    // session
    SessionInitialized(SessionInitialized),
    Thinking(Thinking),
    Decision(Decision),
    PositionOpened(PositionOpened),
    PositionUpdated(PositionUpdated),
    PositionClosed(PositionClosed),
    StatsUpdate(SessionStats),
    Countdown(Countdown),
    SessionCompleted(SessionCompleted),
    // trading
    Order(Order),
    Position(Position),
    Pnl(Pnl),
    Risk(Risk),
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
    /// The wire name of this message's type (serde's `type` tag, from the same
    /// snake_case rule).
    pub fn type_name(&self) -> &'static str {
        self.into()
    }

    /// Whether this message belongs on a topic of `kind`.
    pub fn allowed_on(&self, kind: TopicKind) -> bool {
        use Message::*;
        match self {
            Candle(_) => matches!(kind, TopicKind::Market | TopicKind::Session),
            Tick(_) | Analysis(_) => kind == TopicKind::Market,
            Error(_) | Paused(_) | Resumed(_) => {
                matches!(kind, TopicKind::Backtest | TopicKind::Session)
            }
            Started(_) | Progress(_) | Trade(_) | Equity(_) | Metrics(_) | Log(_)
            | Cancelled(_) | Complete(_) => kind == TopicKind::Backtest,
            SessionInitialized(_)
            | Thinking(_)
            | Decision(_)
            | PositionOpened(_)
            | PositionUpdated(_)
            | PositionClosed(_)
            | StatsUpdate(_)
            | Countdown(_)
            | SessionCompleted(_) => kind == TopicKind::Session,
            Order(_) | Position(_) | Pnl(_) | Risk(_) => kind == TopicKind::Trading,
        }
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
                for pattern in &a.patterns {
                    texts(&[("patterns", pattern)])?;
                }
                for name in a.indicators.keys() {
                    texts(&[("indicators", name)])?;
                }
                a.indicators
                    .values()
                    .try_for_each(|v| finite("indicators", *v))
            }
            Started(s) => {
                texts(&[
                    ("backtest_id", &s.backtest_id),
                    ("strategy", &s.strategy),
                    ("symbol", &s.symbol),
                ])?;
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
            Equity(e) => e.points.iter().try_for_each(|p| {
                finite("points", p.1)?;
                within("points", p.2, 0.0, 100.0)
            }),
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
            Paused(l) | Resumed(l) | Cancelled(l) => {
                texts(&[("reason", l.reason.as_deref().unwrap_or(""))])
            }
            SessionInitialized(s) => {
                texts(&[
                    ("session_id", &s.session_id),
                    ("strategy", &s.strategy),
                    ("symbol", &s.symbol),
                ])?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::*;
    use crate::market::{DataSource, Structure};
    use crate::session::*;
    use crate::topic::Symbol;
    use crate::trading::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    fn sym() -> Symbol {
        Symbol::parse("BTC-USD").unwrap()
    }

    fn metrics() -> Metrics {
        Metrics {
            return_pct: 12.5,
            sharpe: 1.1,
            sortino: 1.4,
            max_drawdown_pct: 8.0,
            win_rate: 55.0,
            profit_factor: Some(1.6),
            trades: 20,
            exposure_pct: 70.0,
        }
    }

    fn candle() -> Candle {
        Candle {
            symbol: sym(),
            interval: "1m".parse().unwrap(),
            open_time: t(0),
            open: 10.0,
            high: 12.0,
            low: 9.0,
            close: 11.0,
            volume: 5.0,
            closed: false,
            source: DataSource::Synthetic,
        }
    }

    /// One valid message of every type, with the topic kind it is published on.
    fn samples() -> Vec<(Message, TopicKind)> {
        use TopicKind::*;
        let params = [("fast".to_string(), 10.0), ("slow".to_string(), 20.0)]
            .into_iter()
            .collect();
        vec![
            (Message::Candle(candle()), Market),
            (
                Message::Tick(Tick {
                    symbol: sym(),
                    price: 1.0,
                    change_pct: 0.5,
                    volume: 1.0,
                    source: DataSource::Synthetic,
                }),
                Market,
            ),
            (
                Message::Analysis(Analysis {
                    symbol: sym(),
                    indicators: [("rsi_14".to_string(), 55.0)].into_iter().collect(),
                    patterns: vec!["doji".into()],
                    structure: Structure::Uptrend,
                    confluence: 0.75,
                }),
                Market,
            ),
            (
                Message::Started(Started {
                    backtest_id: "b1".into(),
                    strategy: "sma_cross".into(),
                    params,
                    symbol: "GOOG".into(),
                    interval: Some("1d".parse().unwrap()),
                    from: t(0),
                    to: t(1000),
                    total_bars: 2148,
                }),
                Backtest,
            ),
            (
                Message::Progress(Progress {
                    pct: 50.0,
                    bars_processed: 10,
                    total_bars: 20,
                    current_time: t(5),
                    trades: 2,
                    equity: 10_100.0,
                    pnl: 100.0,
                    bars_per_sec: Some(1_000.0),
                    eta_ms: Some(10),
                }),
                Backtest,
            ),
            (
                Message::Trade(Trade {
                    id: 1,
                    side: Side::Long,
                    action: TradeAction::Exit,
                    time: t(9),
                    price: 101.0,
                    size: 10.0,
                    pnl: Some(10.0),
                    return_pct: Some(1.0),
                    reason: "cross down".into(),
                }),
                Backtest,
            ),
            (
                Message::Equity(EquityBatch {
                    points: vec![
                        EquityPoint(t(1), 10_000.0, 0.0),
                        EquityPoint(t(2), 9_900.0, 1.0),
                    ],
                }),
                Backtest,
            ),
            (Message::Metrics(metrics()), Backtest),
            (
                Message::Log(LogLine {
                    level: LogLevel::Info,
                    message: "fill".into(),
                    target: "backtest".into(),
                    bar: Some(3),
                }),
                Backtest,
            ),
            (
                Message::Paused(Lifecycle {
                    reason: Some("user".into()),
                }),
                Backtest,
            ),
            (Message::Resumed(Lifecycle::default()), Backtest),
            (Message::Cancelled(Lifecycle::default()), Backtest),
            (
                Message::Complete(Complete {
                    final_equity: 11_250.0,
                    duration_ms: 12,
                    metrics: metrics(),
                }),
                Backtest,
            ),
            (
                Message::Error(ErrorInfo {
                    error: "dataset missing".into(),
                    details: None,
                }),
                Session,
            ),
            (
                Message::SessionInitialized(SessionInitialized {
                    session_id: "s1".into(),
                    strategy: "sma_cross".into(),
                    params: Default::default(),
                    symbol: "BTC-USD".into(),
                    interval: "1m".parse().unwrap(),
                    cash: 10_000.0,
                }),
                Session,
            ),
            (
                Message::Thinking(Thinking {
                    bar_time: t(60_000),
                    chunk: "fast SMA crossed".into(),
                }),
                Session,
            ),
            (
                Message::Decision(Decision {
                    bar_time: t(60_000),
                    action: DecisionAction::Buy,
                    reasoning: "cross up".into(),
                    price: 10.0,
                    confidence: Some(0.7),
                }),
                Session,
            ),
            (
                Message::PositionOpened(PositionOpened {
                    position_id: 1,
                    side: Side::Short,
                    qty: 2.0,
                    entry_price: 10.0,
                    time: t(1),
                }),
                Session,
            ),
            (
                Message::PositionUpdated(PositionUpdated {
                    position_id: 1,
                    price: 9.0,
                    unrealized_pnl: 2.0,
                }),
                Session,
            ),
            (
                Message::PositionClosed(PositionClosed {
                    position_id: 1,
                    exit_price: 9.0,
                    pnl: 2.0,
                    return_pct: 10.0,
                    time: t(2),
                    reason: "signal".into(),
                }),
                Session,
            ),
            (
                Message::StatsUpdate(SessionStats {
                    equity: 10_002.0,
                    cash: 10_002.0,
                    realized_pnl: 2.0,
                    unrealized_pnl: 0.0,
                    return_pct: 0.02,
                    trades: 1,
                    win_rate: 100.0,
                }),
                Session,
            ),
            (
                Message::Countdown(Countdown {
                    seconds_to_next_bar: 42,
                }),
                Session,
            ),
            (
                Message::SessionCompleted(SessionCompleted {
                    reason: "stopped".into(),
                    final_equity: 10_002.0,
                }),
                Session,
            ),
            (Message::Candle(candle()), Session),
            (
                Message::Order(Order {
                    session_id: None,
                    id: "o1".into(),
                    symbol: sym(),
                    side: OrderSide::Buy,
                    qty: 1.0,
                    status: OrderStatus::Filled,
                    price: 10.0,
                }),
                Trading,
            ),
            (
                Message::Position(Position {
                    session_id: None,
                    symbol: sym(),
                    qty: -1.0,
                    avg_price: 10.0,
                    unrealized_pnl: 0.5,
                    realized_pnl: 0.0,
                }),
                Trading,
            ),
            (
                Message::Pnl(Pnl {
                    session_id: None,
                    realized: 1.0,
                    unrealized: 0.5,
                    total: 1.5,
                }),
                Trading,
            ),
            (
                Message::Risk(Risk {
                    session_id: None,
                    exposure: 10.0,
                    leverage: 0.001,
                    drawdown_pct: 0.0,
                }),
                Trading,
            ),
        ]
    }

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
        let samples = samples();
        let names: std::collections::HashSet<_> =
            samples.iter().map(|(m, _)| m.type_name()).collect();
        assert_eq!(names.len(), 27, "one sample per message type");
        for (message, kind) in samples {
            let env = Envelope {
                message,
                topic: topic_of(kind),
                seq: 1,
                epoch: Epoch("E".into()),
                timestamp: t(0),
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
        });
        let err = tick
            .validate_for(&topic_of(TopicKind::Backtest))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "message type `tick` cannot be published on a backtest topic"
        );
        let order = samples()
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

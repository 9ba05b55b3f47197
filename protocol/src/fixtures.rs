//! Sample values for tests, shared by every crate's: one valid message of every type
//! ([`every_message`]) and one of every client action ([`every_client_action`]), which
//! the protocol's tests, the server's contract tests and the fuzz seeds all use, and one
//! backtest topic with its envelopes and snapshots.

use crate::api::Bar;
use crate::notice::{Notice, NoticeEvent, NoticesRead};
use crate::sweep::{
    Objective, SweepAxis, SweepComplete, SweepEntry, SweepProgress, SweepResults, SweepStarted,
};
use crate::{
    Analysis, BearerToken, Candle, ClientAction, Complete, Countdown, DataSource, Decision,
    DecisionAction, DecisionSource, Envelope, Epoch, EquityBatch, EquityPoint, ErrorInfo,
    Lifecycle, LogLevel, LogLine, Message, Metrics, Order, OrderSide, OrderStatus, Pnl, Position,
    PositionClosed, PositionOpened, PositionUpdated, Progress, Risk, SessionCompleted,
    SessionInitialized, SessionStats, Side, Since, Snapshot, SnapshotData, Started, Structure,
    Symbol, Thinking, Tick, Timestamp, Topic, TopicKind, Trade, TradeAction,
};

/// An epoch as the server mints them (a ULID).
pub const EPOCH: &str = "01KAP3ZK7Q8V6W2X4Y5Z6A7B8C";

/// `backtest:b1`.
pub fn topic() -> Topic {
    Topic::new(TopicKind::Backtest, "b1").expect("a valid topic")
}

/// A log message at `seq` in `epoch` on [`topic`].
pub fn envelope(seq: u64, epoch: &str) -> Envelope {
    Envelope {
        message: Message::Log(LogLine {
            level: LogLevel::Info,
            message: format!("m{seq}"),
            target: "t".into(),
            bar: None,
        }),
        topic: topic(),
        seq,
        epoch: Epoch(epoch.into()),
        timestamp: Timestamp::from_unix_ms(0),
        conflated: 0,
    }
}

/// [`topic`]'s empty snapshot at `last_seq` in `epoch`.
pub fn snapshot(last_seq: u64, epoch: &str) -> Snapshot {
    Snapshot {
        topic: topic(),
        epoch: Epoch(epoch.into()),
        last_seq,
        data: SnapshotData::empty(TopicKind::Backtest),
    }
}

/// `ms` milliseconds after a fixed instant (2026-11-22T…Z, as a live server would write).
pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_795_356_191_123 + ms)
}

/// `BTC-USD`.
pub fn symbol() -> Symbol {
    Symbol::parse("BTC-USD").unwrap()
}

/// A run's metrics (no losing trade: `profit_factor` is null).
pub fn metrics() -> Metrics {
    Metrics {
        return_pct: 12.5,
        sharpe: 1.1,
        sortino: 1.4,
        max_drawdown_pct: 8.0,
        win_rate: 55.0,
        profit_factor: None,
        trades: 20,
        exposure_pct: 70.0,
    }
}

/// A closed one-minute `BTC-USD` candle.
pub fn candle() -> Candle {
    Candle {
        symbol: symbol(),
        interval: "1m".parse().unwrap(),
        open_time: at(0),
        open: 10.0,
        high: 12.0,
        low: 9.0,
        close: 11.0,
        volume: 5.0,
        closed: true,
        source: DataSource::Synthetic,
    }
}

/// A one-minute bar opening at `minute` (minutes since the epoch), from `open` to
/// `close`, reaching one beyond each and trading 2.
pub fn bar(minute: i64, open: f64, close: f64) -> Bar {
    Bar {
        time: Timestamp::from_unix_ms(minute * 60_000),
        open,
        high: open.max(close) + 1.0,
        low: open.min(close) - 1.0,
        close,
        volume: 2.0,
    }
}

/// A `BTC-USD` tick.
pub fn tick() -> Tick {
    Tick {
        symbol: symbol(),
        price: 1.0,
        change_pct: -0.5,
        volume: 1.0,
        source: DataSource::CsvReplay,
        time: None,
    }
}

/// One valid message of every type (two trades: an entry and an exit; `candle`,
/// `paused` and `error` on each kind they belong to), with the topic it is published on.
pub fn every_message() -> Vec<(Message, Topic)> {
    let market: Topic = "market:BTC-USD".parse().unwrap();
    let backtest: Topic = "backtest:run-1".parse().unwrap();
    let session: Topic = "session:s_1".parse().unwrap();
    let trading: Topic = "trading:BTC-USD".parse().unwrap();
    let params = [("fast".to_string(), 10.0), ("slow".to_string(), 20.0)]
        .into_iter()
        .collect();
    let on = |messages: Vec<Message>, topic: &Topic| {
        messages
            .into_iter()
            .map(|m| (m, topic.clone()))
            .collect::<Vec<_>>()
    };
    let mut all = on(
        vec![
            Message::Candle(candle()),
            Message::Tick(tick()),
            Message::Analysis(Analysis {
                symbol: symbol(),
                indicators: [("rsi_14".to_string(), 55.0)].into_iter().collect(),
                patterns: vec!["doji".into()],
                structure: Structure::Range,
                confluence: 0.75,
            }),
        ],
        &market,
    );
    all.extend(on(
        vec![
            Message::Started(Started {
                backtest_id: "run-1".into(),
                strategy: "sma_cross".into(),
                params,
                symbol: "GOOG".into(),
                interval: None,
                from: at(0),
                to: at(1000),
                total_bars: 2148,
                cash: Some(10_000.0),
            }),
            Message::Progress(Progress {
                pct: 50.0,
                bars_processed: 10,
                total_bars: 20,
                current_time: at(5),
                trades: 2,
                equity: 10_100.0,
                pnl: 100.0,
                bars_per_sec: Some(250_000.0),
                eta_ms: Some(40),
            }),
            Message::Trade(Trade {
                id: 1,
                side: Side::Long,
                action: TradeAction::Entry,
                time: at(9),
                price: 101.0,
                size: 10.0,
                pnl: None,
                return_pct: None,
                reason: "long signal".into(),
            }),
            Message::Trade(Trade {
                id: 2,
                side: Side::Short,
                action: TradeAction::Exit,
                time: at(9),
                price: 101.0,
                size: 10.0,
                pnl: Some(-10.0),
                return_pct: Some(-1.0),
                reason: "end of data".into(),
            }),
            Message::Equity(EquityBatch {
                points: vec![
                    EquityPoint(at(1), 10_000.0, 0.0),
                    EquityPoint(at(2), 9_900.0, 1.0),
                ],
            }),
            Message::Metrics(metrics()),
            Message::Log(LogLine {
                level: LogLevel::Warn,
                message: "fill".into(),
                target: "backtest".into(),
                bar: Some(3),
            }),
            Message::Paused(Lifecycle {
                reason: Some("user".into()),
            }),
            Message::Resumed(Lifecycle::default()),
            Message::Cancelled(Lifecycle::default()),
            Message::Interrupted(Lifecycle {
                reason: Some("the server stopped before the run ended".into()),
            }),
            Message::Complete(Complete {
                final_equity: 11_250.0,
                duration_ms: 12,
                metrics: Metrics {
                    profit_factor: Some(1.6),
                    ..metrics()
                },
            }),
            Message::Error(ErrorInfo {
                error: "dataset missing".into(),
                details: Some("GOOG".into()),
            }),
        ],
        &backtest,
    ));
    all.extend(on(
        vec![
            Message::SessionInitialized(SessionInitialized {
                session_id: "s_1".into(),
                strategy: "external".into(),
                params: Default::default(),
                symbol: "BTC-USD".into(),
                interval: "1m".parse().unwrap(),
                cash: 10_000.0,
            }),
            Message::Candle(candle()),
            Message::Thinking(Thinking {
                bar_time: at(60_000),
                chunk: "fast SMA crossed".into(),
            }),
            Message::Decision(Decision {
                bar_time: at(60_000),
                action: DecisionAction::Close,
                reasoning: "cross up".into(),
                price: 10.0,
                confidence: Some(0.7),
                source: Some(DecisionSource::Manual),
            }),
            Message::PositionOpened(PositionOpened {
                position_id: 1,
                side: Side::Short,
                qty: 2.0,
                entry_price: 10.0,
                time: at(1),
            }),
            Message::PositionUpdated(PositionUpdated {
                position_id: 1,
                price: 9.0,
                unrealized_pnl: 2.0,
            }),
            Message::PositionClosed(PositionClosed {
                position_id: 1,
                exit_price: 9.0,
                pnl: 2.0,
                return_pct: 10.0,
                time: at(2),
                reason: "signal".into(),
                side: Some(Side::Long),
                entry_price: Some(8.0),
                entry_time: Some(at(1)),
            }),
            Message::StatsUpdate(SessionStats {
                equity: 10_002.0,
                cash: 10_002.0,
                realized_pnl: 2.0,
                unrealized_pnl: 0.0,
                return_pct: 0.02,
                trades: 1,
                win_rate: 100.0,
            }),
            Message::Countdown(Countdown {
                seconds_to_next_bar: 42,
            }),
            Message::Paused(Lifecycle::default()),
            Message::Error(ErrorInfo {
                error: "feed stopped".into(),
                details: None,
            }),
            Message::SessionCompleted(SessionCompleted {
                reason: "stopped".into(),
                final_equity: 10_002.0,
            }),
        ],
        &session,
    ));
    all.extend(on(
        vec![
            Message::Order(Order {
                session_id: Some("s_1".into()),
                id: "o1".into(),
                symbol: symbol(),
                side: OrderSide::Buy,
                qty: 1.0,
                status: OrderStatus::Filled,
                price: 10.0,
            }),
            Message::Position(Position {
                session_id: None,
                symbol: symbol(),
                qty: -1.0,
                avg_price: 10.0,
                unrealized_pnl: 0.5,
                realized_pnl: 0.0,
            }),
            Message::Pnl(Pnl {
                session_id: None,
                realized: 1.0,
                unrealized: 0.5,
                total: 1.5,
            }),
            Message::Risk(Risk {
                session_id: None,
                exposure: 10.0,
                leverage: 0.001,
                drawdown_pct: 0.0,
            }),
        ],
        &trading,
    ));
    let sweep: Topic = "sweep:sw-1".parse().unwrap();
    let best = SweepEntry {
        index: 1,
        params: [("fast".to_string(), 5.0), ("slow".to_string(), 30.0)]
            .into_iter()
            .collect(),
        value: Some(12.5),
        metrics: Some(metrics()),
        final_equity: Some(11_250.0),
        skipped: None,
    };
    let skipped = SweepEntry {
        index: 2,
        params: [("fast".to_string(), 30.0), ("slow".to_string(), 20.0)]
            .into_iter()
            .collect(),
        value: None,
        metrics: None,
        final_equity: None,
        skipped: Some("parameter `fast` (30) must be less than `slow` (20)".into()),
    };
    all.extend(on(
        vec![
            Message::SweepStarted(SweepStarted {
                sweep_id: "sw-1".into(),
                strategy: "sma_cross".into(),
                symbol: "GOOG".into(),
                axes: vec![
                    SweepAxis {
                        param: "fast".into(),
                        values: vec![5.0, 30.0],
                    },
                    SweepAxis {
                        param: "slow".into(),
                        values: vec![20.0, 30.0],
                    },
                ],
                combos: 4,
                objective: Objective::ReturnPct,
                top_n: 10,
                total_bars: 2148,
                cash: 10_000.0,
                commission: 0.001,
            }),
            Message::SweepResult(SweepResults {
                results: vec![best.clone(), skipped],
            }),
            Message::SweepProgress(SweepProgress {
                done: 2,
                combos: 4,
                pct: 50.0,
                combos_per_sec: 4_000.0,
                eta_ms: Some(1),
            }),
            Message::SweepComplete(SweepComplete {
                done: 4,
                skipped: 1,
                duration_ms: 1,
                top: vec![best],
            }),
            Message::Cancelled(Lifecycle::default()),
        ],
        &sweep,
    ));
    let user: Topic = "user:alice".parse().unwrap();
    all.extend(on(
        vec![
            Message::Notice(Notice {
                event: NoticeEvent::RunFinished,
                title: "Backtest bt-1 completed".into(),
                body: "GOOG sma_cross: +12.40 %, 31 trades".into(),
                reference: Some("backtest:bt-1".into()),
            }),
            Message::NoticesRead(NoticesRead { up_to_seq: 1 }),
        ],
        &user,
    ));
    all
}

/// One of every client action (a `subscribe` of each kind of resume point), on
/// [`topic`].
pub fn every_client_action() -> Vec<ClientAction> {
    let topic = topic();
    vec![
        ClientAction::Subscribe {
            topic: topic.clone(),
            since: None,
            max_rate: None,
        },
        ClientAction::Subscribe {
            topic: topic.clone(),
            since: Some(Since::after(9, Epoch(EPOCH.into()))),
            max_rate: None,
        },
        ClientAction::Subscribe {
            topic: topic.clone(),
            since: Some(Since::FROM_OLDEST),
            max_rate: None,
        },
        ClientAction::Unsubscribe {
            topic: topic.clone(),
        },
        ClientAction::Ping { id: 1, t: 99.5 },
        ClientAction::Pause {
            topic: topic.clone(),
        },
        ClientAction::Resume {
            topic: topic.clone(),
        },
        ClientAction::Cancel { topic },
        ClientAction::Auth {
            token: BearerToken("a.b.c".into()),
        },
    ]
}

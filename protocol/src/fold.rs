//! How a topic's state follows from its messages: the server folds every published
//! message into the snapshot it hands late joiners, and a client can fold live messages
//! into a snapshot it received the same way. Lists are capped so state stays bounded.

use super::backtest::{BacktestSnapshot, RunStatus};
use super::control::SnapshotData;
use super::market::{Candle, MarketSnapshot};
use super::messages::Message;
use super::notice::{SeqNotice, UserSnapshot};
use super::session::{OpenPosition, SessionSnapshot};
use super::sweep::SweepSnapshot;
use super::topic::TopicKind;
use super::trading::TradingSnapshot;

/// Candles kept in a market or session snapshot.
pub const SNAPSHOT_CANDLES: usize = 500;
/// Equity points kept in a backtest snapshot (the most recent).
pub const SNAPSHOT_EQUITY_POINTS: usize = 5_000;
/// Trades kept in a backtest snapshot (the most recent).
pub const SNAPSHOT_TRADES: usize = 5_000;
/// Log lines, decisions, closed positions, orders and reasoning chunks kept (the most
/// recent).
pub const SNAPSHOT_RECENT: usize = 200;
/// Open positions kept in a session snapshot (docs/SPEC.md section 12).
pub const SNAPSHOT_POSITIONS: usize = 1_000;
/// Combinations whose values a sweep snapshot holds, at most (`--max-sweep-combos` is
/// capped at it).
pub const SNAPSHOT_SWEEP_VALUES: usize = 1_000_000;

impl SnapshotData {
    /// The state of a topic of `kind` before any message.
    pub fn empty(kind: TopicKind) -> Self {
        match kind {
            TopicKind::Market => SnapshotData::Market(MarketSnapshot::default()),
            TopicKind::Backtest => SnapshotData::Backtest(BacktestSnapshot::default()),
            TopicKind::Session => SnapshotData::Session(SessionSnapshot::default()),
            TopicKind::Trading => SnapshotData::Trading(TradingSnapshot::default()),
            TopicKind::Sweep => SnapshotData::Sweep(SweepSnapshot::default()),
            TopicKind::User => SnapshotData::User(UserSnapshot::default()),
        }
    }

    /// Whether a stream in this state should be moving, so that its silence means a
    /// stall (docs/SPEC.md section 7, `stale_after_ms`): market data always, a backtest while
    /// it runs, a session from its start to its end unless paused. Trading topics are
    /// fed by sessions' fills, which may be rare, so their silence means nothing.
    pub fn is_moving(&self) -> bool {
        match self {
            SnapshotData::Market(_) => true,
            SnapshotData::Backtest(s) => s.status == RunStatus::Running,
            SnapshotData::Session(s) => {
                s.initialized.is_some() && s.completed.is_none() && !s.paused
            }
            SnapshotData::Trading(_) | SnapshotData::User(_) => false,
            SnapshotData::Sweep(s) => s.status == RunStatus::Running,
        }
    }

    /// Where the run behind this state stands: none for a topic that is no run.
    pub fn run_status(&self) -> Option<RunStatus> {
        match self {
            SnapshotData::Backtest(s) => Some(s.status),
            SnapshotData::Sweep(s) => Some(s.status),
            SnapshotData::Market(_)
            | SnapshotData::Session(_)
            | SnapshotData::Trading(_)
            | SnapshotData::User(_) => None,
        }
    }

    /// Folds one message into the state. Messages of another topic kind are ignored.
    pub fn apply(&mut self, message: &Message) {
        match self {
            SnapshotData::Market(s) => s.apply(message),
            SnapshotData::Backtest(s) => s.apply(message),
            SnapshotData::Session(s) => s.apply(message),
            SnapshotData::Trading(s) => s.apply(message),
            SnapshotData::Sweep(s) => s.apply(message),
            SnapshotData::User(s) => s.apply(message),
        }
    }
}

impl Message {
    /// What this message says of its stream's motion (see [`SnapshotData::is_moving`]):
    /// `Some(true)` for a run that starts, resumes or reports, `Some(false)` for one
    /// that pauses or ends, `None` for the rest.
    pub fn moving(&self) -> Option<bool> {
        match self {
            Message::Started(_)
            | Message::Progress(_)
            | Message::SweepStarted(_)
            | Message::SweepProgress(_)
            | Message::Resumed(_)
            | Message::SessionInitialized(_)
            | Message::Countdown(_) => Some(true),
            Message::Paused(_)
            | Message::Cancelled(_)
            | Message::Interrupted(_)
            | Message::Complete(_)
            | Message::SweepComplete(_)
            | Message::Error(_)
            | Message::SessionCompleted(_) => Some(false),
            _ => None,
        }
    }
}

impl MarketSnapshot {
    /// Folds one message into the state; messages of other topic kinds are ignored.
    pub fn apply(&mut self, message: &Message) {
        match message {
            Message::Candle(c) => upsert_candle(&mut self.candles, c),
            Message::Tick(t) => self.last_tick = Some(t.clone()),
            Message::Analysis(a) => self.analysis = Some(a.clone()),
            _ => {}
        }
    }
}

/// A run's status after a lifecycle message (`status` after any other).
fn lifecycle_status(message: &Message, status: RunStatus) -> RunStatus {
    match message {
        Message::Paused(_) => RunStatus::Paused,
        Message::Resumed(_) => RunStatus::Running,
        Message::Cancelled(_) => RunStatus::Cancelled,
        Message::Interrupted(_) => RunStatus::Interrupted,
        _ => status,
    }
}

impl BacktestSnapshot {
    /// Folds one message into the state; messages of other topic kinds are ignored.
    pub fn apply(&mut self, message: &Message) {
        match message {
            Message::Started(started) => {
                self.started = Some(started.clone());
                self.status = RunStatus::Running;
            }
            Message::Progress(p) => self.progress = Some(p.clone()),
            Message::Trade(t) => push_capped(&mut self.trades, t.clone(), SNAPSHOT_TRADES),
            Message::Equity(batch) => {
                for point in &batch.points {
                    push_capped(&mut self.equity, *point, SNAPSHOT_EQUITY_POINTS);
                }
            }
            Message::Metrics(m) => self.metrics = Some(m.clone()),
            Message::Log(l) => push_capped(&mut self.logs, l.clone(), SNAPSHOT_RECENT),
            Message::Paused(_)
            | Message::Resumed(_)
            | Message::Cancelled(_)
            | Message::Interrupted(_) => self.status = lifecycle_status(message, self.status),
            Message::Complete(c) => {
                self.metrics = Some(c.metrics.clone());
                self.complete = Some(c.clone());
                self.status = RunStatus::Complete;
            }
            Message::Error(e) => {
                self.error = Some(e.clone());
                self.status = RunStatus::Failed;
            }
            _ => {}
        }
    }
}

impl SweepSnapshot {
    /// Folds one message into the state; messages of other topic kinds are ignored.
    pub fn apply(&mut self, message: &Message) {
        match message {
            Message::SweepStarted(started) => {
                let combos = (started.combos as usize).min(SNAPSHOT_SWEEP_VALUES);
                *self = SweepSnapshot {
                    status: RunStatus::Running,
                    started: Some(started.clone()),
                    values: vec![None; combos],
                    ..SweepSnapshot::default()
                };
            }
            Message::SweepResult(results) => self.land(results),
            Message::SweepProgress(p) => self.progress = Some(p.clone()),
            Message::Paused(_)
            | Message::Resumed(_)
            | Message::Cancelled(_)
            | Message::Interrupted(_) => self.status = lifecycle_status(message, self.status),
            Message::SweepComplete(c) => {
                self.top = c.top.clone();
                self.complete = Some(c.clone());
                self.status = RunStatus::Complete;
            }
            Message::Error(e) => {
                self.error = Some(e.clone());
                self.status = RunStatus::Failed;
            }
            _ => {}
        }
    }
}

impl SessionSnapshot {
    /// Folds one message into the state; messages of other topic kinds are ignored.
    pub fn apply(&mut self, message: &Message) {
        match message {
            Message::SessionInitialized(i) => self.initialized = Some(i.clone()),
            Message::Candle(c) => upsert_candle(&mut self.candles, c),
            Message::Thinking(t) => push_capped(&mut self.thinking, t.clone(), SNAPSHOT_RECENT),
            Message::Decision(d) => {
                self.thinking.clear();
                push_capped(&mut self.decisions, d.clone(), SNAPSHOT_RECENT);
            }
            Message::PositionOpened(p) => {
                let open = OpenPosition {
                    opened: p.clone(),
                    last_price: p.entry_price,
                    unrealized_pnl: 0.0,
                };
                push_capped(&mut self.open_positions, open, SNAPSHOT_POSITIONS);
            }
            Message::PositionUpdated(u) => {
                if let Some(p) = self
                    .open_positions
                    .iter_mut()
                    .find(|p| p.opened.position_id == u.position_id)
                {
                    p.last_price = u.price;
                    p.unrealized_pnl = u.unrealized_pnl;
                }
            }
            Message::PositionClosed(c) => {
                self.open_positions
                    .retain(|p| p.opened.position_id != c.position_id);
                push_capped(&mut self.closed_positions, c.clone(), SNAPSHOT_RECENT);
            }
            Message::StatsUpdate(st) => self.stats = Some(st.clone()),
            Message::Countdown(c) => self.countdown = Some(c.clone()),
            Message::SessionCompleted(c) => self.completed = Some(c.clone()),
            Message::Paused(_) => self.paused = true,
            Message::Resumed(_) => {
                self.paused = false;
                self.interrupted = None;
            }
            Message::Interrupted(i) => self.interrupted = Some(i.clone()),
            _ => {}
        }
    }
}

impl TradingSnapshot {
    /// Folds one message into the state; messages of other topic kinds are ignored.
    pub fn apply(&mut self, message: &Message) {
        match message {
            Message::Order(o) => match self.orders.iter_mut().find(|x| x.id == o.id) {
                Some(existing) => *existing = o.clone(),
                None => push_capped(&mut self.orders, o.clone(), SNAPSHOT_RECENT),
            },
            Message::Position(p) => self.position = Some(p.clone()),
            Message::Pnl(p) => self.pnl = Some(p.clone()),
            Message::Risk(r) => self.risk = Some(r.clone()),
            _ => {}
        }
    }
}

impl UserSnapshot {
    /// Folds one message into the state (each one is the topic's next seq).
    pub fn apply(&mut self, message: &Message) {
        self.last_seq += 1;
        match message {
            Message::Notice(notice) => push_capped(
                &mut self.notices,
                SeqNotice {
                    seq: self.last_seq,
                    notice: notice.clone(),
                },
                SNAPSHOT_RECENT,
            ),
            Message::NoticesRead(read) => {
                self.read_up_to = self.read_up_to.max(read.up_to_seq.min(self.last_seq));
            }
            _ => {}
        }
    }
}

fn push_capped<T>(list: &mut Vec<T>, item: T, cap: usize) {
    if list.len() >= cap {
        // Drop the oldest tenth at once so trimming is amortised.
        let excess = list.len() + 1 - cap + cap / 10;
        list.drain(..excess.min(list.len()));
    }
    list.push(item);
}

/// Replaces the candle with the same open time, or puts it in time order; keeps the
/// [`SNAPSHOT_CANDLES`] most recent, whatever order candles arrive in.
pub fn upsert_candle(candles: &mut Vec<Candle>, candle: &Candle) {
    match candles
        .iter()
        .rposition(|c| c.open_time <= candle.open_time)
    {
        Some(i) if candles[i].open_time == candle.open_time => candles[i] = candle.clone(),
        Some(i) if i + 1 < candles.len() => candles.insert(i + 1, candle.clone()),
        None if !candles.is_empty() => candles.insert(0, candle.clone()),
        _ => push_capped(candles, candle.clone(), SNAPSHOT_CANDLES),
    }
    if candles.len() > SNAPSHOT_CANDLES {
        let excess = candles.len() - SNAPSHOT_CANDLES;
        candles.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataSource, Symbol, Timestamp};

    fn candle(open_ms: i64, close: f64, closed: bool) -> Candle {
        Candle {
            symbol: Symbol::parse("X").unwrap(),
            interval: "1m".parse().unwrap(),
            open_time: Timestamp::from_unix_ms(open_ms),
            open: 1.0,
            high: close.max(1.0),
            low: close.min(1.0),
            close,
            volume: 1.0,
            closed,
            source: DataSource::Synthetic,
        }
    }

    #[test]
    fn candles_arriving_newest_first_stay_ordered_and_capped() {
        let mut candles = vec![];
        for i in (0..SNAPSHOT_CANDLES as i64 + 300).rev() {
            upsert_candle(&mut candles, &candle(i * 60_000, 1.0, true));
            assert!(candles.len() <= SNAPSHOT_CANDLES);
        }
        assert_eq!(candles.len(), SNAPSHOT_CANDLES);
        assert!(candles.windows(2).all(|w| w[0].open_time < w[1].open_time));
    }

    #[test]
    fn reasoning_chunks_are_capped() {
        let mut state = SessionSnapshot::default();
        for i in 0..1_000 {
            state.apply(&Message::Thinking(crate::Thinking {
                bar_time: Timestamp::from_unix_ms(0),
                chunk: format!("chunk {i}"),
            }));
        }
        assert!(state.thinking.len() <= SNAPSHOT_RECENT);
        assert_eq!(state.thinking.last().unwrap().chunk, "chunk 999");
    }

    fn market(state: &SnapshotData) -> &MarketSnapshot {
        match state {
            SnapshotData::Market(m) => m,
            other => panic!("not a market snapshot: {other:?}"),
        }
    }

    #[test]
    fn the_open_candle_is_updated_in_place_and_new_ones_are_appended() {
        let mut state = SnapshotData::empty(TopicKind::Market);
        state.apply(&Message::Candle(candle(0, 2.0, false)));
        state.apply(&Message::Candle(candle(0, 3.0, true)));
        state.apply(&Message::Candle(candle(60_000, 4.0, false)));
        let closes: Vec<f64> = market(&state).candles.iter().map(|c| c.close).collect();
        assert_eq!(closes, vec![3.0, 4.0]);
        assert!(market(&state).candles[0].closed);
    }

    #[test]
    fn snapshots_keep_only_the_most_recent_candles() {
        let mut state = SnapshotData::empty(TopicKind::Market);
        for i in 0..(SNAPSHOT_CANDLES as i64 + 10) {
            state.apply(&Message::Candle(candle(i * 60_000, i as f64 + 1.0, true)));
        }
        let candles = &market(&state).candles;
        assert!(candles.len() <= SNAPSHOT_CANDLES);
        assert_eq!(
            candles.last().unwrap().close,
            SNAPSHOT_CANDLES as f64 + 10.0
        );
        assert!(candles.windows(2).all(|w| w[0].open_time < w[1].open_time));
    }

    #[test]
    fn a_backtest_snapshot_tracks_status_through_its_lifecycle() {
        use crate::{Lifecycle, RunStatus};
        let mut state = SnapshotData::empty(TopicKind::Backtest);
        state.apply(&Message::Paused(Lifecycle::default()));
        let SnapshotData::Backtest(b) = &state else {
            panic!()
        };
        assert_eq!(b.status, RunStatus::Paused);
        state.apply(&Message::Cancelled(Lifecycle::default()));
        let SnapshotData::Backtest(b) = &state else {
            panic!()
        };
        assert_eq!(b.status, RunStatus::Cancelled);
    }

    /// Folds `messages` in turn and checks, after each, that the state's motion is what
    /// the message said (`Some`) or what it was (`None`).
    fn assert_motion(kind: TopicKind, messages: &[(Message, bool)]) {
        let mut state = SnapshotData::empty(kind);
        assert!(!state.is_moving(), "{kind:?} moves before any message");
        for (message, moving) in messages {
            state.apply(message);
            assert_eq!(state.is_moving(), *moving, "{kind:?} after {message:?}");
            if let Some(said) = message.moving() {
                assert_eq!(said, *moving, "{message:?} says otherwise");
            }
        }
    }

    #[test]
    fn a_run_moves_from_its_start_to_its_end_except_while_paused() {
        use crate::{
            Countdown, Lifecycle, LogLevel, LogLine, SessionCompleted, SessionInitialized,
        };
        let lifecycle = Lifecycle::default;
        assert_motion(
            TopicKind::Backtest,
            &[
                (Message::Resumed(lifecycle()), true),
                (
                    Message::Log(LogLine {
                        level: LogLevel::Info,
                        message: "bar 1".into(),
                        target: "engine".into(),
                        bar: Some(1),
                    }),
                    true,
                ),
                (Message::Paused(lifecycle()), false),
                (Message::Resumed(lifecycle()), true),
                (Message::Cancelled(lifecycle()), false),
            ],
        );
        let initialized = SessionInitialized {
            session_id: "s1".into(),
            strategy: "sma_cross".into(),
            params: Default::default(),
            symbol: "X".into(),
            interval: "1m".parse().unwrap(),
            cash: 10_000.0,
        };
        assert_motion(
            TopicKind::Session,
            &[
                (Message::SessionInitialized(initialized), true),
                (
                    Message::Countdown(Countdown {
                        seconds_to_next_bar: 3,
                    }),
                    true,
                ),
                (Message::Paused(lifecycle()), false),
                (Message::Resumed(lifecycle()), true),
                (
                    Message::SessionCompleted(SessionCompleted {
                        reason: "stopped".into(),
                        final_equity: 10_000.0,
                    }),
                    false,
                ),
            ],
        );
        assert!(SnapshotData::empty(TopicKind::Market).is_moving());
        assert!(!SnapshotData::empty(TopicKind::Trading).is_moving());
    }
}

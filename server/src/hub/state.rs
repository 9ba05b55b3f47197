//! What a late joiner needs of each topic kind, kept up to date as messages pass.

use std::collections::VecDeque;

use app::protocol::{Candle, MarketSnapshot, Message, SnapshotData, Tick, TopicKind};

/// Candles a market snapshot carries.
pub const SNAPSHOT_CANDLES: usize = 500;

/// A topic's running state.
pub(super) enum TopicState {
    Market { candles: VecDeque<Candle>, last_tick: Option<Tick> },
    /// Kinds whose message types the hub does not model yet keep no state.
    Stateless,
}

impl TopicState {
    pub(super) fn for_kind(kind: TopicKind) -> Self {
        match kind {
            TopicKind::Market => TopicState::Market { candles: VecDeque::new(), last_tick: None },
            TopicKind::Backtest | TopicKind::Session | TopicKind::Trading => TopicState::Stateless,
        }
    }

    /// Folds one published message into the state.
    pub(super) fn apply(&mut self, message: &Message) {
        match (self, message) {
            (TopicState::Market { candles, .. }, Message::Candle(candle)) => upsert_candle(candles, candle),
            (TopicState::Market { last_tick, .. }, Message::Tick(tick)) => *last_tick = Some(tick.clone()),
            (TopicState::Stateless, _) => {}
        }
    }

    pub(super) fn snapshot(&self) -> SnapshotData {
        match self {
            TopicState::Market { candles, last_tick } => SnapshotData::Market(MarketSnapshot {
                candles: candles.iter().cloned().collect(),
                last_tick: last_tick.clone(),
            }),
            TopicState::Stateless => SnapshotData::Empty,
        }
    }
}

/// Replaces the candle with the same open time, or appends a newer one.
fn upsert_candle(candles: &mut VecDeque<Candle>, candle: &Candle) {
    match candles.back_mut() {
        Some(last) if last.open_time == candle.open_time && last.interval == candle.interval => *last = candle.clone(),
        Some(last) if last.open_time > candle.open_time => {
            if let Some(existing) = candles.iter_mut().find(|c| c.open_time == candle.open_time) {
                *existing = candle.clone();
            }
        }
        _ => {
            if candles.len() == SNAPSHOT_CANDLES {
                candles.pop_front();
            }
            candles.push_back(candle.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::protocol::{DataSource, Symbol, Timestamp};

    fn candle(open_ms: i64, close: f64, closed: bool) -> Message {
        Message::Candle(Candle {
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
        })
    }

    #[test]
    fn the_open_candle_is_updated_in_place_and_new_ones_are_appended() {
        let mut state = TopicState::for_kind(TopicKind::Market);
        state.apply(&candle(0, 2.0, false));
        state.apply(&candle(0, 3.0, true));
        state.apply(&candle(60_000, 4.0, false));
        let SnapshotData::Market(snap) = state.snapshot() else { panic!("not a market snapshot") };
        let closes: Vec<f64> = snap.candles.iter().map(|c| c.close).collect();
        assert_eq!(closes, vec![3.0, 4.0]);
        assert!(snap.candles[0].closed);
    }

    #[test]
    fn the_snapshot_keeps_only_the_most_recent_candles() {
        let mut state = TopicState::for_kind(TopicKind::Market);
        for i in 0..(SNAPSHOT_CANDLES as i64 + 10) {
            state.apply(&candle(i * 60_000, i as f64, true));
        }
        let SnapshotData::Market(snap) = state.snapshot() else { panic!("not a market snapshot") };
        assert_eq!(snap.candles.len(), SNAPSHOT_CANDLES);
        assert_eq!(snap.candles[0].close, 10.0);
    }
}

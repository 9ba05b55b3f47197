//! The candles a chart holds, and what each update changed.

use std::collections::VecDeque;

use protocol::Candle;

/// What an update did to the series; the chart redraws accordingly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The last candle changed in place (the open candle ticked, or closed).
    LastUpdated,
    /// A candle was added after the last one.
    Appended,
    /// An older candle changed: redraw everything.
    Rewritten,
}

/// Up to `capacity` candles in time order, oldest dropped first.
#[derive(Clone, Debug)]
pub struct CandleSeries {
    candles: VecDeque<Candle>,
    capacity: usize,
}

impl CandleSeries {
    pub fn new(capacity: usize) -> Self {
        CandleSeries {
            candles: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
        }
    }

    /// Replaces everything (a snapshot), keeping the most recent `capacity`.
    pub fn reset(&mut self, candles: impl IntoIterator<Item = Candle>) {
        self.candles.clear();
        for c in candles {
            self.upsert(c);
        }
    }

    /// Adds a candle or updates the one with the same open time.
    pub fn upsert(&mut self, candle: Candle) -> Change {
        match self.candles.back() {
            Some(last) if last.open_time == candle.open_time => {
                if let Some(last) = self.candles.back_mut() {
                    *last = candle;
                }
                Change::LastUpdated
            }
            Some(last) if last.open_time > candle.open_time => {
                match self
                    .candles
                    .binary_search_by_key(&candle.open_time, |c| c.open_time)
                {
                    Ok(i) => self.candles[i] = candle,
                    Err(i) => self.candles.insert(i, candle),
                }
                self.trim();
                Change::Rewritten
            }
            _ => {
                self.candles.push_back(candle);
                self.trim();
                Change::Appended
            }
        }
    }

    fn trim(&mut self) {
        while self.candles.len() > self.capacity {
            self.candles.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.candles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    pub fn last(&self) -> Option<&Candle> {
        self.candles.back()
    }

    /// The most recent `n` candles, oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = &Candle> {
        self.candles
            .iter()
            .skip(self.candles.len().saturating_sub(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{DataSource, Symbol, Timestamp};

    pub(crate) fn candle(minute: i64, close: f64) -> Candle {
        Candle {
            symbol: Symbol::parse("X").unwrap(),
            interval: "1m".parse().unwrap(),
            open_time: Timestamp::from_unix_ms(minute * 60_000),
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 1.0,
            closed: false,
            source: DataSource::Synthetic,
        }
    }

    #[test]
    fn the_open_candle_updates_in_place_and_new_ones_append() {
        let mut s = CandleSeries::new(3);
        assert_eq!(s.upsert(candle(0, 10.0)), Change::Appended);
        assert_eq!(s.upsert(candle(0, 11.0)), Change::LastUpdated);
        assert_eq!(s.len(), 1);
        assert_eq!(s.last().unwrap().close, 11.0);
        assert_eq!(s.upsert(candle(1, 12.0)), Change::Appended);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn capacity_drops_the_oldest_and_late_candles_land_in_order() {
        let mut s = CandleSeries::new(3);
        s.reset((0..5).map(|m| candle(m * 2, m as f64)));
        let times: Vec<i64> = s.tail(10).map(|c| c.open_time.unix_ms() / 60_000).collect();
        assert_eq!(times, [4, 6, 8]);
        assert_eq!(s.upsert(candle(5, 9.0)), Change::Rewritten);
        let times: Vec<i64> = s.tail(10).map(|c| c.open_time.unix_ms() / 60_000).collect();
        assert_eq!(times, [5, 6, 8]);
        let last_two: Vec<i64> = s.tail(2).map(|c| c.open_time.unix_ms() / 60_000).collect();
        assert_eq!(last_two, [6, 8]);
    }
}

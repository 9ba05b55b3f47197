//! The bars a chart holds, and what each update changed.

use protocol::api::Bar;
use protocol::Candle;

/// What an update did to the series; the chart redraws accordingly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The last bar changed in place (the open candle ticked, or closed).
    LastUpdated,
    /// A bar was added after the last one.
    Appended,
    /// An older bar changed: redraw everything.
    Rewritten,
}

/// A market candle as a chart bar.
pub fn bar_of(c: &Candle) -> Bar {
    Bar {
        time: c.open_time,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
    }
}

/// Up to `capacity` bars in time order, oldest dropped first.
#[derive(Clone, Debug)]
pub struct CandleSeries {
    bars: Vec<Bar>,
    capacity: usize,
}

impl CandleSeries {
    pub fn new(capacity: usize) -> Self {
        CandleSeries {
            bars: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// Replaces everything (a snapshot, a page of bars), keeping the most recent
    /// `capacity`.
    pub fn reset(&mut self, bars: impl IntoIterator<Item = Bar>) {
        self.bars.clear();
        for bar in bars {
            self.upsert(bar);
        }
        self.trim(self.capacity);
    }

    /// Adds a bar or updates the one with the same open time.
    pub fn upsert(&mut self, bar: Bar) -> Change {
        match self.bars.last() {
            Some(last) if last.time == bar.time => {
                if let Some(last) = self.bars.last_mut() {
                    *last = bar;
                }
                Change::LastUpdated
            }
            Some(last) if last.time > bar.time => {
                match self.bars.binary_search_by_key(&bar.time, |b| b.time) {
                    Ok(i) => self.bars[i] = bar,
                    Err(i) => self.bars.insert(i, bar),
                }
                self.trim(self.capacity);
                Change::Rewritten
            }
            _ => {
                self.bars.push(bar);
                // Trimmed in steps of a tenth, so appending stays O(1) amortised.
                self.trim(self.capacity + self.capacity / 10);
                Change::Appended
            }
        }
    }

    /// Puts `older` bars (in time order) before the first one held, as far as capacity
    /// allows; returns how many were added.
    pub fn prepend(&mut self, older: &[Bar]) -> usize {
        let first = self.bars.first().map(|b| b.time);
        let older: Vec<Bar> = older
            .iter()
            .filter(|b| first.is_none_or(|t| b.time < t))
            .copied()
            .collect();
        let room = self.capacity.saturating_sub(self.bars.len());
        let take = older.len().min(room);
        self.bars
            .splice(0..0, older[older.len() - take..].iter().copied());
        take
    }

    fn trim(&mut self, most: usize) {
        if self.bars.len() > most {
            let excess = self.bars.len() - self.capacity;
            self.bars.drain(..excess);
        }
    }

    pub fn len(&self) -> usize {
        self.bars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
    }

    pub fn last(&self) -> Option<&Bar> {
        self.bars.last()
    }

    pub fn bars(&self) -> &[Bar] {
        &self.bars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Timestamp;

    pub(crate) fn bar(minute: i64, close: f64) -> Bar {
        Bar {
            time: Timestamp::from_unix_ms(minute * 60_000),
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 1.0,
        }
    }

    fn minutes(s: &CandleSeries) -> Vec<i64> {
        s.bars().iter().map(|b| b.time.unix_ms() / 60_000).collect()
    }

    #[test]
    fn the_open_candle_updates_in_place_and_new_ones_append() {
        let mut s = CandleSeries::new(3);
        assert_eq!(s.upsert(bar(0, 10.0)), Change::Appended);
        assert_eq!(s.upsert(bar(0, 11.0)), Change::LastUpdated);
        assert_eq!(s.len(), 1);
        assert_eq!(s.last().unwrap().close, 11.0);
        assert_eq!(s.upsert(bar(1, 12.0)), Change::Appended);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn capacity_drops_the_oldest_and_late_candles_land_in_order() {
        let mut s = CandleSeries::new(3);
        s.reset((0..5).map(|m| bar(m * 2, m as f64)));
        assert_eq!(minutes(&s), [4, 6, 8]);
        assert_eq!(s.upsert(bar(5, 9.0)), Change::Rewritten);
        assert_eq!(minutes(&s), [5, 6, 8]);
        let mut big = CandleSeries::new(20);
        for m in 0..100 {
            big.upsert(bar(m, 1.0));
            assert!(big.len() <= 22, "never more than a tenth over");
        }
        assert_eq!(big.last().unwrap().time.unix_ms(), 99 * 60_000);
    }

    #[test]
    fn older_pages_go_in_front_within_capacity() {
        let mut s = CandleSeries::new(5);
        s.reset((10..13).map(|m| bar(m, 1.0)));
        let older: Vec<Bar> = (5..11).map(|m| bar(m, 1.0)).collect();
        assert_eq!(s.prepend(&older), 2, "only what is older, only what fits");
        assert_eq!(minutes(&s), [8, 9, 10, 11, 12]);
        assert_eq!(s.prepend(&older), 0);
    }
}

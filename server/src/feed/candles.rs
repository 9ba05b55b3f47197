//! Aggregates prices into OHLCV candles aligned to the interval (a 1m candle opens on
//! the minute). Each update yields the changed open candle, preceded by the closed one
//! when a boundary was crossed.

use protocol::{Candle, DataSource, Interval, Symbol, Timestamp};

/// Builds one symbol's candles of one interval.
pub struct CandleBuilder {
    symbol: Symbol,
    interval: Interval,
    source: DataSource,
    open: Option<Candle>,
}

impl CandleBuilder {
    pub fn new(symbol: Symbol, interval: Interval, source: DataSource) -> Self {
        CandleBuilder {
            symbol,
            interval,
            source,
            open: None,
        }
    }

    /// Carries on with `open` as the open candle (where another instance's feed left it).
    pub fn resume(&mut self, open: Candle) {
        if !open.closed {
            self.open = Some(open);
        }
    }

    /// Folds a print at `time_ms` into the candles. Returns the candle it closed (if the
    /// print fell past the open candle's end) and the open candle as it now stands.
    pub fn update(&mut self, time_ms: i64, price: f64, volume: f64) -> (Option<Candle>, Candle) {
        let start = time_ms - time_ms.rem_euclid(self.interval.millis());
        self.update_in(start, price, volume)
    }

    /// Like [`update`](Self::update) for a print known to belong to the candle opening at
    /// `start` (replayed bars keep their own times, which need not be aligned).
    pub fn update_in(&mut self, start: i64, price: f64, volume: f64) -> (Option<Candle>, Candle) {
        let closed = match self.open.take() {
            Some(mut c) if c.open_time.unix_ms() == start => {
                c.high = c.high.max(price);
                c.low = c.low.min(price);
                c.close = price;
                c.volume += volume;
                self.open = Some(c);
                None
            }
            previous => previous.map(|mut c| {
                c.closed = true;
                c
            }),
        };
        let open = self.open.get_or_insert_with(|| Candle {
            symbol: self.symbol.clone(),
            interval: self.interval,
            open_time: Timestamp::from_unix_ms(start),
            open: price,
            high: price,
            low: price,
            close: price,
            volume,
            closed: false,
            source: self.source,
        });
        (closed, open.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_within_an_interval_update_one_open_candle() {
        let mut b = CandleBuilder::new(
            Symbol::parse("X").unwrap(),
            "1m".parse().unwrap(),
            DataSource::Synthetic,
        );
        let (closed, c) = b.update(60_000 + 5_000, 10.0, 1.0);
        assert!(closed.is_none());
        assert_eq!(
            (c.open_time.unix_ms(), c.open, c.closed),
            (60_000, 10.0, false)
        );
        b.update(60_000 + 20_000, 12.0, 2.0);
        let (closed, c) = b.update(60_000 + 59_999, 9.0, 0.5);
        assert!(closed.is_none());
        assert_eq!(
            (c.open, c.high, c.low, c.close, c.volume),
            (10.0, 12.0, 9.0, 9.0, 3.5)
        );
    }

    #[test]
    fn crossing_a_boundary_closes_the_candle_and_opens_the_next_at_the_print() {
        let mut b = CandleBuilder::new(
            Symbol::parse("X").unwrap(),
            "1m".parse().unwrap(),
            DataSource::Synthetic,
        );
        b.update(10_000, 10.0, 1.0);
        b.update(50_000, 11.0, 1.0);
        let (closed, open) = b.update(125_000, 13.0, 4.0);
        let closed = closed.expect("the first candle closes");
        assert!(closed.closed);
        assert_eq!(
            (closed.open_time.unix_ms(), closed.close, closed.volume),
            (0, 11.0, 2.0)
        );
        assert_eq!(
            (
                open.open_time.unix_ms(),
                open.open,
                open.volume,
                open.closed
            ),
            (120_000, 13.0, 4.0, false)
        );
    }
}

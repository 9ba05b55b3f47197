//! One venue market's topic: its prints become ticks, its candles are built from them
//! at `--interval` (and rebuilt from the venue's own candles where prints were missed),
//! each closed candle is analysed. Prints a topic already has (a duplicate or older
//! trade id) are dropped.

use protocol::api::Bar;
use protocol::{
    Candle, DataSource, Interval, Message, SnapshotData, Symbol, Tick, Timestamp, Topic,
};

use super::api::{Print, VenueCandle};
use crate::feed::{price_messages, Analyzer, CandleBuilder};
use crate::hub::Hub;

/// What became of a print.
#[derive(Debug, PartialEq)]
pub enum Printed {
    /// The messages to publish, in order, and how many prints came between it and the
    /// last one that never arrived (trade ids run one by one per market).
    New(Vec<Message>, u64),
    /// Its trade id is not past the last one: a duplicate, or out of order.
    Old,
}

pub struct Market {
    pub venue_symbol: String,
    pub topic: Topic,
    /// Its entry in the feed statuses.
    pub status: usize,
    symbol: Symbol,
    source: DataSource,
    interval: Interval,
    candles: CandleBuilder,
    analyzer: Analyzer,
    last_id: Option<u64>,
    /// The price changes are told against: the first candle's open, or the first print.
    reference_price: Option<f64>,
    /// The open time of the last closed candle published.
    last_closed_ms: Option<i64>,
    /// Prints traded at or before this (Unix ms) are in candles rebuilt from the venue's.
    folded_until_ms: i64,
}

impl Market {
    pub fn new(
        venue_symbol: String,
        symbol: Symbol,
        source: DataSource,
        interval: Interval,
        status: usize,
    ) -> Self {
        Market {
            topic: Topic::market(&symbol),
            candles: CandleBuilder::new(symbol.clone(), interval, source),
            analyzer: Analyzer::new(symbol.clone()),
            venue_symbol,
            status,
            symbol,
            source,
            interval,
            last_id: None,
            reference_price: None,
            last_closed_ms: None,
            folded_until_ms: i64::MIN,
        }
    }

    /// Carries on where the topic stands, if it has candles (the feed moved here from
    /// an instance that died): its candles and analysis.
    pub async fn resume(&mut self, hub: &Hub) {
        let Ok(snapshot) = hub.snapshot(&self.topic).await else {
            return;
        };
        let SnapshotData::Market(market) = snapshot.data else {
            return;
        };
        for candle in market.candles {
            self.reference_price.get_or_insert(candle.open);
            if candle.closed {
                self.last_closed_ms = Some(candle.open_time.unix_ms());
                self.analyzer.on_closed(&candle);
            } else {
                self.candles.resume(candle);
            }
        }
    }

    /// Takes the venue's candles (of a granularity that divides the interval, oldest
    /// first, up to `now_ms`) as the topic's past: the closed candles not published yet
    /// with their analyses, to publish; the open one becomes the candle prints go on,
    /// and prints traded before `now_ms` are in it already, so are not folded again.
    pub fn rebuild(&mut self, venue: &[VenueCandle], now_ms: i64) -> Vec<Message> {
        let candles = aggregate(&self.symbol, self.interval, self.source, venue, now_ms);
        let mut past = Vec::new();
        for candle in candles {
            self.reference_price.get_or_insert(candle.open);
            let open_ms = candle.open_time.unix_ms();
            if !candle.closed {
                // The venue's candle in progress has every print up to now.
                self.candles.resume(candle);
                self.folded_until_ms = self.folded_until_ms.max(now_ms);
                continue;
            }
            if self.last_closed_ms.is_some_and(|last| open_ms <= last) {
                continue;
            }
            self.last_closed_ms = Some(open_ms);
            let analysis = self.analyzer.on_closed(&candle);
            past.push(Message::Candle(candle));
            past.extend(analysis.map(Message::Analysis));
        }
        past
    }

    /// One print: a tick, and the candles it moves (unless it is in rebuilt candles).
    pub fn print(&mut self, print: &Print) -> Printed {
        if self.last_id.is_some_and(|last| print.id <= last) {
            return Printed::Old;
        }
        let missed = self.last_id.map_or(0, |last| print.id - last - 1);
        self.last_id = Some(print.id);
        let reference = *self.reference_price.get_or_insert(print.price);
        let tick = Tick {
            symbol: self.symbol.clone(),
            price: print.price,
            change_pct: (print.price / reference - 1.0) * 100.0,
            volume: print.size,
            source: self.source,
            time: Some(Timestamp::from_unix_ms(print.time_ms)),
        };
        if print.time_ms <= self.folded_until_ms {
            return Printed::New(vec![Message::Tick(tick)], missed);
        }
        let (closed, open) = self.candles.update(print.time_ms, print.price, print.size);
        if let Some(c) = &closed {
            self.last_closed_ms = Some(c.open_time.unix_ms());
        }
        Printed::New(
            price_messages(closed, &mut self.analyzer, tick, open),
            missed,
        )
    }

    /// Whether the venue's last trade id `id` is past the last print seen: prints were
    /// missed (none seen yet: the topic's past came from REST, nothing to miss).
    pub fn missed_up_to(&self, id: u64) -> bool {
        self.last_id.is_some_and(|last| id > last)
    }

    /// The open time of the last candle published closed, if any.
    pub fn last_closed_ms(&self) -> Option<i64> {
        self.last_closed_ms
    }
}

/// The venue's candles as candles of `interval` (`Bar::aggregate`): each the span of
/// those opening within it; closed once it ended by `now_ms`.
fn aggregate(
    symbol: &Symbol,
    interval: Interval,
    source: DataSource,
    venue: &[VenueCandle],
    now_ms: i64,
) -> Vec<Candle> {
    let span = interval.millis();
    let bars = venue.iter().map(|v| Bar {
        time: Timestamp::from_unix_ms(v.open_ms),
        open: v.open,
        high: v.high,
        low: v.low,
        close: v.close,
        volume: v.volume,
    });
    Bar::aggregate(bars, span)
        .into_iter()
        .map(|b| Candle {
            symbol: symbol.clone(),
            interval,
            open_time: b.time,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
            closed: b.time.unix_ms() + span <= now_ms,
            source,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Market {
        Market::new(
            "BTCUSDT".into(),
            Symbol::parse("BTCUSDT").unwrap(),
            DataSource::Binance,
            "1m".parse().unwrap(),
            0,
        )
    }

    fn print(id: u64, price: f64, time_ms: i64) -> Print {
        Print {
            market: "BTCUSDT".into(),
            id,
            price,
            size: 1.0,
            time_ms,
        }
    }

    fn venue(open_ms: i64, close: f64) -> VenueCandle {
        VenueCandle {
            open_ms,
            open: close - 1.0,
            high: close + 1.0,
            low: close - 2.0,
            close,
            volume: 2.0,
        }
    }

    #[test]
    fn duplicate_and_older_trade_ids_are_dropped() {
        let mut m = market();
        assert!(matches!(
            m.print(&print(5, 10.0, 1_000)),
            Printed::New(_, 0)
        ));
        assert_eq!(m.print(&print(5, 10.0, 1_000)), Printed::Old);
        assert_eq!(m.print(&print(4, 9.0, 900)), Printed::Old);
        let Printed::New(messages, 0) = m.print(&print(6, 11.0, 2_000)) else {
            panic!("a new print")
        };
        let Message::Tick(tick) = &messages[0] else {
            panic!("a tick first")
        };
        assert_eq!(
            (tick.price, tick.source, tick.time.map(|t| t.unix_ms())),
            (11.0, DataSource::Binance, Some(2_000))
        );
        assert!((tick.change_pct - 10.0).abs() < 1e-9);
        // Trade ids run one by one: a jump is prints that never came.
        assert!(matches!(
            m.print(&print(9, 11.0, 3_000)),
            Printed::New(_, 2)
        ));
        assert!(m.missed_up_to(10) && !m.missed_up_to(9));
    }

    #[test]
    fn venue_candles_make_the_interval_and_a_rebuild_neither_repeats_nor_refolds() {
        let mut m = market();
        // Twelve 5 s candles from 0 to 60 s: one whole minute, closed at 61 s.
        let fives: Vec<VenueCandle> = (0..12)
            .map(|i| venue(i * 5_000, 100.0 + i as f64))
            .collect();
        let past = m.rebuild(&fives, 61_000);
        let [Message::Candle(c)] = &past[..] else {
            panic!("one closed candle: {past:?}")
        };
        assert_eq!(
            (c.open_time.unix_ms(), c.open, c.close, c.volume, c.closed),
            (0, 99.0, 111.0, 24.0, true)
        );
        assert_eq!((c.high, c.low), (112.0, 98.0));
        // A rebuild after a reconnect: the same minute again is not republished; the next
        // minute, still open, is where prints go; prints before the rebuild only tick.
        let again: Vec<VenueCandle> = (0..14)
            .map(|i| venue(i * 5_000, 100.0 + i as f64))
            .collect();
        assert!(m.rebuild(&again, 70_000).is_empty());
        let Printed::New(before, _) = m.print(&print(1, 120.0, 69_000)) else {
            panic!()
        };
        assert_eq!(before.len(), 1, "only a tick: {before:?}");
        let Printed::New(after, _) = m.print(&print(2, 130.0, 71_000)) else {
            panic!()
        };
        let Some(Message::Candle(open)) = after.last() else {
            panic!("{after:?}")
        };
        assert_eq!(
            (open.open_time.unix_ms(), open.open, open.close, open.volume),
            (60_000, 111.0, 130.0, 5.0)
        );
    }
}

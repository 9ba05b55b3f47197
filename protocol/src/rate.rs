//! Rates per subscription (docs/SPEC.md section 6, "Rates"): the most messages a second
//! a subscriber asks of a topic ([`MaxRate`]), which messages a later one replaces
//! ([`Message::slot`]), and the one rule that merges a run of messages into what a
//! paced subscriber gets ([`Conflater`]), for sockets and polls alike.
//!
//! A message whose later value replaces it (a tick, an open candle, analysis, progress,
//! a countdown, session stats) holds a [`Slot`]; under a rate only the latest of each
//! slot is sent, at most `max_rate` times a second. Every other message is always sent,
//! in order; before it go the held values it follows, so a subscriber's messages stay
//! in seq order. A sent message carries `conflated`, how many of the topic's messages
//! since the previous one sent were left out, so a cursor checks
//! `seq - conflated == last + 1` exactly and tells conflation from loss.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Interval, Message, Timestamp};

/// The most a subscriber may ask for: more than this is no rate at all.
pub const MAX_RATE: f64 = 1000.0;
/// The least: one message every 100 s.
pub const MIN_RATE: f64 = 0.01;

/// Messages per second a subscriber wants of one topic, in `[0.01, 1000]`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct MaxRate(f64);

/// A `max_rate` outside what a subscriber may ask.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid max_rate {0}: messages per second, from {MIN_RATE} to {MAX_RATE}")]
pub struct InvalidRate(pub f64);

impl MaxRate {
    /// `per_second`, if it is a rate a subscriber may ask.
    pub fn new(per_second: f64) -> Result<MaxRate, InvalidRate> {
        if (MIN_RATE..=MAX_RATE).contains(&per_second) {
            Ok(MaxRate(per_second))
        } else {
            Err(InvalidRate(per_second))
        }
    }

    /// `per_second` brought into the range a subscriber may ask (NaN: the least).
    pub fn clamped(per_second: f64) -> MaxRate {
        if per_second.is_nan() {
            return MaxRate(MIN_RATE);
        }
        MaxRate(per_second.clamp(MIN_RATE, MAX_RATE))
    }

    pub fn per_second(self) -> f64 {
        self.0
    }

    /// The least time between two releases of held values.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.0)
    }
}

impl TryFrom<f64> for MaxRate {
    type Error = InvalidRate;
    fn try_from(per_second: f64) -> Result<MaxRate, InvalidRate> {
        MaxRate::new(per_second)
    }
}

impl From<MaxRate> for f64 {
    fn from(rate: MaxRate) -> f64 {
        rate.0
    }
}

impl std::str::FromStr for MaxRate {
    type Err = InvalidRate;
    fn from_str(text: &str) -> Result<MaxRate, InvalidRate> {
        MaxRate::new(text.trim().parse().unwrap_or(f64::NAN))
    }
}

/// What a message's value stands for: a later message with the same slot replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Tick,
    /// One candle (its interval and open time): its latest state wins.
    Candle(Interval, Timestamp),
    Analysis,
    Progress,
    Countdown,
    StatsUpdate,
}

/// How a message goes to a paced subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacing {
    /// A later value replaces it: held, and only the latest of its slot sent.
    Replaceable(Slot),
    /// Always sent, in order. A closed candle also ends its candle's slot: the open
    /// state held for it is replaced by it.
    Always(Option<Slot>),
}

impl Message {
    /// How this message goes to a subscriber that asked for a rate.
    pub fn pacing(&self) -> Pacing {
        use Pacing::{Always, Replaceable};
        match self {
            Message::Tick(_) => Replaceable(Slot::Tick),
            Message::Candle(c) => {
                let slot = Slot::Candle(c.interval, c.open_time);
                if c.closed {
                    Always(Some(slot))
                } else {
                    Replaceable(slot)
                }
            }
            Message::Analysis(_) => Replaceable(Slot::Analysis),
            // A sweep's progress holds the same slot: no topic carries both.
            Message::Progress(_) | Message::SweepProgress(_) => Replaceable(Slot::Progress),
            Message::Countdown(_) => Replaceable(Slot::Countdown),
            Message::StatsUpdate(_) => Replaceable(Slot::StatsUpdate),
            _ => Always(None),
        }
    }
}

/// Values one subscription holds back at most: one more slot sends its oldest at once
/// (a topic has a few slots: a tick, the open candle, analysis; only a producer that
/// opens many candles at once meets it).
pub const MAX_HELD: usize = 8;

/// One paced subscription's state: its cursor on the wire and the latest value of
/// each slot not yet sent. Items are what the subscriber is sent (`T`: a socket's frame,
/// a poll's envelope), each with its seq; `mark` writes `conflated` into one.
#[derive(Debug)]
pub struct Conflater<T> {
    /// The seq of the last message sent.
    last_out: u64,
    /// Latest value per slot, oldest first (so in seq order).
    held: Vec<(Slot, u64, T)>,
}

impl<T> Conflater<T> {
    /// A subscription whose last message sent (or snapshot) is `last_out`.
    pub fn new(last_out: u64) -> Self {
        Conflater {
            last_out,
            held: Vec::new(),
        }
    }

    /// The seq of the last message sent.
    pub fn last_out(&self) -> u64 {
        self.last_out
    }

    /// Whether values are held for a later release.
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// The next message of the topic (seq `seq`, paced as `pacing`). Returns through
    /// `send` what goes out now, in order (held values it follows, then itself when it
    /// is always sent); a replaceable one is held instead.
    pub fn push(
        &mut self,
        seq: u64,
        pacing: Pacing,
        item: T,
        mark: impl Fn(T, u64) -> T,
        mut send: impl FnMut(T),
    ) {
        match pacing {
            Pacing::Replaceable(slot) => {
                self.held.retain(|(held, _, _)| *held != slot);
                if self.held.len() >= MAX_HELD {
                    let (_, seq, oldest) = self.held.remove(0);
                    send(self.out(seq, oldest, &mark));
                }
                self.held.push((slot, seq, item));
            }
            Pacing::Always(ends) => {
                if let Some(slot) = ends {
                    self.held.retain(|(held, _, _)| *held != slot);
                }
                self.release(&mark, &mut send);
                send(self.out(seq, item, &mark));
            }
        }
    }

    /// Sends every held value, oldest first.
    pub fn release(&mut self, mark: impl Fn(T, u64) -> T, mut send: impl FnMut(T)) {
        for (_, seq, item) in std::mem::take(&mut self.held) {
            send(self.out(seq, item, &mark));
        }
    }

    /// A message that goes out unpaced (a replay): the cursor moves on with it, and a
    /// value held from before it is not sent (the replay carries it, or what replaced
    /// it).
    pub fn passed(&mut self, seq: u64) {
        self.last_out = self.last_out.max(seq);
        self.held.retain(|(_, held, _)| *held > seq);
    }

    fn out(&mut self, seq: u64, item: T, mark: &impl Fn(T, u64) -> T) -> T {
        let conflated = seq.saturating_sub(self.last_out + 1);
        self.last_out = seq;
        if conflated == 0 {
            item
        } else {
            mark(item, conflated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{at, candle};

    /// Runs `messages` (seq from 1) through a conflater; what went out as (seq, conflated),
    /// releasing held values after each index in `releases`.
    fn run(messages: &[Pacing], releases: &[usize]) -> Vec<(u64, u64)> {
        let mut c = Conflater::new(0);
        let mut out = vec![];
        let mark = |(seq, _): (u64, u64), n: u64| (seq, n);
        for (i, pacing) in messages.iter().enumerate() {
            let seq = i as u64 + 1;
            c.push(seq, *pacing, (seq, 0), mark, |item| out.push(item));
            if releases.contains(&i) {
                c.release(mark, |item| out.push(item));
            }
        }
        out
    }

    fn candle_at(ms: i64, closed: bool) -> Pacing {
        let mut c = candle();
        c.open_time = at(ms);
        c.closed = closed;
        Message::Candle(c).pacing()
    }

    const TICK: Pacing = Pacing::Replaceable(Slot::Tick);
    const TRADE: Pacing = Pacing::Always(None);

    #[test]
    fn replaceable_values_are_held_and_the_latest_goes_with_how_many_it_replaced() {
        let out = run(&[TICK, TICK, TICK, TICK], &[3]);
        assert_eq!(out, [(4, 3)]);
    }

    #[test]
    fn an_always_sent_message_goes_at_once_after_the_held_values_before_it() {
        // tick tick trade tick tick, released at the end.
        let out = run(&[TICK, TICK, TRADE, TICK, TICK], &[4]);
        assert_eq!(out, [(2, 1), (3, 0), (5, 1)]);
    }

    #[test]
    fn every_seq_is_accounted_for_so_a_cursor_stays_exact() {
        let analysis = Pacing::Replaceable(Slot::Analysis);
        let messages = [
            TICK, analysis, TICK, TRADE, TICK, analysis, TICK, TICK, analysis, TRADE, TICK,
        ];
        let out = run(&messages, &[6, 10]);
        let mut last = 0;
        for (seq, conflated) in out {
            assert_eq!(
                seq - conflated,
                last + 1,
                "after {last}: {seq} with {conflated}"
            );
            last = seq;
        }
        assert_eq!(last, messages.len() as u64);
    }

    #[test]
    fn a_closed_candle_replaces_its_open_state_and_other_candles_keep_theirs() {
        // open(t0), open(t1), closed(t0): the closed candle replaces open(t0), open(t1) is
        // held and goes first (seq order).
        let out = run(
            &[
                candle_at(0, false),
                candle_at(60_000, false),
                candle_at(0, true),
            ],
            &[],
        );
        assert_eq!(out, [(2, 1), (3, 0)]);
    }

    #[test]
    fn a_replay_past_a_held_value_drops_it_and_the_cursor_never_goes_back() {
        let mut c = Conflater::new(0);
        let mut out = vec![];
        let mark = |(seq, _): (u64, u64), n: u64| (seq, n);
        c.push(1, TICK, (1, 0), mark, |item| out.push(item));
        c.push(2, TICK, (2, 0), mark, |item| out.push(item));
        c.passed(3);
        assert!(!c.holds(), "the replay carried what was held");
        c.push(4, TRADE, (4, 0), mark, |item| out.push(item));
        assert_eq!(out, [(4, 0)]);
        assert_eq!(c.last_out(), 4);
    }

    #[test]
    fn past_the_most_slots_held_the_oldest_goes_at_once() {
        let slots: Vec<Pacing> = (0..=MAX_HELD as i64)
            .map(|i| candle_at(i * 60_000, false))
            .collect();
        let out = run(&slots, &[]);
        assert_eq!(out, [(1, 0)]);
    }

    #[test]
    fn rates_outside_the_range_are_refused_by_name() {
        assert!(MaxRate::new(2.0).is_ok());
        assert_eq!(
            MaxRate::new(2.0).unwrap().interval(),
            Duration::from_millis(500)
        );
        for bad in [0.0, -1.0, f64::NAN, 1e9] {
            let e = MaxRate::new(bad).unwrap_err().to_string();
            assert!(e.contains("invalid max_rate"), "{e}");
        }
        let e = serde_json::from_str::<MaxRate>("0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("from 0.01 to 1000"), "{e}");
    }
}

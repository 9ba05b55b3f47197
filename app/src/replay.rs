//! A finished run's record as a tape to play back: its envelopes (from the server's
//! `GET /api/streams/{topic}/record`, or an NDJSON file the page exported), checked to be
//! one topic's contiguous stream, with the time each message came at. The page plays
//! it into the same components as the live run, at 1×, 10× or 100×, and seeks with a
//! scrubber: the state at any position is the fold of the messages before it, from an
//! empty state, exactly as the hub folds them.

use crate::stream::TopicState;
use protocol::{decode, Envelope, Topic};

/// A silence in the record plays as at most this long (a run paused for an hour does
/// not hold its replay for an hour).
pub const LONGEST_PAUSE_MS: f64 = 2_000.0;

/// The speeds a replay offers.
pub const SPEEDS: [f64; 3] = [1.0, 10.0, 100.0];

/// One topic's recorded stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Tape {
    envelopes: Vec<Envelope>,
    /// When each message comes, in ms from the first (silences shortened).
    times: Vec<f64>,
}

impl Tape {
    /// Reads NDJSON (one envelope per line; blank lines ignored). Every line must be an
    /// envelope of the same topic, each seq one more than the one before.
    pub fn from_ndjson(text: &str) -> Result<Tape, String> {
        let mut envelopes: Vec<Envelope> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i + 1;
            // Every kind is read, so there is always an envelope when there is no error.
            let envelope = decode::envelope(line, &decode::EveryKind)
                .map_err(|e| format!("line {line_no} is not an envelope: {e}"))?
                .ok_or_else(|| format!("line {line_no} is not an envelope"))?;
            if let Some(last) = envelopes.last() {
                if envelope.topic != last.topic {
                    return Err(format!(
                        "line {line_no} is on {}, the record on {}",
                        envelope.topic, last.topic
                    ));
                }
                if envelope.seq != last.seq + 1 {
                    return Err(format!(
                        "line {line_no} has seq {} after {}: the record has a gap",
                        envelope.seq, last.seq
                    ));
                }
            }
            envelopes.push(envelope);
        }
        if envelopes.is_empty() {
            return Err("the record holds no envelope".to_owned());
        }
        let mut times = Vec::with_capacity(envelopes.len());
        let mut at = 0.0;
        for pair in envelopes.windows(2) {
            times.push(at);
            let gap = (pair[1].timestamp.unix_ms() - pair[0].timestamp.unix_ms()) as f64;
            at += gap.clamp(0.0, LONGEST_PAUSE_MS);
        }
        times.push(at);
        Ok(Tape { envelopes, times })
    }

    pub fn topic(&self) -> &Topic {
        &self.envelopes[0].topic
    }

    /// Whether it starts at the topic's first message.
    pub fn from_start(&self) -> bool {
        self.envelopes[0].seq == 1
    }

    pub fn len(&self) -> usize {
        self.envelopes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.envelopes.is_empty()
    }

    /// How long it plays at 1×, in ms.
    pub fn duration_ms(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    /// When the message at `position` comes (the end, past the last one).
    pub fn time_of(&self, position: usize) -> f64 {
        self.times
            .get(position)
            .copied()
            .unwrap_or_else(|| self.duration_ms())
    }

    /// How many messages have come by `time_ms`.
    pub fn position_at(&self, time_ms: f64) -> usize {
        self.times.partition_point(|&t| t <= time_ms)
    }

    /// The messages from `from` up to (not including) `to`.
    pub fn between(&self, from: usize, to: usize) -> &[Envelope] {
        let to = to.min(self.len());
        &self.envelopes[from.min(to)..to]
    }

    /// The state once the first `position` messages are folded in.
    pub fn state_at<S: TopicState>(&self, position: usize) -> S {
        let mut state = S::default();
        for envelope in self.between(0, position) {
            state.apply(envelope);
        }
        state
    }

    /// The record as NDJSON again, one envelope per line.
    pub fn to_ndjson(&self) -> String {
        let mut text = String::new();
        for envelope in &self.envelopes {
            if let Ok(line) = serde_json::to_string(envelope) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::fixtures::envelope;
    use protocol::{BacktestSnapshot, Lifecycle, Message, RunStatus, Timestamp};

    fn at(seq: u64, ms: i64) -> Envelope {
        Envelope {
            timestamp: Timestamp::from_unix_ms(ms),
            conflated: 0,
            ..envelope(seq, "E")
        }
    }

    fn ndjson(envelopes: &[Envelope]) -> String {
        envelopes
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect()
    }

    #[test]
    fn a_record_plays_in_its_own_time_with_long_silences_shortened() {
        let tape =
            Tape::from_ndjson(&ndjson(&[at(1, 1_000), at(2, 1_250), at(3, 60_000)])).unwrap();
        assert_eq!(tape.len(), 3);
        assert!(tape.from_start());
        assert_eq!(tape.duration_ms(), 250.0 + LONGEST_PAUSE_MS);
        assert_eq!(tape.position_at(0.0), 1);
        assert_eq!(tape.position_at(249.0), 1);
        assert_eq!(tape.position_at(250.0), 2);
        assert_eq!(tape.position_at(1e9), 3);
        assert_eq!(tape.time_of(3), tape.duration_ms());
    }

    #[test]
    fn the_state_at_a_position_is_the_fold_of_the_messages_before_it() {
        let mut paused = at(2, 2);
        paused.message = Message::Paused(Lifecycle::default());
        let mut resumed = at(3, 3);
        resumed.message = Message::Resumed(Lifecycle::default());
        let tape = Tape::from_ndjson(&ndjson(&[at(1, 1), paused, resumed])).unwrap();
        let state = |p| tape.state_at::<BacktestSnapshot>(p).status;
        assert_eq!(state(0), RunStatus::Pending);
        assert_eq!(state(2), RunStatus::Paused);
        assert_eq!(state(3), RunStatus::Running);
        assert_eq!(Tape::from_ndjson(&tape.to_ndjson()).unwrap(), tape);
    }

    #[test]
    fn a_record_that_is_not_one_contiguous_stream_is_refused_with_the_line() {
        let gap = Tape::from_ndjson(&ndjson(&[at(1, 0), at(3, 0)])).unwrap_err();
        assert_eq!(gap, "line 2 has seq 3 after 1: the record has a gap");
        let mut other = at(2, 0);
        other.topic = "backtest:other".parse().unwrap();
        let mixed = Tape::from_ndjson(&ndjson(&[at(1, 0), other])).unwrap_err();
        assert!(mixed.starts_with("line 2 is on backtest:other"), "{mixed}");
        let junk = Tape::from_ndjson("{\"type\":\"nope\"}\n").unwrap_err();
        assert!(junk.starts_with("line 1 is not an envelope"), "{junk}");
        assert_eq!(
            Tape::from_ndjson("\n\n").unwrap_err(),
            "the record holds no envelope"
        );
    }
}

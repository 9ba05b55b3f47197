//! Where a client stands in one topic's sequence, and what each arriving message means
//! for it: the next one, one already held, or one past a gap.

use crate::{Envelope, Epoch, Since, Snapshot};

/// What to do with an arriving message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next message: apply it (the cursor has moved on).
    Apply,
    /// Already held (seq at or below the cursor): drop it.
    Duplicate,
    /// Messages are missing before this one, or it belongs to another epoch: the stream
    /// must resume from the cursor (which has not moved).
    Gap { expected: u64, got: u64 },
}

/// The last seq a client holds of one topic, in the epoch it came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    epoch: Option<Epoch>,
    last_seq: u64,
}

impl Cursor {
    /// The resume point to send, once a snapshot or message has been received.
    pub fn since(&self) -> Option<Since> {
        self.epoch
            .as_ref()
            .map(|epoch| Since::after(self.last_seq, epoch.clone()))
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// A snapshot (or resync) replaces the client's state: continue after its seq.
    pub fn reset(&mut self, snapshot: &Snapshot) {
        self.epoch = Some(snapshot.epoch.clone());
        self.last_seq = snapshot.last_seq;
    }

    /// Checks `envelope` against the cursor, moving it on when it is the next one.
    pub fn check(&mut self, envelope: &Envelope) -> Verdict {
        match &self.epoch {
            Some(epoch) if *epoch != envelope.epoch => {
                return Verdict::Gap {
                    expected: self.last_seq + 1,
                    got: envelope.seq,
                }
            }
            Some(_) => {}
            // A message before any snapshot: only a topic's very first message is safe.
            None if envelope.seq == 1 => self.epoch = Some(envelope.epoch.clone()),
            None => {
                return Verdict::Gap {
                    expected: 1,
                    got: envelope.seq,
                }
            }
        }
        // A conflated message stands for the ones left out before it (docs/SPEC.md
        // section 6, "Rates"): it is the next one when the first of them is.
        let expected = self.last_seq + 1;
        if envelope.seq < expected {
            Verdict::Duplicate
        } else if envelope.first_seq() <= expected {
            self.last_seq = envelope.seq;
            Verdict::Apply
        } else {
            Verdict::Gap {
                expected,
                got: envelope.first_seq(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{envelope, snapshot};

    #[test]
    fn contiguous_messages_apply_and_repeats_are_dropped() {
        let mut c = Cursor::default();
        c.reset(&snapshot(4, "E"));
        assert_eq!(c.check(&envelope(5, "E")), Verdict::Apply);
        assert_eq!(c.check(&envelope(6, "E")), Verdict::Apply);
        assert_eq!(c.check(&envelope(6, "E")), Verdict::Duplicate);
        assert_eq!(c.check(&envelope(3, "E")), Verdict::Duplicate);
        assert_eq!(c.since(), Some(Since::after(6, Epoch("E".into()))));
    }

    #[test]
    fn a_skipped_seq_is_a_gap_and_the_cursor_stays() {
        let mut c = Cursor::default();
        c.reset(&snapshot(4, "E"));
        assert_eq!(
            c.check(&envelope(7, "E")),
            Verdict::Gap {
                expected: 5,
                got: 7
            }
        );
        assert_eq!(c.last_seq(), 4);
        assert_eq!(c.check(&envelope(5, "E")), Verdict::Apply);
    }

    #[test]
    fn a_conflated_message_is_the_next_one_when_what_it_stands_for_follows_on() {
        let mut c = Cursor::default();
        c.reset(&snapshot(4, "E"));
        let conflated = |seq, n| Envelope {
            conflated: n,
            ..envelope(seq, "E")
        };
        assert_eq!(c.check(&conflated(9, 4)), Verdict::Apply, "5 to 8 left out");
        assert_eq!(
            c.check(&conflated(20, 5)),
            Verdict::Gap {
                expected: 10,
                got: 15
            },
            "10 to 14 lost"
        );
        assert_eq!(c.check(&conflated(9, 4)), Verdict::Duplicate);
        assert_eq!(c.last_seq(), 9);
    }

    #[test]
    fn another_epoch_is_a_gap_until_a_snapshot_resets_it() {
        let mut c = Cursor::default();
        c.reset(&snapshot(10, "E1"));
        assert!(matches!(c.check(&envelope(1, "E2")), Verdict::Gap { .. }));
        c.reset(&snapshot(0, "E2"));
        assert_eq!(c.check(&envelope(1, "E2")), Verdict::Apply);
    }

    #[test]
    fn without_a_snapshot_only_the_first_message_is_trusted() {
        assert_eq!(Cursor::default().check(&envelope(1, "E")), Verdict::Apply);
        assert!(matches!(
            Cursor::default().check(&envelope(2, "E")),
            Verdict::Gap { .. }
        ));
        assert_eq!(Cursor::default().since(), None);
    }
}

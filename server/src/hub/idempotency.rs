//! Idempotency keys a topic remembers, so that a producer's retried publish lands once
//! (docs/SPEC.md section 7, "Idempotent publishing"): each key maps to the seq it was
//! published as, for the window, and at most `cap` keys per topic (the oldest go first).
//!
//! In memory this lives in the topic's `Channel`, checked and written under the lock that
//! sequences the topic; on Redis the publish script keeps the same rule
//! (`redis/scripts.rs`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long, and how many, keys a topic remembers (`--idempotency-window-secs`,
/// `--max-idempotency-keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRule {
    pub window: Duration,
    pub cap: usize,
}

impl Default for KeyRule {
    fn default() -> Self {
        KeyRule {
            window: Duration::from_secs(300),
            cap: 10_000,
        }
    }
}

/// The keys one topic remembers.
#[derive(Default)]
pub(super) struct Remembered {
    seqs: HashMap<Box<str>, (u64, Instant)>,
    /// Keys in the order they were remembered, for expiry and the cap.
    order: VecDeque<(Instant, Box<str>)>,
}

impl Remembered {
    /// The seq `key` was published as, if it is still remembered at `now`.
    pub(super) fn seq_of(&mut self, key: &str, now: Instant, rule: KeyRule) -> Option<u64> {
        self.forget_expired(now, rule);
        self.seqs.get(key).map(|&(seq, _)| seq)
    }

    /// Remembers that `key` was published as `seq` at `now`.
    pub(super) fn remember(&mut self, key: &str, seq: u64, now: Instant, rule: KeyRule) {
        if rule.cap == 0 {
            return;
        }
        while self.seqs.len() >= rule.cap {
            if !self.forget_oldest() {
                break;
            }
        }
        let key: Box<str> = key.into();
        self.seqs.insert(key.clone(), (seq, now));
        self.order.push_back((now, key));
    }

    fn forget_expired(&mut self, now: Instant, rule: KeyRule) {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= rule.window)
        {
            self.forget_oldest();
        }
    }

    /// Forgets the oldest key; false when there is none.
    fn forget_oldest(&mut self) -> bool {
        let Some((at, key)) = self.order.pop_front() else {
            return false;
        };
        // A key remembered again since is the newer entry's.
        if self.seqs.get(&key).is_some_and(|&(_, held)| held == at) {
            self.seqs.remove(&key);
        }
        true
    }

    /// Bytes the remembered keys take, roughly (for the hub's memory figures).
    pub(super) fn bytes(&self) -> usize {
        self.order.iter().map(|(_, key)| 2 * key.len() + 64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: KeyRule = KeyRule {
        window: Duration::from_secs(300),
        cap: 3,
    };

    #[test]
    fn a_key_answers_its_seq_until_the_window_has_passed() {
        let mut keys = Remembered::default();
        let start = Instant::now();
        keys.remember("a", 7, start, RULE);
        assert_eq!(
            keys.seq_of("a", start + Duration::from_secs(299), RULE),
            Some(7)
        );
        assert_eq!(keys.seq_of("b", start, RULE), None);
        assert_eq!(
            keys.seq_of("a", start + Duration::from_secs(300), RULE),
            None
        );
    }

    #[test]
    fn past_the_cap_the_oldest_key_is_forgotten_first() {
        let mut keys = Remembered::default();
        let now = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].into_iter().enumerate() {
            keys.remember(key, i as u64 + 1, now, RULE);
        }
        assert_eq!(keys.seq_of("a", now, RULE), None);
        assert_eq!(keys.seq_of("b", now, RULE), Some(2));
        assert_eq!(keys.seq_of("d", now, RULE), Some(4));
    }
}

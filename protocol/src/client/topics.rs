//! The topics a client follows and where each stands: its cursor, whether a subscribe
//! or a poll is in flight, what arrived while the page was hidden, and how long it has
//! been silent. The machine keeps one [`Followed`] per topic and asks it these rules:
//!
//! - **Hidden pages.** What arrives while the page is hidden is held, up to the
//!   policy's backlog; past it the held deliveries are dropped and the topic starts
//!   over from a snapshot when the page is shown. A snapshot replaces what it held.
//! - **Staleness.** A stream whose state says it should be moving (market data; a
//!   running backtest or session), and which has been silent for longer than its
//!   kind's threshold while no subscribe is in flight, is stale.

use crate::rate::MaxRate;
use crate::{ClientAction, Envelope, Since, Snapshot, Topic};

use super::cursor::Cursor;
use super::policy::Display;
use super::status::StreamAge;

/// What a topic's listeners are to be told.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per frame, handed straight to the listeners"
)]
pub enum Delivery {
    /// Replace all state with this snapshot.
    Reset(Snapshot),
    /// The next message, exactly one seq after the last one delivered.
    Message(Envelope),
}

/// One followed topic.
pub(super) struct Followed {
    pub cursor: Cursor,
    /// How closely the page shows it: the rate it asks for.
    pub display: Display,
    /// The rate the last subscribe on the socket asked.
    asked: Option<MaxRate>,
    /// A subscribe is in flight: drop the topic's frames until its `subscribed`
    /// arrives (they were queued under the previous subscription).
    pub awaiting: bool,
    /// A poll request is in flight.
    pub polling: bool,
    /// When the topic last brought a message or a snapshot, or was subscribed.
    pub heard_ms: Option<f64>,
    /// Its state says it should be moving
    /// ([`SnapshotData::is_moving`](crate::SnapshotData::is_moving)).
    moving: bool,
    /// Deliveries held while the page is hidden, handed out when it is shown.
    held: Vec<Delivery>,
    /// More than the backlog arrived while hidden: what is held was dropped, and the
    /// topic starts over from a snapshot when the page is shown.
    behind: bool,
}

impl Followed {
    pub fn new(display: Display) -> Self {
        Followed {
            cursor: Cursor::default(),
            display,
            asked: None,
            awaiting: false,
            polling: false,
            heard_ms: None,
            moving: false,
            held: Vec::new(),
            behind: false,
        }
    }

    /// The subscribe that asks for `topic` (this one) from `since` at `rate`.
    pub fn subscribe(
        &mut self,
        topic: &Topic,
        since: Option<Since>,
        rate: MaxRate,
    ) -> ClientAction {
        self.asked = Some(rate);
        ClientAction::Subscribe {
            topic: topic.clone(),
            since,
            max_rate: Some(rate),
        }
    }

    /// Whether the last subscribe asked `rate` already.
    pub fn asked(&self, rate: MaxRate) -> bool {
        self.asked == Some(rate)
    }

    /// `delivery` arrived at `now_ms`: the topic was heard, and whether it should be
    /// moving follows its state (a snapshot's, or a message that says).
    pub fn heard(&mut self, delivery: &Delivery, now_ms: f64) {
        self.heard_ms = Some(now_ms);
        match delivery {
            Delivery::Reset(snapshot) => self.moving = snapshot.data.is_moving(),
            Delivery::Message(envelope) => {
                self.moving = envelope.message.moving().unwrap_or(self.moving);
            }
        }
    }

    /// Keeps `delivery` for the page's return, up to `backlog` of them.
    pub fn hold(&mut self, delivery: Delivery, backlog: usize) {
        if let Delivery::Reset(_) = delivery {
            // A snapshot replaces everything before it, a backlog too.
            self.held.clear();
            self.behind = false;
        } else if self.behind {
            return;
        } else if self.held.len() >= backlog {
            self.held = Vec::new();
            self.behind = true;
            return;
        }
        self.held.push(delivery);
    }

    /// The page is shown: what was held, and whether the topic fell behind (then it
    /// must start over from a snapshot).
    pub fn take_held(&mut self) -> (Vec<Delivery>, bool) {
        (
            std::mem::take(&mut self.held),
            std::mem::take(&mut self.behind),
        )
    }

    /// How long `topic` has been silent at `now_ms`; stale against `limit_ms` (none:
    /// no threshold, or the socket is not up to judge).
    pub fn age(&self, topic: &Topic, now_ms: f64, limit_ms: Option<u64>) -> StreamAge {
        StreamAge {
            topic: topic.clone(),
            silent_secs: self
                .heard_ms
                .map(|heard| ((now_ms - heard).max(0.0) / 1000.0) as u64),
            stale: self.stale(now_ms, limit_ms),
        }
    }

    /// Whether it has been silent for longer than `limit_ms` while it should move.
    fn stale(&self, now_ms: f64, limit_ms: Option<u64>) -> bool {
        match (self.heard_ms, limit_ms) {
            (Some(heard), Some(limit)) => {
                self.moving && !self.awaiting && now_ms - heard > limit as f64
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{envelope, snapshot, topic};
    use crate::{Lifecycle, Message, RunStatus, SnapshotData};

    fn running() -> Delivery {
        let mut snapshot = snapshot(0, "E");
        if let SnapshotData::Backtest(backtest) = &mut snapshot.data {
            backtest.status = RunStatus::Running;
        }
        Delivery::Reset(snapshot)
    }

    #[test]
    fn a_hidden_page_holds_up_to_the_backlog_then_falls_behind_until_a_snapshot() {
        let mut followed = Followed::new(Display::Focus);
        for seq in 1..=3 {
            followed.hold(Delivery::Message(envelope(seq, "E")), 3);
        }
        followed.hold(Delivery::Message(envelope(4, "E")), 3);
        followed.hold(Delivery::Message(envelope(5, "E")), 3);
        let (held, behind) = followed.take_held();
        assert!(
            held.is_empty() && behind,
            "past the backlog: dropped, start over"
        );
        followed.hold(Delivery::Message(envelope(6, "E")), 3);
        followed.hold(Delivery::Reset(snapshot(6, "E")), 3);
        followed.hold(Delivery::Message(envelope(7, "E")), 3);
        let (held, behind) = followed.take_held();
        assert_eq!(held.len(), 2, "the snapshot replaced what came before it");
        assert!(!behind);
        assert_eq!(followed.take_held(), (Vec::new(), false), "handed out once");
    }

    #[test]
    fn a_moving_stream_silent_past_its_threshold_is_stale() {
        let mut followed = Followed::new(Display::Focus);
        followed.heard(&running(), 1_000.0);
        assert!(
            !followed.age(&topic(), 4_000.0, Some(3_000)).stale,
            "not past it"
        );
        let age = followed.age(&topic(), 4_001.0, Some(3_000));
        assert!(age.stale);
        assert_eq!(age.silent_secs, Some(3));
        assert!(!followed.age(&topic(), 9_000.0, None).stale, "no threshold");
        followed.awaiting = true;
        assert!(
            !followed.age(&topic(), 9_000.0, Some(3_000)).stale,
            "a subscribe in flight is not silence"
        );
    }

    #[test]
    fn a_stream_that_should_not_move_is_never_stale() {
        let mut followed = Followed::new(Display::Focus);
        followed.heard(&Delivery::Reset(snapshot(0, "E")), 0.0);
        assert!(
            !followed.age(&topic(), 60_000.0, Some(3_000)).stale,
            "a run not started"
        );
        followed.heard(&running(), 0.0);
        let paused = Delivery::Message(Envelope {
            message: Message::Paused(Lifecycle::default()),
            ..envelope(1, "E")
        });
        followed.heard(&paused, 0.0);
        assert!(
            !followed.age(&topic(), 60_000.0, Some(3_000)).stale,
            "a paused run"
        );
        assert_eq!(followed.age(&topic(), 500.0, None).silent_secs, Some(0));
    }
}

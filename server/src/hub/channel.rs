//! One topic: its sequence, epoch, retained history, state snapshot and subscribers,
//! all behind one lock (never held across an `.await`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use app::protocol::{
    Control, Envelope, Epoch, Message, ResyncReason, Since, Snapshot, SnapshotData, Timestamp,
    Topic,
};
use chrono::Utc;

use super::outbox::{Frame, Outbox, Push};
use super::stats::HubStats;
use super::PublishError;

/// How a subscription started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// No resume point: a snapshot was sent.
    Snapshot,
    /// Retained messages after the resume point were replayed.
    Replayed(usize),
    /// The resume point could not be honoured: a resync with a snapshot was sent.
    Resync(ResyncReason),
}

/// Retained messages for a polling client.
#[derive(Debug)]
pub struct Page {
    pub epoch: Epoch,
    /// Serialized envelopes, byte for byte what a socket subscriber received.
    pub messages: Vec<Frame>,
    /// The seq to ask for next.
    pub next_seq: u64,
    /// Set when the resume point could not be honoured.
    pub resync: Option<(ResyncReason, Snapshot)>,
}

struct Retained {
    seq: u64,
    frame: Frame,
}

struct Inner {
    last_seq: u64,
    history: VecDeque<Retained>,
    state: SnapshotData,
    subscribers: Vec<Outbox>,
    /// The last publish, subscribe or unsubscribe.
    last_active: Instant,
}

pub(super) struct Channel {
    topic: Topic,
    epoch: Epoch,
    history_limit: usize,
    /// Kept while a run lives on it, however idle.
    kept: AtomicBool,
    inner: Mutex<Inner>,
}

enum ResumePoint {
    After(u64),
    Resync(ResyncReason),
}

impl Channel {
    pub(super) fn new(topic: Topic, history_limit: usize) -> Self {
        Self::with_epoch(topic, Epoch(ulid::Ulid::new().to_string()), history_limit)
    }

    /// A topic that does not exist, as it reads: empty, in the nil epoch.
    pub(super) fn absent(topic: Topic) -> Self {
        Self::with_epoch(topic, Epoch(ulid::Ulid::nil().to_string()), 1)
    }

    fn with_epoch(topic: Topic, epoch: Epoch, history_limit: usize) -> Self {
        let state = SnapshotData::empty(topic.kind());
        Channel {
            topic,
            epoch,
            history_limit: history_limit.max(1),
            kept: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                last_seq: 0,
                history: VecDeque::new(),
                state,
                subscribers: Vec::new(),
                last_active: Instant::now(),
            }),
        }
    }

    /// Marks the topic as kept whatever its idleness (a run's).
    pub(super) fn keep(&self) {
        self.kept.store(true, Ordering::Relaxed);
    }

    /// Whether nobody has subscribed to or published on it for `idle` (and it is not
    /// kept): it may be dropped.
    pub(super) fn is_idle(&self, idle: Duration) -> bool {
        if self.kept.load(Ordering::Relaxed) {
            return false;
        }
        let mut inner = self.lock();
        inner.subscribers.retain(Outbox::is_open);
        inner.subscribers.is_empty() && inner.last_active.elapsed() >= idle
    }

    pub(super) fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave `Inner` half-updated in a way that matters more
        // than stopping the stream would, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn publish(&self, message: Message, stats: &HubStats) -> Result<u64, PublishError> {
        let mut inner = self.lock();
        let seq = inner.last_seq + 1;
        inner.last_active = Instant::now();
        let envelope = Envelope {
            message,
            topic: self.topic.clone(),
            seq,
            epoch: self.epoch.clone(),
            timestamp: Timestamp::from_datetime(Utc::now()),
        };
        let frame = Frame::from(serde_json::to_string(&envelope)?);
        inner.last_seq = seq;
        inner.state.apply(&envelope.message);
        // Shared, not copied, by every in-process subscriber.
        let envelope = Arc::new(envelope);
        if inner.history.len() == self.history_limit {
            inner.history.pop_front();
        }
        inner.history.push_back(Retained {
            seq,
            frame: frame.clone(),
        });

        let (mut delivered, mut dropped) = (0, 0);
        inner
            .subscribers
            .retain(|outbox| match outbox.push_message(&frame, &envelope) {
                Push::Queued => {
                    delivered += 1;
                    true
                }
                Push::Overflow => {
                    dropped += 1;
                    false
                }
                Push::Closed => false,
            });
        stats.published();
        stats.delivered(delivered);
        stats.dropped(dropped);
        Ok(seq)
    }

    pub(super) fn subscribe(
        &self,
        since: Option<&Since>,
        outbox: &Outbox,
        stats: &HubStats,
    ) -> SubscribeOutcome {
        let mut inner = self.lock();
        inner.last_active = Instant::now();
        inner.subscribers.retain(|s| s.id() != outbox.id());
        let point = since.map(|since| self.resume_point(&inner, since));
        let next_seq = match point {
            Some(ResumePoint::After(seq)) => seq + 1,
            _ => inner.last_seq + 1,
        };
        outbox.push_control(Control::Subscribed {
            topic: self.topic.clone(),
            epoch: self.epoch.clone(),
            next_seq,
        });
        let outcome = match point {
            None => {
                outbox.push_control(Control::Snapshot(self.snapshot_of(&inner)));
                SubscribeOutcome::Snapshot
            }
            Some(ResumePoint::Resync(reason)) => {
                outbox.push_control(Control::Resync {
                    reason,
                    snapshot: self.snapshot_of(&inner),
                });
                SubscribeOutcome::Resync(reason)
            }
            Some(ResumePoint::After(seq)) => {
                let mut replayed = 0;
                for retained in inner.history.iter().filter(|r| r.seq > seq) {
                    outbox.push_retained(&retained.frame);
                    replayed += 1;
                }
                stats.delivered(replayed as u64);
                SubscribeOutcome::Replayed(replayed)
            }
        };
        if !outbox.is_slow() {
            inner.subscribers.push(outbox.clone());
        }
        outcome
    }

    pub(super) fn unsubscribe(&self, outbox_id: u64) -> bool {
        let mut inner = self.lock();
        inner.last_active = Instant::now();
        let before = inner.subscribers.len();
        inner.subscribers.retain(|s| s.id() != outbox_id);
        inner.subscribers.len() != before
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        self.snapshot_of(&self.lock())
    }

    pub(super) fn page(&self, since: Option<&Since>, limit: usize) -> Page {
        let inner = self.lock();
        let (after, resync) = match since.map(|s| self.resume_point(&inner, s)) {
            None => (0, None),
            Some(ResumePoint::After(seq)) => (seq, None),
            Some(ResumePoint::Resync(reason)) => {
                (inner.last_seq, Some((reason, self.snapshot_of(&inner))))
            }
        };
        let retained: Vec<&Retained> = inner
            .history
            .iter()
            .filter(|r| r.seq > after)
            .take(limit)
            .collect();
        let next_seq = retained.last().map_or(after + 1, |r| r.seq + 1);
        let messages = retained.into_iter().map(|r| r.frame.clone()).collect();
        Page {
            epoch: self.epoch.clone(),
            messages,
            next_seq,
            resync,
        }
    }

    fn resume_point(&self, inner: &Inner, since: &Since) -> ResumePoint {
        match &since.epoch {
            // From the oldest retained: all of it when seq 1 is still here.
            None if since.seq == 0 => {
                let oldest = inner.history.front().map_or(inner.last_seq + 1, |r| r.seq);
                return if oldest <= 1 {
                    ResumePoint::After(0)
                } else {
                    ResumePoint::Resync(ResyncReason::OutsideHistory)
                };
            }
            Some(epoch) if *epoch == self.epoch => {}
            _ => return ResumePoint::Resync(ResyncReason::EpochChanged),
        }
        if since.seq > inner.last_seq {
            return ResumePoint::Resync(ResyncReason::AheadOfTopic);
        }
        let oldest = inner.history.front().map_or(inner.last_seq + 1, |r| r.seq);
        if since.seq + 1 < oldest {
            return ResumePoint::Resync(ResyncReason::OutsideHistory);
        }
        ResumePoint::After(since.seq)
    }

    fn snapshot_of(&self, inner: &Inner) -> Snapshot {
        Snapshot {
            topic: self.topic.clone(),
            epoch: self.epoch.clone(),
            last_seq: inner.last_seq,
            data: inner.state.clone(),
        }
    }
}

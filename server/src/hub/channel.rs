//! One topic: its sequence, epoch, retained history, state snapshot and subscribers,
//! all behind one lock (never held across an `.await`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use protocol::rate::{Conflater, MaxRate, Pacing};
use protocol::{
    Control, Envelope, Epoch, Message, Resync, ResyncReason, Since, Snapshot, SnapshotData,
    Subscribed, Timestamp, Topic, TopicKind,
};

use super::frame;
use super::idempotency::{KeyRule, Remembered};
use super::outbox::{Frame, Outbox, Push};
use super::queue::Item;
use super::stats::HubStats;
use super::{PublishError, Sent};

/// How a subscription started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// No resume point: a snapshot was sent.
    Snapshot,
    /// Retained messages after the resume point were replayed.
    Replayed(usize),
    /// The resume point could not be honoured: a resync with a snapshot was sent.
    Resync(ResyncReason),
    /// Subscribed already, and no resume point: only `subscribed` was sent (a client
    /// that wants the state again unsubscribes first, or resumes with `since`).
    Already,
}

/// Retained messages for a polling client.
#[derive(Debug)]
pub struct Page {
    pub epoch: Epoch,
    /// Serialized envelopes, byte for byte what a socket subscriber received (at the
    /// poll's `max_rate`, conflated as a paced socket's).
    pub messages: Vec<Frame>,
    /// The seq to ask for next.
    pub next_seq: u64,
    /// Set when the resume point could not be honoured.
    pub resync: Option<(ResyncReason, Snapshot)>,
}

/// A topic's record, for replays.
pub struct Recorded {
    /// Serialized envelopes in seq order, byte for byte what a socket carried.
    pub messages: Vec<Frame>,
    /// From seq 1 with nothing left out: the topic is recorded here and its record
    /// did not reach its limit (else: its retained history, or a record cut short).
    pub complete: bool,
}

/// The envelopes of a run's topic from its start (up to `limit`).
struct Record {
    frames: Vec<Frame>,
    /// The seq of `frames[0]`.
    first_seq: u64,
    /// What `frames` hold, in bytes.
    bytes: usize,
    limit: usize,
    /// A message came past the limit.
    cut: bool,
}

impl Record {
    fn new(limit: usize) -> Self {
        Record {
            frames: Vec::new(),
            first_seq: 0,
            bytes: 0,
            limit,
            cut: false,
        }
    }

    /// Keeps envelope `seq`'s frame, unless the record is full.
    fn push(&mut self, seq: u64, frame: &Frame) {
        if self.frames.len() >= self.limit {
            self.cut = true;
            return;
        }
        if self.frames.is_empty() {
            self.first_seq = seq;
        }
        self.bytes += frame.len();
        self.frames.push(frame.clone());
    }

    /// The frames after seq `after`, with their seqs.
    fn after(&self, after: u64) -> Vec<(u64, Frame)> {
        let skip =
            usize::try_from((after + 1).saturating_sub(self.first_seq)).unwrap_or(usize::MAX);
        self.frames
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, frame)| (self.first_seq + i as u64, frame.clone()))
            .collect()
    }
}

/// What became of an envelope offered to a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Applied {
    /// It was the next seq: delivered.
    Next,
    /// The replica has it already.
    Old,
    /// Messages before it are missing: the replica must catch up.
    Gap,
    /// It belongs to another epoch: the replica must catch up.
    OtherEpoch,
}

/// A topic as the backend holds it: its epoch, last seq, state at that seq and the
/// retained messages (oldest first), for a replica to start from or catch up with.
pub(super) struct Loaded {
    pub epoch: Epoch,
    pub last_seq: u64,
    pub state: SnapshotData,
    pub retained: Vec<(Arc<Envelope>, Frame)>,
}

impl Loaded {
    /// A topic's whole record (`frames` in seq order) folded into its state at its last
    /// seq, every frame retained; a fresh epoch if there is none.
    pub(super) fn folded(kind: TopicKind, frames: Vec<Frame>) -> Result<Self, serde_json::Error> {
        let mut state = SnapshotData::empty(kind);
        let mut retained = Vec::with_capacity(frames.len());
        for frame in frames {
            let envelope: Envelope = serde_json::from_str(frame.as_str())?;
            state.apply(&envelope.message);
            retained.push((Arc::new(envelope), frame));
        }
        let (epoch, last_seq) = retained.last().map_or_else(
            || (Epoch(ulid::Ulid::new().to_string()), 0),
            |(e, _)| (e.epoch.clone(), e.seq),
        );
        Ok(Loaded {
            epoch,
            last_seq,
            state,
            retained,
        })
    }
}

struct Retained {
    seq: u64,
    /// How it goes to a paced subscriber (`Message::pacing`), worked out once.
    pacing: Pacing,
    frame: Frame,
}

struct Inner {
    /// Fixed in memory; a replica's changes when Redis starts the topic over.
    epoch: Epoch,
    last_seq: u64,
    history: VecDeque<Retained>,
    state: SnapshotData,
    subscribers: Vec<Outbox>,
    /// The last publish, subscribe or unsubscribe.
    last_active: Instant,
    /// Kept from the start for replays (a run's topic, on the instance it runs on).
    record: Option<Record>,
    /// The outside producer whose topic this is (a run kind's, in memory): the first
    /// to publish on it (docs/SPEC.md section 12, "Ownership").
    producer: Option<Arc<str>>,
    /// Outside producers' idempotency keys and the seqs they were published as.
    keys: Remembered,
}

pub(super) struct Channel {
    topic: Topic,
    history_limit: usize,
    /// Kept while a run lives on it, however idle.
    kept: AtomicBool,
    inner: Mutex<Inner>,
}

/// Bytes set aside for serialising one frame before it is copied out at its own size.
const FRAME_CAPACITY: usize = 512;

/// What the messages published in one go share: the time they came (one clock read for
/// all, on the wire and for idleness), the envelope fields serialised once for all, and
/// the buffer each frame is written in.
struct Batch {
    timestamp: Timestamp,
    now: Instant,
    /// Made with the first frame (the epoch is the topic's, read under its lock).
    shared: Option<frame::Shared>,
    scratch: Vec<u8>,
}

impl Batch {
    fn new(capacity: usize) -> Self {
        Batch {
            timestamp: Timestamp::from_datetime(Utc::now()),
            now: Instant::now(),
            shared: None,
            scratch: Vec::with_capacity(capacity),
        }
    }

    /// The frame of `message` as envelope `seq` of `topic` in `epoch`.
    fn frame(
        &mut self,
        topic: &Topic,
        epoch: &Epoch,
        seq: u64,
        message: &Message,
    ) -> Result<Frame, serde_json::Error> {
        let shared = match &mut self.shared {
            Some(shared) => shared,
            none => none.insert(frame::Shared::new(topic, epoch, &self.timestamp)?),
        };
        shared.frame(&mut self.scratch, seq, message)
    }
}

/// A message being delivered to a topic's history, state and subscribers.
enum Published {
    /// An envelope the backend sequenced, applied to a replica.
    Replica(Arc<Envelope>),
    /// A message sequenced here; its `Envelope` is only made for an in-process
    /// subscriber (sockets, the usual subscribers, take the frame).
    Here {
        message: Message,
        seq: u64,
        timestamp: Timestamp,
    },
}

impl Published {
    fn seq(&self) -> u64 {
        match self {
            Published::Replica(envelope) => envelope.seq,
            Published::Here { seq, .. } => *seq,
        }
    }

    fn message(&self) -> &Message {
        match self {
            Published::Replica(envelope) => &envelope.message,
            Published::Here { message, .. } => message,
        }
    }

    /// The envelope of `topic` in `epoch`, for an in-process subscriber.
    fn envelope(&self, topic: &Topic, epoch: &Epoch) -> Arc<Envelope> {
        match self {
            Published::Replica(envelope) => envelope.clone(),
            Published::Here {
                message,
                seq,
                timestamp,
            } => Arc::new(Envelope {
                message: message.clone(),
                topic: topic.clone(),
                seq: *seq,
                epoch: epoch.clone(),
                timestamp: *timestamp,
                conflated: 0,
            }),
        }
    }
}

enum ResumePoint {
    After(u64),
    Resync(ResyncReason),
}

impl Channel {
    pub(super) fn new(topic: Topic, history_limit: usize) -> Self {
        Self::with_epoch(topic, Epoch(ulid::Ulid::new().to_string()), history_limit)
    }

    /// A replica of what the backend holds.
    pub(super) fn replica(topic: Topic, history_limit: usize, loaded: Loaded) -> Self {
        let channel = Self::with_epoch(topic, loaded.epoch.clone(), history_limit);
        channel.start_from(&mut channel.lock(), loaded);
        channel
    }

    /// A topic that does not exist, as it reads: empty, in the nil epoch.
    pub(super) fn absent(topic: Topic) -> Self {
        Self::with_epoch(topic, Epoch(ulid::Ulid::nil().to_string()), 1)
    }

    fn with_epoch(topic: Topic, epoch: Epoch, history_limit: usize) -> Self {
        let state = SnapshotData::empty(topic.kind());
        Channel {
            topic,
            history_limit: history_limit.max(1),
            kept: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                epoch,
                last_seq: 0,
                history: VecDeque::new(),
                state,
                subscribers: Vec::new(),
                last_active: Instant::now(),
                record: None,
                producer: None,
                keys: Remembered::default(),
            }),
        }
    }

    /// Marks the topic as kept whatever its idleness (a run's).
    pub(super) fn keep(&self) {
        self.kept.store(true, Ordering::Relaxed);
    }

    /// Records every message from here on, up to `limit`.
    pub(super) fn record(&self, limit: usize) {
        self.lock().record.get_or_insert(Record::new(limit));
    }

    /// The recorded frames after seq `after`, with their seqs (none without a record).
    pub(super) fn recorded_after(&self, after: u64) -> Vec<(u64, Frame)> {
        self.lock()
            .record
            .as_ref()
            .map_or_else(Vec::new, |record| record.after(after))
    }

    /// A topic brought back from a kept record (`frames`, in seq order, from its start
    /// unless `cut`): its epoch, seqs, state and record are the ones it had, and what
    /// comes next is recorded after them.
    pub(super) fn restored(
        topic: Topic,
        history_limit: usize,
        record: (usize, bool),
        frames: Vec<Frame>,
    ) -> Result<Self, serde_json::Error> {
        let (limit, cut) = record;
        let loaded = Loaded::folded(topic.kind(), frames)?;
        let mut kept = Record::new(limit);
        kept.first_seq = loaded.retained.first().map_or(0, |(e, _)| e.seq);
        kept.frames = loaded.retained.iter().map(|(_, f)| f.clone()).collect();
        kept.bytes = kept.frames.iter().map(|f| f.len()).sum();
        kept.cut = cut;
        let channel = Self::replica(topic, history_limit, loaded);
        channel.lock().record = Some(kept);
        Ok(channel)
    }

    /// The bytes of frames the topic holds: its record and its retained history.
    pub(super) fn held_bytes(&self) -> usize {
        let inner = self.lock();
        let history: usize = inner.history.iter().map(|r| r.frame.len()).sum();
        history + inner.record.as_ref().map_or(0, |r| r.bytes) + inner.keys.bytes()
    }

    /// Whether the record reached its limit and left messages out.
    pub(super) fn record_cut(&self) -> bool {
        self.lock().record.as_ref().is_some_and(|r| r.cut)
    }

    /// The record, or the retained history where there is none.
    pub(super) fn recorded(&self) -> Recorded {
        let inner = self.lock();
        match &inner.record {
            Some(record) => Recorded {
                messages: record.frames.clone(),
                complete: !record.cut,
            },
            None => Recorded {
                messages: inner.history.iter().map(|r| r.frame.clone()).collect(),
                complete: inner.history.front().is_none_or(|r| r.seq == 1),
            },
        }
    }

    /// Whether nobody has subscribed to or published on it for `idle` (and it is not
    /// kept): it may be dropped.
    pub(super) fn is_idle(&self, idle: Duration) -> bool {
        // A subscribe between the two looks makes it active again: not idle either way.
        !self.is_followed() && self.lock().last_active.elapsed() >= idle
    }

    /// Whether someone still follows it here (a subscriber, or a run that keeps it):
    /// the Redis backend keeps such a topic's keys from expiring.
    pub(super) fn is_followed(&self) -> bool {
        if self.kept.load(Ordering::Relaxed) {
            return true;
        }
        let mut inner = self.lock();
        inner.subscribers.retain(Outbox::is_open);
        !inner.subscribers.is_empty()
    }

    pub(super) fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// Makes the topic `producer`'s if it is no one's yet; whether it is theirs.
    pub(super) fn claim(&self, producer: &str) -> bool {
        let mut inner = self.lock();
        let held = inner.producer.get_or_insert_with(|| Arc::from(producer));
        **held == *producer
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave `Inner` half-updated in a way that matters more
        // than stopping the stream would, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes `message` as the topic's next seq (the in-process hub), unless `key` was
    /// published within `rule`: then answers that
    /// publish's seq as a duplicate, and publishes nothing.
    pub(super) fn publish_once(
        &self,
        message: Message,
        key: Option<&str>,
        rule: KeyRule,
        stats: &HubStats,
    ) -> Result<Sent, PublishError> {
        let mut batch = Batch::new(FRAME_CAPACITY);
        let mut inner = self.lock();
        let Some(key) = key else {
            let seq = self.publish_next(&mut inner, message, &mut batch, stats)?;
            return Ok(Sent::new(seq));
        };
        if let Some(seq) = inner.keys.seq_of(key, batch.now, rule) {
            return Ok(Sent {
                seq,
                duplicate: true,
            });
        }
        let seq = self.publish_next(&mut inner, message, &mut batch, stats)?;
        inner.keys.remember(key, seq, batch.now, rule);
        Ok(Sent::new(seq))
    }

    /// Publishes `messages` as the topic's next seqs, in order, under one lock and with
    /// one timestamp (the in-process hub); each message's seq, or why it was refused (a
    /// refused message takes no seq).
    pub(super) fn publish_each(
        &self,
        messages: Vec<Message>,
        stats: &HubStats,
    ) -> Vec<Result<u64, PublishError>> {
        let mut batch = Batch::new(FRAME_CAPACITY * 4);
        let mut inner = self.lock();
        messages
            .into_iter()
            .map(|message| self.publish_next(&mut inner, message, &mut batch, stats))
            .collect()
    }

    /// Sequences, serialises and delivers one message, the lock held.
    fn publish_next(
        &self,
        inner: &mut Inner,
        message: Message,
        batch: &mut Batch,
        stats: &HubStats,
    ) -> Result<u64, PublishError> {
        let seq = inner.last_seq + 1;
        let frame = batch.frame(&self.topic, &inner.epoch, seq, &message)?;
        let published = Published::Here {
            message,
            seq,
            timestamp: batch.timestamp,
        };
        self.deliver(inner, published, frame, batch.now, stats);
        Ok(seq)
    }

    /// Takes an envelope the backend sequenced (a replica): applied if it is the next
    /// seq of the replica's epoch, and nothing happens otherwise.
    pub(super) fn apply(&self, envelope: Arc<Envelope>, frame: Frame, stats: &HubStats) -> Applied {
        let mut inner = self.lock();
        if envelope.epoch != inner.epoch {
            return Applied::OtherEpoch;
        }
        match envelope.seq.cmp(&(inner.last_seq + 1)) {
            std::cmp::Ordering::Less => Applied::Old,
            std::cmp::Ordering::Greater => Applied::Gap,
            std::cmp::Ordering::Equal => {
                let published = Published::Replica(envelope);
                self.deliver(&mut inner, published, frame, Instant::now(), stats);
                Applied::Next
            }
        }
    }

    /// Brings a replica up to what the backend holds: the messages it missed are
    /// delivered in order; if the epoch changed, or what it missed is no longer
    /// retained, it starts over from `loaded` and every subscriber gets a `resync`.
    pub(super) fn catch_up(&self, loaded: Loaded, stats: &HubStats) {
        let mut inner = self.lock();
        let reason = if loaded.epoch != inner.epoch {
            Some(ResyncReason::EpochChanged)
        } else if loaded.last_seq < inner.last_seq
            || loaded
                .retained
                .iter()
                .find(|(envelope, _)| envelope.seq > inner.last_seq)
                .is_some_and(|(envelope, _)| envelope.seq != inner.last_seq + 1)
        {
            Some(ResyncReason::OutsideHistory)
        } else {
            None
        };
        let Some(reason) = reason else {
            let now = Instant::now();
            for (envelope, frame) in loaded.retained {
                if envelope.seq == inner.last_seq + 1 {
                    self.deliver(&mut inner, Published::Replica(envelope), frame, now, stats);
                }
            }
            return;
        };
        tracing::warn!(topic = %self.topic, ?reason, from = %inner.epoch, to = %loaded.epoch, "replica starts over");
        let reached = Since {
            seq: inner.last_seq,
            epoch: Some(inner.epoch.clone()),
        };
        self.start_from(&mut inner, loaded);
        let snapshot = self.snapshot_of(&inner);
        // A socket leaves until it is authorised again: whose the topic is may have
        // changed with its epoch (docs/SPEC.md section 9).
        inner.subscribers.retain(|outbox| {
            !outbox.restarted(&self.topic, &reached)
                && outbox.push_control(Control::Resync(Resync {
                    reason,
                    snapshot: snapshot.clone(),
                })) == Push::Queued
        });
    }

    /// Takes `loaded` as the replica's whole content: epoch, last seq, state, and the
    /// last `history_limit` retained messages as history.
    fn start_from(&self, inner: &mut Inner, loaded: Loaded) {
        let skip = loaded.retained.len().saturating_sub(self.history_limit);
        inner.epoch = loaded.epoch;
        inner.last_seq = loaded.last_seq;
        inner.state = loaded.state;
        inner.history = loaded
            .retained
            .into_iter()
            .skip(skip)
            .map(|(envelope, frame)| Retained {
                seq: envelope.seq,
                pacing: envelope.message.pacing(),
                frame,
            })
            .collect();
    }

    /// Appends the next message (`now`: when it came): history, state, and every
    /// subscriber's outbox.
    fn deliver(
        &self,
        inner: &mut Inner,
        published: Published,
        frame: Frame,
        now: Instant,
        stats: &HubStats,
    ) {
        let seq = published.seq();
        let pacing = published.message().pacing();
        inner.last_seq = seq;
        inner.last_active = now;
        inner.state.apply(published.message());
        if inner.history.len() == self.history_limit {
            inner.history.pop_front();
        }
        inner.history.push_back(Retained {
            seq,
            pacing,
            frame: frame.clone(),
        });
        if let Some(record) = &mut inner.record {
            record.push(seq, &frame);
        }

        let (mut delivered, mut dropped) = (0, 0);
        // Made for the first in-process subscriber, if any: a socket takes the frame.
        let mut envelope: Option<Arc<Envelope>> = None;
        let (topic, epoch) = (&self.topic, &inner.epoch);
        let mut shared = || {
            envelope
                .get_or_insert_with(|| published.envelope(topic, epoch))
                .clone()
        };
        inner.subscribers.retain(|outbox| {
            match outbox.push_message((topic, seq, pacing), &frame, &mut shared) {
                Push::Queued => {
                    delivered += 1;
                    true
                }
                Push::Overflow => {
                    dropped += 1;
                    false
                }
                Push::Closed => false,
            }
        });
        stats.published();
        stats.delivered(delivered);
        stats.dropped(dropped);
    }

    /// Subscribes `outbox` from `since` (none: from a snapshot), at most `rate`
    /// replaceable messages a second (none: all).
    pub(super) fn subscribe(
        &self,
        since: Option<&Since>,
        rate: Option<MaxRate>,
        outbox: &Outbox,
        stats: &HubStats,
    ) -> SubscribeOutcome {
        let mut inner = self.lock();
        inner.last_active = Instant::now();
        let before = inner.subscribers.len();
        inner.subscribers.retain(|s| s.id() != outbox.id());
        if since.is_none() && inner.subscribers.len() < before {
            // Followed already: a snapshot each time would make a few small frames ask
            // for megabytes (docs/SPEC.md section 5). Everything up to the last seq has
            // gone to its queue.
            outbox.pace(&self.topic, rate, inner.last_seq);
            inner.subscribers.push(outbox.clone());
            outbox.push_control(Control::Subscribed(Subscribed {
                topic: self.topic.clone(),
                epoch: inner.epoch.clone(),
                next_seq: inner.last_seq + 1,
            }));
            return SubscribeOutcome::Already;
        }
        let point = since.map(|since| self.resume_point(&inner, since));
        let next_seq = match point {
            Some(ResumePoint::After(seq)) => seq + 1,
            _ => inner.last_seq + 1,
        };
        outbox.pace(&self.topic, rate, next_seq - 1);
        outbox.push_control(Control::Subscribed(Subscribed {
            topic: self.topic.clone(),
            epoch: inner.epoch.clone(),
            next_seq,
        }));
        let outcome = match point {
            None => {
                outbox.push_control(Control::Snapshot(self.snapshot_of(&inner)));
                SubscribeOutcome::Snapshot
            }
            Some(ResumePoint::Resync(reason)) => {
                outbox.push_control(Control::Resync(Resync {
                    reason,
                    snapshot: self.snapshot_of(&inner),
                }));
                SubscribeOutcome::Resync(reason)
            }
            Some(ResumePoint::After(seq)) => {
                let mut replayed = 0;
                for retained in inner.history.iter().filter(|r| r.seq > seq) {
                    outbox.push_retained(&self.topic, retained.seq, &retained.frame);
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

    /// Up to `limit` retained messages after `since`; at `rate`, conflated as a paced
    /// socket would get them released at once (docs/SPEC.md section 6, "Rates").
    pub(super) fn page(&self, since: Option<&Since>, limit: usize, rate: Option<MaxRate>) -> Page {
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
        let messages = match rate {
            None => retained.into_iter().map(|r| r.frame.clone()).collect(),
            Some(_) => {
                // Counted from the first message on the page: what came before it is
                // the resume point's business, not the rate's.
                let first = retained.first().map_or(after, |r| r.seq - 1);
                let mut conflater = Conflater::new(first);
                let mut messages = Vec::new();
                for r in retained {
                    conflater.push(r.seq, r.pacing, r.frame.clone(), Frame::conflated, |f| {
                        messages.push(f);
                    });
                }
                conflater.release(Frame::conflated, |f| messages.push(f));
                messages
            }
        };
        Page {
            epoch: inner.epoch.clone(),
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
            Some(epoch) if *epoch == inner.epoch => {}
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
            epoch: inner.epoch.clone(),
            last_seq: inner.last_seq,
            data: inner.state.clone(),
        }
    }
}

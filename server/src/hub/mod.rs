//! The in-process streaming hub: topics created on demand, each with a gap-free
//! sequence, an epoch, a retained history and a snapshot of its state; subscribers are
//! outboxes (sockets get frames, in-process consumers typed envelopes). Knows
//! nothing of HTTP or sockets.
//!
//! Ordering argument: publishing, subscribing (with its replay) and snapshotting a topic
//! all happen under that topic's one lock, and every frame for a subscriber goes through
//! its single FIFO outbox. So a subscriber sees replay, then live, with no gap and no
//! duplicate at the seam, whatever publishers are doing.

mod channel;
mod outbox;
mod owners;
mod stats;

pub use channel::{Page, SubscribeOutcome};
pub use outbox::{Delivery, Frame, Outbox, OutboxReceiver};
pub use owners::{Command, NoOwner, Ownership};
pub use stats::{HubStats, StatsSnapshot};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use app::protocol::{InvalidMessage, Message, Since, Snapshot, Topic};

use channel::Channel;
use owners::Owners;

/// Tunables of the hub.
#[derive(Clone, Copy, Debug)]
pub struct HubConfig {
    /// Messages retained per topic for replay.
    pub history: usize,
    /// Frames a connection's outbox holds before its owner counts as a slow consumer.
    pub outbox_capacity: usize,
    /// Topics held at once (SPEC section 12): creating one more fails with [`TopicsFull`].
    pub max_topics: usize,
    /// A topic nobody subscribed to or published on for this long may be dropped.
    pub topic_idle: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            history: 2048,
            outbox_capacity: 4096,
            max_topics: 100_000,
            topic_idle: Duration::from_secs(600),
        }
    }
}

/// The hub holds as many topics as it may and none has been idle long enough to drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server holds {limit} topics, its most: try again later")]
pub struct TopicsFull {
    pub limit: usize,
}

/// Why the hub refused to publish.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Invalid(#[from] InvalidMessage),
    #[error("could not serialize the message: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error(transparent)]
    Full(#[from] TopicsFull),
}

/// A handle on the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    config: HubConfig,
    topics: RwLock<HashMap<Topic, Arc<Channel>>>,
    owners: Owners,
    stats: HubStats,
    /// When idle topics were last dropped.
    last_sweep: Mutex<Instant>,
}

impl Hub {
    /// An empty hub.
    pub fn new(config: HubConfig) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                config,
                topics: RwLock::default(),
                owners: Owners::default(),
                stats: HubStats::default(),
                last_sweep: Mutex::new(Instant::now()),
            }),
        }
    }

    /// The hub's counters.
    pub fn stats(&self) -> &HubStats {
        &self.inner.stats
    }

    /// How long a topic may go unused before it is dropped.
    pub fn topic_idle(&self) -> Duration {
        self.inner.config.topic_idle
    }

    /// How many topics exist.
    pub fn topic_count(&self) -> usize {
        self.inner
            .topics
            .read()
            .map(|t| t.len())
            .unwrap_or_default()
    }

    /// A new outbox for one connection, and the receiving end its writer drains.
    pub fn outbox(&self) -> (Outbox, OutboxReceiver) {
        outbox::channel(self.inner.config.outbox_capacity)
    }

    /// A new outbox for an in-process consumer: it receives the published envelopes
    /// themselves, never JSON, under the same bound as a socket.
    pub fn typed_outbox(&self) -> (Outbox, OutboxReceiver<Delivery>) {
        outbox::typed_channel(self.inner.config.outbox_capacity)
    }

    /// Publishes `message` on `topic` and returns its seq.
    pub fn publish(&self, topic: &Topic, message: Message) -> Result<u64, PublishError> {
        message.validate_for(topic)?;
        self.channel(topic)?.publish(message, &self.inner.stats)
    }

    /// Subscribes `outbox` to `topic`, queueing the snapshot or the replay first.
    pub fn subscribe(
        &self,
        topic: &Topic,
        since: Option<&Since>,
        outbox: &Outbox,
    ) -> Result<SubscribeOutcome, TopicsFull> {
        Ok(self
            .channel(topic)?
            .subscribe(since, outbox, &self.inner.stats))
    }

    /// Stops delivering `topic` to `outbox`; false if it was not subscribed.
    pub fn unsubscribe(&self, topic: &Topic, outbox: &Outbox) -> bool {
        self.existing(topic)
            .is_some_and(|c| c.unsubscribe(outbox.id()))
    }

    /// The topic's current state and the seq it is consistent with (a topic that does
    /// not exist is empty, and is not created by asking).
    pub fn snapshot(&self, topic: &Topic) -> Snapshot {
        self.existing_or_empty(topic).snapshot()
    }

    /// The seq of the topic's last message (0: none, or no such topic).
    pub fn last_seq(&self, topic: &Topic) -> u64 {
        self.existing(topic).map_or(0, |c| c.last_seq())
    }

    /// Keeps `topic` however idle it gets, until [`Hub::drop_topic`] (a run's topic,
    /// itself bounded by the cap on runs).
    pub fn keep(&self, topic: &Topic) {
        let mut topics = self.write();
        topics
            .entry(topic.clone())
            .or_insert_with(|| self.new_channel(topic))
            .keep();
    }

    /// Drops every topic that nobody has subscribed to or published on for the idle
    /// time; returns how many went.
    pub fn drop_idle(&self) -> usize {
        self.sweep(&mut self.write(), false)
    }

    /// Registers the caller as the owner of `topic`: it receives the control commands
    /// clients send for it until the returned [`Ownership`] is dropped.
    pub fn own(&self, topic: &Topic) -> Ownership {
        self.inner.owners.own(topic)
    }

    /// Routes a client's `pause` / `resume` / `cancel` to the topic's owner.
    pub fn command(&self, topic: &Topic, command: Command) -> Result<(), NoOwner> {
        self.inner.owners.send(topic, command)
    }

    /// Retained messages after `since` (at most `limit`), for polling clients (a topic
    /// that does not exist is an empty page, and is not created by asking).
    pub fn page(&self, topic: &Topic, since: Option<&Since>, limit: usize) -> Page {
        self.existing_or_empty(topic).page(since, limit)
    }

    /// Forgets `topic`: its history, snapshot and subscribers. Used on it again, it
    /// starts over with a new epoch (resuming clients get a `resync`).
    pub fn drop_topic(&self, topic: &Topic) {
        if let Ok(mut topics) = self.inner.topics.write() {
            topics.remove(topic);
        }
    }

    fn existing(&self, topic: &Topic) -> Option<Arc<Channel>> {
        self.inner.topics.read().ok()?.get(topic).cloned()
    }

    /// The topic, or what it would be before its first message: empty, in the nil
    /// epoch (so polling a topic that does not exist yet is stable, and its creation
    /// is an epoch change).
    fn existing_or_empty(&self, topic: &Topic) -> Arc<Channel> {
        self.existing(topic)
            .unwrap_or_else(|| Arc::new(Channel::absent(topic.clone())))
    }

    fn new_channel(&self, topic: &Topic) -> Arc<Channel> {
        Arc::new(Channel::new(topic.clone(), self.inner.config.history))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Topic, Arc<Channel>>> {
        self.inner
            .topics
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops the idle topics of `topics` (the map, write-locked by the caller); with
    /// `throttled`, only if the last sweep is a second old or more, since a sweep visits
    /// every topic however many requests are refused at the cap.
    fn sweep(&self, topics: &mut HashMap<Topic, Arc<Channel>>, throttled: bool) -> usize {
        {
            let mut last = self
                .inner
                .last_sweep
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if throttled && last.elapsed() < Duration::from_secs(1) {
                return 0;
            }
            *last = Instant::now();
        }
        let before = topics.len();
        let idle = self.inner.config.topic_idle;
        topics.retain(|_, channel| !channel.is_idle(idle));
        before - topics.len()
    }

    /// The topic, created if need be: at the cap, idle topics make room first.
    fn channel(&self, topic: &Topic) -> Result<Arc<Channel>, TopicsFull> {
        if let Some(channel) = self.existing(topic) {
            return Ok(channel);
        }
        let mut topics = self.write();
        if let Some(channel) = topics.get(topic) {
            return Ok(channel.clone());
        }
        let limit = self.inner.config.max_topics;
        if topics.len() >= limit {
            self.sweep(&mut topics, true);
            if topics.len() >= limit {
                return Err(TopicsFull { limit });
            }
        }
        let channel = self.new_channel(topic);
        topics.insert(topic.clone(), channel.clone());
        Ok(channel)
    }
}

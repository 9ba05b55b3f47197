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
use std::sync::{Arc, RwLock};

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
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            history: 2048,
            outbox_capacity: 4096,
        }
    }
}

/// Why the hub refused to publish.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Invalid(#[from] InvalidMessage),
    #[error("could not serialize the message: {0}")]
    Serialize(#[from] serde_json::Error),
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
            }),
        }
    }

    /// The hub's counters.
    pub fn stats(&self) -> &HubStats {
        &self.inner.stats
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
        self.channel(topic).publish(message, &self.inner.stats)
    }

    /// Subscribes `outbox` to `topic`, queueing the snapshot or the replay first.
    pub fn subscribe(
        &self,
        topic: &Topic,
        since: Option<&Since>,
        outbox: &Outbox,
    ) -> SubscribeOutcome {
        self.channel(topic)
            .subscribe(since, outbox, &self.inner.stats)
    }

    /// Stops delivering `topic` to `outbox`; false if it was not subscribed.
    pub fn unsubscribe(&self, topic: &Topic, outbox: &Outbox) -> bool {
        self.existing(topic)
            .is_some_and(|c| c.unsubscribe(outbox.id()))
    }

    /// The topic's current state and the seq it is consistent with.
    pub fn snapshot(&self, topic: &Topic) -> Snapshot {
        self.channel(topic).snapshot()
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

    /// Retained messages after `since` (at most `limit`), for polling clients.
    pub fn page(&self, topic: &Topic, since: Option<&Since>, limit: usize) -> Page {
        self.channel(topic).page(since, limit)
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

    fn channel(&self, topic: &Topic) -> Arc<Channel> {
        if let Some(channel) = self.existing(topic) {
            return channel;
        }
        let mut topics = self
            .inner
            .topics
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        topics
            .entry(topic.clone())
            .or_insert_with(|| Arc::new(Channel::new(topic.clone(), self.inner.config.history)))
            .clone()
    }
}

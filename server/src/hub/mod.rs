//! The streaming hub: topics created on demand, each with a gap-free sequence, an
//! epoch, a retained history and a snapshot of its state; subscribers are outboxes
//! (sockets get frames, in-process consumers typed envelopes). Knows nothing of HTTP or
//! sockets, and routes, engines and feeds do not know which backend it runs on:
//!
//! - in memory (the default): this process's topics are the topics;
//! - on Redis (`--redis-url`, `redis/`): Redis sequences every topic for the cluster and
//!   this process's topics are replicas of the ones its clients use.
//!
//! Ordering argument: publishing (or applying a replicated message), subscribing (with
//! its replay) and snapshotting a topic all happen under that topic's one lock, and
//! every frame for a subscriber goes through its single FIFO outbox. So a subscriber
//! sees replay, then live, with no gap and no duplicate at the seam, whatever
//! publishers are doing.

mod channel;
mod direct;
mod frame;
mod hot_json;
mod idempotency;
mod outbox;
mod owners;
mod queue;
mod redis;
mod runs;
mod stats;
mod topics;

pub use channel::{Page, Recorded, SubscribeOutcome};
pub use direct::{Direct, Recipients};
pub use idempotency::KeyRule;
pub use outbox::{Delivery, Frame, Outbox, OutboxReceiver};
pub use owners::{Command, NoOwner, Ownership};
pub use redis::{Lease, SharedJob, Task, WorkQueue};
pub use runs::RunRecord;
pub use stats::{HubStats, StatsSnapshot};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use protocol::rate::MaxRate;
use protocol::{InvalidMessage, Message, Since, Snapshot, Topic, TopicKind};
use tokio_util::sync::CancellationToken;

use channel::Channel;
use direct::Directs;
use owners::Owners;
use redis::RedisBackend;
use topics::Topics;

/// Tunables of the hub.
#[derive(Clone, Copy, Debug)]
pub struct HubConfig {
    /// Messages retained per topic for replay.
    pub history: usize,
    /// Frames a connection's outbox holds before its owner counts as a slow consumer.
    pub outbox_capacity: usize,
    /// Bytes of frames a socket's outbox holds before its owner counts as a slow
    /// consumer (`--outbox-bytes`).
    pub outbox_bytes: usize,
    /// Topics held at once (docs/SPEC.md section 12): creating one more fails with [`TopicsFull`].
    pub max_topics: usize,
    /// A topic nobody subscribed to or published on for this long may be dropped.
    pub topic_idle: Duration,
    /// Messages a run's topic records from its start, for replays (`--record-messages`).
    pub record: usize,
    /// How long, and how many, idempotency keys a topic remembers.
    pub idempotency: KeyRule,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            history: 2048,
            outbox_capacity: 4096,
            outbox_bytes: 4 << 20,
            max_topics: 100_000,
            topic_idle: Duration::from_secs(600),
            record: 50_000,
            idempotency: KeyRule::default(),
        }
    }
}

/// The hub holds as many topics as it may and none has been idle long enough to drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server holds {limit} topics, its most: try again later")]
pub struct TopicsFull {
    pub limit: usize,
}

/// The shared backend (Redis) is away or did not answer in time (docs/SPEC.md section 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("redis unavailable")]
pub struct Unavailable;

/// Why the hub could not reach a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Full(#[from] TopicsFull),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Why a kept record could not become a topic again.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("a kept frame is not an envelope: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error(transparent)]
    Full(#[from] TopicsFull),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// One message to publish, with the idempotency key (an outside producer's) that makes
/// a retry of it land once.
pub struct Outgoing {
    pub topic: Topic,
    pub message: Message,
    pub key: Option<String>,
}

/// Where a message landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub seq: u64,
    /// Its idempotency key was published already, as `seq`: nothing was published now.
    pub duplicate: bool,
}

impl Sent {
    fn new(seq: u64) -> Self {
        Sent {
            seq,
            duplicate: false,
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
    #[error(transparent)]
    Full(#[from] TopicsFull),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// Published under a lease another instance now holds.
    #[error("this instance no longer leads the producer of this topic")]
    Fenced,
    /// An outside producer published on a run topic another producer writes.
    #[error("{0} is written by another producer: only it and admins publish there")]
    NotYours(Topic),
}

impl From<HubError> for PublishError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Full(e) => PublishError::Full(e),
            HubError::Unavailable(e) => PublishError::Unavailable(e),
        }
    }
}

/// Whether an outside producer's first message makes `topic` its own: a run kind's
/// topic is written by one producer (docs/SPEC.md section 12, "Ownership").
fn is_claimed(topic: &Topic) -> bool {
    matches!(topic.kind(), TopicKind::Backtest | TopicKind::Session)
}

/// A handle on the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
    /// Publishes through this handle are fenced by this lease (a cluster-wide producer).
    lease: Option<Lease>,
}

struct HubInner {
    topics: Arc<Topics>,
    owners: Owners,
    directs: Directs,
    redis: Option<RedisBackend>,
}

impl Hub {
    /// An in-memory hub.
    pub fn new(config: HubConfig) -> Self {
        let topics = Arc::new(Topics::new(config));
        Self::from_parts(topics, Owners::default(), Directs::default(), None)
    }

    /// A hub whose topics live in the Redis at `url` (reached in the background: until
    /// it answers, publishing fails with [`Unavailable`]). `lease` is how long a dead
    /// instance's producers and runs take to be noticed. Fails on a malformed URL.
    pub fn redis(
        config: HubConfig,
        url: &str,
        lease: Duration,
        shutdown: CancellationToken,
    ) -> Result<Self, ::redis::RedisError> {
        let topics = Arc::new(Topics::new(config));
        let (owners, directs) = (Owners::default(), Directs::default());
        let redis = RedisBackend::open(
            url,
            topics.clone(),
            owners.clone(),
            directs.clone(),
            lease,
            shutdown,
        )?;
        Ok(Self::from_parts(topics, owners, directs, Some(redis)))
    }

    fn from_parts(
        topics: Arc<Topics>,
        owners: Owners,
        directs: Directs,
        redis: Option<RedisBackend>,
    ) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                topics,
                owners,
                directs,
                redis,
            }),
            lease: None,
        }
    }

    /// Sends `direct` to the connections it is for, on every instance.
    pub async fn send_direct(&self, direct: Direct) -> Result<(), Unavailable> {
        match &self.inner.redis {
            // Every instance hears it from Redis, this one too.
            Some(redis) => redis.send_direct(&direct).await,
            None => {
                self.inner.directs.deliver(direct);
                Ok(())
            }
        }
    }

    /// The direct notices this instance's connections hear, from now on.
    pub fn directs(&self) -> tokio::sync::broadcast::Receiver<Direct> {
        self.inner.directs.listen()
    }

    /// `memory` or `redis`, for health reports.
    pub fn backend(&self) -> &'static str {
        if self.inner.redis.is_some() {
            "redis"
        } else {
            "memory"
        }
    }

    /// Whether the backend answers (memory always does).
    pub fn backend_healthy(&self) -> bool {
        self.inner
            .redis
            .as_ref()
            .is_none_or(RedisBackend::is_healthy)
    }

    /// The hub's counters.
    pub fn stats(&self) -> &HubStats {
        &self.inner.topics.stats
    }

    /// How long a topic may go unused before it is dropped.
    pub fn topic_idle(&self) -> Duration {
        self.inner.topics.config.topic_idle
    }

    /// How many topics this process holds.
    pub fn topic_count(&self) -> usize {
        self.inner.topics.count()
    }

    /// A new outbox for one connection, and the receiving end its writer drains.
    pub fn outbox(&self) -> (Outbox, OutboxReceiver) {
        let config = &self.inner.topics.config;
        outbox::channel(config.outbox_capacity, config.outbox_bytes)
    }

    /// A new outbox for an in-process consumer: it receives the published envelopes
    /// themselves, never JSON, under the same bound as a socket.
    pub fn typed_outbox(&self) -> (Outbox, OutboxReceiver<Delivery>) {
        outbox::typed_channel(self.inner.topics.config.outbox_capacity)
    }

    /// Publishes `message` on `topic` and returns its seq.
    pub async fn publish(&self, topic: &Topic, message: Message) -> Result<u64, PublishError> {
        if self.inner.redis.is_none() {
            message.validate_for(topic)?;
            return self.publish_here(topic, message);
        }
        let seqs = self.publish_all(vec![(topic.clone(), message)]).await?;
        seqs.first().copied().ok_or(Unavailable.into())
    }

    /// Publishes every message of `items` on its topic, in order, and returns their
    /// seqs: all of them or (when one is invalid, or Redis fails) none. On Redis, one
    /// round trip for the whole batch.
    pub async fn publish_all(
        &self,
        items: Vec<(Topic, Message)>,
    ) -> Result<Vec<u64>, PublishError> {
        let items = items
            .into_iter()
            .map(|(topic, message)| Outgoing {
                topic,
                message,
                key: None,
            })
            .collect();
        let sent = self.publish_all_as(None, items).await?;
        Ok(sent.into_iter().map(|s| s.seq).collect())
    }

    /// [`Hub::publish_all`] for an outside `producer` (a token's `sub`; `None`: an admin,
    /// or anonymous mode): a run kind's topic (`backtest:`, `session:`) becomes the
    /// producer's with its first message, and is refused ([`PublishError::NotYours`],
    /// nothing published) while it is another producer's — in the cluster, on Redis. An
    /// item whose idempotency key its topic remembers is not published again: it
    /// answers the seq it was published as ([`Sent::duplicate`]).
    pub async fn publish_all_as(
        &self,
        producer: Option<&str>,
        items: Vec<Outgoing>,
    ) -> Result<Vec<Sent>, PublishError> {
        for item in &items {
            item.message.validate_for(&item.topic)?;
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let Some(redis) = &self.inner.redis else {
            let rule = self.inner.topics.config.idempotency;
            if let Some(producer) = producer {
                for item in items.iter().filter(|item| is_claimed(&item.topic)) {
                    if !self.memory_channel(&item.topic)?.claim(producer) {
                        return Err(PublishError::NotYours(item.topic.clone()));
                    }
                }
            }
            return items
                .into_iter()
                .map(|item| {
                    self.memory_channel(&item.topic)?.publish_once(
                        item.message,
                        item.key.as_deref(),
                        rule,
                        &self.inner.topics.stats,
                    )
                })
                .collect();
        };
        // Replicas here first: they serve this instance's readers its own writes at once.
        let mut replicas = Vec::with_capacity(items.len());
        for item in &items {
            replicas.push(self.channel(&item.topic, true).await?);
        }
        let published = redis.publish(items, producer, self.lease.as_ref()).await?;
        let stats = &self.inner.topics.stats;
        Ok(published
            .into_iter()
            .zip(replicas)
            .map(|(published, replica)| match published {
                redis::Published::New(envelope, frame) => {
                    let seq = envelope.seq;
                    if let Some(channel) = replica {
                        // Out of order here (another instance's message not in yet): the
                        // listener delivers both in order.
                        channel.apply(envelope, frame, stats);
                    }
                    Sent::new(seq)
                }
                redis::Published::Duplicate(seq) => Sent {
                    seq,
                    duplicate: true,
                },
            })
            .collect())
    }

    /// Publishes `messages` on `topic`, in order, from a blocking thread: in memory under
    /// one lock of the topic, on Redis in one round trip. A message that is not valid
    /// for the topic is refused on its own and the others still go out; returns the
    /// refusals (none: all were published).
    pub fn publish_batch_blocking(
        &self,
        topic: &Topic,
        messages: Vec<Message>,
    ) -> Vec<PublishError> {
        let mut refused = Vec::new();
        let valid: Vec<Message> = messages
            .into_iter()
            .filter(|message| match message.validate_for(topic) {
                Ok(()) => true,
                Err(e) => {
                    refused.push(e.into());
                    false
                }
            })
            .collect();
        if valid.is_empty() {
            return refused;
        }
        if self.inner.redis.is_none() {
            match self.memory_channel(topic) {
                Ok(channel) => refused.extend(
                    channel
                        .publish_each(valid, &self.inner.topics.stats)
                        .into_iter()
                        .filter_map(Result::err),
                ),
                Err(e) => refused.push(e.into()),
            }
            return refused;
        }
        let items = valid.into_iter().map(|m| (topic.clone(), m)).collect();
        let published = tokio::runtime::Handle::try_current()
            .map_err(|_| PublishError::from(Unavailable))
            .and_then(|handle| handle.block_on(self.publish_all(items)));
        refused.extend(published.err());
        refused
    }

    /// Publishes on the in-memory topic (created if need be).
    fn publish_here(&self, topic: &Topic, message: Message) -> Result<u64, PublishError> {
        let rule = self.inner.topics.config.idempotency;
        let sent = self.memory_channel(topic)?.publish_once(
            message,
            None,
            rule,
            &self.inner.topics.stats,
        )?;
        Ok(sent.seq)
    }

    /// Subscribes `outbox` to `topic`, queueing the snapshot or the replay first.
    /// Delivers `topic` to `outbox` from `since` (none: from a snapshot), at most
    /// `rate` replaceable messages a second (none: every message; docs/SPEC.md section
    /// 6, "Rates").
    pub async fn subscribe(
        &self,
        topic: &Topic,
        since: Option<&Since>,
        rate: Option<MaxRate>,
        outbox: &Outbox,
    ) -> Result<SubscribeOutcome, HubError> {
        let channel = self.existing_or_new(topic).await?;
        Ok(channel.subscribe(since, rate, outbox, &self.inner.topics.stats))
    }

    /// Stops delivering `topic` to `outbox`; false if it was not subscribed.
    pub fn unsubscribe(&self, topic: &Topic, outbox: &Outbox) -> bool {
        outbox.unpace(topic);
        self.inner
            .topics
            .get(topic)
            .is_some_and(|c| c.unsubscribe(outbox.id()))
    }

    /// The topic's current state and the seq it is consistent with (a topic that does
    /// not exist is empty, and is not created by asking).
    pub async fn snapshot(&self, topic: &Topic) -> Result<Snapshot, Unavailable> {
        Ok(self.existing_or_empty(topic).await?.snapshot())
    }

    /// The seq of the topic's last message (0: none, or no such topic).
    pub async fn last_seq(&self, topic: &Topic) -> Result<u64, Unavailable> {
        Ok(self.existing_or_empty(topic).await?.last_seq())
    }

    /// Retained messages after `since` (at most `limit`), for polling clients (a topic
    /// that does not exist is an empty page, and is not created by asking).
    pub async fn page(
        &self,
        topic: &Topic,
        since: Option<&Since>,
        limit: usize,
        rate: Option<MaxRate>,
    ) -> Result<Page, Unavailable> {
        Ok(self
            .existing_or_empty(topic)
            .await?
            .page(since, limit, rate))
    }

    /// Keeps `topic` however idle it gets, until [`Hub::drop_topic`] (a run's topic,
    /// itself bounded by the cap on runs).
    pub async fn keep(&self, topic: &Topic) -> Result<(), HubError> {
        self.existing_or_new(topic).await?.keep();
        Ok(())
    }

    /// Records `topic` from here on (a run's, from its start), up to the configured
    /// number of messages: its full record for replays, beyond the resume history.
    /// The store's writer reads it from here ([`Hub::recorded_after`]).
    pub async fn record(&self, topic: &Topic) -> Result<(), HubError> {
        let limit = self.inner.topics.config.record;
        self.existing_or_new(topic).await?.record(limit);
        Ok(())
    }

    /// The frames `topic`'s record holds after seq `after`, with their seqs: what the
    /// store's writer has not kept yet (none for a topic this instance does not hold).
    pub fn recorded_after(&self, topic: &Topic, after: u64) -> Vec<(u64, Frame)> {
        self.inner
            .topics
            .get(topic)
            .map_or_else(Vec::new, |channel| channel.recorded_after(after))
    }

    /// Brings back a run's topic from its kept record (`frames` in seq order; `cut`: it
    /// reached its limit), as it was: same epoch, seqs and state, recorded on. A topic
    /// the hub holds already (here, or on Redis) is left as it is. On Redis the topic
    /// gets its state and the tail of its history; the record stays in the store.
    pub async fn restore(
        &self,
        topic: &Topic,
        frames: Vec<Frame>,
        cut: bool,
    ) -> Result<(), RestoreError> {
        let topics = &self.inner.topics;
        if let Some(redis) = &self.inner.redis {
            let loaded = channel::Loaded::folded(topic.kind(), frames)?;
            return Ok(redis.restore(topic, &loaded).await?);
        }
        let limit = topics.config.record;
        let channel =
            Channel::restored(topic.clone(), topics.config.history, (limit, cut), frames)?;
        topics.get_or_insert(topic, || channel)?.keep();
        Ok(())
    }

    /// Whether this instance holds `topic` (using it would not create it here).
    pub fn has_topic(&self, topic: &Topic) -> bool {
        self.inner.topics.get(topic).is_some()
    }

    /// The bytes of frames this instance holds for `topic` (its record and history; 0
    /// for a topic it does not have).
    pub fn held_bytes(&self, topic: &Topic) -> usize {
        self.inner
            .topics
            .get(topic)
            .map_or(0, |channel| channel.held_bytes())
    }

    /// The state a run's kept record (`frames`, in seq order) folds into: what a topic
    /// restored from it would show, without holding one (a cluster serves a finished run
    /// whose topic Redis dropped from its kept record).
    pub fn fold_record(topic: &Topic, frames: Vec<Frame>) -> Result<Snapshot, RestoreError> {
        let loaded = channel::Loaded::folded(topic.kind(), frames)?;
        Ok(Snapshot {
            topic: topic.clone(),
            epoch: loaded.epoch,
            last_seq: loaded.last_seq,
            data: loaded.state,
        })
    }

    /// `topic`'s state as this instance holds it, and whether its record was cut at its
    /// limit; none if it holds no such topic. (A run's instance holds its topic.)
    pub fn held(&self, topic: &Topic) -> Option<(Snapshot, bool)> {
        let channel = self.inner.topics.get(topic)?;
        Some((channel.snapshot(), channel.record_cut()))
    }

    /// `topic`'s record when this instance keeps one, else its retained history; a
    /// topic that does not exist is an empty record.
    pub async fn recorded(&self, topic: &Topic) -> Result<Recorded, Unavailable> {
        Ok(self.existing_or_empty(topic).await?.recorded())
    }

    /// Forgets `topic`: its history, snapshot and subscribers. Used on it again, it
    /// starts over with a new epoch (resuming clients get a `resync`).
    pub async fn drop_topic(&self, topic: &Topic) -> Result<(), Unavailable> {
        match &self.inner.redis {
            None => {
                self.inner.topics.remove(topic);
                Ok(())
            }
            Some(redis) => redis.drop_topic(topic).await,
        }
    }

    /// [`Hub::drop_topic`] without waiting (on Redis, in the background).
    pub fn forget(&self, topic: &Topic) {
        if self.inner.redis.is_none() {
            self.inner.topics.remove(topic);
            return;
        }
        let (hub, topic) = (self.clone(), topic.clone());
        tokio::spawn(async move {
            if let Err(e) = hub.drop_topic(&topic).await {
                tracing::warn!(%topic, error = %e, "could not drop a topic");
            }
        });
    }

    /// Drops every topic that nobody here has subscribed to or published on for the
    /// idle time (returns how many went); on Redis, also pushes back the expiry of the
    /// topics that are followed here.
    pub async fn sweep(&self) -> usize {
        let dropped = self.inner.topics.drop_idle();
        if let Some(redis) = &self.inner.redis {
            if let Err(e) = redis.refresh().await {
                tracing::warn!(error = %e, "could not refresh the expiry of followed topics");
            }
        }
        dropped
    }

    /// Registers the caller as the owner of `topic`: it receives the control commands
    /// clients send for it until the returned [`Ownership`] is dropped.
    pub fn own(&self, topic: &Topic) -> Ownership {
        self.inner.owners.own(topic)
    }

    /// Routes a client's command (`pause`, an agent's decision, …) to the topic's owner:
    /// here, or (on Redis) on whichever instance it runs.
    pub async fn command(&self, topic: &Topic, command: Command) -> Result<(), NoOwner> {
        let local = self.inner.owners.send(topic, command.clone());
        match &self.inner.redis {
            Some(redis) if local.is_err() => redis
                .command(topic, &command)
                .await
                .map_err(|_| NoOwner(topic.clone())),
            _ => local,
        }
    }

    /// On Redis, how long a dead instance's runs and producers take to be noticed.
    pub fn lease_period(&self) -> Option<Duration> {
        self.inner.redis.as_ref().map(RedisBackend::lease_period)
    }

    /// Runs a producer once per cluster (docs/SPEC.md section 8): in memory, here and now; on
    /// Redis, whenever this instance holds the lease `name` (renewed every third of
    /// the lease period, taken over within a period of its holder's death), stopping it
    /// when the lease is lost. The producer publishes through the hub it is given,
    /// whose publishes the lease fences.
    pub async fn run_once_per_cluster<F, P>(
        &self,
        name: &str,
        shutdown: CancellationToken,
        mut producer: P,
    ) where
        P: FnMut(Hub, CancellationToken) -> F,
        F: Future<Output = ()>,
    {
        let Some(redis) = &self.inner.redis else {
            return producer(self.clone(), shutdown).await;
        };
        let mut lease = redis.lease(name, shutdown.clone());
        let fenced = Hub {
            inner: self.inner.clone(),
            lease: Some(lease.clone()),
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = lease.until(true) => {}
            }
            tracing::info!(producer = name, "this instance runs the producer");
            let stop = shutdown.child_token();
            let run = producer(fenced.clone(), stop.clone());
            tokio::pin!(run);
            tokio::select! {
                _ = &mut run => return,
                _ = lease.until(false) => {
                    tracing::warn!(producer = name, "lease lost: the producer stops here");
                    stop.cancel();
                    run.await;
                }
            }
        }
    }

    /// The topic in memory, created if need be.
    fn memory_channel(&self, topic: &Topic) -> Result<Arc<Channel>, TopicsFull> {
        let topics = &self.inner.topics;
        topics.get_or_insert(topic, || topics.new_channel(topic))
    }

    /// The topic (a replica on Redis), created with `create`; `None` if it does not
    /// exist and `create` is false.
    async fn channel(&self, topic: &Topic, create: bool) -> Result<Option<Arc<Channel>>, HubError> {
        match &self.inner.redis {
            None if create => Ok(Some(self.memory_channel(topic)?)),
            None => Ok(self.inner.topics.get(topic)),
            Some(redis) => redis.replica(topic, create).await,
        }
    }

    async fn existing_or_new(&self, topic: &Topic) -> Result<Arc<Channel>, HubError> {
        self.channel(topic, true)
            .await?
            .ok_or(HubError::Unavailable(Unavailable))
    }

    /// The topic, or what it would be before its first message: empty, in the nil
    /// epoch (so polling a topic that does not exist yet is stable, and its creation
    /// is an epoch change).
    async fn existing_or_empty(&self, topic: &Topic) -> Result<Arc<Channel>, Unavailable> {
        match self.channel(topic, false).await {
            Ok(Some(channel)) => Ok(channel),
            Ok(None) | Err(HubError::Full(_)) => Ok(Arc::new(Channel::absent(topic.clone()))),
            Err(HubError::Unavailable(e)) => Err(e),
        }
    }
}

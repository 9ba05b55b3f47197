//! The listener: one task per instance that holds the pub/sub connection to
//! [`EVENTS`], applies every envelope to this instance's replica of its topic, and
//! creates replicas — between two events, so none can be missed between a replica's
//! load and its first live message (whatever the load saw is a duplicate afterwards,
//! whatever it did not see is still queued on the connection).
//!
//! It also keeps replicas honest: a seq gap or a new epoch makes the replica catch up
//! from Redis; after a reconnect every replica catches up; and a probe it publishes to
//! itself every [`PROBE_EVERY`] must come back within [`PROBE_TIMEOUT`], or the
//! subscription is deemed silently dead and rebuilt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use protocol::{Envelope, Topic};
use redis::aio::PubSubStream;
use redis::Client;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::super::channel::{Applied, Channel};
use super::super::direct::{Direct, Directs};
use super::super::outbox::Frame;
use super::super::owners::{Command, Owners};
use super::super::topics::Topics;
use super::super::{HubError, Unavailable};
use super::link::{CallError, Link, BACKOFF_CAP, BACKOFF_FIRST};
use super::scripts::EVENTS;
use super::store::Store;

/// How often the listener checks its subscription with a probe.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How long a probe may take to come back before the subscription is rebuilt.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Notices on the events channel, each followed by the instance that sent it
/// (envelopes are JSON objects: they start with `{`).
const DROP: &str = "drop ";
const PROBE: &str = "probe ";
const COMMAND: &str = "command ";
const DIRECT: &str = "direct ";

/// Publishes a notice on the events channel, for every instance's listener.
pub async fn notify(link: &Link, notice: &str) -> Result<(), CallError> {
    link.call(async |conn, _| {
        redis::cmd("PUBLISH")
            .arg(EVENTS)
            .arg(notice)
            .query_async::<()>(conn)
            .await
    })
    .await
}

/// Asks whichever instance owns `topic` to apply `command`.
pub fn command_notice(topic: &Topic, command: &Command) -> String {
    // A command is plain data: it always serialises.
    let json = serde_json::to_string(command).unwrap_or_default();
    format!("{COMMAND}{topic} {json}")
}

/// Hands `direct` to every instance's connections.
pub fn direct_notice(direct: &Direct) -> Result<String, serde_json::Error> {
    Ok(format!("{DIRECT}{}", serde_json::to_string(direct)?))
}

/// Tells every other instance to drop its replica of `topic` (the sender has already).
pub fn drop_notice(instance: &str, topic: &Topic) -> String {
    format!("{DROP}{instance} {topic}")
}

/// What the hub asks of the listener: this instance's replica of `topic`, loaded (or
/// created, with `create`).
pub struct Load {
    pub topic: Topic,
    pub create: bool,
    pub reply: oneshot::Sender<Result<Option<Arc<Channel>>, HubError>>,
}

/// Who hears, on this instance, what other instances send it.
pub struct Local {
    /// What runs here, for commands sent from other instances.
    pub owners: Owners,
    /// Where this instance's connections hear direct notices.
    pub directs: Directs,
}

pub struct Listener {
    client: Client,
    store: Store,
    topics: Arc<Topics>,
    local: Local,
    requests: mpsc::Receiver<Load>,
    listening: Arc<AtomicBool>,
    /// This instance, in notices.
    instance: Arc<str>,
    /// Replicas could not all catch up after the last reconnect: retry at each probe.
    behind: bool,
}

/// A probe in flight.
struct Probe {
    id: u64,
    sent: Instant,
}

impl Listener {
    pub fn new(
        client: Client,
        instance: Arc<str>,
        store: Store,
        topics: Arc<Topics>,
        local: Local,
        requests: mpsc::Receiver<Load>,
        listening: Arc<AtomicBool>,
    ) -> Self {
        Listener {
            client,
            store,
            topics,
            local,
            requests,
            listening,
            instance,
            behind: false,
        }
    }

    /// Listens until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) {
        tokio::spawn(self.run(shutdown));
    }

    async fn run(mut self, shutdown: CancellationToken) {
        let mut delay = BACKOFF_FIRST;
        loop {
            self.listening.store(false, Ordering::Relaxed);
            let events = tokio::select! {
                _ = shutdown.cancelled() => return,
                events = self.subscribe() => events,
            };
            let events = match events {
                Ok(events) => events,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot subscribe to redis events yet");
                    // Meanwhile every request hears "unavailable" at once.
                    let wait = tokio::time::sleep(delay);
                    tokio::pin!(wait);
                    loop {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = &mut wait => break,
                            Some(load) = self.requests.recv() => {
                                let _ = load.reply.send(Err(Unavailable.into()));
                            }
                        }
                    }
                    delay = (delay * 2).min(BACKOFF_CAP);
                    continue;
                }
            };
            delay = BACKOFF_FIRST;
            self.listening.store(true, Ordering::Relaxed);
            tracing::info!("listening to redis events");
            self.catch_up_all().await;
            if !self.listen(events, &shutdown).await {
                return;
            }
            tracing::warn!("redis events subscription lost; rebuilding it");
        }
    }

    async fn subscribe(&self) -> Result<PubSubStream, redis::RedisError> {
        let mut pubsub =
            tokio::time::timeout(Duration::from_secs(2), self.client.get_async_pubsub())
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        pubsub.subscribe(EVENTS).await?;
        Ok(pubsub.into_on_message())
    }

    /// Serves events and requests until the subscription ends or stops answering
    /// probes (false: shutdown).
    async fn listen(&mut self, mut events: PubSubStream, shutdown: &CancellationToken) -> bool {
        let mut probes = tokio::time::interval(PROBE_EVERY);
        probes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_probe = 0u64;
        let mut pending: Option<Probe> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                event = events.next() => {
                    let Some(event) = event else { return true };
                    match std::str::from_utf8(event.get_payload_bytes()) {
                        Ok(text) if text.starts_with('{') => self.on_envelope(text).await,
                        Ok(text) => {
                            if let Some(notice) = text.strip_prefix(DROP) {
                                self.on_drop(notice);
                            } else if let Some(notice) = text.strip_prefix(COMMAND) {
                                self.on_command(notice);
                            } else if let Some(notice) = text.strip_prefix(DIRECT) {
                                match serde_json::from_str::<Direct>(notice) {
                                    Ok(direct) => self.local.directs.deliver(direct),
                                    Err(e) => tracing::warn!(error = %e, "a direct notice does not read"),
                                }
                            } else if pending.as_ref().is_some_and(|p| text == self.probe_text(p.id)) {
                                pending = None;
                            }
                        }
                        Err(_) => tracing::warn!("a redis event is not UTF-8"),
                    }
                }
                Some(Load { topic, create, reply }) = self.requests.recv() => {
                    let _ = reply.send(self.load(&topic, create).await);
                }
                _ = probes.tick() => {
                    if let Some(probe) = &pending {
                        if probe.sent.elapsed() >= PROBE_TIMEOUT {
                            return true;
                        }
                        continue;
                    }
                    if self.behind {
                        self.catch_up_all().await;
                    }
                    next_probe += 1;
                    let text = self.probe_text(next_probe);
                    let sent = notify(&self.store.link, &text).await;
                    // Unsent (Redis away): the connection's own end will show.
                    if sent.is_ok() {
                        pending = Some(Probe { id: next_probe, sent: Instant::now() });
                    }
                }
            }
        }
    }

    fn probe_text(&self, id: u64) -> String {
        format!("{PROBE}{} {id}", self.instance)
    }

    /// A command for a topic: delivered if what owns it runs here.
    fn on_command(&self, notice: &str) {
        let Some((topic, command)) = notice.split_once(' ') else {
            return;
        };
        if let (Ok(command), Ok(topic)) = (
            serde_json::from_str::<Command>(command),
            topic.parse::<Topic>(),
        ) {
            let _ = self.local.owners.send(&topic, command);
        }
    }

    /// Another instance dropped a topic: so does this one. (Its own drops are done
    /// already; acting on them again could remove a replica created since.)
    fn on_drop(&self, notice: &str) {
        let Some((instance, topic)) = notice.split_once(' ') else {
            return;
        };
        if instance != &*self.instance {
            if let Ok(topic) = topic.parse::<Topic>() {
                self.topics.remove(&topic);
            }
        }
    }

    async fn on_envelope(&mut self, text: &str) {
        // Most envelopes are for topics with no replica here: read only the name first.
        #[derive(serde::Deserialize)]
        struct Named {
            topic: Topic,
        }
        let Ok(Named { topic }) = serde_json::from_str::<Named>(text) else {
            tracing::warn!("a redis event names no topic");
            return;
        };
        let Some(channel) = self.topics.get(&topic) else {
            return;
        };
        let envelope: Envelope = match serde_json::from_str(text) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::warn!(%topic, error = %e, "a redis event is not an envelope");
                return;
            }
        };
        let seq = envelope.seq;
        let frame = Frame::from(text);
        match channel.apply(Arc::new(envelope), frame, &self.topics.stats) {
            Applied::Next => {
                if seq.is_multiple_of(self.store.checkpoint_every()) {
                    self.store.checkpoint(&topic, &channel).await;
                }
            }
            Applied::Old => {}
            Applied::Gap | Applied::OtherEpoch => {
                if self.catch_up(&topic, &channel).await.is_err() {
                    self.behind = true;
                }
            }
        }
    }

    async fn load(&self, topic: &Topic, create: bool) -> Result<Option<Arc<Channel>>, HubError> {
        if let Some(channel) = self.topics.get(topic) {
            return Ok(Some(channel));
        }
        let Some(loaded) = self.store.load(topic, create).await? else {
            return Ok(None);
        };
        let history = self.topics.config.history;
        let channel = self
            .topics
            .get_or_insert(topic, || Channel::replica(topic.clone(), history, loaded))?;
        Ok(Some(channel))
    }

    async fn catch_up(&self, topic: &Topic, channel: &Channel) -> Result<(), Unavailable> {
        if let Some(loaded) = self.store.load(topic, true).await? {
            channel.catch_up(loaded, &self.topics.stats);
        }
        Ok(())
    }

    /// Every replica catches up with Redis (after a reconnect: what was published
    /// meanwhile, or a resync if Redis lost it).
    async fn catch_up_all(&mut self) {
        self.behind = false;
        for (topic, channel) in self.topics.all() {
            if self.catch_up(&topic, &channel).await.is_err() {
                self.behind = true;
                return;
            }
        }
    }
}

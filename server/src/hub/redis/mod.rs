//! The Redis backend (docs/SPEC.md section 8): Redis sequences every topic for the whole
//! cluster, and each instance keeps replicas of the topics its clients use.
//!
//! - Publishing a batch runs one script that, for each message, assigns its topic's
//!   next seq, appends the envelope to the topic's stream and publishes it on
//!   [`scripts::EVENTS`]: one step, one round trip (`store.rs` reads topics back).
//! - Every instance listens on that channel (`listener.rs`) and applies each envelope
//!   to its replica of the topic, which serves subscribers, polls and snapshots exactly
//!   as the in-memory hub does. A replica that misses a seq, sees a new epoch, or comes
//!   back after Redis was away catches up from the stream (or resyncs its subscribers).
//! - A replica is created by the listener itself, between two events, so no envelope
//!   can slip between its load and its first live message.

mod leader;
mod link;
mod listener;
mod runs;
mod scripts;
mod store;
mod work;

pub use leader::Lease;
pub use work::{SharedJob, Task, WorkQueue};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use protocol::{Envelope, Epoch, Message, Timestamp, Topic};
use redis::Client;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::channel::{Channel, Loaded};
use super::direct::{Direct, Directs};
use super::frame;
use super::outbox::Frame;
use super::owners::{Command, Owners};
use super::topics::Topics;
use super::{HubError, Outgoing, PublishError, Unavailable};
use link::{CallError, Link};
use listener::{Listener, Load, Local};
use scripts::Scripts;
use store::{durable, new_epoch, ttl_ms, Store};

/// Loads waiting for the listener; beyond this, callers hear "redis unavailable".
const PENDING_LOADS: usize = 1024;

/// The Redis side of a hub.
/// What the publish script made of one message.
pub(super) enum Published {
    /// Published as this envelope.
    New(Arc<Envelope>, Frame),
    /// Its idempotency key was published already, as this seq.
    Duplicate(u64),
}

pub(super) struct RedisBackend {
    link: Link,
    scripts: Arc<Scripts>,
    requests: mpsc::Sender<Load>,
    listening: Arc<AtomicBool>,
    topics: Arc<Topics>,
    /// Names this process in leases and notices.
    instance: Arc<str>,
    /// How long a dead instance takes to be noticed.
    lease: Duration,
}

impl RedisBackend {
    /// Connects (in the background: the server starts, degraded, while Redis is away)
    /// and starts listening. Fails only on a malformed URL.
    pub fn open(
        url: &str,
        topics: Arc<Topics>,
        owners: Owners,
        directs: Directs,
        lease: Duration,
        shutdown: CancellationToken,
    ) -> Result<Self, redis::RedisError> {
        let client = Client::open(url)?;
        let link = Link::open(client.clone(), shutdown.clone());
        let scripts = Arc::new(Scripts::new());
        let (requests, pending) = mpsc::channel(PENDING_LOADS);
        let listening = Arc::new(AtomicBool::new(false));
        let instance: Arc<str> = ulid::Ulid::new().to_string().into();
        let store = Store {
            link: link.clone(),
            scripts: scripts.clone(),
            history: topics.config.history,
            ttl: topics.config.topic_idle,
        };
        runs::spawn_heartbeat(link.clone(), instance.to_string(), lease, shutdown.clone());
        Listener::new(
            client,
            instance.clone(),
            store,
            topics.clone(),
            Local { owners, directs },
            pending,
            listening.clone(),
        )
        .spawn(shutdown);
        Ok(RedisBackend {
            link,
            scripts,
            requests,
            listening,
            topics,
            instance,
            lease,
        })
    }

    pub fn lease_period(&self) -> Duration {
        self.lease
    }

    /// Both connections are up: commands, and the events this instance listens to.
    pub fn is_healthy(&self) -> bool {
        self.link.is_up() && self.listening.load(Ordering::Relaxed)
    }

    /// This instance's replica of `topic`, loaded from Redis if need be; `None` if the
    /// topic does not exist there and `create` is false.
    pub async fn replica(
        &self,
        topic: &Topic,
        create: bool,
    ) -> Result<Option<Arc<Channel>>, HubError> {
        if let Some(channel) = self.topics.get(topic) {
            return Ok(Some(channel));
        }
        let (reply, answer) = oneshot::channel();
        let request = Load {
            topic: topic.clone(),
            create,
            reply,
        };
        self.requests.try_send(request).map_err(|_| Unavailable)?;
        match tokio::time::timeout(link::CALL_TIMEOUT + Duration::from_millis(300), answer).await {
            Ok(Ok(result)) => result,
            _ => Err(Unavailable.into()),
        }
    }

    /// Makes `topic` in Redis what `loaded` (a kept record, folded) says it was: its
    /// epoch, last seq, state and the tail of its history; nothing if Redis has it.
    pub async fn restore(&self, topic: &Topic, loaded: &Loaded) -> Result<(), Unavailable> {
        let state = serde_json::to_string(&loaded.state).map_err(|_| Unavailable)?;
        let ttl = ttl_ms(self.topics.config.topic_idle);
        let skip = loaded
            .retained
            .len()
            .saturating_sub(self.topics.config.history);
        let tail: Vec<(u64, &str)> = loaded
            .retained
            .iter()
            .skip(skip)
            .map(|(envelope, frame)| (envelope.seq, frame.as_str()))
            .collect();
        let scripts = &self.scripts;
        self.link
            .call(async |conn, server| {
                let mut invocation = scripts.restore.key(scripts::meta_key(topic));
                invocation
                    .key(scripts::log_key(topic))
                    .arg(&loaded.epoch.0)
                    .arg(loaded.last_seq)
                    .arg(&server.run_id)
                    .arg(&state)
                    .arg(ttl);
                for (seq, frame) in &tail {
                    invocation.arg(*seq).arg(*frame);
                }
                invocation.invoke_async::<i64>(conn).await
            })
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::warn!(%topic, error = %e, "could not restore a topic into redis");
                Unavailable
            })
    }

    /// Sequences `items` in Redis, in order, in one step (and so publishes them to
    /// every instance); with a `lease`, only while this instance holds it; with an
    /// outside `producer`, only if no run topic among them is another producer's (and
    /// those no one's become its own). An item whose idempotency key its topic
    /// remembers is answered as [`Published::Duplicate`] and not published again.
    pub async fn publish(
        &self,
        items: Vec<Outgoing>,
        producer: Option<&str>,
        lease: Option<&Lease>,
    ) -> Result<Vec<Published>, PublishError> {
        let timestamp = Timestamp::from_datetime(Utc::now());
        let mut tail = Vec::with_capacity(40);
        frame::write_tail(&mut tail, &timestamp)?;
        let heads = items
            .iter()
            .map(|item| envelope_head(&item.topic, &item.message))
            .collect::<Result<Vec<_>, _>>()?;
        let config = &self.topics.config;
        let (history, ttl) = (config.history, ttl_ms(config.topic_idle));
        let rule = config.idempotency;
        let scripts = &self.scripts;
        let answer = self
            .link
            .call(async |conn, server| {
                let mut call = scripts.publish.prepare_invoke();
                for item in &items {
                    call.key(scripts::meta_key(&item.topic))
                        .key(scripts::log_key(&item.topic))
                        .key(scripts::keys_key(&item.topic))
                        .key(scripts::key_times_key(&item.topic));
                }
                call.arg(new_epoch())
                    .arg(&server.run_id)
                    .arg(durable(server.durable))
                    .arg(history)
                    .arg(ttl)
                    .arg(lease.map_or("", Lease::holder))
                    .arg(producer.unwrap_or(""))
                    .arg(ttl_ms(rule.window))
                    .arg(rule.cap);
                if let Some(lease) = lease {
                    call.key(lease.key());
                }
                for (head, item) in heads.iter().zip(&items) {
                    let claimed = producer.is_some() && super::is_claimed(&item.topic);
                    call.arg(head)
                        .arg(&tail)
                        .arg(if claimed { "1" } else { "" })
                        .arg(item.key.as_deref().unwrap_or(""));
                }
                call.invoke_async::<Vec<(u64, String, String)>>(conn).await
            })
            .await;
        let published = match answer {
            Ok(published) if published.len() == items.len() => published,
            Ok(_) => return Err(Unavailable.into()),
            Err(CallError::Refused(e)) if e.code() == Some("FENCED") => {
                return Err(PublishError::Fenced)
            }
            Err(CallError::Refused(e)) if e.code() == Some("NOTYOURS") => {
                let refused = e.detail().and_then(|i| i.trim().parse::<usize>().ok());
                return match refused.and_then(|i| items.get(i.wrapping_sub(1))) {
                    Some(item) => Err(PublishError::NotYours(item.topic.clone())),
                    None => Err(Unavailable.into()),
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "publish failed");
                return Err(Unavailable.into());
            }
        };
        Ok(items
            .into_iter()
            .zip(published)
            .map(|(item, (seq, epoch, frame))| {
                if frame.is_empty() {
                    return Published::Duplicate(seq);
                }
                let envelope = Envelope {
                    message: item.message,
                    topic: item.topic,
                    seq,
                    epoch: Epoch(epoch),
                    timestamp,
                    conflated: 0,
                };
                Published::New(Arc::new(envelope), Frame::from(frame))
            })
            .collect())
    }

    /// Deletes `topic` in Redis and tells every instance to drop its replica.
    pub async fn drop_topic(&self, topic: &Topic) -> Result<(), Unavailable> {
        self.topics.remove(topic);
        self.link
            .call(async |conn, _| {
                redis::pipe()
                    .del(&[
                        scripts::meta_key(topic),
                        scripts::log_key(topic),
                        scripts::keys_key(topic),
                        scripts::key_times_key(topic),
                    ])
                    .ignore()
                    .publish(
                        scripts::EVENTS,
                        listener::drop_notice(&self.instance, topic),
                    )
                    .ignore()
                    .query_async::<()>(conn)
                    .await
            })
            .await
            .map_err(|_| Unavailable)
    }

    /// Hands `command` to whichever instance runs what owns `topic`.
    /// Sends `direct` to every instance's connections (this one's too).
    pub async fn send_direct(&self, direct: &Direct) -> Result<(), Unavailable> {
        let notice = listener::direct_notice(direct).map_err(|_| Unavailable)?;
        listener::notify(&self.link, &notice)
            .await
            .map_err(|_| Unavailable)
    }

    pub async fn command(&self, topic: &Topic, command: &Command) -> Result<(), Unavailable> {
        listener::notify(&self.link, &listener::command_notice(topic, command))
            .await
            .map_err(|_| Unavailable)
    }

    /// Pushes back the expiry of the topics someone follows here (subscribers, runs), so
    /// Redis does not forget them while they are quiet.
    pub async fn refresh(&self) -> Result<(), Unavailable> {
        let followed: Vec<Topic> = self
            .topics
            .all()
            .into_iter()
            .filter(|(_, channel)| channel.is_followed())
            .map(|(topic, _)| topic)
            .collect();
        if followed.is_empty() {
            return Ok(());
        }
        let ttl = ttl_ms(self.topics.config.topic_idle);
        self.link
            .call(async |conn, _| {
                let mut pipe = redis::pipe();
                for topic in &followed {
                    pipe.pexpire(scripts::meta_key(topic), ttl)
                        .ignore()
                        .pexpire(scripts::log_key(topic), ttl)
                        .ignore();
                }
                pipe.query_async::<()>(conn).await
            })
            .await
            .map_err(|_| Unavailable)
    }

    /// Holds the lease `name` whenever no other live instance does (see [`Lease`]).
    pub fn lease(&self, name: &str, shutdown: CancellationToken) -> Lease {
        Lease::spawn(
            self.link.clone(),
            format!("tickwire:lease:{name}"),
            self.instance.clone(),
            self.lease,
            shutdown,
        )
    }
}

/// `{"type":…,"data":…}` without its closing brace, then the topic: the script adds
/// seq and epoch, the tail the timestamp and the brace (`hub::frame`).
fn envelope_head(topic: &Topic, message: &Message) -> Result<Vec<u8>, serde_json::Error> {
    let mut head = Vec::with_capacity(256);
    frame::write_message_open(&mut head, message)?;
    frame::write_topic(&mut head, topic)?;
    Ok(head)
}

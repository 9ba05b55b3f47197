//! Reading a topic back from Redis (a replica's start, or its catch-up) and storing a
//! replica's state as the topic's checkpoint.

use std::sync::Arc;
use std::time::Duration;

use protocol::{Envelope, Epoch, SnapshotData, Topic};
use redis::Value;

use super::super::channel::{Channel, Loaded};
use super::super::outbox::Frame;
use super::super::Unavailable;
use super::link::Link;
use super::scripts::{self, Scripts};

/// What the listener needs to read and checkpoint topics.
#[derive(Clone)]
pub struct Store {
    pub link: Link,
    pub scripts: Arc<Scripts>,
    pub history: usize,
    pub ttl: Duration,
}

impl Store {
    /// The topic as Redis holds it (created with `create`; `None` if absent).
    pub async fn load(&self, topic: &Topic, create: bool) -> Result<Option<Loaded>, Unavailable> {
        let ttl = ttl_ms(self.ttl);
        let scripts = &self.scripts;
        let value: Value = self
            .link
            .call(async |conn, server| {
                scripts
                    .load
                    .key(scripts::meta_key(topic))
                    .key(scripts::log_key(topic))
                    .arg(if create { "1" } else { "0" })
                    .arg(new_epoch())
                    .arg(&server.run_id)
                    .arg(durable(server.durable))
                    .arg(ttl)
                    .invoke_async(conn)
                    .await
            })
            .await
            .map_err(|e| {
                tracing::warn!(%topic, error = %e, "could not load a topic from redis");
                Unavailable
            })?;
        match parse_loaded(topic, value) {
            Ok(loaded) => Ok(loaded),
            Err(e) => {
                tracing::error!(%topic, error = %e, "redis holds a topic this build cannot read");
                Err(Unavailable)
            }
        }
    }

    /// Stores the replica's state as the topic's checkpoint (if newer than Redis's).
    pub async fn checkpoint(&self, topic: &Topic, channel: &Channel) {
        let snapshot = channel.snapshot();
        let Ok(state) = serde_json::to_string(&snapshot.data) else {
            return;
        };
        let scripts = &self.scripts;
        let stored = self
            .link
            .call(async |conn, _| {
                scripts
                    .checkpoint
                    .key(scripts::meta_key(topic))
                    .arg(&snapshot.epoch.0)
                    .arg(snapshot.last_seq)
                    .arg(&state)
                    .invoke_async::<()>(conn)
                    .await
            })
            .await;
        if let Err(e) = stored {
            tracing::debug!(%topic, error = %e, "could not store a checkpoint");
        }
    }

    /// Seqs between two checkpoints: often enough that the checkpoint is always within
    /// the retained stream, which a late joiner replays on top of it.
    pub fn checkpoint_every(&self) -> u64 {
        (self.history as u64 / 4).max(1)
    }
}

/// Why Redis's answer could not be read.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("unexpected reply shape")]
    Shape,
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not UTF-8")]
    Utf8,
}

/// `{epoch, seq, snap_seq, snap, entries}` → the topic's state at its last seq (the
/// checkpoint with the newer retained messages applied) and its retained messages.
fn parse_loaded(topic: &Topic, value: Value) -> Result<Option<Loaded>, LoadError> {
    let Value::Array(items) = value else {
        return Err(LoadError::Shape);
    };
    if items.is_empty() {
        return Ok(None);
    }
    let [epoch, seq, snap_seq, snap, entries] =
        <[Value; 5]>::try_from(items).map_err(|_| LoadError::Shape)?;
    let text = |v: Value| -> Result<String, LoadError> {
        redis::from_redis_value::<String>(v).map_err(|_| LoadError::Utf8)
    };
    let number = |v: Value| -> Result<u64, LoadError> {
        redis::from_redis_value::<u64>(v).map_err(|_| LoadError::Shape)
    };
    let epoch = Epoch(text(epoch)?);
    let last_seq = number(seq)?;
    let snap_seq = number(snap_seq)?;
    let snap = text(snap)?;
    let mut state = if snap.is_empty() {
        SnapshotData::empty(topic.kind())
    } else {
        serde_json::from_str(&snap)?
    };
    let Value::Array(entries) = entries else {
        return Err(LoadError::Shape);
    };
    let mut retained = Vec::with_capacity(entries.len());
    for entry in entries {
        // [id, [field, value]]
        let (_, fields): (String, Vec<String>) =
            redis::from_redis_value(entry).map_err(|_| LoadError::Shape)?;
        let frame = fields.into_iter().nth(1).ok_or(LoadError::Shape)?;
        let envelope: Envelope = serde_json::from_str(&frame)?;
        if envelope.seq > snap_seq {
            state.apply(&envelope.message);
        }
        retained.push((Arc::new(envelope), Frame::from(frame)));
    }
    if retained.first().is_some_and(|(e, _)| e.seq > snap_seq + 1) {
        tracing::warn!(%topic, snap_seq, "the checkpoint is older than the retained stream: the state misses messages");
    }
    Ok(Some(Loaded {
        epoch,
        last_seq,
        state,
        retained,
    }))
}

/// A fresh epoch, for a topic the script has to start.
pub fn new_epoch() -> String {
    ulid::Ulid::new().to_string()
}

/// A flag as the scripts take it.
pub fn durable(durable: bool) -> &'static str {
    if durable {
        "1"
    } else {
        "0"
    }
}

/// The keys' expiry for an idle time (at least a second).
pub fn ttl_ms(idle: Duration) -> i64 {
    i64::try_from(idle.as_millis())
        .unwrap_or(i64::MAX)
        .max(1000)
}

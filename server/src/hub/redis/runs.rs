//! The cluster's runs in Redis: one hash per kind (`tickwire:runs:{KIND}`, field = id,
//! value = a JSON [`RunRecord`]), and a liveness key per instance
//! (`tickwire:instance:{ID}`, renewed every third of the lease period, living
//! [`MISSED_LEASES`] periods). A run whose instance's key has expired — its instance
//! missed that many lease periods, not one slow renewal — is dead: the first instance
//! to notice marks it finished (atomically, so once) and publishes its end on the run's
//! topic.

use std::time::Duration;

use redis::{AsyncCommands, Script};
use tokio_util::sync::CancellationToken;

use super::link::{Link, BACKOFF_FIRST};
use super::RedisBackend;
use crate::hub::{RunRecord, Unavailable};

/// KEYS: runs hash, instance key. ARGV: id, record JSON with `finished_ms` set. Marks
/// the run finished if it is unfinished and its instance is gone; 1 if this call did.
const REAP: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held or not string.find(held, '"finished_ms":null', 1, true) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"#;

/// Lease periods an instance may miss before its runs are declared dead (docs/SPEC.md
/// section 8): a pause of the process (a GC-like stall, a slow Redis) is not a death.
pub const MISSED_LEASES: u32 = 3;

fn runs_key(kind: &str) -> String {
    format!("tickwire:runs:{kind}")
}

pub(super) fn instance_key(instance: &str) -> String {
    format!("tickwire:instance:{instance}")
}

/// Keeps this instance's liveness key alive until shutdown (or death).
pub(super) fn spawn_heartbeat(
    link: Link,
    instance: String,
    period: Duration,
    shutdown: CancellationToken,
) {
    let key = instance_key(&instance);
    let lives_ms = u64::try_from((period * MISSED_LEASES).as_millis()).unwrap_or(u64::MAX);
    tokio::spawn(async move {
        loop {
            let renewed = link
                .call(async |conn, _| conn.pset_ex::<_, _, ()>(&key, 1, lives_ms).await)
                .await;
            // Until the first renewal (Redis connecting) and after a failed one, again
            // soon: an instance is never taken for dead while it can say otherwise.
            let next = if renewed.is_ok() {
                period / 3
            } else {
                BACKOFF_FIRST
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(next) => {}
            }
        }
    });
}

impl RedisBackend {
    /// Records run `id` of `kind` as this instance's, unless the id is taken anywhere.
    pub async fn claim_run(
        &self,
        kind: &str,
        id: &str,
        record: &RunRecord,
    ) -> Result<bool, Unavailable> {
        let json = serde_json::to_string(record).map_err(|_| Unavailable)?;
        self.link
            .call(async |conn, _| {
                conn.hset_nx::<_, _, _, bool>(runs_key(kind), id, &json)
                    .await
            })
            .await
            .map_err(|_| Unavailable)
    }

    /// Replaces the record of a run of this instance's.
    pub async fn record_run(
        &self,
        kind: &str,
        id: &str,
        record: &RunRecord,
    ) -> Result<(), Unavailable> {
        let json = serde_json::to_string(record).map_err(|_| Unavailable)?;
        self.link
            .call(async |conn, _| conn.hset::<_, _, _, ()>(runs_key(kind), id, &json).await)
            .await
            .map_err(|_| Unavailable)
    }

    pub async fn forget_run(&self, kind: &str, id: &str) -> Result<(), Unavailable> {
        self.link
            .call(async |conn, _| conn.hdel::<_, _, ()>(runs_key(kind), id).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Every run of `kind` in the cluster, by id.
    pub async fn runs(&self, kind: &str) -> Result<Vec<(String, RunRecord)>, Unavailable> {
        let all: Vec<(String, String)> = self
            .link
            .call(async |conn, _| conn.hgetall(runs_key(kind)).await)
            .await
            .map_err(|_| Unavailable)?;
        Ok(all
            .into_iter()
            .filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?)))
            .collect())
    }

    /// The run `id` of `kind`, wherever it runs.
    pub async fn run(&self, kind: &str, id: &str) -> Result<Option<RunRecord>, Unavailable> {
        let json: Option<String> = self
            .link
            .call(async |conn, _| conn.hget(runs_key(kind), id).await)
            .await
            .map_err(|_| Unavailable)?;
        Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Marks `record` (an unfinished run of `kind`) finished if its instance is dead;
    /// true if this call did (the caller then publishes its end).
    pub async fn reap(
        &self,
        kind: &str,
        id: &str,
        record: &RunRecord,
        now_ms: i64,
    ) -> Result<bool, Unavailable> {
        let finished = RunRecord {
            finished_ms: Some(now_ms),
            ..record.clone()
        };
        let json = serde_json::to_string(&finished).map_err(|_| Unavailable)?;
        let script = Script::new(REAP);
        self.link
            .call(async |conn, _| {
                script
                    .key(runs_key(kind))
                    .key(instance_key(&record.instance))
                    .arg(id)
                    .arg(&json)
                    .invoke_async::<bool>(conn)
                    .await
            })
            .await
            .map_err(|_| Unavailable)
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The cluster's shared work, from this instance.
    pub fn work_queue(&self) -> super::WorkQueue {
        super::WorkQueue {
            link: self.link.clone(),
            instance: self.instance.to_string(),
        }
    }
}

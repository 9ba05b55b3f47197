//! Work the cluster's instances share (docs/SPEC.md section 8, "Shared work"): a job is
//! split into tasks on a Redis stream read by one consumer group, so each task is
//! claimed by one instance; its result goes back on a second stream that the job's
//! owner reads; and a task claimed by an instance that died (its liveness key expired:
//! [`MISSED_LEASES`](super::runs::MISSED_LEASES) missed lease periods) is claimed again
//! by the next instance that looks for work.
//!
//! Per job `J` (the braces keep its keys in one Redis Cluster slot):
//! - `tickwire:work:{J}:spec`: what every task of the job runs on (bytes);
//! - `tickwire:work:{J}:todo`: the tasks (field `t`), read by the group `workers`, one
//!   consumer per instance; a task is acknowledged and deleted with its result;
//! - `tickwire:work:{J}:done`: the results (field `r`), deleted as the owner reads them;
//!
//! and `tickwire:work:jobs`, a hash: job → `{"owner", "paused"}` as JSON.

use redis::streams::StreamRangeReply;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};

use super::link::Link;
use super::runs::instance_key;
use crate::hub::Unavailable;

const JOBS: &str = "tickwire:work:jobs";
const GROUP: &str = "workers";

fn key(job: &str, part: &str) -> String {
    format!("tickwire:work:{{{job}}}:{part}")
}

/// Every key of job `job` but its listing: tasks, results, spec.
fn keys(job: &str) -> [String; 3] {
    ["todo", "done", "spec"].map(|part| key(job, part))
}

/// KEYS: todo stream. ARGV: group, this consumer, the liveness keys' prefix. A task of
/// a consumer whose instance is gone (claimed again), else a task nobody took; as
/// `{id, body}`, or nil when there is none.
const TAKE: &str = r#"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
if pending[1] > 0 and pending[4] then
  for _, consumer in ipairs(pending[4]) do
    local name = consumer[1]
    if name ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. name) == 0 then
      local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, name)
      if #held > 0 then
        local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, held[1][1])
        if #claimed > 0 and claimed[1][2] then
          return {claimed[1][1], claimed[1][2][2]}
        end
      else
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
      end
    end
  end
end
local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if fresh and fresh[1][2][1] then
  local entry = fresh[1][2][1]
  return {entry[1], entry[2][2]}
end
return false
"#;

/// A shared job as the cluster lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedJob {
    /// The instance that posted it and reads its results.
    pub owner: String,
    /// Its tasks are not taken while it is paused.
    pub paused: bool,
}

/// A task claimed by this instance: its result is owed with [`WorkQueue::finish`].
#[derive(Clone, Debug)]
pub struct Task {
    pub id: String,
    pub body: Vec<u8>,
}

/// The cluster's shared work, from this instance; cheap to clone.
#[derive(Clone)]
pub struct WorkQueue {
    pub(super) link: Link,
    pub(super) instance: String,
}

impl WorkQueue {
    /// This instance's name (the owner of the jobs it posts).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Posts job `job`, owned by this instance: `spec`, then every task, in one step.
    pub async fn post(
        &self,
        job: &str,
        spec: &[u8],
        tasks: &[Vec<u8>],
        paused: bool,
    ) -> Result<(), Unavailable> {
        let listed = listing(&self.instance, paused)?;
        let [todo, done, spec_key] = keys(job);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&[&todo, &done, &spec_key])
            .ignore()
            .set(&spec_key, spec)
            .ignore();
        for task in tasks {
            pipe.cmd("XADD")
                .arg(&todo)
                .arg("*")
                .arg("t")
                .arg(task)
                .ignore();
        }
        pipe.cmd("XGROUP")
            .arg("CREATE")
            .arg(&todo)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .ignore()
            // The results' stream exists, empty, from the start: a worker's result for a
            // job that has ended (its keys deleted) is then dropped, never a new stream.
            .cmd("XGROUP")
            .arg("CREATE")
            .arg(&done)
            .arg("owner")
            .arg("$")
            .arg("MKSTREAM")
            .ignore()
            .hset(JOBS, job, listed)
            .ignore();
        self.link
            .call(async |conn, _| pipe.query_async::<()>(conn).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Pauses (no task of it is taken) or resumes job `job`.
    pub async fn pause(&self, job: &str, paused: bool) -> Result<(), Unavailable> {
        let listed = listing(&self.instance, paused)?;
        self.link
            .call(async |conn, _| conn.hset::<_, _, _, ()>(JOBS, job, &listed).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Forgets job `job`: its listing, spec, tasks and unread results.
    pub async fn end(&self, job: &str) -> Result<(), Unavailable> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hdel(JOBS, job)
            .ignore()
            .del(&keys(job))
            .ignore();
        self.link
            .call(async |conn, _| pipe.query_async::<()>(conn).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Whether Redis holds job `job` whole: its tasks' and results' streams (an empty
    /// stream stays until the job ends).
    pub async fn holds(&self, job: &str) -> Result<bool, Unavailable> {
        let keys = keys(job);
        let held: usize = self
            .link
            .call(async |conn, _| conn.exists(&keys).await)
            .await
            .map_err(|_| Unavailable)?;
        Ok(held == keys.len())
    }

    /// Every job of the cluster, by name (a listing that does not parse is left out).
    pub async fn jobs(&self) -> Result<Vec<(String, SharedJob)>, Unavailable> {
        let all: Vec<(String, String)> = self
            .link
            .call(async |conn, _| conn.hgetall(JOBS).await)
            .await
            .map_err(|_| Unavailable)?;
        Ok(all
            .into_iter()
            .filter_map(|(job, json)| Some((job, serde_json::from_str(&json).ok()?)))
            .collect())
    }

    /// Whether `instance` is alive (its liveness key exists).
    pub async fn is_alive(&self, instance: &str) -> Result<bool, Unavailable> {
        self.link
            .call(async |conn, _| conn.exists(instance_key(instance)).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Job `job`'s spec (none once it has ended).
    pub async fn spec(&self, job: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        self.link
            .call(async |conn, _| conn.get(key(job, "spec")).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Claims a task of job `job` for this instance: one a dead instance held first,
    /// else one nobody took. None when there is none (or the job has ended).
    pub async fn take(&self, job: &str) -> Result<Option<Task>, Unavailable> {
        let script = Script::new(TAKE);
        let taken = self
            .link
            .call(async |conn, _| {
                script
                    .key(key(job, "todo"))
                    .arg(GROUP)
                    .arg(&self.instance)
                    .arg(instance_key(""))
                    .invoke_async::<Option<(String, Vec<u8>)>>(conn)
                    .await
            })
            .await;
        match taken {
            Ok(task) => Ok(task.map(|(id, body)| Task { id, body })),
            // The job ended under the call: its stream and group are gone.
            Err(super::CallError::Refused(_)) => Ok(None),
            Err(super::CallError::Unavailable) => Err(Unavailable),
        }
    }

    /// Hands `task`'s result back to job `job`'s owner and retires the task, in one
    /// step (nothing is written for a job that has ended).
    pub async fn finish(&self, job: &str, task: &Task, result: &[u8]) -> Result<(), Unavailable> {
        let (todo, done) = (key(job, "todo"), key(job, "done"));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(&done)
            .arg("NOMKSTREAM")
            .arg("*")
            .arg("r")
            .arg(result)
            .ignore()
            .cmd("XACK")
            .arg(&todo)
            .arg(GROUP)
            .arg(&task.id)
            .ignore()
            .cmd("XDEL")
            .arg(&todo)
            .arg(&task.id)
            .ignore();
        self.link
            .call(async |conn, _| pipe.query_async::<()>(conn).await)
            .await
            .map_err(|_| Unavailable)
    }

    /// Takes up to `count` results of job `job`, oldest first.
    pub async fn results(&self, job: &str, count: usize) -> Result<Vec<Vec<u8>>, Unavailable> {
        let done = key(job, "done");
        let read: StreamRangeReply = self
            .link
            .call(async |conn, _| conn.xrange_count(&done, "-", "+", count).await)
            .await
            .map_err(|_| Unavailable)?;
        if read.ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = read.ids.iter().map(|entry| entry.id.as_str()).collect();
        self.link
            .call(async |conn, _| conn.xdel::<_, _, ()>(&done, &ids).await)
            .await
            .map_err(|_| Unavailable)?;
        Ok(read
            .ids
            .iter()
            .filter_map(|entry| entry.get::<Vec<u8>>("r"))
            .collect())
    }
}

fn listing(owner: &str, paused: bool) -> Result<String, Unavailable> {
    serde_json::to_string(&SharedJob {
        owner: owner.to_owned(),
        paused,
    })
    .map_err(|_| Unavailable)
}

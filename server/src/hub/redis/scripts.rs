//! How a topic lives in Redis, and the Lua scripts that change it atomically.
//!
//! Per topic `T` (the braces keep both keys in one Redis Cluster slot):
//! - `tickwire:{T}:meta`, a hash: `epoch`, `seq` (the last one assigned), `run` (the
//!   `run_id` of the Redis that last wrote it), the checkpoint `snap_seq` + `snap`
//!   (the topic's state at that seq, as JSON), and for a run kind's topic written from
//!   outside, `producer` (the `sub` that first published on it);
//! - `tickwire:{T}:log`, a stream of the envelopes, entry id `SEQ-1`, trimmed to the
//!   retained history.
//!
//! Both expire after the idle time; publishing, and instances whose clients follow the
//! topic, push that back. Every envelope is also published on [`EVENTS`], which every
//! instance listens to.
//!
//! Restarts: a Redis restarted with `appendonly yes` + `appendfsync always` lost
//! nothing that was acknowledged, and a topic carries on in its epoch. With weaker
//! persistence the tail may be gone, so a topic last written by another `run_id` starts
//! over in a new epoch (empty): never a reused seq, so never a silent hole.

use protocol::Topic;
use redis::Script;

/// The channel every envelope (and the instances' notices) goes out on.
pub const EVENTS: &str = "tickwire:events";

pub fn meta_key(topic: &Topic) -> String {
    format!("tickwire:{{{topic}}}:meta")
}

pub fn log_key(topic: &Topic) -> String {
    format!("tickwire:{{{topic}}}:log")
}

/// `touch(meta, log, create, epoch, run, durable)`: the topic's epoch, after making it
/// exist (with `create`) and starting it over if an undurable Redis restarted since it
/// was written; nil if it does not exist and `create` is not `'1'`.
const TOUCH: &str = r#"
local function touch(meta, log, create, epoch, run, durable)
  local held = redis.call('HMGET', meta, 'epoch', 'run')
  if held[1] and held[2] == run then
    return held[1]
  end
  if held[1] and durable == '1' then
    redis.call('HSET', meta, 'run', run)
    return held[1]
  end
  if not held[1] and create ~= '1' then
    return nil
  end
  redis.call('DEL', meta, log)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0, 'run', run)
  return epoch
end
"#;

/// Publishes a batch of messages, in order, all or nothing.
/// KEYS: meta and log of each message's topic[, lease]. ARGV: new epoch, run, durable,
/// history, ttl ms, lease holder (empty: no lease), outside producer (empty: none), then
/// each message's envelope head, tail and claim (`'1'`: its topic is the producer's once
/// published, and refused while another's). For each message: assigns its topic's next
/// seq, appends the envelope, publishes it; returns `{seq, epoch, envelope}` per
/// message. With a lease, refuses with `FENCED` unless the caller still holds it; refuses
/// with `NOTYOURS i` when message `i` claims a topic another producer holds (one that
/// `touch` keeps: a topic started over is no one's).
const PUBLISH: &str = r#"
local count = (#ARGV - 7) / 3
if ARGV[6] ~= '' and redis.call('GET', KEYS[2 * count + 1]) ~= ARGV[6] then
  return redis.error_reply('FENCED this instance no longer holds the lease')
end
local producer = ARGV[7]
for i = 1, count do
  if ARGV[7 + 3 * i] == '1' then
    local held = redis.call('HMGET', KEYS[2 * i - 1], 'epoch', 'run', 'producer')
    local kept = held[1] and (held[2] == ARGV[2] or ARGV[3] == '1')
    if kept and held[3] and held[3] ~= producer then
      return redis.error_reply('NOTYOURS ' .. i)
    end
  end
end
local published = {}
for i = 1, count do
  local meta, log = KEYS[2 * i - 1], KEYS[2 * i]
  local epoch = touch(meta, log, '1', ARGV[1], ARGV[2], ARGV[3])
  if ARGV[7 + 3 * i] == '1' then
    redis.call('HSETNX', meta, 'producer', producer)
  end
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local envelope = ARGV[5 + 3 * i] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '"' .. ARGV[6 + 3 * i]
  redis.call('XADD', log, 'MAXLEN', ARGV[4], seq .. '-1', 'e', envelope)
  redis.call('PEXPIRE', meta, ARGV[5])
  redis.call('PEXPIRE', log, ARGV[5])
  redis.call('PUBLISH', 'tickwire:events', envelope)
  published[i] = {seq, epoch, envelope}
end
return published
"#;

/// KEYS: meta, log. ARGV: create, new epoch, run, durable, ttl ms. Returns `{}` for a
/// topic that does not exist (and is not to be created), else `{epoch, seq, snap_seq,
/// snap, entries}`.
const LOAD: &str = r#"
local epoch = touch(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not epoch then
  return {}
end
if ARGV[1] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
local held = redis.call('HMGET', KEYS[1], 'seq', 'snap_seq', 'snap')
return {epoch, held[1], held[2] or '0', held[3] or '', redis.call('XRANGE', KEYS[2], '-', '+')}
"#;

/// KEYS: meta, log. ARGV: epoch, seq, run, snapshot JSON, ttl ms, then `seq, envelope`
/// pairs in seq order. Makes the topic what a kept record says it was (its epoch, last
/// seq, state at that seq, and tail), unless it exists; 1 if this call made it.
const RESTORE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'seq', ARGV[2], 'run', ARGV[3],
  'snap_seq', ARGV[2], 'snap', ARGV[4])
for i = 6, #ARGV, 2 do
  redis.call('XADD', KEYS[2], ARGV[i] .. '-1', 'e', ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
"#;

/// KEYS: meta. ARGV: epoch, seq, snapshot JSON. Stores the checkpoint if it is newer
/// than the one held, in the same epoch.
const CHECKPOINT: &str = r#"
local held = redis.call('HMGET', KEYS[1], 'epoch', 'snap_seq')
if held[1] == ARGV[1] and tonumber(held[2] or '0') < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'snap_seq', ARGV[2], 'snap', ARGV[3])
end
return 0
"#;

/// The scripts, loaded once per process (`EVALSHA`, loading on `NOSCRIPT`).
pub struct Scripts {
    pub publish: Script,
    pub load: Script,
    pub checkpoint: Script,
    pub restore: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Scripts {
            publish: Script::new(&format!("{TOUCH}{PUBLISH}")),
            load: Script::new(&format!("{TOUCH}{LOAD}")),
            checkpoint: Script::new(CHECKPOINT),
            restore: Script::new(RESTORE),
        }
    }
}

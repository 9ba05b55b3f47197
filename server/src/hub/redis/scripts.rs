//! How a topic lives in Redis, and the Lua scripts that change it atomically.
//!
//! Per topic `T` (the braces keep both keys in one Redis Cluster slot):
//! - `tickwire:{T}:meta`, a hash: `epoch`, `seq` (the last one assigned), `run` (the
//!   `run_id` of the Redis that last wrote it), the checkpoint `snap_seq` + `snap`
//!   (the topic's state at that seq, as JSON), and for a run kind's topic written from
//!   outside, `producer` (the `sub` that first published on it);
//! - `tickwire:{T}:log`, a stream of the envelopes, entry id `SEQ-1`, trimmed to the
//!   retained history;
//! - `tickwire:{T}:keys` and `tickwire:{T}:key_times`, outside producers' idempotency
//!   keys: a hash key → `"EPOCH SEQ"` and a sorted set key → when (ms), kept for
//!   `--idempotency-window-secs` and at most `--max-idempotency-keys` (Redis 7.0 has no
//!   expiry per hash field, so the script forgets the expired and the oldest itself).
//!
//! They expire after the idle time; publishing, and instances whose clients follow the
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

/// The topic's remembered idempotency keys: key → `"EPOCH SEQ"`.
pub fn keys_key(topic: &Topic) -> String {
    format!("tickwire:{{{topic}}}:keys")
}

/// When each remembered idempotency key was published (a sorted set, ms since the epoch).
pub fn key_times_key(topic: &Topic) -> String {
    format!("tickwire:{{{topic}}}:key_times")
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
/// KEYS: meta, log, idempotency keys and their times of each message's topic[, lease].
/// ARGV: new epoch, run, durable, history, ttl ms, lease holder (empty: no lease),
/// outside producer (empty: none), idempotency window ms, most keys kept per topic,
/// then each message's envelope head, tail, claim (`'1'`: its topic is the producer's
/// once published, and refused while another's) and idempotency key (empty: none).
/// For each message: if its key was published on its topic within the window (and in
/// its epoch), answers `{seq, epoch, ''}` with that publish's seq; else assigns its
/// topic's next seq, appends the envelope, publishes it, remembers its key, and answers
/// `{seq, epoch, envelope}`. With a lease, refuses with `FENCED` unless the caller still
/// holds it; refuses with `NOTYOURS i` when message `i` claims a topic another producer
/// holds (one that `touch` keeps: a topic started over is no one's).
const PUBLISH: &str = r#"
local count = (#ARGV - 9) / 4
if ARGV[6] ~= '' and redis.call('GET', KEYS[4 * count + 1]) ~= ARGV[6] then
  return redis.error_reply('FENCED this instance no longer holds the lease')
end
local producer = ARGV[7]
for i = 1, count do
  if ARGV[8 + 4 * i] == '1' then
    local held = redis.call('HMGET', KEYS[4 * i - 3], 'epoch', 'run', 'producer')
    local kept = held[1] and (held[2] == ARGV[2] or ARGV[3] == '1')
    if kept and held[3] and held[3] ~= producer then
      return redis.error_reply('NOTYOURS ' .. i)
    end
  end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window, cap = tonumber(ARGV[8]), tonumber(ARGV[9])
local keys_ttl = math.max(tonumber(ARGV[5]), window)
-- The seq `key` was published as in `epoch`, if it is remembered (forgetting expired keys).
local function seen(keys, times, key, epoch)
  local expired = redis.call('ZRANGEBYSCORE', times, '-inf', now - window, 'LIMIT', 0, 512)
  if #expired > 0 then
    redis.call('HDEL', keys, unpack(expired))
    redis.call('ZREM', times, unpack(expired))
  end
  local held = redis.call('HGET', keys, key)
  if not held then
    return nil
  end
  local space = string.find(held, ' ', 1, true)
  if string.sub(held, 1, space - 1) ~= epoch then
    return nil
  end
  return tonumber(string.sub(held, space + 1))
end
local function remember(keys, times, key, epoch, seq)
  redis.call('HSET', keys, key, epoch .. ' ' .. seq)
  redis.call('ZADD', times, now, key)
  local over = redis.call('ZCARD', times) - cap
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', times, over)
    for j = 1, #oldest, 2 do
      redis.call('HDEL', keys, oldest[j])
    end
  end
  redis.call('PEXPIRE', keys, keys_ttl)
  redis.call('PEXPIRE', times, keys_ttl)
end
local published = {}
for i = 1, count do
  local meta, log, keys, times = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
  local key = ARGV[9 + 4 * i]
  local epoch = touch(meta, log, '1', ARGV[1], ARGV[2], ARGV[3])
  local before = nil
  if key ~= '' then
    before = seen(keys, times, key, epoch)
  end
  if before then
    published[i] = {before, epoch, ''}
  else
    if ARGV[8 + 4 * i] == '1' then
      redis.call('HSETNX', meta, 'producer', producer)
    end
    local seq = redis.call('HINCRBY', meta, 'seq', 1)
    local envelope = ARGV[6 + 4 * i] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '"' .. ARGV[7 + 4 * i]
    redis.call('XADD', log, 'MAXLEN', ARGV[4], seq .. '-1', 'e', envelope)
    redis.call('PEXPIRE', meta, ARGV[5])
    redis.call('PEXPIRE', log, ARGV[5])
    redis.call('PUBLISH', 'tickwire:events', envelope)
    if key ~= '' and cap > 0 then
      remember(keys, times, key, epoch, seq)
    end
    published[i] = {seq, epoch, envelope}
  end
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

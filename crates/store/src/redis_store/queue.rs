//! The job queue on Redis Streams: enqueue, dequeue, ack, retry, reclaim, depth, each through
//! the [`RedisQueue`] of one queue namespace.
//!
//! # Layout (see [`Keys`](crate::Keys))
//! One queue per queue namespace: the keys below are the default namespace's; any other has the
//! same keys under `q:<namespace>:` (`q:orders:queue:batch`, …). `Store::queue` creates the
//! namespace's lanes with their group (`INIT`), as `connect` does for the default one.
//! - `queue:interactive`, `queue:batch`: one stream per lane with the consumer group `workers`.
//!   An entry holds the job's fields `id`, `kind`, `payload` (raw bytes), `trace`, `attempt`
//!   and `enqueued`. Every script that may create a lane stream creates its group with it
//!   (`XGROUP CREATE … 0 MKSTREAM`), so a lane never exists without its group, not even after
//!   Redis lost its data and came back empty.
//! - `queue:delayed`: sorted set of jobs waiting for a retry (or enqueued with a delay), scored
//!   by due time (server-clock ms). A member is the job as a JSON object of strings with the
//!   payload in hex (Lua's JSON is not binary-safe) and a random nonce (so two equal jobs stay
//!   two members).
//!
//! # Delivery
//! `DEQUEUE` moves due delayed jobs to the end of their lane, then `XREADGROUP`s the
//! interactive lane and, for what is left of `max`, the batch lane: priority and the limit hold
//! across lanes in one atomic step. When both lanes are empty its reply also names the last id
//! each lane delivered and when the next delayed job falls due; a caller that may wait then
//! runs `XREAD BLOCK` after those ids (so an enqueue between the script and the wait still
//! wakes it) on a connection of its own ([`Waiters`](super::waiters::Waiters)), for no longer
//! than the next due time, and runs the script again.
//!
//! `ACK`, `RETRY` and the dead-letter script act only when their `XACK` acked (the job was
//! still pending): a worker that lost its job to `reclaim` and finishes late cannot schedule
//! it a second time. Acked entries are deleted, so a lane's length less its pending count is
//! the number of jobs waiting.
//!
//! Delivery is at least once: a worker that crashes between its work and its ack leaves the
//! job pending, `RECLAIM` (`XAUTOCLAIM`) hands it to another, and it runs again. The delivery
//! count `XAUTOCLAIM` keeps is added to the attempt, so a job that kills its worker every time
//! still runs out of attempts.
//!
//! # Clocks
//! Due times and idle times are the Redis server's clock; `enqueued_at_ms`, which only informs,
//! is the enqueuing process's.
//!
//! Needs Redis 6.2 or later (`XAUTOCLAIM`, exclusive ranges); the tests run on 7.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use tokio::time::Instant;

use super::entry::{decode, DelayedMember, Entry};
use super::RedisQueue;
use crate::stream_id::StreamId;
use crate::{unix_millis, Lane, NewJob, QueueDepth, QueuedJob, Result};

/// At most this many due delayed jobs are moved per `dequeue`, so one call never holds the
/// server for long; the rest follow on the next calls.
const MOVE_LIMIT: usize = 1000;

/// Lua: `ensure_group(stream)` creates a missing lane stream together with its consumer group
/// `workers` (the one group every worker of a queue namespace reads through).
pub(super) const ENSURE_GROUP: &str = r"
local function ensure_group(stream)
  if redis.call('EXISTS', stream) == 0 then
    redis.call('XGROUP', 'CREATE', stream, 'workers', '0', 'MKSTREAM')
  end
end
";

/// Lua: `now`, the server clock in ms.
const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// KEYS: lane. ARGV: id, kind, payload, trace, enqueued ms.
static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{ENSURE_GROUP}{}",
        r"
ensure_group(KEYS[1])
return redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'kind', ARGV[2], 'payload', ARGV[3],
  'trace', ARGV[4], 'attempt', '1', 'enqueued', ARGV[5])
",
    ))
});

/// KEYS: interactive, batch, delayed. ARGV: consumer, max, move limit.
/// Reply: {ms until the next delayed job is due or -1, jobs, last delivered id per lane}, where
/// a job is {lane, entry id, deliveries, fields} and the ids are given only when no job is.
static DEQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{ENSURE_GROUP}{NOW}{}",
        r"
ensure_group(KEYS[1])
ensure_group(KEYS[2])
local function from_hex(s)
  return (s:gsub('..', function(pair) return string.char(tonumber(pair, 16)) end))
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ARGV[3])) do
  local job = cjson.decode(member)
  local lane = job.lane == 'interactive' and KEYS[1] or KEYS[2]
  redis.call('XADD', lane, '*', 'id', job.id, 'kind', job.kind, 'payload', from_hex(job.payload),
    'trace', job.trace, 'attempt', job.attempt, 'enqueued', job.enqueued)
  redis.call('ZREM', KEYS[3], member)
end
local lanes = {'interactive', 'batch'}
local jobs = {}
local want = tonumber(ARGV[2])
for i = 1, 2 do
  if want > 0 then
    local reply = redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[1], 'COUNT', want,
      'STREAMS', KEYS[i], '>')
    if reply then
      for _, entry in ipairs(reply[1][2]) do
        jobs[#jobs + 1] = {lanes[i], entry[1], 1, entry[2]}
        want = want - 1
      end
    end
  end
end
local next_due = -1
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if first[2] then next_due = math.max(0, tonumber(first[2]) - now) end
local delivered = {}
if #jobs == 0 then
  for i = 1, 2 do
    delivered[i] = '0-0'
    for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[i])) do
      local fields = {}
      for j = 1, #group, 2 do fields[group[j]] = group[j + 1] end
      if fields.name == 'workers' then delivered[i] = fields['last-delivered-id'] end
    end
  end
end
return {next_due, jobs, delivered}
",
    ))
});

/// KEYS: lane. ARGV: entry id. Reply: 1 when acked, 0 when the entry was not pending.
static ACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
",
    )
});

/// KEYS: delayed. ARGV: delay ms, delayed member.
static SCHEDULE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])"
    ))
});

/// KEYS: lane, delayed. ARGV: entry id, delay ms, delayed member.
/// Reply: 1 when scheduled, 0 when the entry was not pending.
static RETRY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return 1
",
    ))
});

/// KEYS: interactive, batch. ARGV: consumer, min idle ms, max.
/// Reply: jobs as in `DEQUEUE`, with the delivery count of each.
static RECLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{ENSURE_GROUP}{}",
        r"
local lanes = {'interactive', 'batch'}
local jobs = {}
local want = tonumber(ARGV[3])
for i = 1, 2 do
  ensure_group(KEYS[i])
  local cursor = '0-0'
  repeat
    if want <= 0 then break end
    local reply = redis.call('XAUTOCLAIM', KEYS[i], 'workers', ARGV[1], ARGV[2], cursor,
      'COUNT', want)
    cursor = reply[1]
    for _, entry in ipairs(reply[2]) do
      -- Redis 6.2 answers nil for a pending entry that was deleted; 7 leaves it out.
      if entry then
        local pending = redis.call('XPENDING', KEYS[i], 'workers', entry[1], entry[1], 1)
        jobs[#jobs + 1] = {lanes[i], entry[1], pending[1][4], entry[2]}
        want = want - 1
      end
    end
  until cursor == '0-0'
end
return jobs
",
    ))
});

/// KEYS: interactive, batch, delayed, dead. Reply: {waiting interactive, waiting batch,
/// delayed, pending, dead, ms of the oldest waiting interactive entry, of the oldest waiting
/// batch entry (-1: none)}: the first entry after the group's last delivered id.
static DEPTH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{ENSURE_GROUP}{}",
        r"
ensure_group(KEYS[1])
ensure_group(KEYS[2])
local function oldest(key)
  local last = '0-0'
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    for i = 1, #group, 2 do
      if group[i] == 'name' and group[i + 1] ~= 'workers' then break end
      if group[i] == 'last-delivered-id' then last = group[i + 1] end
    end
  end
  local next = redis.call('XRANGE', key, '(' .. last, '+', 'COUNT', 1)
  if #next == 0 then return -1 end
  return tonumber(string.match(next[1][1], '^(%d+)'))
end
local pi = redis.call('XPENDING', KEYS[1], 'workers')[1]
local pb = redis.call('XPENDING', KEYS[2], 'workers')[1]
return {redis.call('XLEN', KEYS[1]) - pi, redis.call('XLEN', KEYS[2]) - pb,
  redis.call('ZCARD', KEYS[3]), pi + pb, redis.call('HLEN', KEYS[4]),
  oldest(KEYS[1]), oldest(KEYS[2])}
",
    ))
});

pub(super) async fn enqueue(queue: &RedisQueue, lane: Lane, job: &NewJob) -> Result<()> {
    let _: String = ENQUEUE
        .key(queue.keys.queue(lane))
        .arg(&job.id)
        .arg(&job.kind)
        .arg(&job.payload)
        .arg(&job.trace_id)
        .arg(unix_millis())
        .invoke_async(&mut queue.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn dequeue(
    queue: &RedisQueue,
    consumer: &str,
    max: usize,
    block: Duration,
) -> Result<Vec<QueuedJob>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let lanes = Lane::ALL.map(|lane| queue.keys.queue(lane));
    let deadline = Instant::now() + block;
    loop {
        let (next_due_ms, entries, delivered): (i64, Vec<Entry>, Vec<String>) = DEQUEUE
            .key(&lanes[0])
            .key(&lanes[1])
            .key(queue.keys.delayed())
            .arg(consumer)
            .arg(max)
            .arg(MOVE_LIMIT)
            .invoke_async(&mut queue.connection.clone())
            .await?;
        if !entries.is_empty() {
            return entries.into_iter().map(decode).collect();
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(Vec::new());
        }
        let wait = u64::try_from(next_due_ms)
            .map_or(remaining, |ms| remaining.min(Duration::from_millis(ms)));
        if !wait.is_zero() {
            queue
                .waiters
                .wait_for_entries(&lanes, &delivered, wait)
                .await?;
        }
    }
}

pub(super) async fn ack(queue: &RedisQueue, job: &QueuedJob) -> Result<()> {
    job.entry_id.parse::<StreamId>()?;
    let _: i64 = ACK
        .key(queue.keys.queue(job.lane))
        .arg(&job.entry_id)
        .invoke_async(&mut queue.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn enqueue_delayed(
    queue: &RedisQueue,
    lane: Lane,
    job: &NewJob,
    attempt: u32,
    delay: Duration,
) -> Result<()> {
    let member = DelayedMember {
        lane: lane.as_str(),
        id: &job.id,
        kind: &job.kind,
        payload: &job.payload,
        trace: &job.trace_id,
        attempt,
        enqueued_at_ms: unix_millis(),
    }
    .to_json();
    let _: i64 = SCHEDULE
        .key(queue.keys.delayed())
        .arg(delay_millis(delay))
        .arg(member)
        .invoke_async(&mut queue.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn retry_later(
    queue: &RedisQueue,
    job: &QueuedJob,
    delay: Duration,
) -> Result<()> {
    job.entry_id.parse::<StreamId>()?;
    let member = DelayedMember {
        lane: job.lane.as_str(),
        id: &job.id,
        kind: &job.kind,
        payload: &job.payload,
        trace: &job.trace_id,
        attempt: job.attempt.saturating_add(1),
        enqueued_at_ms: job.enqueued_at_ms,
    }
    .to_json();
    let _: i64 = RETRY
        .key(queue.keys.queue(job.lane))
        .key(queue.keys.delayed())
        .arg(&job.entry_id)
        .arg(delay_millis(delay))
        .arg(member)
        .invoke_async(&mut queue.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn reclaim(
    queue: &RedisQueue,
    consumer: &str,
    min_idle: Duration,
    max: usize,
) -> Result<Vec<QueuedJob>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let entries: Vec<Entry> = RECLAIM
        .key(queue.keys.queue(Lane::Interactive))
        .key(queue.keys.queue(Lane::Batch))
        .arg(consumer)
        .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
        .arg(max)
        .invoke_async(&mut queue.connection.clone())
        .await?;
    entries.into_iter().map(decode).collect()
}

pub(super) async fn queue_depth(queue: &RedisQueue) -> Result<QueueDepth> {
    let counts: [i64; 7] = DEPTH
        .key(queue.keys.queue(Lane::Interactive))
        .key(queue.keys.queue(Lane::Batch))
        .key(queue.keys.delayed())
        .key(queue.keys.dead())
        .invoke_async(&mut queue.connection.clone())
        .await?;
    let oldest = |ms: i64| (ms >= 0).then_some(ms);
    let (oldest_interactive_ms, oldest_batch_ms) = (oldest(counts[5]), oldest(counts[6]));
    let [interactive, batch, delayed, pending, dead, _, _] =
        counts.map(|count| u64::try_from(count).unwrap_or(0));
    Ok(QueueDepth {
        interactive,
        batch,
        delayed,
        pending,
        dead,
        oldest_interactive_ms,
        oldest_batch_ms,
    })
}

/// A delay in whole ms, as the scripts take it.
fn delay_millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

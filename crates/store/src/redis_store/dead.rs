//! Dead letters on Redis.
//!
//! Dead letters belong to a queue namespace (under `q:<namespace>:` but for the default one, see
//! [`Keys`](crate::Keys)), so they are read and written through its [`RedisQueue`].
//! `dead` is a hash job id → [`DeadLetter`] JSON; `dead:index` and `dead:kind:<kind>` are
//! sorted sets of job ids scored by failure time (ms), so a listing, of every kind or of one,
//! is one reverse range read and never scans the letters it skips. `DEAD_LETTER` acks the job,
//! deletes its entry and writes all three in one step (only while the job was pending);
//! `TAKE` removes all three and returns the letter, so of two callers only one gets it. The
//! index of a letter's kind is read from its stored JSON inside the scripts, hence not declared
//! in `KEYS`; it shares the connection's hash tag, hence the slot, of the declared keys.
//! `failed_at_ms` is the clock of the process that dead-lettered the job; letters that failed
//! in the same ms list in reverse id order.

use std::sync::LazyLock;

use redis::{AsyncCommands, Script};

use super::RedisQueue;
use crate::stream_id::StreamId;
use crate::{unix_millis, DeadLetter, DeadLetterQuery, Failure, QueuedJob, Result, StoreError};

/// KEYS: lane, dead, index, kind index. ARGV: entry id, job id, letter JSON, failed at ms,
/// kind index prefix. Reply: 1 when recorded, 0 when the entry was not pending.
static DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
local previous = redis.call('HGET', KEYS[2], ARGV[2])
if previous then redis.call('ZREM', ARGV[5] .. cjson.decode(previous).job.kind, ARGV[2]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
return 1
",
    )
});

/// KEYS: dead, index. ARGV: job id, kind index prefix. Reply: the letter JSON, or nil.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local letter = redis.call('HGET', KEYS[1], ARGV[1])
if not letter then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', ARGV[2] .. cjson.decode(letter).job.kind, ARGV[1])
return letter
",
    )
});

/// KEYS: index (of every kind or of one), dead. ARGV: min score, offset, limit.
/// Reply: the letters' JSON, newest first.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[1], 'LIMIT', ARGV[2], ARGV[3])
local letters = {}
for i, id in ipairs(ids) do letters[i] = redis.call('HGET', KEYS[2], id) end
return letters
",
    )
});

pub(super) async fn dead_letter(
    queue: &RedisQueue,
    job: &QueuedJob,
    failure: &Failure<'_>,
) -> Result<()> {
    job.entry_id.parse::<StreamId>()?;
    let letter = DeadLetter {
        job: job.clone(),
        error: failure.error.to_owned(),
        error_class: failure.class.to_owned(),
        error_code: failure.code.to_owned(),
        failed_at_ms: unix_millis(),
    };
    let json = serde_json::to_vec(&letter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let _: i64 = DEAD_LETTER
        .key(queue.keys.queue(job.lane))
        .key(queue.keys.dead())
        .key(queue.keys.dead_index())
        .key(queue.keys.dead_kind_index(&job.kind))
        .arg(&job.entry_id)
        .arg(&job.id)
        .arg(json)
        .arg(letter.failed_at_ms)
        .arg(queue.keys.dead_kind_index_prefix())
        .invoke_async(&mut queue.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn dead_letters(
    queue: &RedisQueue,
    query: &DeadLetterQuery,
) -> Result<Vec<DeadLetter>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let index = match &query.kind {
        Some(kind) => queue.keys.dead_kind_index(kind),
        None => queue.keys.dead_index(),
    };
    let letters: Vec<Option<Vec<u8>>> = LIST
        .key(index)
        .key(queue.keys.dead())
        .arg(
            query
                .since_ms
                .map_or_else(|| "-inf".to_owned(), |ms| ms.to_string()),
        )
        .arg(query.offset)
        .arg(query.limit)
        .invoke_async(&mut queue.connection.clone())
        .await?;
    // An id indexed without a letter cannot be written by the scripts; skip it if found.
    letters
        .into_iter()
        .flatten()
        .map(|json| parse(&json))
        .collect()
}

pub(super) async fn get_dead_letter(queue: &RedisQueue, id: &str) -> Result<Option<DeadLetter>> {
    let json: Option<Vec<u8>> = queue.connection.clone().hget(queue.keys.dead(), id).await?;
    json.as_deref().map(parse).transpose()
}

pub(super) async fn take_dead_letter(queue: &RedisQueue, id: &str) -> Result<Option<DeadLetter>> {
    let json: Option<Vec<u8>> = TAKE
        .key(queue.keys.dead())
        .key(queue.keys.dead_index())
        .arg(id)
        .arg(queue.keys.dead_kind_index_prefix())
        .invoke_async(&mut queue.connection.clone())
        .await?;
    json.as_deref().map(parse).transpose()
}

fn parse(json: &[u8]) -> Result<DeadLetter> {
    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(format!("dead letter: {e}")))
}

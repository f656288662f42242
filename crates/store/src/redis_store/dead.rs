//! Dead letters and the audit log on Redis.
//!
//! # Dead letters
//! Dead letters belong to a queue namespace (under `q:<namespace>:` but for the default one, see
//! [`Keys`](crate::Keys)); the audit log is the connection's, shared by every namespace.
//! `dead` is a hash job id → [`DeadLetter`] JSON; `dead:index` and `dead:kind:<kind>` are
//! sorted sets of job ids scored by failure time (ms), so a listing, of every kind or of one,
//! is one reverse range read and never scans the letters it skips. `DEAD_LETTER` acks the job,
//! deletes its entry and writes all three in one step (only while the job was pending);
//! `TAKE` removes all three and returns the letter, so of two callers only one gets it. The
//! index of a letter's kind is read from its stored JSON inside the scripts, hence not declared
//! in `KEYS`; it shares the connection's hash tag, hence the slot, of the declared keys.
//! `failed_at_ms` is the clock of the process that dead-lettered the job; letters that failed
//! in the same ms list in reverse id order.
//!
//! # Audit log
//! A stream, `XADD … MAXLEN ~ n`: Redis trims whole stream nodes (100 entries by default), so
//! it keeps at least the newest `n` entries and at most about a node more. Read with `XRANGE`
//! from an exclusive start id.

use std::sync::LazyLock;

use redis::{AsyncCommands, Script};

use super::RedisStore;
use crate::stream_id::StreamId;
use crate::{unix_millis, DeadLetter, DeadLetterQuery, QueuedJob, Result, StoreError};

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
    store: &RedisStore,
    job: &QueuedJob,
    error: &str,
    error_class: &str,
) -> Result<()> {
    job.entry_id.parse::<StreamId>()?;
    let letter = DeadLetter {
        job: job.clone(),
        error: error.to_owned(),
        error_class: error_class.to_owned(),
        failed_at_ms: unix_millis(),
    };
    let json = serde_json::to_vec(&letter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let _: i64 = DEAD_LETTER
        .key(store.keys.queue(job.lane))
        .key(store.keys.dead())
        .key(store.keys.dead_index())
        .key(store.keys.dead_kind_index(&job.kind))
        .arg(&job.entry_id)
        .arg(&job.id)
        .arg(json)
        .arg(letter.failed_at_ms)
        .arg(store.keys.dead_kind_index_prefix())
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn dead_letters(
    store: &RedisStore,
    query: &DeadLetterQuery,
) -> Result<Vec<DeadLetter>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let index = match &query.kind {
        Some(kind) => store.keys.dead_kind_index(kind),
        None => store.keys.dead_index(),
    };
    let letters: Vec<Option<Vec<u8>>> = LIST
        .key(index)
        .key(store.keys.dead())
        .arg(
            query
                .since_ms
                .map_or_else(|| "-inf".to_owned(), |ms| ms.to_string()),
        )
        .arg(query.offset)
        .arg(query.limit)
        .invoke_async(&mut store.connection.clone())
        .await?;
    // An id indexed without a letter cannot be written by the scripts; skip it if found.
    letters
        .into_iter()
        .flatten()
        .map(|json| parse(&json))
        .collect()
}

pub(super) async fn get_dead_letter(store: &RedisStore, id: &str) -> Result<Option<DeadLetter>> {
    let json: Option<Vec<u8>> = store.connection.clone().hget(store.keys.dead(), id).await?;
    json.as_deref().map(parse).transpose()
}

pub(super) async fn take_dead_letter(store: &RedisStore, id: &str) -> Result<Option<DeadLetter>> {
    let json: Option<Vec<u8>> = TAKE
        .key(store.keys.dead())
        .key(store.keys.dead_index())
        .arg(id)
        .arg(store.keys.dead_kind_index_prefix())
        .invoke_async(&mut store.connection.clone())
        .await?;
    json.as_deref().map(parse).transpose()
}

pub(super) async fn append_audit(store: &RedisStore, entry: &[u8], max_len: usize) -> Result<()> {
    let _: String = redis::cmd("XADD")
        .arg(store.keys.audit())
        .arg("MAXLEN")
        .arg("~")
        .arg(max_len)
        .arg("*")
        .arg("entry")
        .arg(entry)
        .query_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn audit(
    store: &RedisStore,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    let start = match after {
        Some(after) => format!("({}", after.parse::<StreamId>()?),
        None => "-".to_owned(),
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(store.keys.audit())
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(limit)
        .query_async(&mut store.connection.clone())
        .await?;
    entries
        .into_iter()
        .map(|(id, fields)| match <[Vec<u8>; 2]>::try_from(fields) {
            Ok([_, entry]) => Ok((id, entry)),
            Err(_) => Err(StoreError::Corrupt(format!("audit entry {id}"))),
        })
        .collect()
}

fn parse(json: &[u8]) -> Result<DeadLetter> {
    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(format!("dead letter: {e}")))
}

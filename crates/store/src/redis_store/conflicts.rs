//! The conflict log on Redis.
//!
//! `conflicts` is a hash id → [`Conflict`] JSON; `conflicts:all`, `conflicts:parked` and
//! `conflicts:resolved` are sorted sets of ids scored by detection time (ms), so a listing of
//! one state is one reverse range read. `RECORD` writes the hash and the indexes and trims the
//! log in one step: past `max_len` it drops the oldest *resolved* conflicts, never parked ones.
//! `RESOLVE` swaps in the resolved JSON only while the id is still parked, so of two callers
//! only one resolves it (the JSON is built by the caller from a read just before: the swap is
//! conditional on the parked set, not on that read, and both callers write a resolution).

use std::sync::LazyLock;

use redis::{AsyncCommands, Script};

use super::RedisStore;
use crate::{Conflict, ConflictQuery, ConflictResolution, ConflictState, Result, StoreError};

/// KEYS: conflicts, all, parked, resolved. ARGV: id, JSON, detected at ms, parked (1/0),
/// max len.
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
else
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[4], id)
  end
end
return 1
",
    )
});

/// KEYS: an index, conflicts. ARGV: offset, limit. Reply: the conflicts' JSON, newest first.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local last = tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1
local ids = redis.call('ZREVRANGE', KEYS[1], ARGV[1], last)
local found = {}
for i, id in ipairs(ids) do found[i] = redis.call('HGET', KEYS[2], id) end
return found
",
    )
});

/// KEYS: conflicts, parked, resolved. ARGV: id, resolved JSON, detected at ms.
/// Reply: 1 when resolved, 0 when the id was not parked.
static RESOLVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
",
    )
});

pub(super) async fn record(store: &RedisStore, conflict: &Conflict, max_len: usize) -> Result<()> {
    let json = to_json(conflict)?;
    let _: i64 = RECORD
        .key(store.keys.conflicts())
        .key(store.keys.conflict_index(None))
        .key(store.keys.conflict_index(Some(ConflictState::Parked)))
        .key(store.keys.conflict_index(Some(ConflictState::Resolved)))
        .arg(&conflict.id)
        .arg(json)
        .arg(conflict.detected_at_ms)
        .arg(u8::from(conflict.is_parked()))
        .arg(max_len)
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn count(store: &RedisStore, state: Option<ConflictState>) -> Result<u64> {
    Ok(store
        .connection
        .clone()
        .zcard(store.keys.conflict_index(state))
        .await?)
}

pub(super) async fn list(store: &RedisStore, query: &ConflictQuery) -> Result<Vec<Conflict>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let found: Vec<Option<Vec<u8>>> = LIST
        .key(store.keys.conflict_index(query.state))
        .key(store.keys.conflicts())
        .arg(query.offset)
        .arg(query.limit)
        .invoke_async(&mut store.connection.clone())
        .await?;
    found.into_iter().flatten().map(|j| parse(&j)).collect()
}

pub(super) async fn get(store: &RedisStore, id: &str) -> Result<Option<Conflict>> {
    let json: Option<Vec<u8>> = store
        .connection
        .clone()
        .hget(store.keys.conflicts(), id)
        .await?;
    json.as_deref().map(parse).transpose()
}

pub(super) async fn resolve(
    store: &RedisStore,
    id: &str,
    resolution: &ConflictResolution,
) -> Result<Option<Conflict>> {
    let Some(mut conflict) = get(store, id).await?.filter(Conflict::is_parked) else {
        return Ok(None);
    };
    conflict.resolution = Some(resolution.clone());
    let resolved: bool = RESOLVE
        .key(store.keys.conflicts())
        .key(store.keys.conflict_index(Some(ConflictState::Parked)))
        .key(store.keys.conflict_index(Some(ConflictState::Resolved)))
        .arg(id)
        .arg(to_json(&conflict)?)
        .arg(conflict.detected_at_ms)
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(resolved.then_some(conflict))
}

fn to_json(conflict: &Conflict) -> Result<Vec<u8>> {
    serde_json::to_vec(conflict).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse(json: &[u8]) -> Result<Conflict> {
    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(format!("conflict: {e}")))
}

//! The ID map on Redis: fenced link writes and lookups, one at a time or many at once.
//!
//! `link:sf:<kind>:<sf_id>` and `link:ns:<kind>:<ns_id>` both hold the whole [`Link`] as JSON,
//! so a lookup from either side is one `GET`, and a lookup of many ids of one side one `MGET`
//! (legal on a Cluster: every key shares the connection's hash tag).
//!
//! - `PUT_LINK`: refuses (replies 0, writes nothing) unless the lock holds the caller's token;
//!   otherwise deletes the reverse entry of any earlier link of either id, then writes both
//!   directions, so the map stays a bijection per kind, and keeps the kind's index
//!   (`link:index:<kind>`, the Salesforce ids, all scored 0) in step.
//! - `DELETE_LINK`: same fencing check, then deletes both directions and the index entry.
//! - A page of the whole map ([`page`]): `ZRANGE … BYLEX` on the index after the last id, then
//!   one `MGET` of the links (an id whose link vanished in between is left out).
//!
//! The reverse key of an earlier link is read from the stored JSON inside the script, so it is
//! not declared in `KEYS`; it shares the hash tag, hence the slot, of the declared keys.

use std::sync::LazyLock;

use redis::{AsyncCommands, Script};

use super::RedisStore;
use crate::{Lease, Link, Result, StoreError};

/// KEYS: lock, sf link, ns link, index. ARGV: token, link JSON, sf link prefix, ns link prefix,
/// sf id.
/// Reply: 1 when written, 0 when the fence is stale.
static PUT_LINK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local previous = redis.call('GET', KEYS[2])
if previous then
  local reverse = ARGV[4] .. cjson.decode(previous).netsuite_id
  if reverse ~= KEYS[3] then redis.call('DEL', reverse) end
end
previous = redis.call('GET', KEYS[3])
if previous then
  local other = cjson.decode(previous).salesforce_id
  local reverse = ARGV[3] .. other
  if reverse ~= KEYS[2] then
    redis.call('DEL', reverse)
    redis.call('ZREM', KEYS[4], other)
  end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[4], 0, ARGV[5])
return 1
",
    )
});

/// KEYS: lock, sf link, index. ARGV: token, ns link prefix, sf id.
/// Reply: 1 when done (also when there was no link), 0 when the fence is stale.
static DELETE_LINK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local previous = redis.call('GET', KEYS[2])
if previous then
  redis.call('DEL', KEYS[2], ARGV[2] .. cjson.decode(previous).netsuite_id)
end
redis.call('ZREM', KEYS[3], ARGV[3])
return 1
",
    )
});

/// The link stored under `key`.
pub(super) async fn get(store: &RedisStore, key: String) -> Result<Option<Link>> {
    let json: Option<Vec<u8>> = store.connection.clone().get(key).await?;
    json.as_deref().map(parse).transpose()
}

/// The links stored under `keys`, in order, in one `MGET` (no round trip when `keys` is empty).
pub(super) async fn get_many(store: &RedisStore, keys: Vec<String>) -> Result<Vec<Option<Link>>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(keys)
        .query_async(&mut store.connection.clone())
        .await?;
    found
        .iter()
        .map(|json| json.as_deref().map(parse).transpose())
        .collect()
}

/// Up to `limit` links of `kind` after the Salesforce id `after`, in id order: one
/// `ZRANGE BYLEX` and one `MGET`.
pub(super) async fn page(
    store: &RedisStore,
    kind: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Link>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg(store.keys.link_index(kind))
        .arg(start)
        .arg("+")
        .arg("BYLEX")
        .arg("LIMIT")
        .arg(0)
        .arg(limit)
        .query_async(&mut store.connection.clone())
        .await?;
    let keys = ids
        .iter()
        .map(|id| store.keys.salesforce_link(kind, id))
        .collect();
    Ok(get_many(store, keys).await?.into_iter().flatten().collect())
}

/// Indexes every `link:sf:<kind>:*` key: `SCAN` in batches, one `ZADD` per batch.
pub(super) async fn index(store: &RedisStore, kind: &str) -> Result<u64> {
    let prefix = store.keys.salesforce_link_prefix(kind);
    let pattern = format!("{prefix}*");
    let index_key = store.keys.link_index(kind);
    let mut connection = store.connection.clone();
    let mut cursor: u64 = 0;
    let mut found = 0;
    loop {
        let (next, keys) = connection.scan(cursor, &pattern, 1000).await?;
        let ids: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix))
            .collect();
        if !ids.is_empty() {
            let mut add = redis::cmd("ZADD");
            add.arg(&index_key);
            for id in &ids {
                add.arg(0).arg(*id);
            }
            let _: i64 = add.query_async(&mut connection).await?;
            found += ids.len() as u64;
        }
        if next == 0 {
            return Ok(found);
        }
        cursor = next;
    }
}

pub(super) async fn put(store: &RedisStore, link: &Link, lease: &Lease) -> Result<()> {
    let json = serde_json::to_vec(link).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let keys = &store.keys;
    let written: bool = PUT_LINK
        .key(keys.lock(&lease.resource))
        .key(keys.salesforce_link(&link.kind, &link.salesforce_id))
        .key(keys.netsuite_link(&link.kind, &link.netsuite_id))
        .key(keys.link_index(&link.kind))
        .arg(lease.token)
        .arg(json)
        .arg(keys.salesforce_link_prefix(&link.kind))
        .arg(keys.netsuite_link_prefix(&link.kind))
        .arg(&link.salesforce_id)
        .invoke_async(&mut store.connection.clone())
        .await?;
    fenced(written, lease)
}

pub(super) async fn delete(
    store: &RedisStore,
    kind: &str,
    salesforce_id: &str,
    lease: &Lease,
) -> Result<()> {
    let done: bool = DELETE_LINK
        .key(store.keys.lock(&lease.resource))
        .key(store.keys.salesforce_link(kind, salesforce_id))
        .key(store.keys.link_index(kind))
        .arg(lease.token)
        .arg(store.keys.netsuite_link_prefix(kind))
        .arg(salesforce_id)
        .invoke_async(&mut store.connection.clone())
        .await?;
    fenced(done, lease)
}

/// `Ok` when the script acted, [`StoreError::StaleFence`] when it refused `lease`.
fn fenced(acted: bool, lease: &Lease) -> Result<()> {
    if acted {
        Ok(())
    } else {
        Err(StoreError::StaleFence {
            resource: lease.resource.clone(),
            token: lease.token,
        })
    }
}

fn parse(json: &[u8]) -> Result<Link> {
    serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(format!("link: {e}")))
}

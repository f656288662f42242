//! [`RedisStore`]: the production [`Store`], one round trip per call.
//!
//! # Key layout
//! See [`Keys`]: every key of a connection is `isthmus:{<connection>}:…`, one Cluster slot.
//! - `link:sf:<kind>:<sf_id>` and `link:ns:<kind>:<ns_id>` both hold the whole [`Link`] as JSON,
//!   so a lookup from either side is one `GET`.
//! - `lock:<resource>` holds the decimal fencing token of the current lease, with the lease TTL.
//! - `fence` is the one counter every token of the connection is drawn from; it never expires,
//!   so tokens strictly increase across holders, resources and lock expiries. When it is missing
//!   (a new or restarted Redis without persistence) it is seeded from the server clock in
//!   microseconds, so tokens issued after a restart still exceed those issued before it.
//! - `idem:<key>` holds the stored answer bytes, with the record TTL.
//! - `sem:<name>` is a sorted set of slot ids scored by their expiry in server-clock ms.
//! - `status:<name>` holds a status value, with its TTL.
//! - `queue:*`, `dead*` and `audit`: the job queue, dead letters and audit log, described in
//!   [`queue`] and [`dead`].
//! - `conflicts*`: the conflict log, described in [`conflicts`].
//!
//! # Why Lua
//! Every check-then-write here (compare the token, then write) must be atomic, and every call
//! must cost one round trip. A script does both: it runs atomically on the server and is sent
//! as `EVALSHA` (the client loads it and retries on `NOSCRIPT`, e.g. after a server restart).
//!
//! # What each script guarantees
//! - `ACQUIRE`: when the lock is free, draws the next token (`INCR fence`, seeding the counter
//!   from `TIME` when absent) and sets the lock to it with the TTL; when held, changes nothing
//!   and replies nil.
//! - `RENEW` / `RELEASE`: extend / delete the lock only while it holds the caller's token.
//! - `PUT_LINK`: refuses (replies 0, writes nothing) unless the lock holds the caller's token;
//!   otherwise deletes the reverse entry of any earlier link of either id, then writes both
//!   directions, so the map stays a bijection per kind.
//! - `DELETE_LINK`: same fencing check, then deletes both directions.
//!
//! The reverse key of an earlier link is read from the stored JSON inside the script, so it is
//! not declared in `KEYS`; it shares the hash tag, hence the slot, of the declared keys.

mod conflicts;
mod dead;
mod entry;
mod queue;
mod waiters;

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use crate::{
    ttl_millis, Conflict, ConflictQuery, ConflictResolution, DeadLetter, DeadLetterQuery, Keys,
    Lane, Lease, Link, NewJob, QueueDepth, QueuedJob, Result, Store, StoreError,
};
use waiters::Waiters;

/// Lua that seeds the fence counter `KEYS[1]` from the server clock (µs) when it is missing.
const SEED_FENCE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[1], now[1] .. string.format('%06d', tonumber(now[2])))
end
";

/// KEYS: fence, interactive lane, batch lane. Seeds the counter at connect, so the first lock
/// adds no lasting key, and creates the lanes with their consumer group.
static INIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{SEED_FENCE}{}ensure_group(KEYS[2])\nensure_group(KEYS[3])\nreturn 1",
        queue::ENSURE_GROUP
    ))
});

/// KEYS: fence, lock. ARGV: ttl ms. Reply: the new token, or nil when the lock is held.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "if redis.call('EXISTS', KEYS[2]) == 1 then return false end{SEED_FENCE}{}",
        r"
local token = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], token, 'PX', ARGV[1])
return token
",
    ))
});

/// KEYS: lock. ARGV: token, ttl ms. Reply: 1 when extended, 0 when the lease was lost.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
",
    )
});

/// KEYS: lock. ARGV: token. Reply: 1 when released, 0 when the lease was not held.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
",
    )
});

/// KEYS: lock, sf link, ns link. ARGV: token, link JSON, sf link prefix, ns link prefix.
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
  local reverse = ARGV[3] .. cjson.decode(previous).salesforce_id
  if reverse ~= KEYS[2] then redis.call('DEL', reverse) end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[2])
return 1
",
    )
});

/// KEYS: lock, sf link. ARGV: token, ns link prefix.
/// Reply: 1 when done (also when there was no link), 0 when the fence is stale.
static DELETE_LINK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local previous = redis.call('GET', KEYS[2])
if previous then
  redis.call('DEL', KEYS[2], ARGV[2] .. cjson.decode(previous).netsuite_id)
end
return 1
",
    )
});

/// KEYS: semaphore. ARGV: limit, ttl ms, slot id. Reply: the slot id, or nil when full.
/// Expiry is judged by the server clock, so replicas with skewed clocks agree.
static ACQUIRE_SLOT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return false end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return ARGV[3]
",
    )
});

/// KEYS: semaphore. Reply: live slots.
static SLOTS_IN_USE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
",
    )
});

/// [`Store`] over a reconnecting Redis connection. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    keys: Keys,
    /// Connections of their own for `dequeue`'s blocking waits.
    waiters: Arc<Waiters>,
}

impl fmt::Debug for RedisStore {
    // The connection is left out: its URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://…` or `rediss://…`) for the connection name `connection`,
    /// whose keys it reads and writes. Reconnects by itself after a connection loss.
    pub async fn connect(url: &str, connection: &str) -> Result<Self> {
        let keys = Keys::new(connection)?;
        let client = redis::Client::open(url)?;
        let mut connection = ConnectionManager::new(client.clone()).await?;
        let _: i64 = INIT
            .key(keys.fence())
            .key(keys.queue(Lane::Interactive))
            .key(keys.queue(Lane::Batch))
            .invoke_async(&mut connection)
            .await?;
        Ok(Self {
            connection,
            keys,
            waiters: Arc::new(Waiters::new(client)),
        })
    }

    /// The key layout of this store's connection name.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    async fn get_link(&self, key: String) -> Result<Option<Link>> {
        let json: Option<Vec<u8>> = self.connection.clone().get(key).await?;
        json.map(|json| {
            serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("link: {e}")))
        })
        .transpose()
    }

    fn stale(lease: &Lease) -> StoreError {
        StoreError::StaleFence {
            resource: lease.resource.clone(),
            token: lease.token,
        }
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    async fn link_by_salesforce(&self, kind: &str, salesforce_id: &str) -> Result<Option<Link>> {
        self.get_link(self.keys.salesforce_link(kind, salesforce_id))
            .await
    }

    async fn link_by_netsuite(&self, kind: &str, netsuite_id: &str) -> Result<Option<Link>> {
        self.get_link(self.keys.netsuite_link(kind, netsuite_id))
            .await
    }

    async fn put_link(&self, link: &Link, lease: &Lease) -> Result<()> {
        let json = serde_json::to_vec(link).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let written: bool = PUT_LINK
            .key(self.keys.lock(&lease.resource))
            .key(self.keys.salesforce_link(&link.kind, &link.salesforce_id))
            .key(self.keys.netsuite_link(&link.kind, &link.netsuite_id))
            .arg(lease.token)
            .arg(json)
            .arg(self.keys.salesforce_link_prefix(&link.kind))
            .arg(self.keys.netsuite_link_prefix(&link.kind))
            .invoke_async(&mut self.connection.clone())
            .await?;
        if written {
            Ok(())
        } else {
            Err(Self::stale(lease))
        }
    }

    async fn delete_link(&self, kind: &str, salesforce_id: &str, lease: &Lease) -> Result<()> {
        let done: bool = DELETE_LINK
            .key(self.keys.lock(&lease.resource))
            .key(self.keys.salesforce_link(kind, salesforce_id))
            .arg(lease.token)
            .arg(self.keys.netsuite_link_prefix(kind))
            .invoke_async(&mut self.connection.clone())
            .await?;
        if done {
            Ok(())
        } else {
            Err(Self::stale(lease))
        }
    }

    async fn acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>> {
        let token: Option<u64> = ACQUIRE
            .key(self.keys.fence())
            .key(self.keys.lock(resource))
            .arg(ttl_millis(ttl))
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(token.map(|token| Lease {
            resource: resource.to_owned(),
            token,
        }))
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        Ok(RENEW
            .key(self.keys.lock(&lease.resource))
            .arg(lease.token)
            .arg(ttl_millis(ttl))
            .invoke_async(&mut self.connection.clone())
            .await?)
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        Ok(RELEASE
            .key(self.keys.lock(&lease.resource))
            .arg(lease.token)
            .invoke_async(&mut self.connection.clone())
            .await?)
    }

    async fn idempotency_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .connection
            .clone()
            .get(self.keys.idempotency(key))
            .await?)
    }

    async fn idempotency_put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.keys.idempotency(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(stored.is_some())
    }

    async fn acquire_slot(&self, name: &str, limit: u32, ttl: Duration) -> Result<Option<String>> {
        let slot = uuid::Uuid::new_v4().simple().to_string();
        Ok(ACQUIRE_SLOT
            .key(self.keys.semaphore(name))
            .arg(limit)
            .arg(ttl_millis(ttl))
            .arg(slot)
            .invoke_async(&mut self.connection.clone())
            .await?)
    }

    async fn release_slot(&self, name: &str, slot: &str) -> Result<()> {
        let _: i64 = self
            .connection
            .clone()
            .zrem(self.keys.semaphore(name), slot)
            .await?;
        Ok(())
    }

    async fn slots_in_use(&self, name: &str) -> Result<u32> {
        Ok(SLOTS_IN_USE
            .key(self.keys.semaphore(name))
            .invoke_async(&mut self.connection.clone())
            .await?)
    }

    async fn put_status(&self, name: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let _: () = self
            .connection
            .clone()
            .pset_ex(self.keys.status(name), value, ttl_millis(ttl))
            .await?;
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.connection.clone().get(self.keys.status(name)).await?)
    }

    async fn enqueue(&self, lane: Lane, job: &NewJob) -> Result<()> {
        queue::enqueue(self, lane, job).await
    }

    async fn enqueue_delayed(
        &self,
        lane: Lane,
        job: &NewJob,
        attempt: u32,
        delay: Duration,
    ) -> Result<()> {
        queue::enqueue_delayed(self, lane, job, attempt, delay).await
    }

    async fn dequeue(&self, consumer: &str, max: usize, block: Duration) -> Result<Vec<QueuedJob>> {
        queue::dequeue(self, consumer, max, block).await
    }

    async fn ack(&self, job: &QueuedJob) -> Result<()> {
        queue::ack(self, job).await
    }

    async fn retry_later(&self, job: &QueuedJob, delay: Duration) -> Result<()> {
        queue::retry_later(self, job, delay).await
    }

    async fn dead_letter(&self, job: &QueuedJob, error: &str, error_class: &str) -> Result<()> {
        dead::dead_letter(self, job, error, error_class).await
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedJob>> {
        queue::reclaim(self, consumer, min_idle, max).await
    }

    async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>> {
        dead::dead_letters(self, query).await
    }

    async fn get_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>> {
        dead::get_dead_letter(self, id).await
    }

    async fn take_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>> {
        dead::take_dead_letter(self, id).await
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        queue::queue_depth(self).await
    }

    async fn append_audit(&self, entry: &[u8], max_len: usize) -> Result<()> {
        dead::append_audit(self, entry, max_len).await
    }

    async fn audit(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        dead::audit(self, after, limit).await
    }

    async fn record_conflict(&self, conflict: &Conflict, max_len: usize) -> Result<()> {
        conflicts::record(self, conflict, max_len).await
    }

    async fn conflicts(&self, query: &ConflictQuery) -> Result<Vec<Conflict>> {
        conflicts::list(self, query).await
    }

    async fn get_conflict(&self, id: &str) -> Result<Option<Conflict>> {
        conflicts::get(self, id).await
    }

    async fn resolve_conflict(
        &self,
        id: &str,
        resolution: &ConflictResolution,
    ) -> Result<Option<Conflict>> {
        conflicts::resolve(self, id, resolution).await
    }
}

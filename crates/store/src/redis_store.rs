//! [`RedisStore`]: the production [`Store`], and [`RedisQueue`], the [`Queue`] of one queue
//! namespace it hands out; one round trip per call.
//!
//! # Key layout
//! See [`Keys`]: every key of a connection is `isthmus:{<connection>}:…`, one Cluster slot.
//! - `link:sf:<kind>:<sf_id>` and `link:ns:<kind>:<ns_id>`: the ID map, and `link:index:<kind>`
//!   its index by Salesforce id, described in [`links`].
//! - `lock:<resource>` holds the decimal fencing token of the current lease, with the lease TTL.
//! - `fence` is the one counter every token of the connection is drawn from; it never expires,
//!   so tokens strictly increase across holders, resources and lock expiries. When it is missing
//!   (a new or restarted Redis without persistence) it is seeded from the server clock in
//!   microseconds, so tokens issued after a restart still exceed those issued before it.
//! - `idem:<key>` holds the stored answer bytes, with the record TTL.
//! - `sem:<name>` is a sorted set of slot ids scored by their expiry in server-clock ms;
//!   `semq:<name>`, `semt:<name>` and `semw:<name>:<ticket>` queue its waiters, described in
//!   [`slots`].
//! - `status:<name>` holds a status value, with its TTL.
//! - `queue:*` and `dead*`: the job queue and its dead letters, described in [`queue`] and
//!   [`dead`]. The queue and dead-letter keys of a queue namespace other than the default sit
//!   under `q:<namespace>:` (see [`Keys`]).
//! - `audit`: the audit log, described in [`audit`].
//! - `conflicts*`: the conflict log, described in [`conflicts`].
//! - `audit:rec:<record>`: one record's audit history, described in [`audit`].
//! - `stats:*`: sync statistics, described in [`stats`].
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
//! - `PUT_LINK` / `DELETE_LINK`: fenced link writes, described in [`links`].
//!
//! # Queues
//! [`Store::queue`] makes a [`RedisQueue`] with the keys of the queue namespace: it shares the
//! store's connection and blocking-wait connections ([`Waiters`], which wait on whatever streams
//! they are given), and runs `INIT` for its own lanes so they exist with their group.

mod audit;
mod conflicts;
mod connection;
mod dead;
mod entry;
mod links;
mod purge;
mod queue;
mod slots;
mod stats;
mod waiters;

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use crate::{
    ttl_millis, AuditLog, Conflict, ConflictQuery, ConflictResolution, ConflictState, Conflicts,
    DeadLetter, DeadLetterQuery, Failure, IdMap, Idempotency, Keys, Lane, Lease, Link, Locks,
    NewJob, Queue, QueueDepth, QueuedJob, Result, SlotRequest, SlotTicket, Slots, StatsReport,
    StatusValues, Store, SyncSample, SyncStats,
};
#[cfg(feature = "testing")]
pub(crate) use connection::ensure_crypto_provider;
pub use connection::RedisTls;
use connection::{Connection, Connector};
use waiters::Waiters;

/// Lua that seeds the fence counter `KEYS[1]` from the server clock (µs) when it is missing.
const SEED_FENCE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[1], now[1] .. string.format('%06d', tonumber(now[2])))
end
";

/// KEYS: fence, interactive lane, batch lane. Seeds the counter at connect, so the first lock
/// adds no lasting key, and creates the lanes with their consumer group (at connect for the
/// default queue namespace, in `Store::queue` for any).
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

/// KEYS: status. ARGV: 1 when a value is expected (0: the key must be absent), the expected
/// value, the new value, ttl ms. Reply: 1 when set, 0 when the key held something else.
static SWAP_STATUS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
",
    )
});

/// [`Store`] over a reconnecting Redis connection. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    /// The keys of the connection name (queue keys of the default namespace, used only to
    /// create its lanes at connect).
    keys: Keys,
    /// Connections of their own for `dequeue`'s blocking waits, shared by every queue.
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
    /// Connects to `url` for the connection name `connection`, whose keys it reads and writes,
    /// with the system's TLS roots for a `rediss` URL. See [`Self::connect_with`].
    pub async fn connect(url: &str, connection: &str) -> Result<Self> {
        Self::connect_with(url, &RedisTls::default(), connection).await
    }

    /// Connects to `url` (one server, Sentinel or Cluster: see [`RedisTls`] and the URL forms
    /// in the `connection` module) with the TLS files `tls`, for the connection name
    /// `connection`. Reconnects by itself after a connection loss or a failover. Fails at once
    /// when the server cannot be reached or refuses the credentials.
    pub async fn connect_with(url: &str, tls: &RedisTls, connection: &str) -> Result<Self> {
        let keys = Keys::new(connection)?;
        let connector = Connector::new(url, tls)?;
        let store = Self {
            connection: connector.shared().await?,
            keys,
            waiters: Arc::new(Waiters::new(connector)),
        };
        init(&store.connection, &store.keys).await?;
        Ok(store)
    }

    /// The key layout of this store's connection name.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
}

/// Seeds the fence counter and creates the lanes of `keys`' queue namespace with their
/// consumer group.
async fn init(connection: &Connection, keys: &Keys) -> Result<()> {
    let _: i64 = INIT
        .key(keys.fence())
        .key(keys.queue(Lane::Interactive))
        .key(keys.queue(Lane::Batch))
        .invoke_async(&mut connection.clone())
        .await?;
    Ok(())
}

/// The [`Queue`] of one queue namespace on Redis: the store's connection with the namespace's
/// keys.
pub(crate) struct RedisQueue {
    connection: Connection,
    /// Keys of the connection name with the queue namespace; only the queue's keys are used.
    keys: Keys,
    waiters: Arc<Waiters>,
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    async fn queue(&self, namespace: &str) -> Result<Arc<dyn Queue>> {
        let queue = RedisQueue {
            connection: self.connection.clone(),
            keys: self.keys.with_queue(namespace)?,
            waiters: Arc::clone(&self.waiters),
        };
        init(&queue.connection, &queue.keys).await?;
        Ok(Arc::new(queue))
    }
}

#[async_trait]
impl IdMap for RedisStore {
    async fn link_by_salesforce(&self, kind: &str, salesforce_id: &str) -> Result<Option<Link>> {
        links::get(self, self.keys.salesforce_link(kind, salesforce_id)).await
    }

    async fn link_by_netsuite(&self, kind: &str, netsuite_id: &str) -> Result<Option<Link>> {
        links::get(self, self.keys.netsuite_link(kind, netsuite_id)).await
    }

    async fn links_by_salesforce_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<Link>>> {
        let keys = ids.iter().map(|id| self.keys.salesforce_link(kind, id));
        links::get_many(self, keys.collect()).await
    }

    async fn links_by_netsuite_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<Link>>> {
        let keys = ids.iter().map(|id| self.keys.netsuite_link(kind, id));
        links::get_many(self, keys.collect()).await
    }

    async fn links_page(&self, kind: &str, after: Option<&str>, limit: usize) -> Result<Vec<Link>> {
        links::page(self, kind, after, limit).await
    }

    async fn index_links(&self, kind: &str) -> Result<u64> {
        links::index(self, kind).await
    }

    async fn put_link(&self, link: &Link, lease: &Lease) -> Result<()> {
        links::put(self, link, lease).await
    }

    async fn delete_link(&self, kind: &str, salesforce_id: &str, lease: &Lease) -> Result<()> {
        links::delete(self, kind, salesforce_id, lease).await
    }
}

#[async_trait]
impl Locks for RedisStore {
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
}

#[async_trait]
impl Idempotency for RedisStore {
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
}

#[async_trait]
impl Slots for RedisStore {
    async fn acquire_slots(
        &self,
        name: &str,
        limit: u32,
        n: u32,
        ttl: Duration,
    ) -> Result<Option<Vec<String>>> {
        slots::acquire(self, name, limit, n, ttl).await
    }

    async fn release_slots(&self, name: &str, slots: &[String]) -> Result<()> {
        slots::release(self, name, slots).await
    }

    async fn slots_in_use(&self, name: &str) -> Result<u32> {
        slots::in_use(self, name).await
    }

    async fn queue_for_slot(
        &self,
        name: &str,
        limit: u32,
        ttl: Duration,
        patience: Duration,
    ) -> Result<SlotRequest> {
        slots::queue(self, name, limit, ttl, patience).await
    }

    async fn wait_for_slot(
        &self,
        name: &str,
        ticket: &SlotTicket,
        wait: Duration,
    ) -> Result<Option<String>> {
        slots::wait(self, name, ticket, wait).await
    }

    async fn leave_slot_queue(&self, name: &str, ticket: &SlotTicket) -> Result<()> {
        slots::leave(self, name, ticket).await
    }
}

#[async_trait]
impl StatusValues for RedisStore {
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

    async fn clear_status(&self, name: &str) -> Result<()> {
        let _: i64 = self.connection.clone().del(self.keys.status(name)).await?;
        Ok(())
    }

    async fn swap_status(
        &self,
        name: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool> {
        let swapped: i64 = SWAP_STATUS
            .key(self.keys.status(name))
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(value)
            .arg(ttl_millis(ttl))
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(swapped == 1)
    }
}

#[async_trait]
impl AuditLog for RedisStore {
    async fn append_audit(&self, entry: &[u8], max_len: usize, records: &[&str]) -> Result<()> {
        audit::append(self, entry, max_len, records).await
    }

    async fn audit(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        audit::read(self, after, limit).await
    }

    async fn record_audit(&self, record: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        audit::of_record(self, record, limit).await
    }

    async fn redact_audit(&self, values: &[String], replacement: &str) -> Result<u64> {
        audit::redact(self, values, replacement).await
    }
}

#[async_trait]
impl SyncStats for RedisStore {
    async fn record_sync(&self, sample: &SyncSample<'_>) -> Result<()> {
        stats::record_sync(self, sample).await
    }

    async fn record_allocation(&self, at_ms: i64, used: u64, max: u64) -> Result<()> {
        stats::record_allocation(self, at_ms, used, max).await
    }

    async fn sync_stats(&self, since_ms: i64) -> Result<StatsReport> {
        stats::report(self, since_ms).await
    }
}

#[async_trait]
impl Conflicts for RedisStore {
    async fn record_conflict(&self, conflict: &Conflict, max_len: usize) -> Result<()> {
        conflicts::record(self, conflict, max_len).await
    }

    async fn conflicts(&self, query: &ConflictQuery) -> Result<Vec<Conflict>> {
        conflicts::list(self, query).await
    }

    async fn conflict_count(&self, state: Option<ConflictState>) -> Result<u64> {
        conflicts::count(self, state).await
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

#[async_trait]
impl Queue for RedisQueue {
    fn namespace(&self) -> &str {
        self.keys.queue_namespace()
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

    async fn dead_letter(&self, job: &QueuedJob, failure: &Failure<'_>) -> Result<()> {
        dead::dead_letter(self, job, failure).await
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
}

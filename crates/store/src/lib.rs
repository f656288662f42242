//! `isthmus-store`: everything Isthmus keeps between requests, behind one trait with two
//! implementations: [`RedisStore`] (production and the tests) and [`MemoryStore`] (`isthmus dev`
//! without Redis). One test suite (`tests/store_contract.rs`) runs against both.
//!
//! What it holds, per connection name (a Redis hash tag, `isthmus:{prod}:…`, so every key of a
//! connection lands in one Cluster slot and multi-key scripts stay legal):
//! - **ID map** ([`Link`]): Salesforce id ↔ NetSuite internal id per object kind, both directions
//!   written together, with the content hash last synced from each side and source timestamps.
//! - **Locks with fencing** ([`Lease`]): `SET NX PX` with a token drawn from a per-resource counter;
//!   release and renewal compare the token first; a link write carrying a stale token is refused.
//! - **Idempotency records**: a stored answer per key, written once, kept for a TTL.
//! - **Semaphores** (API governance): at most `limit` slots of a name held at once across every
//!   replica; a slot whose holder died expires after its TTL.
//! - **Status values**: small operational facts shared by replicas (e.g. the Salesforce API
//!   allocation last seen, a backfill's progress), last writer wins.
//! - **Job queues** ([`QueuedJob`]): two priority lanes (interactive before batch), delivered at
//!   least once to competing consumers, retried later with a delay, reclaimed from crashed
//!   consumers, and dead-lettered ([`DeadLetter`]) after the last attempt (see [`queue`]). One
//!   queue per service, named by a queue namespace: [`Store::with_queue`] gives a view of the
//!   store on another service's queue that shares everything else.
//! - **Audit log**: an append-only log of opaque entries, capped at about a given length.
//! - **Conflicts** ([`Conflict`]): fields changed on both sides since the last sync, logged with
//!   both values and how they were resolved (bounded); parked ones wait for a person (see
//!   [`conflict`]).

pub mod conflict;
mod keys;
mod memory;
pub mod queue;
mod redis_store;
mod stream_id;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use conflict::{Conflict, ConflictQuery, ConflictResolution, ConflictState};
pub use keys::Keys;
pub use memory::MemoryStore;
pub use queue::{
    DeadLetter, DeadLetterQuery, Lane, NewJob, QueueDepth, QueuedJob, DEFAULT_QUEUE_NAMESPACE,
};
pub use redis_store::RedisStore;

/// One entry of the ID map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Object kind, e.g. "customer" (Account ↔ customer).
    pub kind: String,
    /// 18-character Salesforce id.
    pub salesforce_id: String,
    /// NetSuite internal id.
    pub netsuite_id: String,
    /// Content hash of the mapped record as last synced from/to Salesforce.
    pub salesforce_hash: String,
    /// Content hash of the mapped record as last synced from/to NetSuite.
    pub netsuite_hash: String,
    /// Salesforce `SystemModstamp` seen at the last sync (may be empty).
    pub salesforce_modstamp: String,
    /// NetSuite `lastModifiedDate` seen at the last sync (may be empty).
    pub netsuite_modstamp: String,
    /// When the link was last written, ms since the Unix epoch.
    pub synced_at_ms: i64,
    /// Canonical field values as last synced (the snapshot a conflict is judged against), by
    /// canonical field name. Empty on links written before snapshots existed.
    #[serde(default)]
    pub fields: BTreeMap<String, Option<String>>,
    /// Ids of the parked conflicts that hold this record: while any is left, syncs of the
    /// record write nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parked: Vec<String>,
}

/// A held lock. `token` is the fencing token: strictly increasing per resource, across holders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub resource: String,
    pub token: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The fencing token presented with a write is not the current holder's.
    #[error("lock on {resource} is no longer held by token {token}")]
    StaleFence { resource: String, token: u64 },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// A connection name must be non-empty `[A-Za-z0-9_-]` (it becomes a Redis hash tag).
    #[error("invalid connection name {0:?}: use letters, digits, '_' or '-'")]
    InvalidConnectionName(String),
    /// A queue namespace must be 1 to 32 characters of `[a-z0-9_-]` (see [`queue`]).
    #[error("invalid queue namespace {0:?}: use 1 to 32 of a-z, 0-9, '_' or '-'")]
    InvalidQueueNamespace(String),
    /// A stream entry id (a job's `entry_id`, an audit id) must read `<ms>-<seq>`.
    #[error("invalid stream entry id {0:?}: expected <ms>-<seq>")]
    InvalidStreamId(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A TTL as whole milliseconds, rounded up and at least 1 ms, so every backend expires at the
/// same instant (Redis refuses `PX 0`).
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    let millis = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Round trip to the backing server (readiness).
    async fn ping(&self) -> Result<()>;

    /// The link of a Salesforce record, by 18-character id.
    async fn link_by_salesforce(&self, kind: &str, salesforce_id: &str) -> Result<Option<Link>>;
    /// The link of a NetSuite record, by internal id.
    async fn link_by_netsuite(&self, kind: &str, netsuite_id: &str) -> Result<Option<Link>>;
    /// The links of many Salesforce records of `kind` at once (one round trip), in the order of
    /// `ids`, `None` where an id has no link of that kind. No round trip when `ids` is empty.
    async fn links_by_salesforce_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<Link>>>;
    /// The links of many NetSuite records of `kind` at once, as
    /// [`links_by_salesforce_many`](Store::links_by_salesforce_many).
    async fn links_by_netsuite_many(&self, kind: &str, ids: &[String])
        -> Result<Vec<Option<Link>>>;
    /// Up to `limit` links of `kind` in Salesforce-id order (bytewise), starting after the
    /// Salesforce id `after` (exclusive; `None`: from the first): a page of the whole map of one
    /// kind, for reconciliation. Pages stay consistent while links are written: each link alive
    /// for the whole walk is returned exactly once.
    async fn links_page(&self, kind: &str, after: Option<&str>, limit: usize) -> Result<Vec<Link>>;
    /// Puts every link of `kind` into the index [`links_page`](Store::links_page) walks, for
    /// links written before the index existed; returns how many it found. Idempotent, and safe
    /// beside link writes (a link deleted meanwhile may stay indexed: a page skips it). On
    /// Redis a `SCAN` of the kind's keys: run it once per kind, not per page.
    async fn index_links(&self, kind: &str) -> Result<u64>;
    /// Writes both directions of a link in one atomic step, replacing any earlier link of either
    /// id (a stale reverse entry is removed). Refused with [`StoreError::StaleFence`] unless
    /// `lease` is the current holder of its resource.
    async fn put_link(&self, link: &Link, lease: &Lease) -> Result<()>;
    /// Removes both directions of the link of a Salesforce record, under the same fencing rule.
    async fn delete_link(&self, kind: &str, salesforce_id: &str, lease: &Lease) -> Result<()>;

    /// Takes the lock on `resource` for `ttl`, or `None` when someone else holds it.
    async fn acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>>;
    /// Extends a held lease; `false` when the lease was lost (expired and maybe taken).
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool>;
    /// Releases the lock only if `lease` still holds it; `false` otherwise.
    async fn release(&self, lease: &Lease) -> Result<bool>;

    /// The stored answer for an idempotency key.
    async fn idempotency_get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores an answer unless one exists; `false` when the key was already taken.
    async fn idempotency_put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool>;

    /// Takes one of `limit` slots of the semaphore `name` for `ttl`, returning the slot id, or
    /// `None` when every slot is held. Expired slots (their holder died) are reclaimed first.
    async fn acquire_slot(&self, name: &str, limit: u32, ttl: Duration) -> Result<Option<String>>;
    /// Gives a slot back (no-op when it already expired).
    async fn release_slot(&self, name: &str, slot: &str) -> Result<()>;
    /// Slots of `name` held now (expired ones not counted).
    async fn slots_in_use(&self, name: &str) -> Result<u32>;

    /// Sets a status value (kept for `ttl`).
    async fn put_status(&self, name: &str, value: &[u8], ttl: Duration) -> Result<()>;
    /// A status value, when set and not expired.
    async fn status(&self, name: &str) -> Result<Option<Vec<u8>>>;

    /// The queue namespace this store's queue operations use: [`DEFAULT_QUEUE_NAMESPACE`]
    /// unless the store is a view made by [`with_queue`](Store::with_queue).
    fn queue_namespace(&self) -> &str;
    /// A view of this store on the queue of `namespace`: its queue operations (enqueue,
    /// dequeue, ack, retry, dead letters, reclaim, depth) act on that namespace's queue only,
    /// and every other operation is the original's (same links, locks, status values, audit,
    /// conflicts, idempotency records and semaphores). Views of one namespace share one queue,
    /// and `with_queue(DEFAULT_QUEUE_NAMESPACE)` is the queue of a store opened without one.
    /// Refused with [`StoreError::InvalidQueueNamespace`] unless `namespace` is 1 to 32
    /// characters of `[a-z0-9_-]`. On Redis, creates the namespace's lanes with their consumer
    /// group (one round trip).
    async fn with_queue(&self, namespace: &str) -> Result<Arc<dyn Store>>;

    /// Appends a job to `lane` (attempt 1).
    async fn enqueue(&self, lane: Lane, job: &NewJob) -> Result<()>;
    /// Schedules a job for `lane` after `delay`, to be delivered as attempt `attempt` (e.g. 2
    /// when a first attempt already ran inline and failed). Like a retry, it waits among the
    /// delayed jobs until due; a consumer already waiting sees it when its wait ends.
    async fn enqueue_delayed(
        &self,
        lane: Lane,
        job: &NewJob,
        attempt: u32,
        delay: Duration,
    ) -> Result<()>;
    /// Up to `max` jobs for `consumer`: first moves due delayed jobs back to their lane, then
    /// reads the interactive lane, then the batch lane; waits up to `block` when both are empty
    /// (waking as soon as a job is enqueued or a delayed job falls due). Delivered jobs stay
    /// pending until [`ack`](Store::ack), [`retry_later`](Store::retry_later) or
    /// [`dead_letter`](Store::dead_letter).
    async fn dequeue(&self, consumer: &str, max: usize, block: Duration) -> Result<Vec<QueuedJob>>;
    /// Marks a delivered job done and deletes it. A no-op when it is no longer pending.
    async fn ack(&self, job: &QueuedJob) -> Result<()>;
    /// Acks and schedules the job again after `delay` with attempt + 1 (a sorted set of due
    /// times). A no-op when the job is no longer pending (someone else finished it).
    async fn retry_later(&self, job: &QueuedJob, delay: Duration) -> Result<()>;
    /// Acks and records a dead letter under the job's id (kept until replayed or discarded;
    /// replaces an earlier one of the same id). A no-op when the job is no longer pending.
    async fn dead_letter(&self, job: &QueuedJob, error: &str, error_class: &str) -> Result<()>;
    /// Jobs pending on consumers idle longer than `min_idle` (a crashed worker), handed to
    /// `consumer` (interactive lane first), at most `max`; each counts as a new attempt.
    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedJob>>;
    /// Dead letters matching `query`, newest first.
    async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>>;
    /// The dead letter of job `id`.
    async fn get_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>>;
    /// Removes a dead letter and returns it (replay re-enqueues it with attempt reset; discard
    /// drops it). Only one caller gets it.
    async fn take_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>>;
    /// How many jobs are waiting, delayed, pending and dead.
    async fn queue_depth(&self) -> Result<QueueDepth>;

    /// Appends to the audit log (capped at about `max_len` entries: the oldest are dropped;
    /// Redis trims whole stream nodes, so a few more may stay).
    async fn append_audit(&self, entry: &[u8], max_len: usize) -> Result<()>;
    /// Audit entries after `after` (exclusive; `None`: from the oldest kept), oldest first, with
    /// their ids, at most `limit`.
    async fn audit(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>>;

    /// Records a conflict (parked when it has no resolution yet), replacing one of the same id.
    /// The log keeps about `max_len` conflicts: the oldest resolved ones are dropped first;
    /// parked ones are kept until resolved.
    async fn record_conflict(&self, conflict: &Conflict, max_len: usize) -> Result<()>;
    /// Conflicts matching `query`, newest (by detection time) first.
    async fn conflicts(&self, query: &ConflictQuery) -> Result<Vec<Conflict>>;
    /// The conflict `id`.
    async fn get_conflict(&self, id: &str) -> Result<Option<Conflict>>;
    /// Resolves a parked conflict: stores `resolution` on it and takes it out of the parked set,
    /// returning it as resolved. `None` when it is not parked (unknown, or already resolved):
    /// of two callers only one resolves it.
    async fn resolve_conflict(
        &self,
        id: &str,
        resolution: &ConflictResolution,
    ) -> Result<Option<Conflict>>;
}

/// Ms since the Unix epoch by this process's clock (for informational times: enqueued, failed).
pub(crate) fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_written_before_field_snapshots_still_loads() {
        let old = r#"{"kind":"customer","salesforce_id":"001A","netsuite_id":"42",
            "salesforce_hash":"a","netsuite_hash":"b","salesforce_modstamp":"",
            "netsuite_modstamp":"","synced_at_ms":1}"#;
        let link: Link = serde_json::from_str(old).unwrap();
        assert!(link.fields.is_empty() && link.parked.is_empty());
    }
}

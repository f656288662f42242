//! `isthmus-store`: everything Isthmus keeps between requests, behind small traits by concern,
//! each with two implementations: [`RedisStore`] (production and the tests) and [`MemoryStore`]
//! (`isthmus dev` without Redis). One test suite (`tests/store_contract/`) runs against both.
//!
//! A part asks for the concern it uses (an `Arc<dyn AuditLog>`, an `Arc<dyn Slots>`); [`Store`]
//! bundles every concern but the queue, for code that needs several (the flows), and an
//! `Arc<dyn Store>` upcasts to any one of them. The job queue is a type of its own:
//! [`Store::queue`] gives the [`Queue`] of a queue namespace. A queue is not a store, and a store
//! has no queue methods.
//!
//! What it holds, per connection name (a Redis hash tag, `isthmus:{prod}:…`, so every key of a
//! connection lands in one Cluster slot and multi-key scripts stay legal):
//! - **ID map** ([`IdMap`], [`Link`]): Salesforce id ↔ NetSuite internal id per object kind,
//!   both directions written together, with the content hash last synced from each side and
//!   source timestamps.
//! - **Locks with fencing** ([`Locks`], [`Lease`]): `SET NX PX` with a token drawn from a
//!   per-resource counter; release and renewal compare the token first; a link write carrying a
//!   stale token is refused.
//! - **Idempotency records** ([`Idempotency`]): a stored answer per key, written once, kept for
//!   a TTL.
//! - **Semaphores** ([`Slots`], API governance): at most `limit` slots of a name held at once
//!   across every replica; a slot whose holder died expires after its TTL. Waiters queue first
//!   come, first served across replicas ([`SlotTicket`]): a release hands the slot to the
//!   oldest live waiter, and a waiter that died is skipped (see [`Slots::queue_for_slot`]).
//! - **Status values** ([`StatusValues`]): small operational facts shared by replicas (e.g. the
//!   Salesforce API allocation last seen, a backfill's progress), last writer wins.
//! - **Job queues** ([`Queue`], [`QueuedJob`]): two priority lanes (interactive before batch),
//!   delivered at least once to competing consumers, retried later with a delay, reclaimed from
//!   crashed consumers, and dead-lettered ([`DeadLetter`]) after the last attempt (see
//!   [`queue`]). One queue per service, named by a queue namespace and obtained with
//!   [`Store::queue`]; every namespace shares everything else.
//! - **Audit log** ([`AuditLog`]): an append-only log of opaque entries, capped at about a given
//!   length.
//! - **Conflicts** ([`Conflicts`], [`Conflict`]): fields changed on both sides since the last
//!   sync, logged with both values and how they were resolved (bounded); parked ones wait for a
//!   person (see [`conflict`]).
//! - **Sync statistics** ([`SyncStats`]): finished syncs per flow, outcome and five minutes,
//!   with a latency histogram, each flow's last error and the Salesforce allocation seen (see
//!   [`stats`]).

pub mod conflict;
mod keys;
mod memory;
pub mod queue;
mod record_id;
mod redact;
mod redis_store;
pub mod stats;
mod stream_id;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use conflict::{Conflict, ConflictQuery, ConflictResolution, ConflictState, Conflicts};
pub use keys::Keys;
pub use memory::MemoryStore;
pub use queue::{
    DeadLetter, DeadLetterQuery, Failure, Lane, NewJob, Queue, QueueDepth, QueuedJob,
    DEFAULT_QUEUE_NAMESPACE,
};
pub use record_id::{RecordId, RecordIdError};
pub use redis_store::{RedisStore, RedisTls};
pub use stats::{
    AllocationSample, LastError, StatsBucket, StatsReport, SyncSample, SyncStats,
    LATENCY_BOUNDS_MS, STATS_BUCKET_MS,
};

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
    /// The Redis URL or TLS files cannot be used (the message never repeats the URL).
    #[error("invalid Redis target: {0}")]
    InvalidRedisTarget(String),
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

/// The ID map: which Salesforce record is which NetSuite record, per object kind (see [`Link`]).
/// Writes are fenced: they carry the [`Lease`] of the record's lock (see [`Locks`]).
#[async_trait]
pub trait IdMap: Send + Sync + 'static {
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
    /// [`links_by_salesforce_many`](IdMap::links_by_salesforce_many).
    async fn links_by_netsuite_many(&self, kind: &str, ids: &[String])
        -> Result<Vec<Option<Link>>>;
    /// Up to `limit` links of `kind` in Salesforce-id order (bytewise), starting after the
    /// Salesforce id `after` (exclusive; `None`: from the first): a page of the whole map of one
    /// kind, for reconciliation. Pages stay consistent while links are written: each link alive
    /// for the whole walk is returned exactly once.
    async fn links_page(&self, kind: &str, after: Option<&str>, limit: usize) -> Result<Vec<Link>>;
    /// Puts every link of `kind` into the index [`links_page`](IdMap::links_page) walks, for
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
}

/// Locks with fencing tokens: at most one holder of a resource at a time, and a token that
/// strictly increases across holders, so a write carrying a stale one can be refused.
#[async_trait]
pub trait Locks: Send + Sync + 'static {
    /// Takes the lock on `resource` for `ttl`, or `None` when someone else holds it.
    async fn acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>>;
    /// Extends a held lease; `false` when the lease was lost (expired and maybe taken).
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool>;
    /// Releases the lock only if `lease` still holds it; `false` otherwise.
    async fn release(&self, lease: &Lease) -> Result<bool>;
}

/// Idempotency records: the answer stored for a key, written once, kept for a TTL.
#[async_trait]
pub trait Idempotency: Send + Sync + 'static {
    /// The stored answer for an idempotency key.
    async fn idempotency_get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores an answer unless one exists; `false` when the key was already taken.
    async fn idempotency_put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool>;
}

/// A waiter's place in the queue of a semaphore, from [`Slots::queue_for_slot`]. It carries
/// what the waiter asked for, so a place lost to a slow heartbeat is taken back where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotTicket {
    /// The ticket id, which becomes the slot id when the slot is handed over.
    id: String,
    /// The place in the queue (smaller is served first).
    place: u64,
    limit: u32,
    ttl: Duration,
    patience: Duration,
}

impl SlotTicket {
    pub(crate) fn new(
        id: String,
        place: u64,
        limit: u32,
        ttl: Duration,
        patience: Duration,
    ) -> Self {
        Self {
            id,
            place,
            limit,
            ttl,
            patience,
        }
    }

    /// The ticket id (and the id of the slot it is handed).
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What [`Slots::queue_for_slot`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotRequest {
    /// A slot was free and nobody was waiting for it: it is held now (its id).
    Held(String),
    /// Every slot is held, or others came first: the caller's place in the queue.
    Queued(SlotTicket),
}

/// Counting semaphores shared by every replica (API governance): at most `limit` slots of a
/// name held at once; a slot whose holder died expires after its TTL.
///
/// Two ways in. [`acquire_slots`](Slots::acquire_slots) takes slots now or not at all (a
/// Salesforce budget charge). [`queue_for_slot`](Slots::queue_for_slot) and
/// [`wait_for_slot`](Slots::wait_for_slot) wait first come, first served across every handle
/// and replica: a waiter takes a ticket, and whenever a slot frees (a release, a holder's lease
/// running out, a larger `limit`) the store hands it to the oldest live ticket and wakes that
/// waiter alone, so nobody polls. A waiter proves it is alive by waiting again within its
/// `patience`; a ticket past that deadline is skipped, and a slot handed to a waiter that then
/// died is only lent for `patience` until [`wait_for_slot`](Slots::wait_for_slot) claims it
/// for its `ttl`. Nobody jumps the queue: `acquire_slots` takes nothing while a live waiter
/// is still queued.
#[async_trait]
pub trait Slots: Send + Sync + 'static {
    /// Takes one of `limit` slots of the semaphore `name` for `ttl`, returning the slot id, or
    /// `None` when every slot is held. Expired slots (their holder died) are reclaimed first.
    async fn acquire_slot(&self, name: &str, limit: u32, ttl: Duration) -> Result<Option<String>> {
        Ok(self
            .acquire_slots(name, limit, 1, ttl)
            .await?
            .and_then(|mut slots| slots.pop()))
    }
    /// Takes `n` of `limit` slots of the semaphore `name` at once, for `ttl`: all of them (their
    /// ids) or none (`None`, when fewer than `n` are free), in one step of the store, so a charge
    /// of many units costs one round trip and two takers never split the last slots.
    async fn acquire_slots(
        &self,
        name: &str,
        limit: u32,
        n: u32,
        ttl: Duration,
    ) -> Result<Option<Vec<String>>>;
    /// Gives a slot back (no-op when it already expired).
    async fn release_slot(&self, name: &str, slot: &str) -> Result<()> {
        self.release_slots(name, &[slot.to_owned()]).await
    }
    /// Gives slots back in one step (those already expired are skipped).
    async fn release_slots(&self, name: &str, slots: &[String]) -> Result<()>;
    /// Slots of `name` held now (expired ones not counted). A slot handed to a waiter counts
    /// from the handover.
    async fn slots_in_use(&self, name: &str) -> Result<u32>;

    /// Takes one of `limit` slots of `name` for `ttl` when one is free and nobody waits for
    /// it ([`SlotRequest::Held`]); else takes a place at the back of the queue
    /// ([`SlotRequest::Queued`]), kept for `patience` unless the waiter waits again. One step
    /// of the store; waiters queued earlier are served first if a slot freed meanwhile.
    async fn queue_for_slot(
        &self,
        name: &str,
        limit: u32,
        ttl: Duration,
        patience: Duration,
    ) -> Result<SlotRequest>;

    /// Waits up to `wait` (keep it well under the ticket's `patience`) for the slot to be
    /// handed to `ticket`: then claims it for the ticket's `ttl` and returns its id. `None`
    /// when `wait` passed first: the ticket keeps its place, alive for another `patience`
    /// (a place already skipped as dead is taken back where it was). Call again until a slot
    /// comes, or [`leave_slot_queue`](Slots::leave_slot_queue).
    async fn wait_for_slot(
        &self,
        name: &str,
        ticket: &SlotTicket,
        wait: Duration,
    ) -> Result<Option<String>>;

    /// Gives up a place in the queue; a slot already handed to the ticket (not yet claimed)
    /// goes on to the next waiter.
    async fn leave_slot_queue(&self, name: &str, ticket: &SlotTicket) -> Result<()>;
}

/// Status values: small named facts shared by replicas (job records, cursors, the Salesforce
/// allocation last seen, a backfill's progress), each kept for a TTL, last writer wins.
#[async_trait]
pub trait StatusValues: Send + Sync + 'static {
    /// Sets a status value (kept for `ttl`).
    async fn put_status(&self, name: &str, value: &[u8], ttl: Duration) -> Result<()>;
    /// A status value, when set and not expired.
    async fn status(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Removes a status value before its TTL (no-op when unset), for a fact that has become
    /// untrue (an order's write intent once its link is recorded).
    async fn clear_status(&self, name: &str) -> Result<()>;
    /// Sets a status value (kept for `ttl`) only while it still holds `expected` (`None`: while
    /// it is unset or expired), in one step of the store; `false` when another writer got there
    /// first and nothing was written. Shared values that many replicas update (the adaptive
    /// NetSuite limit) go through it, so one change is never applied twice.
    async fn swap_status(
        &self,
        name: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool>;
}

/// The audit log: an append-only log of opaque entries under increasing `<ms>-<seq>` ids,
/// capped at about a given length.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Appends to the audit log (capped at about `max_len` entries: the oldest are dropped;
    /// Redis trims whole stream nodes, so a few more may stay), and to the history of each of
    /// `records` (keys such as `sf:<id>`: the newest [`RECORD_AUDIT_LEN`] entries of a record,
    /// kept [`RECORD_AUDIT_TTL`] after its last one).
    async fn append_audit(&self, entry: &[u8], max_len: usize, records: &[&str]) -> Result<()>;
    /// Audit entries after `after` (exclusive; `None`: from the oldest kept), oldest first, with
    /// their ids, at most `limit`.
    async fn audit(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>>;
    /// The entries appended under `record`, newest first, with their ids, at most `limit`.
    async fn record_audit(&self, record: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>>;
    /// Erasure of a person: replaces every occurrence of each of `values` (as the entries hold
    /// them, e.g. JSON-escaped) with `replacement` in the audit log, in every record history,
    /// and in every status value and idempotency answer (job records and replayed answers hold
    /// sync results, whose changes name people). Entries keep their ids and their order, values
    /// their TTLs; an empty value is skipped. Returns how many entries and values (log,
    /// histories and values counted apart) changed.
    async fn redact_audit(&self, values: &[String], replacement: &str) -> Result<u64>;
}

/// How many audit entries the history of one record keeps (its newest).
pub const RECORD_AUDIT_LEN: usize = 100;
/// How long the history of one record is kept after its last entry.
pub const RECORD_AUDIT_TTL: Duration = Duration::from_secs(90 * 86_400);

/// Everything a connection name holds but the job queues, for code that needs several concerns
/// (the flows); code that needs one asks for that one (an `Arc<dyn Store>` upcasts to
/// `Arc<dyn AuditLog>`). The job queue of a namespace is another object, from
/// [`queue`](Store::queue).
#[async_trait]
pub trait Store:
    IdMap + Locks + Idempotency + Slots + StatusValues + AuditLog + Conflicts + SyncStats
{
    /// Round trip to the backing server (readiness).
    async fn ping(&self) -> Result<()>;

    /// The job queue of `namespace` (see [`queue`]): its jobs, delayed jobs, pending jobs and
    /// dead letters are its own, while everything else a connection name holds is shared by
    /// every namespace. Queues of one namespace are one queue, and
    /// `queue(DEFAULT_QUEUE_NAMESPACE)` is the queue the store had before namespaces existed.
    /// Refused with [`StoreError::InvalidQueueNamespace`] unless `namespace` is 1 to 32
    /// characters of `[a-z0-9_-]`. On Redis, creates the namespace's lanes with their consumer
    /// group (one round trip).
    async fn queue(&self, namespace: &str) -> Result<Arc<dyn Queue>>;
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

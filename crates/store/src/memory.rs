//! [`MemoryStore`]: the [`Store`] of `isthmus dev` without Redis, and the reference the
//! contract tests hold [`RedisStore`](crate::RedisStore) to; its queues are [`MemoryQueue`]s.
//!
//! Same semantics as Redis: every call is atomic (one mutex, never held across an `.await`),
//! TTLs are whole milliseconds measured on [`tokio::time::Instant`] (so tests can use
//! `tokio::time::pause()`), fencing tokens come from one counter that outlives the locks.
//! State lives in the process: one instance and its queues are one connection name, nothing is
//! shared between replicas and nothing survives a restart. The job queues live in [`queue`], the
//! audit log in [`audit`], the conflict log in [`conflicts`]. Consumers are not recorded:
//! whoever holds a delivered job may ack it, as in Redis.
//!
//! [`Store::queue`] hands out the [`MemoryQueue`] of a namespace, made on first use and kept in
//! the store, so every call for one namespace gets the same queue.

mod audit;
mod conflicts;
mod queue;
mod slots;
#[cfg(feature = "testing")]
mod snapshot;
mod stats;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::queue::check_queue_namespace;
use crate::{
    ttl_millis, unix_millis, AuditLog, Conflict, ConflictQuery, ConflictResolution, ConflictState,
    Conflicts, IdMap, Idempotency, Lease, Link, Locks, Queue, Result, SlotRequest, SlotTicket,
    Slots, StatsReport, StatusValues, Store, StoreError, SyncSample, SyncStats,
};
use audit::MemoryAudit;
use conflicts::MemoryConflicts;
use queue::MemoryQueue;
use slots::Semaphore;
use stats::MemoryStats;

/// In-process [`Store`]; share one through an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    audit: MemoryAudit,
    conflicts: MemoryConflicts,
    stats: MemoryStats,
    /// The queue of each namespace used so far.
    queues: Mutex<HashMap<String, Arc<MemoryQueue>>>,
}

/// Wall-clock ms that advance with tokio time: the system clock read once at creation plus the
/// tokio time elapsed since.
#[derive(Debug)]
struct WallClock {
    epoch_ms_at_start: i64,
    start: Instant,
}

impl Default for WallClock {
    fn default() -> Self {
        Self {
            epoch_ms_at_start: unix_millis(),
            start: Instant::now(),
        }
    }
}

impl WallClock {
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.epoch_ms_at_start.saturating_add(elapsed)
    }
}

#[derive(Debug, Default)]
struct State {
    /// (kind, Salesforce id) → link.
    by_salesforce: HashMap<(String, String), Link>,
    /// (kind, NetSuite id) → Salesforce id of the link.
    by_netsuite: HashMap<(String, String), String>,
    /// resource → current lease.
    locks: HashMap<String, Expiring<u64>>,
    /// The last token handed out (one counter for every resource, as in Redis).
    fence: u64,
    idempotency: HashMap<String, Expiring<Vec<u8>>>,
    /// semaphore name → its held slots and waiters.
    semaphores: HashMap<String, Semaphore>,
    statuses: HashMap<String, Expiring<Vec<u8>>>,
}

#[derive(Debug)]
struct Expiring<T> {
    value: T,
    expires_at: Instant,
}

impl<T> Expiring<T> {
    fn new(value: T, ttl: Duration) -> Self {
        Self {
            value,
            expires_at: deadline(ttl),
        }
    }

    fn is_live(&self) -> bool {
        Instant::now() < self.expires_at
    }
}

fn deadline(ttl: Duration) -> Instant {
    Instant::now() + Duration::from_millis(ttl_millis(ttl))
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the maps consistent, so a panic elsewhere cannot
        // have left half a write behind.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn holds(&self, lease: &Lease) -> bool {
        self.locks
            .get(&lease.resource)
            .is_some_and(|held| held.is_live() && held.value == lease.token)
    }

    fn check_fence(&self, lease: &Lease) -> Result<()> {
        if self.holds(lease) {
            Ok(())
        } else {
            Err(StoreError::StaleFence {
                resource: lease.resource.clone(),
                token: lease.token,
            })
        }
    }

    fn link_by_salesforce(&self, kind: &str, salesforce_id: &str) -> Option<Link> {
        let key = (kind.to_owned(), salesforce_id.to_owned());
        self.by_salesforce.get(&key).cloned()
    }

    fn link_by_netsuite(&self, kind: &str, netsuite_id: &str) -> Option<Link> {
        let key = (kind.to_owned(), netsuite_id.to_owned());
        let salesforce_id = self.by_netsuite.get(&key)?;
        self.link_by_salesforce(kind, salesforce_id)
    }

    fn remove_link(&mut self, kind: &str, salesforce_id: &str) {
        let key = (kind.to_owned(), salesforce_id.to_owned());
        if let Some(link) = self.by_salesforce.remove(&key) {
            self.by_netsuite.remove(&(link.kind, link.netsuite_id));
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn queue(&self, namespace: &str) -> Result<Arc<dyn Queue>> {
        check_queue_namespace(namespace)?;
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queues
            .entry(namespace.to_owned())
            .or_insert_with(|| Arc::new(MemoryQueue::new(namespace)));
        Ok(Arc::clone(queue) as Arc<dyn Queue>)
    }
}

#[async_trait]
impl IdMap for MemoryStore {
    async fn link_by_salesforce(&self, kind: &str, salesforce_id: &str) -> Result<Option<Link>> {
        Ok(self.state().link_by_salesforce(kind, salesforce_id))
    }

    async fn link_by_netsuite(&self, kind: &str, netsuite_id: &str) -> Result<Option<Link>> {
        Ok(self.state().link_by_netsuite(kind, netsuite_id))
    }

    async fn links_by_salesforce_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<Link>>> {
        let state = self.state();
        Ok(ids
            .iter()
            .map(|id| state.link_by_salesforce(kind, id))
            .collect())
    }

    async fn links_by_netsuite_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<Link>>> {
        let state = self.state();
        Ok(ids
            .iter()
            .map(|id| state.link_by_netsuite(kind, id))
            .collect())
    }

    async fn links_page(&self, kind: &str, after: Option<&str>, limit: usize) -> Result<Vec<Link>> {
        let state = self.state();
        let mut page: Vec<&Link> = state
            .by_salesforce
            .values()
            .filter(|link| link.kind == kind)
            .filter(|link| after.is_none_or(|after| link.salesforce_id.as_str() > after))
            .collect();
        page.sort_by(|a, b| a.salesforce_id.cmp(&b.salesforce_id));
        Ok(page.into_iter().take(limit).cloned().collect())
    }

    async fn index_links(&self, kind: &str) -> Result<u64> {
        // The in-memory map is its own index.
        let state = self.state();
        Ok(state
            .by_salesforce
            .keys()
            .filter(|(k, _)| k == kind)
            .count() as u64)
    }

    async fn put_link(&self, link: &Link, lease: &Lease) -> Result<()> {
        let mut state = self.state();
        state.check_fence(lease)?;
        state.remove_link(&link.kind, &link.salesforce_id);
        let netsuite_key = (link.kind.clone(), link.netsuite_id.clone());
        if let Some(previous) = state.by_netsuite.get(&netsuite_key).cloned() {
            state.remove_link(&link.kind, &previous);
        }
        state
            .by_netsuite
            .insert(netsuite_key, link.salesforce_id.clone());
        state.by_salesforce.insert(
            (link.kind.clone(), link.salesforce_id.clone()),
            link.clone(),
        );
        Ok(())
    }

    async fn delete_link(&self, kind: &str, salesforce_id: &str, lease: &Lease) -> Result<()> {
        let mut state = self.state();
        state.check_fence(lease)?;
        state.remove_link(kind, salesforce_id);
        Ok(())
    }
}

#[async_trait]
impl Locks for MemoryStore {
    async fn acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>> {
        let mut state = self.state();
        if state.locks.get(resource).is_some_and(Expiring::is_live) {
            return Ok(None);
        }
        state.fence += 1;
        let token = state.fence;
        state
            .locks
            .insert(resource.to_owned(), Expiring::new(token, ttl));
        Ok(Some(Lease {
            resource: resource.to_owned(),
            token,
        }))
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let mut state = self.state();
        match state.locks.get_mut(&lease.resource) {
            Some(held) if held.is_live() && held.value == lease.token => {
                held.expires_at = deadline(ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        let mut state = self.state();
        if !state.holds(lease) {
            return Ok(false);
        }
        state.locks.remove(&lease.resource);
        Ok(true)
    }
}

#[async_trait]
impl Idempotency for MemoryStore {
    async fn idempotency_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .state()
            .idempotency
            .get(key)
            .filter(|record| record.is_live())
            .map(|record| record.value.clone()))
    }

    async fn idempotency_put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let mut state = self.state();
        // Expired records are dropped here, so the map holds only live answers (plus, between
        // two puts, the ones that expired since).
        state.idempotency.retain(|_, record| record.is_live());
        if state.idempotency.contains_key(key) {
            return Ok(false);
        }
        state
            .idempotency
            .insert(key.to_owned(), Expiring::new(value.to_vec(), ttl));
        Ok(true)
    }
}

impl MemoryStore {
    /// Runs `step` on the semaphore `name` (made empty on first use), under the store's lock.
    fn semaphore<T>(&self, name: &str, step: impl FnOnce(&mut Semaphore) -> T) -> T {
        step(self.state().semaphores.entry(name.to_owned()).or_default())
    }
}

#[async_trait]
impl Slots for MemoryStore {
    async fn acquire_slots(
        &self,
        name: &str,
        limit: u32,
        n: u32,
        ttl: Duration,
    ) -> Result<Option<Vec<String>>> {
        Ok(self.semaphore(name, |semaphore| {
            semaphore.promote();
            if semaphore.has_waiters() || semaphore.held.len() + n as usize > limit as usize {
                return None;
            }
            let taken: Vec<String> = (0..n)
                .map(|_| uuid::Uuid::new_v4().simple().to_string())
                .collect();
            for slot in &taken {
                semaphore.held.insert(slot.clone(), deadline(ttl));
            }
            Some(taken)
        }))
    }

    async fn release_slots(&self, name: &str, slots: &[String]) -> Result<()> {
        self.semaphore(name, |semaphore| semaphore.release(slots));
        Ok(())
    }

    async fn slots_in_use(&self, name: &str) -> Result<u32> {
        let live = self.semaphore(name, |semaphore| semaphore.live_slots(Instant::now()));
        Ok(u32::try_from(live).unwrap_or(u32::MAX))
    }

    async fn queue_for_slot(
        &self,
        name: &str,
        limit: u32,
        ttl: Duration,
        patience: Duration,
    ) -> Result<SlotRequest> {
        Ok(self.semaphore(name, |semaphore| {
            semaphore.queue_for_slot(limit, ttl, patience)
        }))
    }

    async fn wait_for_slot(
        &self,
        name: &str,
        ticket: &SlotTicket,
        wait: Duration,
    ) -> Result<Option<String>> {
        let wake = self.semaphore(name, |semaphore| semaphore.wake_of(ticket));
        let wait = Duration::from_millis(ttl_millis(wait));
        // A handover before this wait began left a permit: `notified` returns at once.
        let _woken = tokio::time::timeout(wait, wake.notified()).await;
        Ok(self.semaphore(name, |semaphore| semaphore.claim_or_renew(ticket)))
    }

    async fn leave_slot_queue(&self, name: &str, ticket: &SlotTicket) -> Result<()> {
        self.semaphore(name, |semaphore| semaphore.leave(ticket));
        Ok(())
    }
}

#[async_trait]
impl StatusValues for MemoryStore {
    async fn put_status(&self, name: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let mut state = self.state();
        state.statuses.retain(|_, v| v.is_live());
        state
            .statuses
            .insert(name.to_owned(), Expiring::new(value.to_vec(), ttl));
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let state = self.state();
        Ok(state
            .statuses
            .get(name)
            .filter(|v| v.is_live())
            .map(|v| v.value.clone()))
    }

    async fn clear_status(&self, name: &str) -> Result<()> {
        self.state().statuses.remove(name);
        Ok(())
    }

    async fn swap_status(
        &self,
        name: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool> {
        let mut state = self.state();
        state.statuses.retain(|_, v| v.is_live());
        let current = state.statuses.get(name).map(|v| v.value.as_slice());
        if current != expected {
            return Ok(false);
        }
        state
            .statuses
            .insert(name.to_owned(), Expiring::new(value.to_vec(), ttl));
        Ok(true)
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn append_audit(&self, entry: &[u8], max_len: usize, records: &[&str]) -> Result<()> {
        self.audit.append(entry, max_len, records);
        Ok(())
    }

    async fn audit(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        self.audit.read(after, limit)
    }

    async fn record_audit(&self, record: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self.audit.of_record(record, limit))
    }

    async fn redact_audit(&self, values: &[String], replacement: &str) -> Result<u64> {
        let mut changed = self.audit.redact(values, replacement);
        let mut state = self.state();
        let State {
            statuses,
            idempotency,
            ..
        } = &mut *state;
        for kept in statuses.values_mut().chain(idempotency.values_mut()) {
            if let Some(redacted) = crate::redact::replace_all(&kept.value, values, replacement) {
                kept.value = redacted;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

#[async_trait]
impl SyncStats for MemoryStore {
    async fn record_sync(&self, sample: &SyncSample<'_>) -> Result<()> {
        self.stats.record_sync(sample);
        Ok(())
    }

    async fn record_allocation(&self, at_ms: i64, used: u64, max: u64) -> Result<()> {
        self.stats.record_allocation(at_ms, used, max);
        Ok(())
    }

    async fn sync_stats(&self, since_ms: i64) -> Result<StatsReport> {
        Ok(self.stats.report(since_ms))
    }
}

#[async_trait]
impl Conflicts for MemoryStore {
    async fn record_conflict(&self, conflict: &Conflict, max_len: usize) -> Result<()> {
        self.conflicts.record(conflict, max_len);
        Ok(())
    }

    async fn conflicts(&self, query: &ConflictQuery) -> Result<Vec<Conflict>> {
        Ok(self.conflicts.list(query))
    }

    async fn conflict_count(&self, state: Option<ConflictState>) -> Result<u64> {
        Ok(self.conflicts.count(state))
    }

    async fn get_conflict(&self, id: &str) -> Result<Option<Conflict>> {
        Ok(self.conflicts.get(id))
    }

    async fn resolve_conflict(
        &self,
        id: &str,
        resolution: &ConflictResolution,
    ) -> Result<Option<Conflict>> {
        Ok(self.conflicts.resolve(id, resolution))
    }
}

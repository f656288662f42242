//! API governance: stay inside what Salesforce and NetSuite allow, across every replica.
//!
//! - [`NetSuiteSlots`]: NetSuite's concurrency limit is account-wide, so in-flight calls are
//!   counted in a Redis semaphore that every replica shares ([`Slots::acquire_slot`]). A slot
//!   carries a lease (the call timeout plus a margin), so a replica that dies mid-call frees its
//!   slots when the lease runs out. When every slot is held, a caller waits first come, first
//!   served across replicas ([`Slots::queue_for_slot`]): a released slot is handed to the
//!   oldest waiter of any replica, which the store wakes (no polling). A waiter renews its
//!   place every [`SLOT_HEARTBEAT`]; one that died (or whose call was dropped) is skipped after
//!   [`SLOT_PATIENCE`], and a slot handed to it comes back after the same. A local semaphore of
//!   the same size sits in front, so one process queues at most `limit` waiters in the store.
//!   With an [`AdaptiveLimit`] ([`adaptive`]) the limit a caller queues with is the one learned
//!   from the account's free share (other integrations draw on the same limit), the configured
//!   limit being its ceiling; the local semaphore stays sized at the ceiling. The starts of one
//!   process's calls are spread by a small gap ([`spacing`]) so its calls do not run in
//!   lockstep and meet refusals a wave at a time.
//! - [`SalesforceAllocation`]: the daily API allocation, as every response's `Sforce-Limit-Info`
//!   reports it. Batch work (backfills, schedules) waits while usage is at or past
//!   `salesforce.batch_share` of the allocation; interactive work (buttons, events) goes on into
//!   the reserve above it. The latest usage is published to the store for the gateway to show.
//! - [`AllocationHold`]: when the allocation is spent outright (`REQUEST_LIMIT_EXCEEDED`), queued
//!   work holds instead of failing (the worker puts the job back after `allocation_poll_ms`,
//!   its attempt not counted) and clicks answer 503 with `Retry-After`. The hold is published as
//!   a status value (since when, the next check) for `/v1/governance`, the console and the
//!   `isthmus_salesforce_allocation_exhausted` gauge; the first job that gets through again
//!   clears it. A scheduled run stopped by it publishes it too and ends `held`
//!   ([`crate::schedule::scheduler`]), and the next run of that schedule that succeeds clears it.
//!   Nothing here calls Salesforce: the held work itself is the check.

pub mod adaptive;
mod spacing;

use std::sync::Arc;
use std::time::Duration;

pub use adaptive::{AdaptiveLimit, AdaptivePolicy, LimitState};
use spacing::CallSpacing;

use isthmus_netsuite::{ConcurrencyGate, NetSuiteError};
use isthmus_salesforce::{ApiUsage, SalesforceClient};
use isthmus_store::{SlotRequest, Slots, StatusValues, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::Result;

/// Semaphore name of NetSuite's account-wide concurrency.
pub const NETSUITE_SEMAPHORE: &str = "netsuite";
/// How long a waiter's place in the slot queue lasts without a heartbeat (and how long a slot
/// handed to a waiter that died stays lent before it comes back).
pub const SLOT_PATIENCE: Duration = Duration::from_secs(3);
/// How long a waiter waits for a handover before renewing its place.
pub const SLOT_HEARTBEAT: Duration = Duration::from_secs(1);
/// Status name of the learned NetSuite concurrency limit (see [`adaptive`]).
pub const NETSUITE_LIMIT_STATUS: &str = "netsuite-concurrency-limit";
/// Status name of the Salesforce API usage last seen.
pub const SALESFORCE_USAGE_STATUS: &str = "salesforce-api-usage";
/// Status name of the hold on work while the Salesforce allocation is spent.
pub const ALLOCATION_HOLD_STATUS: &str = "salesforce-allocation-hold";

/// The shared NetSuite concurrency semaphore, as the NetSuite client's gate.
pub struct NetSuiteSlots {
    slots: Arc<dyn Slots>,
    limit: u32,
    lease: Duration,
    local: Arc<Semaphore>,
    adaptive: Option<Arc<AdaptiveLimit>>,
    spacing: CallSpacing,
}

impl NetSuiteSlots {
    /// `limit` calls at once across replicas; a slot's lease is `call_timeout` plus 5 s.
    pub fn new(slots: Arc<dyn Slots>, limit: u32, call_timeout: Duration) -> Self {
        let limit = limit.max(1);
        Self {
            slots,
            limit,
            lease: call_timeout + Duration::from_secs(5),
            local: Arc::new(Semaphore::new(limit as usize)),
            adaptive: None,
            spacing: CallSpacing::default(),
        }
    }

    /// Lets `adaptive` set the limit under the configured one (its ceiling).
    pub fn with_adaptive(mut self, adaptive: Arc<AdaptiveLimit>) -> Self {
        self.adaptive = Some(adaptive);
        self
    }

    /// The configured limit (the ceiling of an adaptive one).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Queues for a slot of the shared semaphore under `limit` and waits for it (first come,
    /// first served across replicas).
    async fn take_slot(&self, limit: u32) -> std::result::Result<String, NetSuiteError> {
        let gate = |err: isthmus_store::StoreError| NetSuiteError::Gate(err.to_string());
        let request = self
            .slots
            .queue_for_slot(NETSUITE_SEMAPHORE, limit, self.lease, SLOT_PATIENCE)
            .await
            .map_err(gate)?;
        let ticket = match request {
            SlotRequest::Held(slot) => return Ok(slot),
            SlotRequest::Queued(ticket) => ticket,
        };
        loop {
            match self
                .slots
                .wait_for_slot(NETSUITE_SEMAPHORE, &ticket, SLOT_HEARTBEAT)
                .await
            {
                Ok(Some(slot)) => return Ok(slot),
                Ok(None) => {}
                Err(err) => {
                    // Give the place up; should that fail too, the ticket's deadline does.
                    let left = self.slots.leave_slot_queue(NETSUITE_SEMAPHORE, &ticket);
                    if let Err(leave_err) = left.await {
                        tracing::warn!(%leave_err, "leaving the NetSuite slot queue failed");
                    }
                    return Err(gate(err));
                }
            }
        }
    }

    /// The limit in force now and its generation: the learned one, or the configured one.
    async fn current(&self) -> LimitState {
        match &self.adaptive {
            Some(adaptive) => adaptive.current().await,
            None => LimitState::fixed(self.limit),
        }
    }
}

#[async_trait::async_trait]
impl ConcurrencyGate for NetSuiteSlots {
    async fn acquire(&self) -> std::result::Result<String, NetSuiteError> {
        let permit = self
            .local
            .acquire()
            .await
            .map_err(|e| NetSuiteError::Gate(e.to_string()))?;
        let slot = loop {
            let queued = self.current().await;
            let slot = self.take_slot(queued.limit).await?;
            // Calls granted together would otherwise start, end and meet refusals together.
            self.spacing.wait_turn(queued.limit).await;
            let Some(adaptive) = &self.adaptive else {
                break slot;
            };
            // The place was granted under the limit the call queued with. When the limit
            // dropped while it waited (an over-limit answer meanwhile), that grant could exceed
            // the new one and meet a refusal of its own: give it back and queue again under
            // the limit in force.
            let now = self.current().await;
            if now.limit >= queued.limit {
                adaptive.admitted(&slot, now.generation);
                break slot;
            }
            if let Err(err) = self.slots.release_slot(NETSUITE_SEMAPHORE, &slot).await {
                tracing::warn!(%err, "giving back a NetSuite slot granted under an older limit failed");
            }
        };
        self.spacing.started(&slot);
        // The local permit is given back in `release`.
        permit.forget();
        Ok(slot)
    }

    async fn release(&self, slot: String) {
        self.spacing.released(&slot);
        if let Some(adaptive) = &self.adaptive {
            adaptive.released(&slot);
        }
        if let Err(err) = self.slots.release_slot(NETSUITE_SEMAPHORE, &slot).await {
            // The slot's lease frees it when it runs out.
            tracing::warn!(%err, "releasing a NetSuite slot failed");
        }
        self.local.add_permits(1);
    }

    async fn on_over_limit(&self, slot: &str) {
        if let Some(adaptive) = &self.adaptive {
            adaptive.over_limit(slot).await;
        }
    }

    async fn on_success(&self, slot: &str) {
        self.spacing.answered(slot);
        if let Some(adaptive) = &self.adaptive {
            adaptive.succeeded(slot).await;
        }
    }
}

/// The Salesforce API usage as published for operators.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AllocationState {
    pub used: u64,
    pub max: u64,
    /// Share of the allocation at which batch work pauses.
    pub batch_share: f64,
    pub batch_paused: bool,
}

/// The daily API allocation policy.
#[derive(Clone)]
pub struct SalesforceAllocation {
    /// Where the usage is published (a status value) and kept over the day (the statistics).
    statuses: Arc<dyn Store>,
    batch_share: f64,
    poll: Duration,
}

impl SalesforceAllocation {
    pub fn new(statuses: Arc<dyn Store>, batch_share: f64, poll: Duration) -> Self {
        Self {
            statuses,
            batch_share: batch_share.clamp(0.0, 1.0),
            poll,
        }
    }

    /// Whether batch work may spend more of `usage`.
    pub fn batch_allowed(&self, usage: Option<ApiUsage>) -> bool {
        usage.is_none_or(|u| (u.used as f64) < (u.max as f64) * self.batch_share)
    }

    pub fn state(&self, usage: ApiUsage) -> AllocationState {
        AllocationState {
            used: usage.used,
            max: usage.max,
            batch_share: self.batch_share,
            batch_paused: !self.batch_allowed(Some(usage)),
        }
    }

    /// Publishes the client's latest usage for the gateway (kept a day, as the allocation is),
    /// and keeps it in the statistics, for the console's chart of the day.
    pub async fn publish(&self, salesforce: &SalesforceClient) -> Result<()> {
        if let Some(usage) = salesforce.api_usage() {
            let state = serde_json::to_vec(&self.state(usage)).unwrap_or_default();
            let now_ms = chrono::Utc::now().timestamp_millis();
            let (published, kept) = tokio::join!(
                self.statuses.put_status(
                    SALESFORCE_USAGE_STATUS,
                    &state,
                    Duration::from_secs(86_400)
                ),
                self.statuses
                    .record_allocation(now_ms, usage.used, usage.max)
            );
            published?;
            kept?;
        }
        Ok(())
    }

    /// Returns once batch work may call Salesforce: at once while usage is under the batch
    /// share; otherwise it re-reads the allocation (`GET limits`) every `poll` until it is.
    pub async fn wait_for_batch(&self, salesforce: &SalesforceClient) -> Result<()> {
        let mut warned = false;
        while !self.batch_allowed(salesforce.api_usage()) {
            if !warned {
                tracing::warn!(
                    share = self.batch_share,
                    "Salesforce API allocation past the batch share: batch work paused"
                );
                warned = true;
            }
            self.publish(salesforce).await?;
            tokio::time::sleep(self.poll).await;
            salesforce.limits().await?;
        }
        if warned {
            tracing::info!("Salesforce API allocation available again: batch work resumes");
            self.publish(salesforce).await?;
        }
        Ok(())
    }
}

/// Work held because Salesforce's daily allocation is spent, as published for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationHold {
    /// When work was first held in this stretch (Unix ms).
    pub since_ms: i64,
    /// When held work next tries Salesforce again (Unix ms): the last hold plus the pause.
    pub next_check_ms: i64,
    /// Jobs put back since the stretch began (every replica's, each hold of a job counted).
    pub holds: u64,
}

impl AllocationHold {
    /// Seconds until the next check, at least 1 (a `Retry-After` value).
    pub fn retry_after_secs(&self, now_ms: i64) -> u64 {
        u64::try_from((self.next_check_ms - now_ms).max(0))
            .unwrap_or(0)
            .div_ceil(1000)
            .max(1)
    }
}

/// Notes that a job was held for `pause` (the stretch's start kept), and publishes it; kept
/// for a few pauses, so a hold nobody renews fades on its own. Replicas noting at once each
/// count: the value changes only over the one read ([`StatusValues::swap_status`]), and a
/// replica that lost the race reads again.
pub async fn note_hold(statuses: &dyn StatusValues, pause: Duration) -> Result<AllocationHold> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(i64::MAX);
    let kept = pause * 3 + Duration::from_secs(60);
    loop {
        let raw = statuses.status(ALLOCATION_HOLD_STATUS).await?;
        let before = raw
            .as_deref()
            .and_then(|bytes| serde_json::from_slice::<AllocationHold>(bytes).ok());
        let hold = AllocationHold {
            since_ms: before.map_or(now_ms, |h| h.since_ms),
            next_check_ms: now_ms.saturating_add(pause_ms),
            holds: before.map_or(0, |h| h.holds) + 1,
        };
        let bytes = serde_json::to_vec(&hold).unwrap_or_default();
        if statuses
            .swap_status(ALLOCATION_HOLD_STATUS, raw.as_deref(), &bytes, kept)
            .await?
        {
            return Ok(hold);
        }
    }
}

/// Ends the hold: Salesforce answered a held job's call again.
pub async fn clear_hold(statuses: &dyn StatusValues) -> Result<()> {
    Ok(statuses.clear_status(ALLOCATION_HOLD_STATUS).await?)
}

/// The hold in force, if any.
pub async fn current_hold(statuses: &dyn StatusValues) -> Result<Option<AllocationHold>> {
    Ok(statuses
        .status(ALLOCATION_HOLD_STATUS)
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// The NetSuite concurrency limit in force, as operators see it: the configured `ceiling`, and
/// with `adaptive` on the limit learned in the store (status [`NETSUITE_LIMIT_STATUS`], kept
/// under the ceiling as the replicas keep it), or the ceiling when nothing was learned yet (or
/// the value is unreadable). Reads only: nothing is written.
pub async fn netsuite_limit_in_force(
    statuses: &dyn StatusValues,
    ceiling: u32,
    adaptive: bool,
) -> Result<LimitState> {
    let ceiling = ceiling.max(1);
    if !adaptive {
        return Ok(LimitState::fixed(ceiling));
    }
    let learned = statuses
        .status(NETSUITE_LIMIT_STATUS)
        .await?
        .and_then(|bytes| serde_json::from_slice::<LimitState>(&bytes).ok());
    Ok(
        learned.map_or(LimitState::fixed(ceiling), |state| LimitState {
            limit: state.limit.clamp(1, ceiling),
            ..state
        }),
    )
}

/// The last published Salesforce allocation state, if any.
pub async fn published_allocation(statuses: &dyn StatusValues) -> Result<Option<AllocationState>> {
    Ok(statuses
        .status(SALESFORCE_USAGE_STATUS)
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use isthmus_store::{MemoryStore, Store};

    #[tokio::test]
    async fn the_netsuite_limit_in_force_is_the_ceiling_until_one_is_learned() {
        let store = MemoryStore::new();
        let fixed = netsuite_limit_in_force(&store, 5, true).await.unwrap();
        assert_eq!(fixed, LimitState::fixed(5), "nothing learned yet");
        let learned = LimitState {
            limit: 2,
            generation: 3,
            refused_at: Some(4),
            on_trial: false,
            probe_wait_ms: 0,
        };
        let bytes = serde_json::to_vec(&learned).unwrap();
        store
            .put_status(NETSUITE_LIMIT_STATUS, &bytes, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            netsuite_limit_in_force(&store, 5, true).await.unwrap(),
            learned
        );
        let lowered = netsuite_limit_in_force(&store, 1, true).await.unwrap();
        assert_eq!(lowered.limit, 1, "never above a ceiling lowered since");
        assert_eq!(
            netsuite_limit_in_force(&store, 5, false).await.unwrap(),
            LimitState::fixed(5),
            "adaptive off: the configured limit"
        );
    }

    #[test]
    fn batch_work_stops_at_the_share_and_interactive_keeps_the_reserve() {
        let allocation =
            SalesforceAllocation::new(Arc::new(MemoryStore::new()), 0.8, Duration::from_secs(1));
        assert!(allocation.batch_allowed(None), "no usage seen yet");
        assert!(allocation.batch_allowed(Some(ApiUsage {
            used: 799,
            max: 1000
        })));
        assert!(!allocation.batch_allowed(Some(ApiUsage {
            used: 800,
            max: 1000
        })));
        assert!(
            allocation
                .state(ApiUsage {
                    used: 900,
                    max: 1000
                })
                .batch_paused
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn holds_noted_at_once_by_many_replicas_each_count_and_a_clear_ends_the_stretch() {
        let server = isthmus_store::testing::RedisServer::start();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let store = server.store().await;
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    note_hold(&store, Duration::from_secs(60)).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let store = server.store().await;
        let hold = current_hold(&store).await.unwrap().unwrap();
        assert_eq!(hold.holds, 40, "every replica's holds counted: {hold:?}");
        clear_hold(&store).await.unwrap();
        assert_eq!(current_hold(&store).await.unwrap(), None);
        let fresh = note_hold(&store, Duration::from_secs(60)).await.unwrap();
        assert_eq!(fresh.holds, 1, "a new stretch starts its count again");
    }

    #[tokio::test]
    async fn netsuite_slots_never_exceed_the_limit_across_two_replicas() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let a = Arc::new(NetSuiteSlots::new(store.clone(), 3, Duration::from_secs(1)));
        let b = Arc::new(NetSuiteSlots::new(store.clone(), 3, Duration::from_secs(1)));
        let peak = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut tasks = Vec::new();
        for i in 0..24 {
            let gate = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (store, peak) = (store.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let slot = gate.acquire().await.unwrap();
                let in_use = store.slots_in_use(NETSUITE_SEMAPHORE).await.unwrap();
                peak.fetch_max(in_use, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                gate.release(slot).await;
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(store.slots_in_use(NETSUITE_SEMAPHORE).await.unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_netsuite_call_dropped_while_queued_does_not_hold_up_the_next_replica() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let replica = || Arc::new(NetSuiteSlots::new(store.clone(), 1, Duration::from_secs(1)));
        let (a, b, c) = (replica(), replica(), replica());
        let held = a.acquire().await.unwrap();
        let dropped = tokio::spawn({
            let b = b.clone();
            async move { b.acquire().await }
        });
        tokio::task::yield_now().await;
        let waiting = tokio::spawn(async move { c.acquire().await });
        tokio::task::yield_now().await;
        dropped.abort();
        let released = tokio::time::Instant::now();
        a.release(held).await;

        let slot = tokio::time::timeout(SLOT_PATIENCE + SLOT_HEARTBEAT * 2, waiting)
            .await
            .expect("the slot lent to the dropped call comes back within its patience")
            .unwrap()
            .unwrap();
        assert!(
            released.elapsed() >= SLOT_PATIENCE,
            "the release went to the dropped call, which came first"
        );
        assert_eq!(store.slots_in_use(NETSUITE_SEMAPHORE).await.unwrap(), 1);
        assert!(!slot.is_empty());
    }

    #[tokio::test]
    async fn a_place_granted_under_a_limit_that_dropped_meanwhile_is_given_back() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let adaptive = Arc::new(AdaptiveLimit::new(
            store.clone(),
            NETSUITE_LIMIT_STATUS,
            adaptive::AdaptivePolicy::new(3),
        ));
        let replica = || {
            Arc::new(
                NetSuiteSlots::new(store.clone(), 3, Duration::from_secs(1))
                    .with_adaptive(adaptive.clone()),
            )
        };
        let (a, b) = (replica(), replica());
        let held = [
            a.acquire().await.unwrap(),
            a.acquire().await.unwrap(),
            a.acquire().await.unwrap(),
        ];
        // b queues under a limit of three; then an over-limit answer drops it to one.
        let waiting = tokio::spawn({
            let b = b.clone();
            async move { b.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        a.on_over_limit(&held[0]).await;
        assert_eq!(a.current().await.limit, 1);
        a.release(held[0].clone()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !waiting.is_finished(),
            "b took a third slot granted under the old limit of three"
        );
        assert_eq!(store.slots_in_use(NETSUITE_SEMAPHORE).await.unwrap(), 2);
        // Under the limit in force it gets the one slot once the others are back.
        a.release(held[1].clone()).await;
        a.release(held[2].clone()).await;
        let slot = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("b got a slot under the new limit")
            .unwrap()
            .unwrap();
        assert_eq!(store.slots_in_use(NETSUITE_SEMAPHORE).await.unwrap(), 1);
        b.release(slot).await;
    }
}

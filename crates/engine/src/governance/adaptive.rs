//! The NetSuite concurrency limit, learned at run time from the share of the account that is free.
//!
//! Every other integration and SuiteApp on the account draws on the same limit C, so a fixed
//! semaphore of C either wastes slots while they are idle or meets over-limit answers while they
//! are busy. [`AdaptiveLimit`] keeps the limit our replicas use between 1 (the floor) and the
//! configured C (the ceiling), by additive increase and multiplicative decrease:
//!
//! - **Decrease** on an over-limit answer (429 `CONCURRENCY_LIMIT_EXCEEDED`, RESTlet
//!   `SSS_REQUEST_LIMIT_EXCEEDED`): `limit → max(1, min(limit − 1, ⌈β · limit⌉))`. Only a call
//!   admitted under the limit in force counts: each change starts a new *generation*, and a
//!   refusal of a call admitted under an older one is the same congestion event seen late, so N
//!   concurrent refusals decrease the limit once, not N times. The level refused is remembered.
//! - **Increase** by one after a window of successes at the current limit: `climb_rounds × limit`
//!   answers, or `probe_rounds × limit` when the next step would reach the level last refused
//!   (slow probing where the free share ended last time, so probes rarely meet a refusal; fast
//!   climbing back below it). Reaching that level without a refusal forgets it.
//!
//! Agreement across replicas: the limit, its generation and the level last refused are one
//! status value in the store, changed only by [`StatusValues::swap_status`] over the value read,
//! so two replicas reacting to one event change it once. Each replica reads it again every
//! `refresh` (and after losing a swap) and counts its own successes, so with N replicas an
//! increase waits for one replica's window (slower, never more over-limit answers). A new
//! limit applies to the next slot taken; calls in flight are never cut off.
//!
//! Non-goals: guessing the other tenants' load from latency (NetSuite gives no signal but the
//! refusal); fairness between our replicas (the shared semaphore under the limit does that).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use isthmus_store::StatusValues;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// How the limit adapts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptivePolicy {
    /// The configured account limit C: never exceeded.
    pub ceiling: u32,
    /// β of the multiplicative decrease, in (0, 1); a decrease is always at least one.
    pub decrease: f64,
    /// Rounds of successes (× the limit) before an increase below the level last refused.
    pub climb_rounds: u32,
    /// Rounds of successes (× the limit) before an increase onto the level last refused.
    pub probe_rounds: u32,
    /// How often a replica reads the shared limit again.
    pub refresh: Duration,
}

impl AdaptivePolicy {
    /// Defaults for a ceiling of `ceiling`.
    pub fn new(ceiling: u32) -> Self {
        Self {
            ceiling: ceiling.max(1),
            decrease: 0.75,
            climb_rounds: 4,
            probe_rounds: 200,
            refresh: Duration::from_millis(250),
        }
    }

    /// The limit after a refusal at `limit`.
    pub fn decreased(&self, limit: u32) -> u32 {
        let scaled = (f64::from(limit) * self.decrease.clamp(0.0, 1.0)).ceil() as u32;
        scaled.min(limit.saturating_sub(1)).max(1)
    }

    /// Successes at `limit` before it may rise by one, given the level last refused.
    pub fn window(&self, limit: u32, refused_at: Option<u32>) -> u64 {
        let rounds = match refused_at {
            Some(level) if limit + 1 >= level => self.probe_rounds,
            _ => self.climb_rounds,
        };
        u64::from(rounds.max(1)) * u64::from(limit)
    }
}

/// The shared state: the limit in force, its generation, and the level last refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitState {
    pub limit: u32,
    pub generation: u64,
    pub refused_at: Option<u32>,
}

/// What this replica knows: the shared state as last read (and its bytes, for the swap), when,
/// the successes it counted at it, and the generation each held slot was admitted under.
struct Local {
    state: LimitState,
    raw: Option<Vec<u8>>,
    read_at: Option<Instant>,
    successes: u64,
    admitted: HashMap<String, u64>,
}

/// The learned NetSuite limit, shared by every replica through the store.
pub struct AdaptiveLimit {
    store: Arc<dyn StatusValues>,
    name: String,
    policy: AdaptivePolicy,
    local: Mutex<Local>,
}

/// The shared value lives as long as a day of quiet; then each replica starts from what it holds.
const KEPT: Duration = Duration::from_secs(86_400);

impl AdaptiveLimit {
    /// The limit kept under status `name`, starting at the ceiling.
    pub fn new(store: Arc<dyn StatusValues>, name: &str, policy: AdaptivePolicy) -> Self {
        Self {
            store,
            name: name.to_owned(),
            policy,
            local: Mutex::new(Local {
                state: LimitState {
                    limit: policy.ceiling,
                    generation: 0,
                    refused_at: None,
                },
                raw: None,
                read_at: None,
                successes: 0,
                admitted: HashMap::new(),
            }),
        }
    }

    pub fn policy(&self) -> &AdaptivePolicy {
        &self.policy
    }

    /// The limit in force and its generation, read from the store at most every `refresh`.
    pub async fn current(&self) -> LimitState {
        let stale = self
            .lock()
            .read_at
            .is_none_or(|at| at.elapsed() >= self.policy.refresh);
        if stale {
            self.read().await;
        }
        self.lock().state
    }

    /// Remembers that `slot` was taken under `generation`.
    pub fn admitted(&self, slot: &str, generation: u64) {
        self.lock().admitted.insert(slot.to_owned(), generation);
    }

    /// Forgets `slot` (given back).
    pub fn released(&self, slot: &str) {
        self.lock().admitted.remove(slot);
    }

    /// The call in `slot` was refused for concurrency: decrease, once per generation.
    pub async fn over_limit(&self, slot: &str) {
        let (expected, next) = {
            let mut local = self.lock();
            let Some(generation) = local.admitted.get(slot).copied() else {
                return;
            };
            let state = local.state;
            if generation != state.generation || state.limit <= 1 {
                return;
            }
            let next = LimitState {
                limit: self.policy.decreased(state.limit),
                generation: state.generation + 1,
                refused_at: Some(state.limit),
            };
            // In force here at once, so this replica's next slot already obeys it.
            let expected = local.raw.clone();
            local.adopt(next, None);
            (expected, next)
        };
        tracing::debug!(
            limit = next.limit,
            refused_at = next.limit + 1,
            "NetSuite over-limit answer; lowering the concurrency limit"
        );
        self.publish(expected, next).await;
    }

    /// The call in `slot` got an answer that was not a refusal for concurrency.
    pub async fn succeeded(&self, slot: &str) {
        let (expected, next) = {
            let mut local = self.lock();
            let Some(generation) = local.admitted.get(slot).copied() else {
                return;
            };
            let state = local.state;
            if generation != state.generation || state.limit >= self.policy.ceiling {
                return;
            }
            local.successes += 1;
            if local.successes < self.policy.window(state.limit, state.refused_at) {
                return;
            }
            let limit = state.limit + 1;
            let next = LimitState {
                limit,
                generation: state.generation + 1,
                refused_at: state.refused_at.filter(|level| limit < *level),
            };
            let expected = local.raw.clone();
            local.adopt(next, None);
            (expected, next)
        };
        tracing::debug!(limit = next.limit, "raising the NetSuite concurrency limit");
        self.publish(expected, next).await;
    }

    /// Writes `next` over `expected`; when another replica changed the value first, theirs wins
    /// and is read back.
    async fn publish(&self, expected: Option<Vec<u8>>, next: LimitState) {
        let bytes = serde_json::to_vec(&next).unwrap_or_default();
        match self
            .store
            .swap_status(&self.name, expected.as_deref(), &bytes, KEPT)
            .await
        {
            Ok(true) => self.lock().adopt(next, Some(bytes)),
            Ok(false) => self.read().await,
            Err(err) => tracing::warn!(%err, "publishing the NetSuite concurrency limit failed"),
        }
    }

    /// Reads the shared state (none yet: the local one stands).
    async fn read(&self) {
        match self.store.status(&self.name).await {
            Ok(Some(raw)) => match serde_json::from_slice::<LimitState>(&raw) {
                Ok(state) => {
                    let state = LimitState {
                        limit: state.limit.clamp(1, self.policy.ceiling),
                        ..state
                    };
                    self.lock().adopt(state, Some(raw));
                }
                Err(err) => tracing::warn!(%err, "unreadable NetSuite concurrency limit"),
            },
            Ok(None) => {
                // Nothing learned yet (or a day of quiet): the local state stands, and the first
                // change is published over "nothing" (a request that changes nothing writes
                // nothing to the store).
                let mut local = self.lock();
                local.raw = None;
                local.read_at = Some(Instant::now());
            }
            Err(err) => tracing::warn!(%err, "reading the NetSuite concurrency limit failed"),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Local> {
        self.local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Local {
    /// Takes `state` as the one in force (`raw`: its bytes in the store, when read from there).
    fn adopt(&mut self, state: LimitState, raw: Option<Vec<u8>>) {
        if state.generation != self.state.generation {
            self.successes = 0;
        }
        self.state = state;
        if raw.is_some() {
            self.raw = raw;
        }
        self.read_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use isthmus_store::MemoryStore;

    use super::*;

    const NAME: &str = "netsuite-concurrency-limit";

    fn policy(ceiling: u32) -> AdaptivePolicy {
        AdaptivePolicy {
            climb_rounds: 2,
            probe_rounds: 10,
            ..AdaptivePolicy::new(ceiling)
        }
    }

    fn limit(store: &Arc<MemoryStore>, ceiling: u32) -> AdaptiveLimit {
        AdaptiveLimit::new(store.clone(), NAME, policy(ceiling))
    }

    /// Takes `n` slots at the limit in force, as the gate does.
    async fn admit(adaptive: &AdaptiveLimit, names: &[&str]) {
        let generation = adaptive.current().await.generation;
        for name in names {
            adaptive.admitted(name, generation);
        }
    }

    async fn shared(store: &MemoryStore) -> LimitState {
        serde_json::from_slice(&store.status(NAME).await.unwrap().unwrap()).unwrap()
    }

    #[test]
    fn a_decrease_is_multiplicative_at_least_one_and_never_below_the_floor() {
        let p = AdaptivePolicy::new(20);
        assert_eq!(p.decreased(20), 15);
        assert_eq!(p.decreased(15), 12);
        let small: Vec<u32> = [5, 4, 3, 2, 1].map(|l| p.decreased(l)).to_vec();
        assert_eq!(small, [4, 3, 2, 1, 1]);
    }

    #[test]
    fn the_window_is_long_only_onto_the_level_last_refused() {
        let p = policy(5);
        assert_eq!(p.window(2, None), 4, "climb: 2 rounds of 2");
        assert_eq!(p.window(2, Some(5)), 4, "well below the level refused");
        assert_eq!(p.window(4, Some(5)), 40, "probe: 10 rounds of 4");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_refusals_of_one_event_decrease_the_limit_once() {
        let store = Arc::new(MemoryStore::new());
        let adaptive = limit(&store, 5);
        admit(&adaptive, &["a", "b", "c"]).await;
        for slot in ["a", "b", "c"] {
            adaptive.over_limit(slot).await;
        }
        let after = adaptive.current().await;
        assert_eq!((after.limit, after.generation), (4, 1));
        assert_eq!(after.refused_at, Some(5));
        assert_eq!(
            shared(&store).await,
            after,
            "the store holds the one decrease"
        );
        // A call admitted under the new limit and refused is a new event.
        admit(&adaptive, &["d"]).await;
        adaptive.over_limit("d").await;
        assert_eq!(adaptive.current().await.limit, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_climbs_fast_below_the_level_refused_and_probes_it_slowly() {
        let store = Arc::new(MemoryStore::new());
        let adaptive = limit(&store, 8);
        admit(&adaptive, &["x"]).await;
        adaptive.over_limit("x").await;
        let state = adaptive.current().await;
        assert_eq!((state.limit, state.refused_at), (6, Some(8)));
        let successes_to_leave = |from: u32| {
            let adaptive = &adaptive;
            async move {
                let mut successes = 0;
                while adaptive.current().await.limit == from {
                    admit(adaptive, &["s"]).await;
                    adaptive.succeeded("s").await;
                    successes += 1;
                }
                successes
            }
        };
        // 6 → 7, below the level refused: 2 rounds of 6.
        assert_eq!(successes_to_leave(6).await, 12);
        // 7 → 8, onto the level refused: 10 rounds of 7.
        assert_eq!(successes_to_leave(7).await, 70);
        let state = adaptive.current().await;
        assert_eq!(
            (state.limit, state.refused_at),
            (8, None),
            "the level reached is forgotten"
        );
        assert_eq!(shared(&store).await, state);
        // At the ceiling nothing rises; after a refusal, successes of calls admitted under an
        // older limit do not count.
        admit(&adaptive, &["x"]).await;
        adaptive.over_limit("x").await;
        adaptive.admitted("old", 0);
        for _ in 0..100 {
            adaptive.succeeded("old").await;
        }
        assert_eq!(adaptive.current().await.limit, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ceiling_holds_and_the_floor_is_one() {
        let store = Arc::new(MemoryStore::new());
        let adaptive = limit(&store, 2);
        for _ in 0..1000 {
            admit(&adaptive, &["s"]).await;
            adaptive.succeeded("s").await;
        }
        assert_eq!(adaptive.current().await.limit, 2);
        for _ in 0..5 {
            admit(&adaptive, &["x"]).await;
            adaptive.over_limit("x").await;
        }
        assert_eq!(adaptive.current().await.limit, 1);
        assert_eq!(shared(&store).await.limit, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn replicas_agree_through_the_store_and_one_event_counts_once() {
        let store = Arc::new(MemoryStore::new());
        let (a, b) = (limit(&store, 5), limit(&store, 5));
        admit(&a, &["a1"]).await;
        admit(&b, &["b1"]).await;
        // Both replicas see a refusal of the same generation: one decrease, not two.
        a.over_limit("a1").await;
        b.over_limit("b1").await;
        let state = shared(&store).await;
        assert_eq!((state.limit, state.generation), (4, 1));
        // The other replica reads the shared limit again after `refresh`.
        let c = limit(&store, 5);
        assert_eq!(
            c.current().await.limit,
            4,
            "a new replica starts from the shared limit"
        );
        admit(&c, &["c1"]).await;
        c.over_limit("c1").await;
        assert_eq!(a.current().await.limit, 4, "read within refresh: cached");
        tokio::time::advance(policy(5).refresh).await;
        assert_eq!(a.current().await.limit, 3);
    }
}

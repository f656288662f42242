//! The NetSuite concurrency limit, learned at run time from the share of the account that is free.
//!
//! Every other integration and SuiteApp on the account draws on the same limit C, so a fixed
//! semaphore of C either wastes slots while they are idle or meets over-limit answers while they
//! are busy. NetSuite's only signal is the refusal (429 `CONCURRENCY_LIMIT_EXCEEDED`, RESTlet
//! `SSS_REQUEST_LIMIT_EXCEEDED`), and every refusal is an over-limit answer the account's owner
//! sees. [`AdaptiveLimit`] keeps the limit our replicas use between 1 (the floor) and the
//! configured C (the ceiling), by additive increase and multiplicative decrease, spending as few
//! refusals as it can on finding the free share:
//!
//! - **Congestion** (a refusal at a level that had proved itself): the other tenants took more.
//!   `limit → max(1, min(limit − 1, ⌊β · limit⌋))`, and the level refused is remembered.
//! - **A rise is on trial** until `climb_rounds × limit` calls admitted at the new level have
//!   succeeded. A refusal during the trial means the step was one too many, not that the others
//!   took more: the limit goes back one step (to the level that had proved itself), not down by β.
//! - **Climbing** below the level last refused: by one after `climb_rounds × limit` successes
//!   (fast: that share was free a moment ago).
//! - **Probing** onto the level last refused: once `probe_after` has passed since the limit last
//!   changed, jittered by ±50 % so a probe does not keep step with periodic load. A failed probe
//!   doubles the wait (up to `probe_after_max`); a probe that passes its trial forgets the level.
//!   The wait is in time, not in calls, because a refusal costs the same whatever the throughput:
//!   a probe every `probe_after` bounds the refusals spent on probing at one per wait, and the
//!   other tenants' load freeing up is noticed within one wait.
//!
//! Only a call admitted under the limit in force counts: each change starts a new *generation*,
//! and a refusal or success of a call admitted under an older one is ignored, so N concurrent
//! refusals of one event decrease the limit once, not N times.
//!
//! Agreement across replicas: the whole state (limit, generation, level refused, trial, probe
//! wait) is one status value in the store, changed only by [`StatusValues::swap_status`] over the
//! value read, so two replicas reacting to one event change it once. Each replica reads it again
//! every `refresh` (and after losing a swap) and counts its own successes, so with N replicas a
//! rise waits for one replica's window (slower, never more over-limit answers). The probe's
//! jitter is drawn from the generation, so every replica waits the same time. A new limit applies
//! to the next slot taken; calls in flight are never cut off.
//!
//! Non-goals: guessing the other tenants' load from latency (NetSuite gives no signal but the
//! refusal); fairness between our replicas (the shared semaphore under the limit does that).
//! The trade-off is measured in `bench/README.md` (the adaptive table).

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
    /// Rounds of successes (× the limit) before a climb below the level last refused, and for a
    /// rise to pass its trial.
    pub climb_rounds: u32,
    /// The wait before probing onto the level last refused (jittered ±50 %).
    pub probe_after: Duration,
    /// The longest wait after failed probes (each doubles it).
    pub probe_after_max: Duration,
    /// How often a replica reads the shared limit again.
    pub refresh: Duration,
}

impl AdaptivePolicy {
    /// Defaults for a ceiling of `ceiling`.
    pub fn new(ceiling: u32) -> Self {
        Self {
            ceiling: ceiling.max(1),
            decrease: 0.5,
            climb_rounds: 4,
            probe_after: Duration::from_secs(20),
            probe_after_max: Duration::from_secs(40),
            refresh: Duration::from_millis(250),
        }
    }

    /// The limit after congestion at `limit`.
    pub fn decreased(&self, limit: u32) -> u32 {
        let scaled = (f64::from(limit) * self.decrease.clamp(0.0, 1.0)).floor() as u32;
        scaled.min(limit.saturating_sub(1)).max(1)
    }

    /// Successes at `limit` before a climb, or before a rise passes its trial.
    pub fn window(&self, limit: u32) -> u64 {
        u64::from(self.climb_rounds.max(1)) * u64::from(limit)
    }

    /// How long after the change that started `state` a probe onto the level refused may start.
    pub fn probe_wait(&self, state: &LimitState) -> Duration {
        let base = match state.probe_wait_ms {
            0 => self.probe_after,
            ms => Duration::from_millis(ms),
        };
        base.mul_f64(0.5 + unit(state.generation))
    }

    /// The wait after a failed probe whose wait was `state`'s.
    fn backed_off(&self, state: &LimitState) -> u64 {
        let now = match state.probe_wait_ms {
            0 => self.probe_after,
            ms => Duration::from_millis(ms),
        };
        millis(
            now.saturating_mul(2)
                .min(self.probe_after_max.max(self.probe_after)),
        )
    }
}

/// A number in [0, 1) drawn from `generation` (SplitMix64), the same on every replica.
fn unit(generation: u64) -> f64 {
    let mut z = generation.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The shared state: the limit in force, its generation, the level last refused, whether the
/// limit is a rise on trial, and the probe wait after failed probes (0: the policy's first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitState {
    pub limit: u32,
    pub generation: u64,
    pub refused_at: Option<u32>,
    #[serde(default)]
    pub on_trial: bool,
    #[serde(default)]
    pub probe_wait_ms: u64,
}

impl LimitState {
    /// A limit of `limit` that nothing was learned about.
    pub fn fixed(limit: u32) -> Self {
        Self {
            limit,
            generation: 0,
            refused_at: None,
            on_trial: false,
            probe_wait_ms: 0,
        }
    }
}

/// What this replica knows: the shared state as last read (and its bytes, for the swap), when,
/// when it first saw the state's generation, the successes it counted at it, and the generation
/// each held slot was admitted under.
struct Local {
    state: LimitState,
    raw: Option<Vec<u8>>,
    read_at: Option<Instant>,
    since: Instant,
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
                state: LimitState::fixed(policy.ceiling),
                raw: None,
                read_at: None,
                since: Instant::now(),
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

    /// The call in `slot` was refused for concurrency: a failed rise goes back one step,
    /// congestion decreases by β; once per generation.
    pub async fn over_limit(&self, slot: &str) {
        let (expected, next) = {
            let mut local = self.lock();
            let Some(generation) = local.admitted.get(slot).copied() else {
                return;
            };
            let state = local.state;
            if generation != state.generation || state.limit <= 1 && !state.on_trial {
                return;
            }
            let next = if state.on_trial {
                LimitState {
                    limit: state.limit.saturating_sub(1).max(1),
                    generation: state.generation + 1,
                    refused_at: Some(state.limit),
                    on_trial: false,
                    probe_wait_ms: self.policy.backed_off(&state),
                }
            } else {
                LimitState {
                    limit: self.policy.decreased(state.limit),
                    generation: state.generation + 1,
                    refused_at: Some(state.limit),
                    on_trial: false,
                    probe_wait_ms: 0,
                }
            };
            // In force here at once, so this replica's next slot already obeys it.
            let expected = local.raw.clone();
            local.adopt(next, None);
            (expected, next)
        };
        tracing::debug!(
            limit = next.limit,
            refused_at = ?next.refused_at,
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
            if generation != state.generation {
                return;
            }
            local.successes += 1;
            let Some(next) = self.after_success(&state, local.successes, local.since) else {
                return;
            };
            let expected = local.raw.clone();
            local.adopt(next, None);
            (expected, next)
        };
        tracing::debug!(
            limit = next.limit,
            on_trial = next.on_trial,
            "NetSuite concurrency limit changed"
        );
        self.publish(expected, next).await;
    }

    /// The state after `successes` at `state` (in force since `since`), when it changes.
    fn after_success(
        &self,
        state: &LimitState,
        successes: u64,
        since: Instant,
    ) -> Option<LimitState> {
        let policy = &self.policy;
        let next = LimitState {
            generation: state.generation + 1,
            ..*state
        };
        if state.on_trial {
            // The rise passed its trial; reaching the level refused forgets it.
            return (successes >= policy.window(state.limit)).then(|| {
                let reached = state.refused_at.is_some_and(|level| state.limit >= level);
                LimitState {
                    on_trial: false,
                    refused_at: state.refused_at.filter(|_| !reached),
                    probe_wait_ms: if reached { 0 } else { state.probe_wait_ms },
                    ..next
                }
            });
        }
        if state.limit >= policy.ceiling {
            return None;
        }
        let probing = state
            .refused_at
            .is_some_and(|level| state.limit + 1 >= level);
        let due = match probing {
            true => since.elapsed() >= policy.probe_wait(state),
            false => successes >= policy.window(state.limit),
        };
        due.then_some(LimitState {
            limit: state.limit + 1,
            on_trial: true,
            ..next
        })
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
            self.since = Instant::now();
        }
        self.state = state;
        if raw.is_some() {
            self.raw = raw;
        }
        self.read_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests;

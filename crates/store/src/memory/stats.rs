//! [`MemoryStats`]: the sync statistics of [`MemoryStore`](super::MemoryStore), with the
//! semantics of the Redis hashes (see `redis_store::stats`): buckets dropped [`STATS_TTL`] after
//! their last write.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::WallClock;
use crate::stats::{
    bucket_of, buckets_between, latency_slot, AllocationSample, LastError, StatsBucket,
    StatsReport, SyncSample, LATENCY_BOUNDS_MS, STATS_TTL,
};

#[derive(Debug, Default)]
pub(super) struct MemoryStats {
    state: Mutex<State>,
    clock: WallClock,
}

#[derive(Debug, Default)]
struct State {
    /// By (flow, bucket start): the bucket and when it expires (wall-clock ms).
    buckets: BTreeMap<(String, i64), (StatsBucket, i64)>,
    errors: BTreeMap<String, LastError>,
    allocation: BTreeMap<i64, (AllocationSample, i64)>,
}

fn ttl_ms() -> i64 {
    i64::try_from(STATS_TTL.as_millis()).unwrap_or(i64::MAX)
}

impl MemoryStats {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn record_sync(&self, sample: &SyncSample<'_>) {
        let now = self.clock.now_ms();
        let start = bucket_of(sample.at_ms);
        let mut state = self.state();
        let (bucket, expiry) = state
            .buckets
            .entry((sample.flow.to_owned(), start))
            .or_insert_with(|| (StatsBucket::default(), now));
        if *expiry <= now {
            *bucket = StatsBucket {
                flow: sample.flow.to_owned(),
                start_ms: start,
                outcomes: BTreeMap::new(),
                latency: vec![0; LATENCY_BOUNDS_MS.len()],
            };
        }
        *bucket
            .outcomes
            .entry(sample.outcome.to_owned())
            .or_default() += 1;
        bucket.latency[latency_slot(sample.latency_ms)] += 1;
        *expiry = now + ttl_ms();
        if let Some(error) = sample.error {
            state.errors.insert(
                sample.flow.to_owned(),
                LastError {
                    flow: sample.flow.to_owned(),
                    at_ms: sample.at_ms,
                    error: error.to_owned(),
                    trace_id: sample.trace_id.to_owned(),
                },
            );
        }
    }

    pub(super) fn record_allocation(&self, at_ms: i64, used: u64, max: u64) {
        let now = self.clock.now_ms();
        let start_ms = bucket_of(at_ms);
        let sample = AllocationSample {
            start_ms,
            used,
            max,
        };
        self.state()
            .allocation
            .insert(start_ms, (sample, now + ttl_ms()));
    }

    pub(super) fn report(&self, since_ms: i64) -> StatsReport {
        let now = self.clock.now_ms();
        let starts = buckets_between(since_ms, now);
        let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
            return StatsReport::default();
        };
        let state = self.state();
        let live = |expiry: &i64| *expiry > now;
        StatsReport {
            buckets: state
                .buckets
                .iter()
                .filter(|((_, start), (_, expiry))| (first..=last).contains(&start) && live(expiry))
                .map(|(_, (bucket, _))| bucket.clone())
                .collect(),
            last_errors: state.errors.values().cloned().collect(),
            allocation: state
                .allocation
                .range(first..=last)
                .filter(|(_, (_, expiry))| live(expiry))
                .map(|(_, (sample, _))| *sample)
                .collect(),
        }
    }

    /// The live buckets (`stats:<start>:<flow>`), the last errors (`stats:errors`) and the
    /// live allocation samples (`stats:alloc:<start>`).
    #[cfg(feature = "testing")]
    pub(super) fn snapshot(&self, into: &mut crate::testing::StoreSnapshot) {
        use crate::testing::KeySnapshot;
        let now = self.clock.now_ms();
        let state = self.state();
        for ((flow, start), (bucket, expiry)) in &state.buckets {
            if *expiry > now {
                let value = vec![format!("{bucket:?}"), format!("expires at {expiry}")];
                into.insert(
                    format!("stats:{start}:{flow}"),
                    KeySnapshot::new("hash", true, value),
                );
            }
        }
        let errors = state
            .errors
            .iter()
            .map(|(flow, error)| format!("{flow} = {error:?}"))
            .collect();
        into.insert(
            "stats:errors".to_owned(),
            KeySnapshot::new("hash", false, errors),
        );
        for (start, (sample, expiry)) in &state.allocation {
            if *expiry > now {
                let value = vec![format!("{sample:?}"), format!("expires at {expiry}")];
                into.insert(
                    format!("stats:alloc:{start}"),
                    KeySnapshot::new("hash", true, value),
                );
            }
        }
    }
}

//! Request governance per simulated system: how many calls are in flight, the peak, an optional
//! concurrency limit (NetSuite's per-account limit across REST, SuiteQL and RESTlets), the added
//! latency, and the counters tests read.
//!
//! A call takes a [`Slot`] before anything else happens to it and holds it until its response is
//! built, so added latency and injected timeouts sit *inside* the in-flight window: latency × limit
//! models real throughput. A call over the limit is refused at once (never queued), as NetSuite does.
//! The slots of the account's other tenant ([`crate::tenant`]) count against the same limit.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::tenant::{OtherTenant, TenantStep};

/// What one system has seen since the last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SystemCounters {
    /// Our calls in flight right now.
    pub in_flight: usize,
    /// Slots the account's other tenant holds right now (they count against the same limit).
    pub other_tenant_in_flight: usize,
    /// Most calls in flight at once.
    pub peak_in_flight: usize,
    /// Our calls refused because the concurrency limit was reached (by ours plus the other
    /// tenant's).
    pub rejected_over_limit: u64,
    /// Calls answered by an injected fault (error, timeout or dropped connection).
    pub injected_faults: u64,
    /// Microseconds our calls spent in the window, summed over calls (a benchmark divides it by
    /// the slot time it had to tell what the gaps between calls cost).
    pub busy_micros: u64,
    /// Microseconds from the first of our calls entering the window to the last one leaving it
    /// (0 before any): the run's stretch of calls, without its start and end.
    pub active_micros: u64,
}

/// Counters of both systems.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub salesforce: SystemCounters,
    pub netsuite: SystemCounters,
}

/// One system's in-flight window.
pub struct Governor {
    limit: Option<usize>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    rejected: AtomicU64,
    faults: AtomicU64,
    busy_micros: AtomicU64,
    /// When the first call since the last reset entered, and the last one left, in
    /// microseconds after `epoch` (plus one, so 0 means none yet).
    first_entered: AtomicU64,
    last_left: AtomicU64,
    epoch: Instant,
    latency_micros: AtomicU64,
    other_tenant: OtherTenant,
}

/// A place in the in-flight window; dropping it frees the place.
pub struct Slot<'a> {
    governor: &'a Governor,
    entered: Instant,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.governor.in_flight.fetch_sub(1, Ordering::AcqRel);
        let governor = self.governor;
        governor
            .busy_micros
            .fetch_add(micros(self.entered.elapsed()), Ordering::Relaxed);
        governor
            .last_left
            .fetch_max(governor.since_epoch(Instant::now()), Ordering::Relaxed);
    }
}

impl Governor {
    pub fn new(limit: Option<usize>, latency: Duration, other_tenant: Vec<TenantStep>) -> Self {
        Self {
            other_tenant: OtherTenant::new(other_tenant),
            limit,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            busy_micros: AtomicU64::new(0),
            first_entered: AtomicU64::new(0),
            last_left: AtomicU64::new(0),
            epoch: Instant::now(),
            latency_micros: AtomicU64::new(micros(latency)),
        }
    }

    /// Takes a place in the window, or `None` (counted as a rejection) when the limit is reached.
    pub fn enter(&self) -> Option<Slot<'_>> {
        let others = match self.limit {
            Some(_) => self.other_tenant.slots_now(),
            None => 0,
        };
        let mut current = self.in_flight.load(Ordering::Acquire);
        loop {
            if self
                .limit
                .is_some_and(|limit| current.saturating_add(others) >= limit)
            {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.peak.fetch_max(current + 1, Ordering::AcqRel);
        let entered = Instant::now();
        let _ = self.first_entered.compare_exchange(
            0,
            self.since_epoch(entered),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        Some(Slot {
            governor: self,
            entered,
        })
    }

    fn since_epoch(&self, at: Instant) -> u64 {
        micros(at.duration_since(self.epoch)) + 1
    }

    pub fn count_fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    pub fn set_latency(&self, latency: Duration) {
        self.latency_micros
            .store(micros(latency), Ordering::Relaxed);
    }

    pub fn counters(&self) -> SystemCounters {
        SystemCounters {
            in_flight: self.in_flight.load(Ordering::Acquire),
            other_tenant_in_flight: self.other_tenant.slots_now(),
            peak_in_flight: self.peak.load(Ordering::Acquire),
            rejected_over_limit: self.rejected.load(Ordering::Relaxed),
            injected_faults: self.faults.load(Ordering::Relaxed),
            busy_micros: self.busy_micros.load(Ordering::Relaxed),
            active_micros: match self.first_entered.load(Ordering::Relaxed) {
                0 => 0,
                first => self.last_left.load(Ordering::Relaxed).saturating_sub(first),
            },
        }
    }

    /// The account's other tenant.
    pub fn other_tenant(&self) -> &OtherTenant {
        &self.other_tenant
    }

    /// Zeroes the counters; the peak restarts from the calls in flight now.
    pub fn reset(&self) {
        self.peak
            .store(self.in_flight.load(Ordering::Acquire), Ordering::Release);
        self.rejected.store(0, Ordering::Relaxed);
        self.faults.store(0, Ordering::Relaxed);
        self.busy_micros.store(0, Ordering::Relaxed);
        self.first_entered.store(0, Ordering::Relaxed);
        self.last_left.store(0, Ordering::Relaxed);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_past_the_limit_is_refused_and_counted() {
        let governor = Governor::new(Some(2), Duration::ZERO, Vec::new());
        let first = governor.enter();
        let second = governor.enter();
        assert!(first.is_some() && second.is_some());
        assert!(governor.enter().is_none());
        drop(first);
        assert!(governor.enter().is_some());
        let counters = governor.counters();
        assert_eq!(counters.peak_in_flight, 2);
        assert_eq!(counters.rejected_over_limit, 1);
        assert_eq!(counters.in_flight, 1);
    }

    #[test]
    fn the_time_our_calls_spend_in_the_window_is_summed_and_spanned() {
        let governor = Governor::new(Some(2), Duration::ZERO, Vec::new());
        assert_eq!(governor.counters().active_micros, 0, "no call yet");
        let first = governor.enter();
        let second = governor.enter();
        std::thread::sleep(Duration::from_millis(5));
        drop(first);
        drop(second);
        let counters = governor.counters();
        assert!(counters.busy_micros >= 10_000, "{counters:?}");
        assert!(counters.active_micros >= 5_000, "{counters:?}");
        assert!(
            counters.active_micros < counters.busy_micros,
            "two calls at once"
        );
        // A refused call spends no time in the window.
        let _held: Vec<_> = (0..3).filter_map(|_| governor.enter()).collect();
        assert_eq!(governor.counters().busy_micros, counters.busy_micros);
        governor.reset();
        let counters = governor.counters();
        assert_eq!((counters.busy_micros, counters.active_micros), (0, 0));
    }

    #[test]
    fn without_a_limit_only_the_peak_is_tracked() {
        let governor = Governor::new(None, Duration::ZERO, Vec::new());
        let slots: Vec<_> = (0..40).filter_map(|_| governor.enter()).collect();
        assert_eq!(slots.len(), 40);
        drop(slots);
        assert_eq!(governor.counters().peak_in_flight, 40);
        governor.reset();
        assert_eq!(governor.counters(), SystemCounters::default());
    }

    #[test]
    fn the_other_tenants_slots_count_against_the_limit() {
        let governor = Governor::new(
            Some(5),
            Duration::ZERO,
            vec![TenantStep {
                after_ms: 0,
                slots: 3,
            }],
        );
        let ours: Vec<_> = (0..4).filter_map(|_| governor.enter()).collect();
        assert_eq!(ours.len(), 2, "5 slots, 3 held by the other tenant");
        let counters = governor.counters();
        assert_eq!(
            (counters.in_flight, counters.other_tenant_in_flight),
            (2, 3)
        );
        assert_eq!(counters.rejected_over_limit, 2);
        // The other tenant takes more than is free: ours already in flight go on, new ones wait.
        governor.other_tenant().set(vec![TenantStep {
            after_ms: 0,
            slots: 4,
        }]);
        assert!(governor.enter().is_none());
        drop(ours);
        assert!(governor.enter().is_some());
        assert_eq!(governor.counters().rejected_over_limit, 3);
    }
}

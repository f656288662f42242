//! Call starts spread out within one process, so NetSuite calls do not run in lockstep.
//!
//! Calls that start together end together when their latency is steady, and the next ones are
//! then granted their slots together too: the slots' calls travel in waves. When the account's
//! other tenants take more of the limit, a whole wave is refused before the first refusal has
//! lowered the learned limit ([`super::adaptive`]), so one congestion event costs up to a
//! refusal per slot instead of one. Spacing the starts of the calls this process makes by a
//! small gap breaks the waves up once; afterwards each slot's calls keep their own phase and the
//! gap no longer binds.
//!
//! The gap is the average call time (calls answered, measured from slot to answer) divided by
//! twice the limit in force, so the spacing alone would allow twice the limit's throughput and
//! never slows a steady run: 10 ms for 100-ms calls under a limit of 5; under 1 ms (fast calls,
//! as in tests against a sandbox without latency) it is not applied at all. Other processes'
//! calls are not spaced against this one's: their phases are independent already.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// Below this the gap is not worth a timer (tokio's resolution is a millisecond).
const MIN_GAP: Duration = Duration::from_millis(1);
/// The longest gap, whatever the calls take.
const MAX_GAP: Duration = Duration::from_millis(50);
/// Weight of a new call time in the running average.
const WEIGHT: f64 = 0.1;

/// Spaces out the starts of one process's NetSuite calls.
#[derive(Default)]
pub struct CallSpacing {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The earliest start of the next call.
    next: Option<Instant>,
    /// Running average of the time calls take.
    average: Option<Duration>,
    /// When each slot's call started.
    started: HashMap<String, Instant>,
}

impl CallSpacing {
    /// Waits for this call's turn under `limit`: at least the gap after the previous start.
    pub async fn wait_turn(&self, limit: u32) {
        let turn = {
            let mut inner = self.lock();
            let gap = gap(inner.average, limit);
            next_turn(&mut inner.next, Instant::now(), gap)
        };
        tokio::time::sleep_until(turn).await;
    }

    /// The call in `slot` starts now.
    pub fn started(&self, slot: &str) {
        self.lock().started.insert(slot.to_owned(), Instant::now());
    }

    /// The call in `slot` was answered: its time counts in the average.
    pub fn answered(&self, slot: &str) {
        let mut inner = self.lock();
        if let Some(started) = inner.started.get(slot) {
            let took = started.elapsed();
            inner.average = Some(match inner.average {
                None => took,
                Some(average) => average.mul_f64(1.0 - WEIGHT) + took.mul_f64(WEIGHT),
            });
        }
    }

    /// The slot is given back.
    pub fn released(&self, slot: &str) {
        self.lock().started.remove(slot);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The gap between call starts for calls taking `average` under `limit`.
fn gap(average: Option<Duration>, limit: u32) -> Duration {
    let gap = average.map_or(Duration::ZERO, |average| average / (2 * limit.max(1)));
    match gap < MIN_GAP {
        true => Duration::ZERO,
        false => gap.min(MAX_GAP),
    }
}

/// This call's start (now, or the gap after the previous start), moving `next` past it.
fn next_turn(next: &mut Option<Instant>, now: Instant, gap: Duration) -> Instant {
    let turn = next.map_or(now, |next| next.max(now));
    *next = Some(turn + gap);
    turn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_is_half_a_call_shared_by_the_limit_and_none_for_fast_calls() {
        let ms = Duration::from_millis;
        assert_eq!(gap(Some(ms(100)), 5), ms(10));
        assert_eq!(gap(Some(ms(100)), 1), ms(50));
        assert_eq!(gap(Some(ms(1_000)), 2), MAX_GAP);
        assert_eq!(
            gap(Some(ms(5)), 5),
            Duration::ZERO,
            "0.5 ms is below a tick"
        );
        assert_eq!(gap(None, 5), Duration::ZERO, "nothing measured yet");
        assert_eq!(gap(Some(ms(100)), 0), ms(50), "a limit is at least one");
    }

    #[test]
    fn calls_granted_together_start_a_gap_apart_and_a_later_one_at_once() {
        let now = Instant::now();
        let gap = Duration::from_millis(10);
        let mut next = None;
        let turns: Vec<_> = (0..5).map(|_| next_turn(&mut next, now, gap)).collect();
        let offsets: Vec<_> = turns.iter().map(|t| *t - now).collect();
        assert_eq!(
            offsets,
            [0, 10, 20, 30, 40].map(Duration::from_millis).to_vec()
        );
        // Long after the wave, a call starts at once.
        let later = now + Duration::from_millis(500);
        assert_eq!(next_turn(&mut next, later, gap), later);
    }

    #[tokio::test]
    async fn the_average_follows_the_answered_calls_only() {
        let spacing = CallSpacing::default();
        spacing.started("a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        spacing.answered("a");
        spacing.released("a");
        let average = spacing.lock().average.unwrap();
        assert!(average >= Duration::from_millis(20), "{average:?}");
        // A slot given back unanswered (a transport failure) leaves it alone.
        spacing.started("b");
        spacing.released("b");
        spacing.answered("b");
        assert_eq!(spacing.lock().average, Some(average));
        assert!(spacing.lock().started.is_empty());
    }
}

//! A second tenant of the simulated NetSuite account: every other integration and SuiteApp that
//! draws on the same account-wide concurrency limit as we do.
//!
//! Its load is a number of slots it holds, constant or following a schedule of steps (each step
//! in force from `after_ms` after the schedule was set until the next). Those slots count against
//! the limit exactly as our own in-flight calls do, so a call of ours is refused when ours plus
//! theirs reach the limit. Calls of ours already admitted are never cut off when the other tenant
//! takes more (NetSuite does not abort running requests): the sum may then exceed the limit until
//! ours finish, and every new call of ours is refused meanwhile.
//!
//! Non-goals: the other tenant's own refusals (it is not a client of the sandbox), and any time
//! source other than the process clock (Tokio's, so tests with a paused clock step it).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// From `after_ms` after the schedule was set, the other tenant holds `slots`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantStep {
    pub after_ms: u64,
    pub slots: usize,
}

/// The other tenant's load: its steps (sorted by `after_ms`) and when they were set.
pub struct OtherTenant {
    schedule: Mutex<(Vec<TenantStep>, Instant)>,
}

impl OtherTenant {
    pub fn new(steps: Vec<TenantStep>) -> Self {
        Self {
            schedule: Mutex::new((sorted(steps), Instant::now())),
        }
    }

    /// Replaces the schedule; its clock starts now.
    pub fn set(&self, steps: Vec<TenantStep>) {
        *self.lock() = (sorted(steps), Instant::now());
    }

    /// The schedule in force.
    pub fn steps(&self) -> Vec<TenantStep> {
        self.lock().0.clone()
    }

    /// Milliseconds since the schedule was set.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.lock().1.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Slots the other tenant holds now: those of the last step already in force, else none.
    pub fn slots_now(&self) -> usize {
        let guard = self.lock();
        let elapsed = guard.1.elapsed().as_millis();
        guard
            .0
            .iter()
            .take_while(|step| u128::from(step.after_ms) <= elapsed)
            .last()
            .map_or(0, |step| step.slots)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<TenantStep>, Instant)> {
        self.schedule
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn sorted(mut steps: Vec<TenantStep>) -> Vec<TenantStep> {
    steps.sort_by_key(|step| step.after_ms);
    steps
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_load_follows_its_steps_on_the_clock() {
        let tenant = OtherTenant::new(vec![
            TenantStep {
                after_ms: 5000,
                slots: 4,
            },
            TenantStep {
                after_ms: 1000,
                slots: 2,
            },
        ]);
        assert_eq!(
            tenant.slots_now(),
            0,
            "no step is in force before the first"
        );
        tokio::time::advance(Duration::from_millis(1000)).await;
        assert_eq!(tenant.slots_now(), 2);
        tokio::time::advance(Duration::from_millis(3999)).await;
        assert_eq!(tenant.slots_now(), 2);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(tenant.slots_now(), 4, "the last step stays in force");
        tenant.set(vec![TenantStep {
            after_ms: 0,
            slots: 1,
        }]);
        assert_eq!((tenant.slots_now(), tenant.elapsed_ms()), (1, 0));
    }
}

//! The org's clock: the real time shifted by an offset a test controls, so the limits that
//! depend on time (the 15-day deleted-records log, a query cursor's 15 idle minutes) can be met
//! without waiting. Every timestamp the org writes (`SystemModstamp`, a deletion) and every
//! check of a time limit reads this clock; the offset starts at zero. Shared by the org and its
//! store, so moving it moves both.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The org's current time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock by `by` (negative: back), relative to where it is.
    pub fn shift(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    /// Puts the clock back on the real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

//! Token buckets by API key name: a key earns `rate` requests a second up to `burst`, and each
//! request spends one. Keys are the configured ones (callers are authenticated first), so the
//! map is bounded by the key list.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Requests a second a key earns, and how many it may spend at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: u32,
}

#[derive(Default)]
pub(crate) struct KeyBuckets {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl KeyBuckets {
    /// Spends one request of `key`; `Err(wait)` until the next one is earned when none is left.
    pub(crate) fn take(&self, key: &str, limit: RateLimit) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let earned = now.duration_since(bucket.at).as_secs_f64() * limit.rate;
        bucket.tokens = (bucket.tokens + earned).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / limit.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_key_spends_its_burst_then_earns_at_its_rate() {
        let buckets = KeyBuckets::default();
        let limit = RateLimit {
            rate: 2.0,
            burst: 3,
        };
        for _ in 0..3 {
            assert_eq!(buckets.take("sf", limit), Ok(()));
        }
        let wait = buckets.take("sf", limit).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another key has its own bucket.
        assert_eq!(buckets.take("ns", limit), Ok(()));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(buckets.take("sf", limit), Ok(()));
        assert!(buckets.take("sf", limit).is_err());
    }
}

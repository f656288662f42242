//! Sync statistics: what the console's overview draws, shared by every replica.
//!
//! Every finished sync (of any flow, in any process) adds one [`SyncSample`]: it counts under
//! its flow's [`STATS_BUCKET_MS`] bucket by outcome, and its latency counts in the bucket's
//! histogram (upper bounds in [`LATENCY_BOUNDS_MS`]); a failed sync also becomes its flow's
//! last error. The Salesforce API allocation seen is kept per bucket too. Buckets are kept
//! [`STATS_TTL`], so a day's trend is always there and nothing grows without bound. Reading a
//! day is one read of a bounded number of small keys (flows × buckets), never a scan.
//!
//! Counts are best effort (a sample lost to a store outage is not retried) and percentiles are
//! estimates: the upper bound of the histogram bucket they fall in.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

/// The width of a statistics bucket: 5 minutes.
pub const STATS_BUCKET_MS: i64 = 300_000;
/// How long a bucket is kept: two days, so "the last day" is always whole.
pub const STATS_TTL: Duration = Duration::from_secs(2 * 86_400);
/// Upper bounds (ms, inclusive) of the latency histogram; the last catches everything above.
pub const LATENCY_BOUNDS_MS: [u64; 12] = [
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    u64::MAX,
];

/// One finished sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSample<'a> {
    pub flow: &'a str,
    /// `created`, `updated`, `unchanged`, `skipped`, `conflict` or `failed`.
    pub outcome: &'a str,
    pub at_ms: i64,
    pub latency_ms: u64,
    /// For a failed sync: what went wrong (becomes the flow's last error).
    pub error: Option<&'a str>,
    pub trace_id: &'a str,
}

/// One flow's syncs in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatsBucket {
    pub flow: String,
    /// The bucket's start, ms since the epoch (a multiple of [`STATS_BUCKET_MS`]).
    pub start_ms: i64,
    /// Syncs by outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Syncs per latency bound, in the order of [`LATENCY_BOUNDS_MS`].
    pub latency: Vec<u64>,
}

/// A flow's last failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    pub flow: String,
    pub at_ms: i64,
    pub error: String,
    pub trace_id: String,
}

/// The Salesforce API usage last seen in a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationSample {
    pub start_ms: i64,
    pub used: u64,
    pub max: u64,
}

/// Everything kept since a time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsReport {
    /// Non-empty buckets, by flow then time.
    pub buckets: Vec<StatsBucket>,
    /// The last error of each flow that has one.
    pub last_errors: Vec<LastError>,
    /// By time.
    pub allocation: Vec<AllocationSample>,
}

/// Sync statistics (see the module doc).
#[async_trait]
pub trait SyncStats: Send + Sync + 'static {
    /// Counts one finished sync (one round trip).
    async fn record_sync(&self, sample: &SyncSample<'_>) -> Result<()>;
    /// Keeps the Salesforce API usage seen at `at_ms` (the bucket keeps the last seen).
    async fn record_allocation(&self, at_ms: i64, used: u64, max: u64) -> Result<()>;
    /// What was kept from the bucket holding `since_ms` on (at most [`STATS_TTL`] back).
    async fn sync_stats(&self, since_ms: i64) -> Result<StatsReport>;
}

/// The start of the bucket holding `at_ms`.
pub fn bucket_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(STATS_BUCKET_MS) * STATS_BUCKET_MS
}

/// The histogram slot of a latency.
pub fn latency_slot(latency_ms: u64) -> usize {
    LATENCY_BOUNDS_MS
        .iter()
        .position(|bound| latency_ms <= *bound)
        .unwrap_or(LATENCY_BOUNDS_MS.len() - 1)
}

/// The estimated `quantile` (0..=1) latency of a histogram: the bound of the slot it falls in;
/// `None` for an empty histogram.
pub fn latency_quantile(histogram: &[u64], quantile: f64) -> Option<u64> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * quantile.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (slot, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return LATENCY_BOUNDS_MS.get(slot).copied();
        }
    }
    LATENCY_BOUNDS_MS.last().copied()
}

/// The buckets from the one holding `since_ms` to the one holding `now_ms`, at most a TTL's
/// worth.
pub(crate) fn buckets_between(since_ms: i64, now_ms: i64) -> Vec<i64> {
    let ttl = i64::try_from(STATS_TTL.as_millis()).unwrap_or(i64::MAX);
    let first = bucket_of(since_ms.max(now_ms - ttl));
    (0..)
        .map(|n| first + n * STATS_BUCKET_MS)
        .take_while(|start| *start <= now_ms)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_first_bound_that_holds_them() {
        assert_eq!(latency_slot(0), 0);
        assert_eq!(latency_slot(10), 0);
        assert_eq!(latency_slot(11), 1);
        assert_eq!(latency_slot(999_999), LATENCY_BOUNDS_MS.len() - 1);
    }

    #[test]
    fn quantiles_are_the_bound_of_their_slot() {
        let mut histogram = vec![0; LATENCY_BOUNDS_MS.len()];
        histogram[latency_slot(40)] = 90;
        histogram[latency_slot(400)] = 10;
        assert_eq!(latency_quantile(&histogram, 0.5), Some(50));
        assert_eq!(latency_quantile(&histogram, 0.95), Some(500));
        assert_eq!(latency_quantile(&[0; 12], 0.5), None);
    }

    #[test]
    fn a_day_back_is_its_five_minute_buckets() {
        let now = 1_765_000_123_456;
        let day = buckets_between(now - 86_400_000, now);
        assert_eq!(day.len(), 289);
        assert_eq!(*day.last().unwrap(), bucket_of(now));
        assert!(buckets_between(0, now).len() <= 2 * 288 + 1);
    }
}

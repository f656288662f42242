//! The contract of the sync statistics: counted per flow, bucket and outcome, with latencies,
//! last errors and the allocation seen.

use isthmus_store::stats::{bucket_of, latency_slot, STATS_BUCKET_MS};
use isthmus_store::{SyncSample, SyncStats};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn sample<'a>(flow: &'a str, outcome: &'a str, at_ms: i64, latency_ms: u64) -> SyncSample<'a> {
    SyncSample {
        flow,
        outcome,
        at_ms,
        latency_ms,
        error: None,
        trace_id: "t",
    }
}

pub async fn syncs_are_counted_per_flow_bucket_and_outcome(store: impl SyncStats) {
    let now = now_ms();
    let earlier = now - 2 * STATS_BUCKET_MS;
    for _ in 0..3 {
        store
            .record_sync(&sample("customers.a", "created", now, 40))
            .await
            .unwrap();
    }
    store
        .record_sync(&sample("customers.a", "unchanged", now, 400))
        .await
        .unwrap();
    store
        .record_sync(&sample("customers.a", "created", earlier, 5))
        .await
        .unwrap();
    store
        .record_sync(&sample("orders.b", "updated", now, 1))
        .await
        .unwrap();

    let report = store.sync_stats(now - 3_600_000).await.unwrap();
    let shape: Vec<(&str, i64)> = report
        .buckets
        .iter()
        .map(|b| (b.flow.as_str(), b.start_ms))
        .collect();
    assert_eq!(
        shape,
        [
            ("customers.a", bucket_of(earlier)),
            ("customers.a", bucket_of(now)),
            ("orders.b", bucket_of(now)),
        ]
    );
    let current = &report.buckets[1];
    assert_eq!(current.outcomes.get("created"), Some(&3));
    assert_eq!(current.outcomes.get("unchanged"), Some(&1));
    assert_eq!(current.latency[latency_slot(40)], 3);
    assert_eq!(current.latency[latency_slot(400)], 1);
    assert_eq!(current.latency.iter().sum::<u64>(), 4);

    // Only the buckets from `since` on.
    let recent = store.sync_stats(now - 60_000).await.unwrap();
    assert_eq!(recent.buckets.len(), 2);
}

pub async fn a_failed_sync_is_its_flows_last_error(store: impl SyncStats) {
    let now = now_ms();
    for (error, at) in [("first", now - 10), ("second", now)] {
        store
            .record_sync(&SyncSample {
                error: Some(error),
                trace_id: "trace-1",
                ..sample("finance.x", "failed", at, 100)
            })
            .await
            .unwrap();
    }
    store
        .record_sync(&sample("finance.x", "updated", now, 100))
        .await
        .unwrap();

    let report = store.sync_stats(now - 60_000).await.unwrap();
    assert_eq!(report.last_errors.len(), 1);
    let last = &report.last_errors[0];
    assert_eq!(
        (
            last.flow.as_str(),
            last.error.as_str(),
            last.trace_id.as_str()
        ),
        ("finance.x", "second", "trace-1")
    );
    assert_eq!(report.buckets[0].outcomes.get("failed"), Some(&2));
}

pub async fn the_allocation_seen_is_kept_per_bucket(store: impl SyncStats) {
    let now = now_ms();
    store
        .record_allocation(now - STATS_BUCKET_MS, 10, 1000)
        .await
        .unwrap();
    store.record_allocation(now, 20, 1000).await.unwrap();
    store.record_allocation(now, 25, 1000).await.unwrap();

    let report = store.sync_stats(now - 3_600_000).await.unwrap();
    let seen: Vec<(u64, u64)> = report.allocation.iter().map(|a| (a.used, a.max)).collect();
    assert_eq!(seen, [(10, 1000), (25, 1000)]);
    assert_eq!(report.allocation[1].start_ms, bucket_of(now));
    assert!(store.sync_stats(now).await.unwrap().buckets.is_empty());
}

//! The gauges a `/metrics` scrape reads from Redis (shared by every replica, so any process
//! serving `/metrics` reports the same numbers): jobs per queue and state, NetSuite slots in use,
//! parked conflicts, whether work is held for the Salesforce allocation. Counters and histograms are kept in-process by `isthmus_telemetry::metrics`.

use std::sync::Arc;

use isthmus_store::{ConflictState, Store};
use isthmus_telemetry::metrics::{
    CONFLICTS_PARKED, NETSUITE_SLOTS, QUEUE_JOBS, QUEUE_OLDEST_SECONDS, SALESFORCE_EXHAUSTED,
};

use crate::governance::NETSUITE_SEMAPHORE;

/// Sets the Redis-backed gauges for the queues of `services` (queue namespaces). A store that
/// does not answer leaves the last values (the scrape still answers).
pub async fn refresh_gauges(store: &Arc<dyn Store>, services: &[&str]) {
    for service in services {
        let depth = match store.queue(service).await {
            Ok(queue) => queue.queue_depth().await,
            Err(err) => Err(err),
        };
        match depth {
            Ok(depth) => {
                for (state, value) in [
                    ("interactive", depth.interactive),
                    ("batch", depth.batch),
                    ("delayed", depth.delayed),
                    ("pending", depth.pending),
                    ("dead", depth.dead),
                ] {
                    QUEUE_JOBS
                        .with_label_values(&[service, state])
                        .set(i64::try_from(value).unwrap_or(i64::MAX));
                }
                let now_ms = chrono::Utc::now().timestamp_millis();
                for (lane, oldest) in [
                    ("interactive", depth.oldest_interactive_ms),
                    ("batch", depth.oldest_batch_ms),
                ] {
                    let age = oldest.map_or(0.0, |ms| (now_ms - ms).max(0) as f64 / 1000.0);
                    QUEUE_OLDEST_SECONDS
                        .with_label_values(&[service, lane])
                        .set(age);
                }
            }
            Err(err) => tracing::warn!(%err, service, "reading queue depth for /metrics failed"),
        }
    }
    match store.slots_in_use(NETSUITE_SEMAPHORE).await {
        Ok(in_use) => NETSUITE_SLOTS.set(i64::from(in_use)),
        Err(err) => tracing::warn!(%err, "reading NetSuite slots for /metrics failed"),
    }
    match crate::governance::current_hold(store.as_ref()).await {
        Ok(hold) => SALESFORCE_EXHAUSTED.set(i64::from(hold.is_some())),
        Err(err) => tracing::warn!(%err, "reading the allocation hold for /metrics failed"),
    }
    match store.conflict_count(Some(ConflictState::Parked)).await {
        Ok(parked) => CONFLICTS_PARKED.set(i64::try_from(parked).unwrap_or(i64::MAX)),
        Err(err) => tracing::warn!(%err, "reading parked conflicts for /metrics failed"),
    }
}

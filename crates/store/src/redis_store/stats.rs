//! Sync statistics on Redis (see [`stats`](crate::stats)).
//!
//! `stats:<bucket>:<flow>` is a hash of counts by outcome and `lat:<slot>` latency counts,
//! `stats:alloc:<bucket>` a hash of `used` and `max`, both expiring [`STATS_TTL`] after their
//! last write; `stats:flows` is the set of flow names (a handful: it is never trimmed) and
//! `stats:errors` a hash of each flow's last error. A sample is one pipelined round trip; a
//! report is two (the flow names, then every bucket's hash in one pipeline).

use std::collections::{BTreeMap, HashMap};

use redis::AsyncCommands;

use super::RedisStore;
use crate::stats::{
    bucket_of, buckets_between, latency_slot, AllocationSample, LastError, StatsBucket,
    StatsReport, SyncSample, LATENCY_BOUNDS_MS, STATS_TTL,
};
use crate::{ttl_millis, unix_millis, Result};

pub(super) async fn record_sync(store: &RedisStore, sample: &SyncSample<'_>) -> Result<()> {
    let bucket = store
        .keys
        .stats_bucket(bucket_of(sample.at_ms), sample.flow);
    let mut pipe = redis::pipe();
    pipe.sadd(store.keys.stats_flows(), sample.flow)
        .ignore()
        .hincr(&bucket, sample.outcome, 1)
        .ignore()
        .hincr(
            &bucket,
            format!("lat:{}", latency_slot(sample.latency_ms)),
            1,
        )
        .ignore()
        .pexpire(&bucket, ttl_millis(STATS_TTL) as i64)
        .ignore();
    if let Some(error) = sample.error {
        let last = LastError {
            flow: sample.flow.to_owned(),
            at_ms: sample.at_ms,
            error: error.to_owned(),
            trace_id: sample.trace_id.to_owned(),
        };
        let json = serde_json::to_string(&last).unwrap_or_default();
        pipe.hset(store.keys.stats_errors(), sample.flow, json)
            .ignore();
    }
    let () = pipe.query_async(&mut store.connection.clone()).await?;
    Ok(())
}

pub(super) async fn record_allocation(
    store: &RedisStore,
    at_ms: i64,
    used: u64,
    max: u64,
) -> Result<()> {
    let key = store.keys.stats_allocation(bucket_of(at_ms));
    let () = redis::pipe()
        .hset_multiple(&key, &[("used", used), ("max", max)])
        .ignore()
        .pexpire(&key, ttl_millis(STATS_TTL) as i64)
        .ignore()
        .query_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn report(store: &RedisStore, since_ms: i64) -> Result<StatsReport> {
    let mut flows: Vec<String> = store
        .connection
        .clone()
        .smembers(store.keys.stats_flows())
        .await?;
    flows.sort();
    let buckets = buckets_between(since_ms, unix_millis());
    let mut pipe = redis::pipe();
    for flow in &flows {
        for start in &buckets {
            pipe.hgetall(store.keys.stats_bucket(*start, flow));
        }
    }
    pipe.hgetall(store.keys.stats_errors());
    for start in &buckets {
        pipe.hgetall(store.keys.stats_allocation(*start));
    }
    let mut replies: Vec<HashMap<String, String>> =
        pipe.query_async(&mut store.connection.clone()).await?;
    let allocation_replies = replies.split_off(flows.len() * buckets.len() + 1);
    let errors = replies.pop().unwrap_or_default();

    let mut report = StatsReport::default();
    let mut counts = replies.into_iter();
    for flow in &flows {
        for start in &buckets {
            let hash = counts.next().unwrap_or_default();
            if let Some(bucket) = bucket_from(flow, *start, hash) {
                report.buckets.push(bucket);
            }
        }
    }
    let mut last_errors: Vec<LastError> = errors
        .values()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect();
    last_errors.sort_by(|a, b| a.flow.cmp(&b.flow));
    report.last_errors = last_errors;
    report.allocation = buckets
        .iter()
        .zip(allocation_replies)
        .filter_map(|(start, hash)| {
            Some(AllocationSample {
                start_ms: *start,
                used: hash.get("used")?.parse().ok()?,
                max: hash.get("max")?.parse().ok()?,
            })
        })
        .collect();
    Ok(report)
}

/// A bucket from its hash; `None` when it is empty (never written, or expired).
fn bucket_from(flow: &str, start_ms: i64, hash: HashMap<String, String>) -> Option<StatsBucket> {
    if hash.is_empty() {
        return None;
    }
    let mut bucket = StatsBucket {
        flow: flow.to_owned(),
        start_ms,
        outcomes: BTreeMap::new(),
        latency: vec![0; LATENCY_BOUNDS_MS.len()],
    };
    for (field, count) in hash {
        let count: u64 = count.parse().unwrap_or(0);
        match field.strip_prefix("lat:") {
            Some(slot) => {
                if let Some(n) = slot
                    .parse::<usize>()
                    .ok()
                    .and_then(|s| bucket.latency.get_mut(s))
                {
                    *n += count;
                }
            }
            None => {
                bucket.outcomes.insert(field, count);
            }
        }
    }
    Some(bucket)
}

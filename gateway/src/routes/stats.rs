//! Sync statistics: per flow, the last hour and day by outcome with success rate and latency,
//! the last error, the day's timeline and the Salesforce allocation seen over it (read from the
//! statistics every replica writes, see `isthmus_store::stats`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use isthmus_store::stats::{latency_quantile, StatsBucket, LATENCY_BOUNDS_MS, STATS_BUCKET_MS};
use isthmus_store::AllocationSample;
use serde::Serialize;
use utoipa::ToSchema;

use super::store_unavailable;
use crate::{ApiError, Gateway};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Outcomes that count as success (the rest: `conflict`, `failed`; `retried` is not final).
const SUCCESS: [&str; 4] = ["created", "updated", "unchanged", "skipped"];

/// Syncs of one flow over a window.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct WindowJson {
    /// Finished syncs by outcome (`retried` counts failed attempts that will run again).
    pub outcomes: BTreeMap<String, u64>,
    /// Final syncs (every outcome but `retried`).
    pub total: u64,
    /// Share of final syncs that succeeded, 0..1; absent with none.
    pub success_rate: Option<f64>,
    /// Estimated median and 95th percentile latency, ms (the histogram bound they fall in).
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastErrorJson {
    pub at_ms: i64,
    pub error: String,
    pub trace_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlowStatsJson {
    pub flow: String,
    pub last_hour: WindowJson,
    pub last_day: WindowJson,
    pub last_error: Option<LastErrorJson>,
}

/// Syncs of every flow in one bucket of the day.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineJson {
    pub start_ms: i64,
    pub outcomes: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationPointJson {
    pub start_ms: i64,
    pub used: u64,
    pub max: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsJson {
    pub now_ms: i64,
    /// Width of a timeline bucket, ms.
    pub bucket_ms: i64,
    pub flows: Vec<FlowStatsJson>,
    /// The last day, oldest first; buckets without syncs are left out.
    pub timeline: Vec<TimelineJson>,
    /// The Salesforce API usage seen over the last day, oldest first.
    pub allocation: Vec<AllocationPointJson>,
}

fn window<'a>(buckets: impl Iterator<Item = &'a StatsBucket>) -> WindowJson {
    let mut out = WindowJson::default();
    let mut latency = vec![0; LATENCY_BOUNDS_MS.len()];
    for bucket in buckets {
        for (outcome, count) in &bucket.outcomes {
            *out.outcomes.entry(outcome.clone()).or_default() += count;
        }
        for (slot, count) in bucket.latency.iter().enumerate() {
            latency[slot] += count;
        }
    }
    out.total = out
        .outcomes
        .iter()
        .filter(|(o, _)| o.as_str() != "retried")
        .map(|(_, n)| n)
        .sum();
    let succeeded: u64 = SUCCESS.iter().filter_map(|o| out.outcomes.get(*o)).sum();
    out.success_rate = (out.total > 0).then(|| succeeded as f64 / out.total as f64);
    out.p50_ms = latency_quantile(&latency, 0.5);
    out.p95_ms = latency_quantile(&latency, 0.95);
    out
}

#[utoipa::path(get, path = "/v1/stats",
    responses((status = 200, body = StatsJson), (status = 401, body = crate::ErrorBody),
              (status = 403, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(State(gateway): State<Gateway>) -> Result<Json<StatsJson>, ApiError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let report = gateway
        .store
        .sync_stats(now_ms - DAY_MS)
        .await
        .map_err(store_unavailable)?;
    let hour_from = now_ms - HOUR_MS;
    let mut by_flow: BTreeMap<&str, Vec<&StatsBucket>> = BTreeMap::new();
    let mut timeline: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    for bucket in &report.buckets {
        by_flow.entry(&bucket.flow).or_default().push(bucket);
        let at = timeline.entry(bucket.start_ms).or_default();
        for (outcome, count) in &bucket.outcomes {
            *at.entry(outcome.clone()).or_default() += count;
        }
    }
    let flows =
        by_flow
            .into_iter()
            .map(|(flow, buckets)| FlowStatsJson {
                flow: flow.to_string(),
                // A bucket counts in the hour when it ends inside it.
                last_hour: window(
                    buckets
                        .iter()
                        .copied()
                        .filter(|b| b.start_ms + STATS_BUCKET_MS > hour_from),
                ),
                last_day: window(buckets.iter().copied()),
                last_error: report.last_errors.iter().find(|e| e.flow == flow).map(|e| {
                    LastErrorJson {
                        at_ms: e.at_ms,
                        error: e.error.clone(),
                        trace_id: e.trace_id.clone(),
                    }
                }),
            })
            .collect();
    Ok(Json(StatsJson {
        now_ms,
        bucket_ms: STATS_BUCKET_MS,
        flows,
        timeline: timeline
            .into_iter()
            .map(|(start_ms, outcomes)| TimelineJson { start_ms, outcomes })
            .collect(),
        allocation: report
            .allocation
            .iter()
            .map(|a: &AllocationSample| AllocationPointJson {
                start_ms: a.start_ms,
                used: a.used,
                max: a.max,
            })
            .collect(),
    }))
}

//! Prometheus metrics of one process, in the default registry, rendered as text by [`render`].
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `isthmus_syncs_total` | flow, outcome | syncs finished (every flow, inline, queued, batch) |
//! | `isthmus_sync_duration_seconds` | kind | time to run one sync job |
//! | `isthmus_upstream_requests_total` | system, route, status | vendor HTTP calls by route class and status (`error` when no answer) |
//! | `isthmus_upstream_request_duration_seconds` | system | vendor call latency |
//! | `isthmus_salesforce_api_requests_remaining` | | the org's daily API allocation left, as last seen |
//! | `isthmus_netsuite_slots_in_use` | | NetSuite concurrency slots held (all replicas) |
//! | `isthmus_netsuite_concurrency_limit` | | the NetSuite concurrency limit in force: the learned one (adaptive), else the configured one |
//! | `isthmus_queue_jobs` | service, state | jobs per lane and state (`interactive`, `batch`, `delayed`, `pending`, `dead`) |
//! | `isthmus_conflicts_parked` | | conflicts waiting for a person |
//! | `isthmus_salesforce_allocation_exhausted` | | 1 while work is held because the Salesforce allocation is spent (all replicas) |
//! | `isthmus_jobs_held_total` | flow | job deliveries put back because the Salesforce allocation was spent |
//! | `isthmus_reconcile_*` | flow, kind | see the gateway's reconciliation metrics |
//!
//! Gauges read from Redis are set at scrape time by the process serving `/metrics`.

use std::sync::LazyLock;

use prometheus::{
    register_gauge, register_gauge_vec, register_histogram_vec, register_int_counter_vec,
    register_int_gauge, register_int_gauge_vec, Encoder, Gauge, GaugeVec, HistogramVec,
    IntCounterVec, IntGauge, IntGaugeVec, TextEncoder,
};

/// Latency buckets, seconds: 5 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub static SYNCS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "isthmus_syncs_total",
        "Syncs finished, by flow and outcome.",
        &["flow", "outcome"]
    )
    .expect("metric registers once")
});

pub static SYNC_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "isthmus_sync_duration_seconds",
        "Time to run one sync job, by job kind.",
        &["kind"],
        BUCKETS.to_vec()
    )
    .expect("metric registers once")
});

pub static UPSTREAM: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "isthmus_upstream_requests_total",
        "Salesforce and NetSuite HTTP calls, by system, route class and status.",
        &["system", "route", "status"]
    )
    .expect("metric registers once")
});

pub static UPSTREAM_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "isthmus_upstream_request_duration_seconds",
        "Salesforce and NetSuite call latency, by system.",
        &["system"],
        BUCKETS.to_vec()
    )
    .expect("metric registers once")
});

pub static SALESFORCE_REMAINING: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "isthmus_salesforce_api_requests_remaining",
        "The Salesforce org's daily API requests left, as last seen."
    )
    .expect("metric registers once")
});

pub static SALESFORCE_MAX: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "isthmus_salesforce_api_requests_max",
        "The Salesforce org's daily API request allocation, as last seen."
    )
    .expect("metric registers once")
});

pub static QUEUE_OLDEST_SECONDS: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "isthmus_queue_oldest_job_age_seconds",
        "Age of the oldest job waiting in a service's lane (interactive, batch); 0 when none waits.",
        &["service", "lane"]
    )
    .expect("metric registers once")
});

pub static NETSUITE_SLOTS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "isthmus_netsuite_slots_in_use",
        "NetSuite concurrency slots held across replicas."
    )
    .expect("metric registers once")
});

pub static NETSUITE_LIMIT: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "isthmus_netsuite_concurrency_limit",
        "The NetSuite concurrency limit in force across replicas: the one learned from the account's free share, or the configured one."
    )
    .expect("metric registers once")
});

pub static QUEUE_JOBS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "isthmus_queue_jobs",
        "Jobs per service queue and state (interactive, batch, delayed, pending, dead).",
        &["service", "state"]
    )
    .expect("metric registers once")
});

pub static CONFLICTS_PARKED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "isthmus_conflicts_parked",
        "Conflicts waiting for a person to resolve them."
    )
    .expect("metric registers once")
});

pub static SALESFORCE_EXHAUSTED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "isthmus_salesforce_allocation_exhausted",
        "1 while work is held because the Salesforce daily API allocation is spent."
    )
    .expect("metric registers once")
});

pub static JOBS_HELD: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "isthmus_jobs_held_total",
        "Job deliveries put back (not counted as attempts) while the Salesforce allocation was spent.",
        &["flow"]
    )
    .expect("metric registers once")
});

/// Counts one finished sync.
pub fn sync_finished(flow: &str, outcome: &str) {
    SYNCS.with_label_values(&[flow, outcome]).inc();
}

/// Records one vendor call.
pub fn upstream_call(system: &str, route: &str, status: Option<u16>, seconds: f64) {
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    UPSTREAM
        .with_label_values(&[system, route, status.as_str()])
        .inc();
    UPSTREAM_SECONDS
        .with_label_values(&[system])
        .observe(seconds);
}

/// Every metric of this process in the Prometheus text format.
pub fn render() -> String {
    // Register every family (labelled ones show from their first event on).
    LazyLock::force(&SYNCS);
    LazyLock::force(&SYNC_SECONDS);
    LazyLock::force(&UPSTREAM);
    LazyLock::force(&UPSTREAM_SECONDS);
    LazyLock::force(&SALESFORCE_REMAINING);
    LazyLock::force(&SALESFORCE_MAX);
    LazyLock::force(&QUEUE_OLDEST_SECONDS);
    LazyLock::force(&NETSUITE_SLOTS);
    LazyLock::force(&QUEUE_JOBS);
    LazyLock::force(&CONFLICTS_PARKED);
    LazyLock::force(&SALESFORCE_EXHAUSTED);
    LazyLock::force(&JOBS_HELD);
    let mut out = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(err) = encoder.encode(&prometheus::gather(), &mut out) {
        tracing::warn!(%err, "encoding metrics failed");
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_show_in_the_text_format() {
        sync_finished("customers.account_to_customer", "created");
        upstream_call("netsuite", "record/v1/customer/{id}", Some(204), 0.02);
        upstream_call("salesforce", "query", None, 0.5);
        let text = render();
        assert!(text.contains(
            "isthmus_syncs_total{flow=\"customers.account_to_customer\",outcome=\"created\"} 1"
        ));
        assert!(text.contains(
            "isthmus_upstream_requests_total{route=\"record/v1/customer/{id}\",status=\"204\",system=\"netsuite\"} 1"
        ));
        assert!(text.contains("status=\"error\",system=\"salesforce\"} 1"));
        assert!(text.contains("isthmus_upstream_request_duration_seconds_bucket"));
    }
}

//! Work through the queue: every write a caller asks for becomes a job on a Redis Streams lane
//! (interactive for buttons and events, batch for backfills and schedules), run by a [`Worker`]
//! in whichever replica takes it, retried with backoff and jitter while the error is
//! retryable, and dead-lettered after the last attempt.
//!
//! - [`JobRecord`]: what `GET /v1/jobs/{id}` shows: state, attempts, result or error, trace id.
//!   Kept as a status value in the store for `queue.job_ttl_s`.
//! - [`Jobs`]: a service's queue and its job records, what the dispatcher, the worker and the
//!   jobs API work on.
//! - [`SyncJob`]: the payload of a sync job.
//! - [`Worker`]: the loop that takes jobs, runs them through the flows and settles them.
//!
//! Delivery is at least once: a worker that dies between finishing a job and acknowledging it
//! leaves the job pending, and another worker reclaims it after `queue.reclaim_idle_ms`. Every
//! effect is idempotent (upserts by external id, content-hash echo suppression), so a job run
//! twice writes once.

pub mod background;
mod dispatch;
mod record;
mod worker;

pub use dispatch::{Delivery, Dispatcher};

pub use record::{
    JobRecord, JobState, Jobs, SyncJob, JOB_KIND_SYNC_ACCOUNT, JOB_KIND_SYNC_CUSTOMER,
    JOB_KIND_SYNC_FULFILLMENT, JOB_KIND_SYNC_ITEM, JOB_KIND_SYNC_OPPORTUNITY,
    JOB_KIND_SYNC_SALES_ORDER,
};
pub use record::{JOB_KIND_SYNC_CREDIT_MEMO, JOB_KIND_SYNC_INVOICE, JOB_KIND_SYNC_PAYMENT};
pub use worker::{RetryPolicy, Worker};

use crate::result::SyncResult;

use crate::error::{EngineError, Result};

/// What runs a service's sync jobs: the inline path and the worker both call it. A service runs
/// only its own job kinds; any other kind is a permanent error (it cannot be in its queue unless
/// something is badly wrong).
#[async_trait::async_trait]
pub trait JobRunner: Send + Sync + 'static {
    async fn run(&self, job: &SyncJob, trace_id: &str) -> Result<SyncResult>;
}

/// Runs one job with `runner` in the trace `trace_id` (so its calls to other services carry
/// it), timing it (`isthmus_sync_duration_seconds` by job kind).
pub(crate) async fn timed_run(
    runner: &dyn JobRunner,
    job: &SyncJob,
    trace_id: &str,
) -> crate::error::Result<crate::result::SyncResult> {
    let started = std::time::Instant::now();
    let context = isthmus_telemetry::TraceContext::of_trace(trace_id);
    let outcome = isthmus_telemetry::scope(context, runner.run(job, trace_id)).await;
    isthmus_telemetry::metrics::SYNC_SECONDS
        .with_label_values(&[job.kind()])
        .observe(started.elapsed().as_secs_f64());
    outcome
}

/// The error for a job kind a service does not run.
pub fn foreign_job(service: &str, job: &SyncJob) -> EngineError {
    EngineError::InvalidArgument(format!(
        "the {service} service does not run {} jobs",
        job.kind()
    ))
}

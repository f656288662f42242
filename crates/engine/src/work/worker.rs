//! The worker loop: take jobs (interactive lane first), run them through the flows, and settle
//! each: done, retried later, held, or dead-lettered.
//!
//! A job that meets a spent Salesforce allocation (`SALESFORCE_ALLOCATION_EXHAUSTED`) is held:
//! put back after `RetryPolicy::hold_pause` in state `held`, its delivery counted in the
//! record's `held` and not against its attempts, for as long as the allocation stays spent; it
//! is never dead-lettered for it. The hold is published (see `governance::AllocationHold`) and
//! cleared by the first job that completes afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use isthmus_store::{Failure, QueuedJob};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::record::{JobRecord, JobState, Jobs, SyncJob};
use super::JobRunner;
use crate::audit::{SyncLog, Trigger};
use crate::error::{EngineError, Result};
use crate::governance;

/// How often and how long to retry, by error class.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all for a retryable error (upstream 5xx, timeouts, limits, a held lock).
    pub retryable_attempts: u32,
    /// Attempts in all for a permanent error (a record the vendor rejects).
    pub permanent_attempts: u32,
    /// First retry delay; each further retry doubles it, up to `max_delay`, with equal jitter
    /// (see [`RetryPolicy::delay`]).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a job is put back while Salesforce's allocation is spent (a hold: the attempt
    /// is not counted).
    pub hold_pause: Duration,
}

impl RetryPolicy {
    /// Whether attempt number `attempt` (1-based) may be followed by another.
    pub fn allows_retry(&self, attempt: u32, retryable: bool) -> bool {
        let limit = if retryable {
            self.retryable_attempts
        } else {
            self.permanent_attempts
        };
        attempt < limit
    }

    /// The delay before attempt `attempt + 1`: uniform in [ceiling/2, ceiling], where the ceiling
    /// doubles from `base_delay` per attempt up to `max_delay` ("equal jitter": spread out, never
    /// immediate).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let half = ceiling / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// Runs jobs from the queue until told to stop.
pub struct Worker {
    runner: Arc<dyn JobRunner>,
    log: SyncLog,
    jobs: Jobs,
    policy: RetryPolicy,
    consumer: String,
    concurrency: usize,
    job_ttl: Duration,
    reclaim_idle: Duration,
    /// Whether this worker held a job since its last success (it then clears the hold).
    holding: AtomicBool,
}

impl Worker {
    /// `jobs` holds the service's own queue (`Store::queue`), so the worker takes only the
    /// service's own jobs, and its job records.
    pub fn new(
        runner: Arc<dyn JobRunner>,
        jobs: Jobs,
        log: SyncLog,
        policy: RetryPolicy,
        concurrency: usize,
        job_ttl: Duration,
        reclaim_idle: Duration,
    ) -> Self {
        let consumer = format!("worker-{}", uuid::Uuid::new_v4().simple());
        Self {
            jobs,
            runner,
            log,
            policy,
            consumer,
            concurrency: concurrency.max(1),
            job_ttl,
            reclaim_idle,
            holding: AtomicBool::new(false),
        }
    }

    /// Takes and runs jobs until `shutdown`; then stops taking jobs and waits for the ones
    /// running to finish (a job cut short stays pending and another worker reclaims it).
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.concurrency));
        let mut running = JoinSet::new();
        let mut next_reclaim = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            while running.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    _ = running.join_next() => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            let mut jobs = Vec::new();
            if tokio::time::Instant::now() >= next_reclaim {
                next_reclaim = tokio::time::Instant::now() + this.reclaim_idle / 2;
                match this
                    .jobs
                    .queue
                    .reclaim(&this.consumer, this.reclaim_idle, free)
                    .await
                {
                    Ok(reclaimed) => jobs.extend(reclaimed),
                    Err(err) => tracing::warn!(%err, "reclaiming pending jobs failed"),
                }
            }
            if jobs.is_empty() {
                let take =
                    this.jobs
                        .queue
                        .dequeue(&this.consumer, free, Duration::from_millis(500));
                tokio::select! {
                    taken = take => match taken {
                        Ok(taken) => jobs = taken,
                        Err(err) => {
                            tracing::warn!(%err, "taking jobs failed; retrying shortly");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    },
                    () = shutdown.cancelled() => break,
                }
            }
            for job in jobs {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let this = this.clone();
                running.spawn(async move {
                    this.process(job).await;
                    drop(permit);
                });
            }
        }
        while running.join_next().await.is_some() {}
    }

    async fn process(&self, job: QueuedJob) {
        let mut record = match JobRecord::load(self.jobs.records.as_ref(), &job.id).await {
            // Settled already (the inline run finished before its safety net came due).
            Ok(Some(record)) if record.state.is_final() => {
                if let Err(err) = self.jobs.queue.ack(&job).await {
                    tracing::warn!(%err, job = %job.id, "acknowledging a settled job failed");
                }
                return;
            }
            Ok(Some(record)) => record,
            _ => JobRecord::new(&job.id, &job.kind, &job.trace_id),
        };
        record.state = JobState::Running;
        record.attempts = job.attempt;
        if let Err(err) = record.save(self.jobs.records.as_ref(), self.job_ttl).await {
            tracing::warn!(%err, job = %job.id, "saving job state failed");
        }
        let began = std::time::Instant::now();
        let outcome = self.run_job(&job).await;
        // A job idle past `reclaim_idle` (a long lock wait, a store outage) is reclaimed and
        // can run twice at once. A delivery that failed must not overwrite what the other owns
        // with `retrying`, which no run would settle again: a settled record is final (this
        // delivery only acknowledges itself); a later attempt still running keeps the entry
        // unacknowledged, so its own crash is still redelivered.
        if let (Err(err), Some(elsewhere)) = (&outcome, self.owned_elsewhere(&job).await) {
            tracing::info!(job = %job.id, attempt = job.attempt, %err, ?elsewhere, "another delivery owns the job; stale failure dropped");
            if elsewhere == Elsewhere::Settled {
                if let Err(err) = self.jobs.queue.ack(&job).await {
                    tracing::warn!(%err, job = %job.id, "acknowledging a settled job failed");
                }
            }
            return;
        }
        let settled = match outcome {
            Err(err) if err.is_allocation_exhausted() => self.hold(&job, &mut record, &err).await,
            Ok(mut result) => {
                if self.holding.swap(false, Ordering::Relaxed) {
                    if let Err(err) = governance::clear_hold(self.jobs.records.as_ref()).await {
                        tracing::warn!(%err, "clearing the allocation hold failed");
                    }
                }
                result.job_id = job.id.clone();
                self.log.finished(&result, Trigger::Job, began).await;
                record.state = JobState::Done;
                record.result = Some(result);
                record.error = None;
                self.settle(&mut record, self.jobs.queue.ack(&job)).await
            }
            Err(err) => {
                let retryable = err.is_retryable();
                record.failed_attempt(job.attempt, err.to_string());
                // Held deliveries were waits, not attempts.
                let attempt = job.attempt.saturating_sub(record.held).max(1);
                let retry = self.policy.allows_retry(attempt, retryable);
                let flow = super::record::flow_of_kind(&job.kind);
                self.log
                    .failed(flow, began, &err.to_string(), &job.trace_id, !retry)
                    .await;
                if retry {
                    record.state = JobState::Retrying;
                    let delay = self.policy.delay(attempt);
                    tracing::info!(job = %job.id, attempt = job.attempt, ?delay, %err, "job failed; retrying");
                    self.settle(&mut record, self.jobs.queue.retry_later(&job, delay))
                        .await
                } else {
                    record.state = JobState::Dead;
                    record.error_code = Some(err.code().as_str().to_string());
                    let class = if retryable { "retryable" } else { "permanent" };
                    tracing::warn!(job = %job.id, attempts = job.attempt, %err, "job dead-lettered");
                    let message = err.to_string();
                    self.log.dead_letter(&job.id, &job.kind, &message);
                    self.settle(
                        &mut record,
                        self.jobs.queue.dead_letter(
                            &job,
                            &Failure::new(&message, class).with_code(err.code().as_str()),
                        ),
                    )
                    .await
                }
            }
        };
        if let Err(err) = settled {
            // The job stays pending and is reclaimed: at least once, never lost.
            tracing::warn!(%err, job = %job.id, "settling a job failed");
        }
    }

    /// Holds a job while Salesforce's allocation is spent: put back after the hold pause, the
    /// delivery counted as held (not as an attempt), the hold published.
    async fn hold(&self, job: &QueuedJob, record: &mut JobRecord, err: &EngineError) -> Result<()> {
        record.held = record.held.saturating_add(1);
        record.state = JobState::Held;
        record.error = Some(err.to_string());
        self.holding.store(true, Ordering::Relaxed);
        isthmus_telemetry::metrics::JOBS_HELD
            .with_label_values(&[super::record::flow_of_kind(&job.kind)])
            .inc();
        let pause = self.policy.hold_pause;
        if let Err(err) = governance::note_hold(self.jobs.records.as_ref(), pause).await {
            tracing::warn!(%err, "publishing the allocation hold failed");
        }
        tracing::info!(job = %job.id, held = record.held, ?pause, "Salesforce allocation spent; job held");
        self.settle(record, self.jobs.queue.retry_later(job, pause))
            .await
    }

    /// Does another delivery of `job` own its record: one that settled it (`done` or `dead`), or
    /// a later attempt reclaimed from this one?
    async fn owned_elsewhere(&self, job: &QueuedJob) -> Option<Elsewhere> {
        match JobRecord::load(self.jobs.records.as_ref(), &job.id).await {
            Ok(Some(record)) if record.state.is_final() => Some(Elsewhere::Settled),
            Ok(Some(record)) if record.attempts > job.attempt => Some(Elsewhere::Running),
            _ => None,
        }
    }

    /// Saves the job's record, then acknowledges it in the queue: a crash in between runs the
    /// job again (harmless), never loses its outcome.
    async fn settle(
        &self,
        record: &mut JobRecord,
        queue_step: impl std::future::Future<Output = isthmus_store::Result<()>>,
    ) -> Result<()> {
        record
            .save(self.jobs.records.as_ref(), self.job_ttl)
            .await?;
        queue_step.await?;
        Ok(())
    }

    async fn run_job(&self, job: &QueuedJob) -> Result<crate::result::SyncResult> {
        let payload: SyncJob = serde_json::from_slice(&job.payload)
            .map_err(|e| EngineError::InvalidArgument(format!("malformed job payload: {e}")))?;
        // A queued job continues the trace of the request that queued it.
        let span = tracing::info_span!(
            "job",
            otel.name = %format!("job {}", payload.kind()),
            otel.kind = "consumer",
            job.id = %job.id,
            job.attempt = job.attempt,
        );
        let parent = isthmus_telemetry::TraceContext::of_trace(&job.trace_id);
        isthmus_telemetry::set_remote_parent(&span, &parent.to_header());
        super::timed_run(self.runner.as_ref(), &payload, &job.trace_id)
            .instrument(span)
            .await
    }
}

/// Who owns a job whose delivery failed, when it is not that delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elsewhere {
    /// Another delivery settled it (`done` or `dead`).
    Settled,
    /// A later attempt, reclaimed from this delivery, is running it.
    Running,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            retryable_attempts: 5,
            permanent_attempts: 1,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            hold_pause: Duration::from_secs(1),
        }
    }

    #[test]
    fn retryable_errors_get_more_attempts_than_permanent_ones() {
        let p = policy();
        assert!(p.allows_retry(1, true) && p.allows_retry(4, true));
        assert!(!p.allows_retry(5, true));
        assert!(
            !p.allows_retry(1, false),
            "a permanent error dead-letters after one attempt"
        );
    }

    #[test]
    fn delays_double_with_jitter_and_stay_under_the_cap() {
        let p = policy();
        for attempt in 1..10 {
            let ceiling =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(2));
            for _ in 0..50 {
                let d = p.delay(attempt);
                assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
            }
        }
    }
}

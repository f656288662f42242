//! How a sync request becomes work: run at once, or queued.
//!
//! An interactive sync (a button, a NetSuite event) runs inline first, because most finish well
//! inside Apex's callout budget and a request that fails for good (an unknown record) should be
//! answered at once and leave nothing behind. Only when the inline run fails with a retryable
//! error, or does not finish within `sync_wait`, does the request become a durable job:
//! - retryable failure: a job record and a retry scheduled after the backoff;
//! - deadline passed: a job record (`running`) and a safety-net job scheduled after the record
//!   lock's lease; the inline run goes on and writes the record when it ends, and the safety net
//!   then finds the job settled and skips it, or, if this process died meanwhile, runs it.
//!   Either way the caller holds a job id for `GET /v1/jobs/{id}` and nothing is lost.
//!
//! [`Delivery::Queue`] skips the inline run and queues the job at once.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

use crate::result::{Outcome, SyncResult};
use isthmus_store::{Lane, NewJob};

use super::record::{JobRecord, JobState, Jobs, SyncJob};
use super::worker::RetryPolicy;
use super::JobRunner;
use crate::audit::{SyncLog, Trigger};
use crate::error::{EngineError, Result};

/// How a caller asked for a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Run inline up to the wait, then answer `queued` with the job (the default).
    #[default]
    Wait,
    /// Answer `queued` with the job at once.
    Queue,
    /// Run the whole path up to the write and return the diff; write nothing anywhere.
    DryRun,
}

#[derive(Clone)]
pub struct Dispatcher {
    runner: Arc<dyn JobRunner>,
    log: SyncLog,
    jobs: Jobs,
    policy: RetryPolicy,
    sync_wait: Duration,
    job_ttl: Duration,
    safety_delay: Duration,
}

impl Dispatcher {
    /// `jobs` holds the service's own queue (`Store::queue`) and its job records.
    pub fn new(
        runner: Arc<dyn JobRunner>,
        jobs: Jobs,
        log: SyncLog,
        policy: RetryPolicy,
        sync_wait: Duration,
        job_ttl: Duration,
        safety_delay: Duration,
    ) -> Self {
        Self {
            jobs,
            runner,
            log,
            policy,
            sync_wait,
            job_ttl,
            safety_delay,
        }
    }

    /// How every sync RPC answers: a dry run inline (it writes nothing, so it never queues);
    /// [`Delivery::Queue`] queued at once; otherwise [`Dispatcher::run_or_queue`].
    pub async fn deliver(
        &self,
        job: SyncJob,
        delivery: Delivery,
        dry_run: impl std::future::Future<Output = Result<SyncResult>>,
        trace_id: &str,
    ) -> Result<SyncResult> {
        match delivery {
            Delivery::DryRun => dry_run.await,
            Delivery::Queue => self.submit(Lane::Interactive, job, trace_id).await,
            Delivery::Wait => self.run_or_queue(job, trace_id).await,
        }
    }

    /// Queues `job` on `lane` now and answers `QUEUED` with its id.
    pub async fn submit(&self, lane: Lane, job: SyncJob, trace_id: &str) -> Result<SyncResult> {
        let record = self.new_record(&job, trace_id, JobState::Queued).await?;
        self.jobs
            .queue
            .enqueue(lane, &self.new_job(&record, &job))
            .await?;
        Ok(queued(&record, &job))
    }

    /// Runs `job` inline for up to `sync_wait`, queueing it only when it must (see the module doc).
    pub async fn run_or_queue(&self, job: SyncJob, trace_id: &str) -> Result<SyncResult> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<SyncResult>>();
        let inline = {
            let (runner, log) = (self.runner.clone(), self.log.clone());
            let job = job.clone();
            let trace_id = trace_id.to_string();
            // The run stays in the caller's span (its trace), even past the deadline.
            tokio::spawn(
                async move {
                    let began = Instant::now();
                    let outcome = super::timed_run(runner.as_ref(), &job, &trace_id).await;
                    match &outcome {
                        Ok(result) => log.finished(result, Trigger::Request, began).await,
                        // A retryable failure becomes a job: it counts as retried. A refusal
                        // (an unknown record, an opportunity not won) is the caller's answer
                        // and writes nothing anywhere, the statistics included.
                        Err(err) if err.is_retryable() => {
                            let error = err.to_string();
                            log.failed(job.flow(), began, &error, &trace_id, false)
                                .await;
                        }
                        Err(_) => {}
                    }
                    let _ = done_tx.send(outcome);
                }
                .in_current_span(),
            )
        };
        let mut done_rx = done_rx;
        match tokio::time::timeout(self.sync_wait, &mut done_rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(err))) if err.is_retryable() => {
                let record = self.new_record(&job, trace_id, JobState::Retrying).await?;
                let delay = self.policy.delay(1);
                self.jobs
                    .queue
                    .enqueue_delayed(Lane::Interactive, &self.new_job(&record, &job), 2, delay)
                    .await?;
                tracing::info!(job = %record.id, %err, "sync failed; queued for retry");
                Ok(queued(&record, &job))
            }
            Ok(Ok(Err(err))) => Err(err),
            Ok(Err(_)) => Err(EngineError::Unprocessable(
                "the sync ended without an answer".into(),
            )),
            Err(_) => {
                // Past the deadline: make it durable, answer with the job, let the run finish.
                let record = self.new_record(&job, trace_id, JobState::Running).await?;
                self.jobs
                    .queue
                    .enqueue_delayed(
                        Lane::Interactive,
                        &self.new_job(&record, &job),
                        2,
                        self.safety_delay,
                    )
                    .await?;
                let (records, ttl, mut settled) =
                    (self.jobs.records.clone(), self.job_ttl, record.clone());
                tokio::spawn(async move {
                    let outcome = match done_rx.await {
                        Ok(outcome) => outcome,
                        Err(_) => return, // the run panicked: the safety net runs the job
                    };
                    match outcome {
                        Ok(result) => {
                            settled.state = JobState::Done;
                            settled.result = Some(result);
                        }
                        // Any failure: the safety-net job runs it again, and retries or
                        // dead-letters it like any queued job.
                        Err(err) => {
                            settled.state = JobState::Retrying;
                            settled.error = Some(err.to_string());
                        }
                    }
                    settled.attempts = 1;
                    if let Err(err) = settled.save(records.as_ref(), ttl).await {
                        tracing::warn!(%err, job = %settled.id, "saving the job's outcome failed");
                    }
                });
                drop(inline);
                Ok(queued(&record, &job))
            }
        }
    }

    async fn new_record(
        &self,
        job: &SyncJob,
        trace_id: &str,
        state: JobState,
    ) -> Result<JobRecord> {
        let id = isthmus_store::RecordId::new().to_string();
        let mut record = JobRecord::new(&id, job.kind(), trace_id);
        record.state = state;
        record
            .save(self.jobs.records.as_ref(), self.job_ttl)
            .await?;
        Ok(record)
    }

    fn new_job(&self, record: &JobRecord, job: &SyncJob) -> NewJob {
        NewJob {
            id: record.id.clone(),
            kind: job.kind().to_string(),
            payload: serde_json::to_vec(job).unwrap_or_default(),
            trace_id: record.trace_id.clone(),
        }
    }
}

/// The answer for a job that has not finished: `QUEUED` with the job id.
fn queued(record: &JobRecord, job: &SyncJob) -> SyncResult {
    let (salesforce_id, netsuite_id) = job.ids();
    SyncResult {
        salesforce_id,
        netsuite_id,
        job_id: record.id.clone(),
        ..SyncResult::new(&record.kind, Outcome::Queued, false, &record.trace_id)
    }
}

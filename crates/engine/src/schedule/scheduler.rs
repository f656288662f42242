//! Runs named jobs on cron schedules, each firing once across every replica of the mesh.
//!
//! Every replica runs the same [`Scheduler`]. At a firing, each replica tries the lock
//! `schedule:<name>` without waiting; the one that takes it runs the job, renewing the lease
//! while it runs ([`spawn_renewal`]) and releasing it after; the others skip the firing.
//!
//! Guarantees:
//! - **One run per firing.** The status value `schedule:<name>` ([`ScheduleStatus`]) records
//!   the firing a run was for before the job starts; a replica that takes the lock later for a
//!   firing already recorded (its clock lags, or the first run was short) skips it.
//! - **Never twice at once.** A run that overruns its next firing keeps the lock, so no replica
//!   starts another; the firings it overran are skipped (not caught up): the next run is the
//!   first firing after it ends. Jobs must still tolerate a lost lease (a replica that stalls
//!   past the lock's TTL): they get the [`Lease`] to fence their writes.
//! - **A spent Salesforce allocation holds, it does not fail.** A run stopped by
//!   `SALESFORCE_ALLOCATION_EXHAUSTED` ends `held`; its cursor stays after the last page it
//!   finished, and the next firing resumes from there. The hold is published as the queue's
//!   held jobs publish it ([`governance::note_hold`], for `/v1/governance`, the console and
//!   `/metrics`), and the first run of that schedule that gets through again clears it.
//! - **A visible last run.** Its firing, start, end, outcome and error stay in the status value
//!   (kept ten years, as the run-per-firing check relies on it), for an API to show.
//!
//! - **Run now on request.** [`request_run`] leaves a request (`schedule:<name>:run-now`, the
//!   time it was made) that every replica running the schedule looks for every
//!   [`REQUEST_POLL`]; it is a firing like any other, at the request's time, so it too runs
//!   once across replicas, and the replica that ran it clears the request.
//!
//! Not guaranteed: a firing with no replica up, or with the store unreachable, is not run
//! later. At shutdown a running job is dropped mid-way (recorded as `cancelled`); flows are
//! idempotent and save their cursor after each page, so the next run resumes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use isthmus_store::{Lease, Locks, StatusValues};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::{EngineError, Result};
use crate::governance;
use crate::lock::spawn_renewal;
use crate::schedule::cron::Schedule;

/// How long a schedule's status value is kept: ten years (the run-per-firing check reads it).
pub const STATUS_TTL: Duration = Duration::from_secs(10 * 365 * 86_400);

/// How often a schedule looks for a "run now" request.
pub const REQUEST_POLL: Duration = Duration::from_secs(2);
/// How long a held run's hold is published as lasting, by default (`queue.hold_pause_ms`).
pub const HOLD_PAUSE: Duration = Duration::from_secs(60);

/// How long an unanswered "run now" request is kept.
const REQUEST_TTL: Duration = Duration::from_secs(3600);

fn request_name(name: &str) -> String {
    format!("schedule:{name}:run-now")
}

/// Asks the replicas that run schedule `name` to run it now (once, whichever takes it); the
/// request's time, which becomes the firing's.
pub async fn request_run(statuses: &dyn StatusValues, name: &str) -> Result<DateTime<Utc>> {
    let now = Utc::now();
    let ms = now.timestamp_millis().to_string();
    statuses
        .put_status(&request_name(name), ms.as_bytes(), REQUEST_TTL)
        .await?;
    Ok(DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now))
}

/// How a schedule's last run ended (or that it is running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    /// The replica shut down while the job ran.
    Cancelled,
    /// Stopped because Salesforce's daily allocation is spent: not a failure. The run saved
    /// its cursor only after pages it finished, so the next firing after the allocation
    /// allows again resumes where it stopped.
    Held,
}

/// The last run of a schedule: the status value `schedule:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleStatus {
    pub name: String,
    pub expression: String,
    /// The firing the run was for.
    pub fire_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    /// `None` while it runs.
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    /// The error of a failed run.
    pub error: Option<String>,
    /// The replica that ran it.
    pub replica: String,
}

/// What a job is given for one run.
#[derive(Debug, Clone)]
pub struct Firing {
    /// The schedule's name.
    pub name: String,
    /// The firing this run is for.
    pub fire_at: DateTime<Utc>,
    /// The lease on `schedule:<name>`, renewed while the job runs, to fence writes with.
    pub lease: Lease,
}

type JobFn = Arc<dyn Fn(Firing) -> BoxFuture<'static, Result<()>> + Send + Sync>;

struct Job {
    name: String,
    schedule: Schedule,
    run: JobFn,
}

/// Named jobs on cron schedules, run until shut down (see the module doc for what it
/// guarantees).
pub struct Scheduler {
    locks: Arc<dyn Locks>,
    statuses: Arc<dyn StatusValues>,
    lock_ttl: Duration,
    hold_pause: Duration,
    replica: String,
    jobs: Vec<Job>,
}

/// The status value of schedule `name`.
fn status_name(name: &str) -> String {
    format!("schedule:{name}")
}

/// The last run of schedule `name`, when it ran (an unreadable value counts as none).
pub async fn schedule_status(
    statuses: &dyn StatusValues,
    name: &str,
) -> Result<Option<ScheduleStatus>> {
    Ok(statuses
        .status(&status_name(name))
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

impl Scheduler {
    /// A scheduler taking each firing's lock in `locks`, holding a running job's lock for
    /// `lock_ttl` at a time (renewed every third of it while the job runs), and keeping each
    /// schedule's last run in `statuses`.
    pub fn new(locks: Arc<dyn Locks>, statuses: Arc<dyn StatusValues>, lock_ttl: Duration) -> Self {
        Self {
            locks,
            statuses,
            lock_ttl,
            hold_pause: HOLD_PAUSE,
            replica: uuid::Uuid::new_v4().simple().to_string(),
            jobs: Vec::new(),
        }
    }

    /// How long a held run publishes the hold as lasting ([`governance::note_hold`]): the
    /// queue's `hold_pause`, so clicks meanwhile answer the same `Retry-After`.
    pub fn with_hold_pause(mut self, pause: Duration) -> Self {
        self.hold_pause = pause;
        self
    }

    /// This replica's name in [`ScheduleStatus::replica`] (a random id by default).
    pub fn with_replica(mut self, replica: &str) -> Self {
        self.replica = replica.to_string();
        self
    }

    /// Adds the job `name` (1 to 64 letters, digits, `_`, `-` or `.`; unique in this
    /// scheduler), run at each firing of `schedule`.
    pub fn job<F, Fut>(mut self, name: &str, schedule: Schedule, run: F) -> Result<Self>
    where
        F: Fn(Firing) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(EngineError::InvalidArgument(format!(
                "invalid schedule name {:?}: use 1 to 64 letters, digits, '_', '-' or '.'",
                name.chars().take(64).collect::<String>()
            )));
        }
        if self.jobs.iter().any(|job| job.name == name) {
            return Err(EngineError::InvalidArgument(format!(
                "schedule {name:?} is defined twice"
            )));
        }
        let run: JobFn = Arc::new(move |firing| Box::pin(run(firing)));
        self.jobs.push(Job {
            name: name.to_string(),
            schedule,
            run,
        });
        Ok(self)
    }

    /// Runs every job on its schedule until `shutdown`; returns once all have stopped.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(Runner {
            locks: self.locks,
            statuses: self.statuses,
            lock_ttl: self.lock_ttl,
            hold_pause: self.hold_pause,
            replica: self.replica,
        });
        let loops = self
            .jobs
            .into_iter()
            .map(|job| tokio::spawn(this.clone().run_job(job, shutdown.clone())));
        for finished in futures::future::join_all(loops).await {
            if let Err(err) = finished {
                tracing::error!(%err, "a schedule's loop panicked");
            }
        }
    }
}

struct Runner {
    locks: Arc<dyn Locks>,
    statuses: Arc<dyn StatusValues>,
    lock_ttl: Duration,
    hold_pause: Duration,
    replica: String,
}

impl Runner {
    async fn run_job(self: Arc<Self>, job: Job, shutdown: CancellationToken) {
        let mut after = Utc::now();
        let mut answered: Option<DateTime<Utc>> = None;
        while !shutdown.is_cancelled() {
            let next = job.schedule.next_after(after);
            let wait = next.map_or(REQUEST_POLL, |at| {
                (at - Utc::now()).to_std().unwrap_or_default()
            });
            tokio::select! {
                () = tokio::time::sleep(wait.min(REQUEST_POLL)) => {}
                () = shutdown.cancelled() => return,
            }
            if let Some(at) = self
                .requested(&job.name)
                .await
                .filter(|at| Some(*at) != answered)
            {
                answered = Some(at);
                if self.fire(&job, at, &shutdown).await {
                    self.clear_request(&job.name).await;
                }
                continue;
            }
            let Some(fire_at) = next.filter(|at| *at <= Utc::now()) else {
                continue;
            };
            self.fire(&job, fire_at, &shutdown).await;
            // Firings overrun by this run are skipped, not caught up.
            after = fire_at.max(Utc::now());
        }
    }

    /// The time of a "run now" request for `name`, when one waits.
    async fn requested(&self, name: &str) -> Option<DateTime<Utc>> {
        match self.statuses.status(&request_name(name)).await {
            Ok(Some(ms)) => String::from_utf8_lossy(&ms)
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis),
            Ok(None) => None,
            Err(err) => {
                tracing::debug!(schedule = %name, %err, "run-now request unreadable");
                None
            }
        }
    }

    async fn clear_request(&self, name: &str) {
        let cleared = self
            .statuses
            .put_status(&request_name(name), b"", Duration::from_millis(1))
            .await;
        if let Err(err) = cleared {
            tracing::warn!(schedule = %name, %err, "clearing the run-now request failed");
        }
    }

    /// Runs one firing of `job` if this replica takes its lock and no run recorded it yet;
    /// whether this replica ran it.
    async fn fire(&self, job: &Job, fire_at: DateTime<Utc>, shutdown: &CancellationToken) -> bool {
        let resource = status_name(&job.name);
        let lease = match self.locks.acquire(&resource, self.lock_ttl).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tracing::debug!(schedule = %job.name, %fire_at, "another replica runs it");
                return false;
            }
            Err(err) => {
                tracing::warn!(schedule = %job.name, %err, "schedule lock unavailable; skipped");
                return false;
            }
        };
        let started = self.start(job, fire_at).await;
        let ran = started.is_some();
        if let Some((status, was_held)) = started {
            let renewal = spawn_renewal(&self.locks, &lease, self.lock_ttl);
            let firing = Firing {
                name: job.name.clone(),
                fire_at,
                lease: lease.clone(),
            };
            let outcome = tokio::select! {
                outcome = (job.run)(firing) => Some(outcome),
                () = shutdown.cancelled() => None,
            };
            renewal.abort();
            self.finish(status, outcome, was_held).await;
        }
        if let Err(err) = self.locks.release(&lease).await {
            tracing::warn!(schedule = %job.name, %err, "schedule lock release failed");
        }
        ran
    }

    /// Records the run of `fire_at` as started, with whether the last run was held; `None`
    /// when a run of that firing (or a later one) is recorded already, or the record cannot be
    /// read or written.
    async fn start(&self, job: &Job, fire_at: DateTime<Utc>) -> Option<(ScheduleStatus, bool)> {
        let was_held = match schedule_status(self.statuses.as_ref(), &job.name).await {
            Ok(Some(last)) if last.fire_at >= fire_at => {
                tracing::debug!(schedule = %job.name, %fire_at, "this firing already ran");
                return None;
            }
            Ok(last) => last.is_some_and(|l| l.outcome == RunOutcome::Held),
            Err(err) => {
                tracing::warn!(schedule = %job.name, %err, "schedule status unreadable; skipped");
                return None;
            }
        };
        let status = ScheduleStatus {
            name: job.name.clone(),
            expression: job.schedule.expression().to_string(),
            fire_at,
            started_at: Utc::now(),
            ended_at: None,
            outcome: RunOutcome::Running,
            error: None,
            replica: self.replica.clone(),
        };
        match self.save(&status).await {
            Ok(()) => Some((status, was_held)),
            Err(err) => {
                tracing::warn!(schedule = %job.name, %err, "schedule status unwritable; skipped");
                None
            }
        }
    }

    /// Records how the run ended (`None`: cut short by shutdown), and publishes or ends the
    /// allocation hold: a held run notes it, a run that succeeds after a held one clears it.
    async fn finish(
        &self,
        mut status: ScheduleStatus,
        outcome: Option<Result<()>>,
        was_held: bool,
    ) {
        status.ended_at = Some(Utc::now());
        (status.outcome, status.error) = match outcome {
            Some(Ok(())) => {
                if was_held {
                    if let Err(err) = governance::clear_hold(self.statuses.as_ref()).await {
                        tracing::warn!(schedule = %status.name, %err, "clearing the allocation hold failed");
                    }
                }
                (RunOutcome::Succeeded, None)
            }
            Some(Err(err)) if err.is_allocation_exhausted() => {
                tracing::info!(schedule = %status.name, %err, "Salesforce allocation spent; scheduled run held until the next firing");
                if let Err(err) =
                    governance::note_hold(self.statuses.as_ref(), self.hold_pause).await
                {
                    tracing::warn!(schedule = %status.name, %err, "publishing the allocation hold failed");
                }
                (RunOutcome::Held, Some(err.to_string()))
            }
            Some(Err(err)) => {
                tracing::warn!(schedule = %status.name, %err, "scheduled run failed");
                (RunOutcome::Failed, Some(err.to_string()))
            }
            None => (RunOutcome::Cancelled, None),
        };
        if let Err(err) = self.save(&status).await {
            tracing::warn!(schedule = %status.name, %err, "saving the schedule's outcome failed");
        }
    }

    async fn save(&self, status: &ScheduleStatus) -> Result<()> {
        let bytes = serde_json::to_vec(status).map_err(|err| {
            EngineError::InvalidArgument(format!("schedule {}: {err}", status.name))
        })?;
        Ok(self
            .statuses
            .put_status(&status_name(&status.name), &bytes, STATUS_TTL)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isthmus_store::MemoryStore;

    fn scheduler() -> Scheduler {
        let store = Arc::new(MemoryStore::new());
        Scheduler::new(store.clone(), store, Duration::from_secs(3))
    }

    #[test]
    fn job_names_are_checked_and_unique() {
        let every_minute = || Schedule::parse("* * * * *").unwrap();
        let noop = |_: Firing| async { Ok(()) };
        assert!(scheduler().job("a b", every_minute(), noop).is_err());
        assert!(scheduler().job("", every_minute(), noop).is_err());
        let twice = scheduler()
            .job("reconcile", every_minute(), noop)
            .unwrap()
            .job("reconcile", every_minute(), noop);
        assert!(matches!(twice, Err(EngineError::InvalidArgument(_))));
    }

    #[tokio::test]
    async fn a_scheduler_without_jobs_stops_at_shutdown() {
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(1), scheduler().run(shutdown))
            .await
            .unwrap();
    }
}

//! Account backfills as background jobs: one at a time across replicas (a lock held for the
//! whole run, renewed as it goes), with state and progress kept in the store so any replica or
//! gateway can report them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::backfill::{BackfillOptions, BackfillProgress};
use super::{now_ms, CustomerFlows};
use crate::audit::SyncLog;
use crate::error::{EngineError, Result};
use crate::governance::SalesforceAllocation;
use crate::lock::spawn_renewal;

/// Lock held by the running account backfill.
pub const BACKFILL_LOCK: &str = "backfill:accounts";
/// How long a finished job's state is kept.
const JOB_TTL: Duration = Duration::from_secs(7 * 86_400);
/// How often a running job's progress is saved.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Failures of single accounts kept on the job.
const MAX_ERRORS: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackfillJob {
    pub id: String,
    pub state: JobState,
    pub progress: BackfillProgress,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub errors: Vec<String>,
}

fn status_name(id: &str) -> String {
    format!("backfill:{id}")
}

/// A job id: 32 lower-case hex characters.
pub fn is_job_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl CustomerFlows {
    /// Starts an account backfill in the background, or fails with `Locked` when one runs.
    pub async fn start_account_backfill(
        &self,
        options: BackfillOptions,
        allocation: SalesforceAllocation,
        log: SyncLog,
    ) -> Result<BackfillJob> {
        let ttl = self.config.lock_ttl();
        let lease = self
            .store
            .acquire(BACKFILL_LOCK, ttl)
            .await?
            .ok_or_else(|| EngineError::Locked("the account backfill (one runs already)".into()))?;
        let job = BackfillJob {
            id: uuid::Uuid::new_v4().simple().to_string(),
            state: JobState::Running,
            progress: BackfillProgress::default(),
            started_at_ms: now_ms(),
            finished_at_ms: 0,
            errors: Vec::new(),
        };
        self.save_job(&job).await?;
        let flows = self.clone();
        let started = job.clone();
        tokio::spawn(async move {
            let renewal = spawn_renewal(&flows.store, &lease, ttl);
            let (progress_tx, progress_rx) = watch::channel(BackfillProgress::default());
            let saver = tokio::spawn(flows.clone().save_progress(started.clone(), progress_rx));
            let report = flows
                .backfill_accounts(&options, &allocation, &log, &move |p| {
                    progress_tx.send_replace(p.clone());
                })
                .await;
            saver.abort();
            let mut job = started;
            job.finished_at_ms = now_ms();
            match report {
                Ok(report) => {
                    job.state = JobState::Done;
                    job.progress = report.progress;
                    job.errors = report
                        .failures
                        .iter()
                        .take(MAX_ERRORS)
                        .map(|(id, why)| format!("{id}: {why}"))
                        .collect();
                }
                Err(err) => {
                    job.state = JobState::Failed;
                    job.errors = vec![err.to_string()];
                }
            }
            // Free the one-backfill lock before reporting the end, so a caller that sees
            // "done" can start the next backfill at once.
            renewal.abort();
            let _ = flows.store.release(&lease).await;
            if let Err(err) = flows.save_job(&job).await {
                tracing::error!(%err, job = %job.id, "saving the backfill's final state failed");
            }
        });
        Ok(job)
    }

    async fn save_progress(
        self,
        mut job: BackfillJob,
        mut progress: watch::Receiver<BackfillProgress>,
    ) {
        while progress.changed().await.is_ok() {
            job.progress = progress.borrow_and_update().clone();
            if let Err(err) = self.save_job(&job).await {
                tracing::warn!(%err, "saving backfill progress failed");
            }
            tokio::time::sleep(SAVE_EVERY).await;
        }
    }

    async fn save_job(&self, job: &BackfillJob) -> Result<()> {
        let bytes = serde_json::to_vec(job).unwrap_or_default();
        Ok(self
            .store
            .put_status(&status_name(&job.id), &bytes, JOB_TTL)
            .await?)
    }

    /// A backfill job by id.
    pub async fn backfill_job(&self, id: &str) -> Result<Option<BackfillJob>> {
        if !is_job_id(id) {
            return Err(EngineError::InvalidArgument(format!(
                "'{}' is not a backfill job id",
                id.chars().take(40).collect::<String>().escape_debug()
            )));
        }
        Ok(self
            .store
            .status(&status_name(id))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }
}

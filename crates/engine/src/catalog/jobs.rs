//! Catalog runs as background jobs: one at a time across replicas (the `catalog:run` lock, held
//! for the whole run and renewed as it goes, also by `isthmus backfill catalog`), with state and
//! progress kept as a status value so any replica or the gateway can report them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::run::{RunMode, RunOptions, RunProgress, RunReport};
use super::{now_ms, CatalogFlows};
use crate::audit::SyncLog;
use crate::error::{EngineError, Result};
use crate::governance::SalesforceAllocation;
use crate::lock::spawn_renewal;

/// Lock held by the running catalog run.
pub const RUN_LOCK: &str = "catalog:run";
/// How long a finished run's state is kept.
const RUN_TTL: Duration = Duration::from_secs(7 * 86_400);
/// How often a running job's progress is saved.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Failures of single items kept on the run.
const MAX_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Done,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// A catalog run as callers see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogRun {
    pub id: String,
    pub mode: RunMode,
    pub state: RunState,
    pub progress: RunProgress,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub errors: Vec<String>,
}

fn status_name(id: &str) -> String {
    format!("catalog-run:{id}")
}

/// A run id: 32 lower-case hex characters.
pub fn is_run_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl CatalogFlows {
    /// Takes the one-run lock, or fails with `Locked` when a run holds it.
    async fn take_run_lock(&self) -> Result<isthmus_store::Lease> {
        self.store
            .acquire(RUN_LOCK, self.config.lock_ttl())
            .await?
            .ok_or_else(|| EngineError::Locked("the catalog run (one runs already)".into()))
    }

    /// Runs the catalog in this task under the one-run lock (`isthmus backfill catalog`).
    pub async fn run_catalog_exclusive(
        &self,
        options: RunOptions,
        allocation: &SalesforceAllocation,
        log: &SyncLog,
        on_progress: &(dyn Fn(&RunProgress) + Send + Sync),
    ) -> Result<RunReport> {
        let lease = self.take_run_lock().await?;
        let renewal = spawn_renewal(&self.store, &lease, self.config.lock_ttl());
        let report = self
            .run_catalog(options, allocation, log, on_progress)
            .await;
        renewal.abort();
        let _ = self.store.release(&lease).await;
        report
    }

    /// Starts a catalog run in the background, or fails with `Locked` when one runs.
    pub async fn start_catalog_run(
        &self,
        options: RunOptions,
        allocation: SalesforceAllocation,
        log: SyncLog,
    ) -> Result<CatalogRun> {
        let lease = self.take_run_lock().await?;
        let run = CatalogRun {
            id: uuid::Uuid::new_v4().simple().to_string(),
            mode: options.mode,
            state: RunState::Running,
            progress: RunProgress::default(),
            started_at_ms: now_ms(),
            finished_at_ms: 0,
            errors: Vec::new(),
        };
        if let Err(err) = self.save_run(&run).await {
            let _ = self.store.release(&lease).await;
            return Err(err);
        }
        let flows = self.clone();
        let started = run.clone();
        tokio::spawn(async move {
            let ttl = flows.config.lock_ttl();
            let renewal = spawn_renewal(&flows.store, &lease, ttl);
            let (progress_tx, progress_rx) = watch::channel(RunProgress::default());
            let saver = tokio::spawn(flows.clone().save_progress(started.clone(), progress_rx));
            let report = flows
                .run_catalog(options, &allocation, &log, &move |p| {
                    progress_tx.send_replace(p.clone());
                })
                .await;
            saver.abort();
            let mut run = started;
            run.finished_at_ms = now_ms();
            match report {
                Ok(report) => {
                    run.state = RunState::Done;
                    run.progress = report.progress;
                    run.errors = report
                        .failures
                        .iter()
                        .take(MAX_ERRORS)
                        .map(|(id, why)| format!("{id}: {why}"))
                        .collect();
                }
                Err(err) => {
                    run.state = RunState::Failed;
                    run.errors = vec![err.to_string()];
                }
            }
            // Free the lock before reporting the end, so a caller that sees "done" can start
            // the next run at once.
            renewal.abort();
            let _ = flows.store.release(&lease).await;
            if let Err(err) = flows.save_run(&run).await {
                tracing::error!(%err, run = %run.id, "saving the catalog run's final state failed");
            }
        });
        Ok(run)
    }

    async fn save_progress(self, mut run: CatalogRun, mut progress: watch::Receiver<RunProgress>) {
        while progress.changed().await.is_ok() {
            run.progress = progress.borrow_and_update().clone();
            if let Err(err) = self.save_run(&run).await {
                tracing::warn!(%err, "saving catalog run progress failed");
            }
            tokio::time::sleep(SAVE_EVERY).await;
        }
    }

    async fn save_run(&self, run: &CatalogRun) -> Result<()> {
        let bytes = serde_json::to_vec(run).unwrap_or_default();
        Ok(self
            .store
            .put_status(&status_name(&run.id), &bytes, RUN_TTL)
            .await?)
    }

    /// A catalog run by id.
    pub async fn catalog_run(&self, id: &str) -> Result<Option<CatalogRun>> {
        if !is_run_id(id) {
            return Err(EngineError::InvalidArgument(format!(
                "'{}' is not a catalog run id (32 lower-case hex characters)",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_32_lower_case_hex() {
        assert!(is_run_id(&uuid::Uuid::new_v4().simple().to_string()));
        assert!(!is_run_id("ABCDEF0123456789abcdef0123456789"));
        assert!(!is_run_id("../../etc"));
        assert!(!is_run_id(""));
    }
}

//! Catalog runs as background jobs ([`OneAtATime`]): one at a time across replicas (the
//! `catalog:run` lock, held for the whole run and renewed as it goes, also by `isthmus backfill
//! catalog`), with state and progress kept as a status value so any replica or the gateway can
//! report them.

use serde::{Deserialize, Serialize};

use super::run::{RunMode, RunOptions, RunProgress, RunReport};
use super::{now_ms, CatalogFlows};
use crate::audit::SyncLog;
use crate::error::Result;
use crate::governance::SalesforceAllocation;
use crate::work::background::{failure_lines, new_run_id, OneAtATime, RunRecord};

pub use crate::work::background::RunState;

/// Lock held by the running catalog run.
pub const RUN_LOCK: &str = "catalog:run";

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

impl RunRecord for CatalogRun {
    type Progress = RunProgress;
    type Report = RunReport;

    fn id(&self) -> &str {
        &self.id
    }

    fn set_progress(&mut self, progress: RunProgress) {
        self.progress = progress;
    }

    fn finish(&mut self, outcome: Result<RunReport>, at_ms: i64) {
        self.finished_at_ms = at_ms;
        match outcome {
            Ok(report) => {
                self.state = RunState::Done;
                self.errors = failure_lines(&report.failures);
                self.progress = report.progress;
            }
            Err(err) => {
                self.state = RunState::Failed;
                self.errors = vec![err.to_string()];
            }
        }
    }
}

impl CatalogFlows {
    fn runs(&self) -> OneAtATime {
        OneAtATime::new(
            self.store.clone(),
            RUN_LOCK,
            self.config.lock_ttl(),
            crate::work::background::CATALOG_RUNS,
            "the catalog run",
        )
    }

    /// Runs the catalog in this task under the one-run lock (`isthmus backfill catalog`).
    pub async fn run_catalog_exclusive(
        &self,
        options: RunOptions,
        allocation: &SalesforceAllocation,
        log: &SyncLog,
        on_progress: &(dyn Fn(&RunProgress) + Send + Sync),
    ) -> Result<RunReport> {
        self.runs()
            .exclusive(self.run_catalog(options, allocation, log, on_progress))
            .await
    }

    /// Starts a catalog run in the background, or fails with `Locked` when one runs.
    pub async fn start_catalog_run(
        &self,
        options: RunOptions,
        allocation: SalesforceAllocation,
        log: SyncLog,
    ) -> Result<CatalogRun> {
        let run = CatalogRun {
            id: new_run_id(),
            mode: options.mode,
            state: RunState::Running,
            progress: RunProgress::default(),
            started_at_ms: now_ms(),
            finished_at_ms: 0,
            errors: Vec::new(),
        };
        let flows = self.clone();
        self.runs()
            .start(run, move |progress| async move {
                flows
                    .run_catalog(options, &allocation, &log, &*progress)
                    .await
            })
            .await
    }

    /// A catalog run by id.
    pub async fn catalog_run(&self, id: &isthmus_store::RecordId) -> Result<Option<CatalogRun>> {
        self.runs().load(id).await
    }
}

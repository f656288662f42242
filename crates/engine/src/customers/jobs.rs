//! Account backfills as background jobs ([`OneAtATime`]): one at a time across replicas, state
//! and progress kept in the store so any replica or gateway can report them.

use serde::{Deserialize, Serialize};

use super::backfill::{BackfillOptions, BackfillProgress, BackfillReport};
use super::{now_ms, CustomerFlows};
use crate::audit::SyncLog;
use crate::error::Result;
use crate::governance::SalesforceAllocation;
use crate::work::background::{failure_lines, new_run_id, OneAtATime, RunRecord};

pub use crate::work::background::RunState as JobState;

/// Lock held by the running account backfill.
pub const BACKFILL_LOCK: &str = "backfill:accounts";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackfillJob {
    pub id: String,
    pub state: JobState,
    pub progress: BackfillProgress,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub errors: Vec<String>,
}

impl RunRecord for BackfillJob {
    type Progress = BackfillProgress;
    type Report = BackfillReport;

    fn id(&self) -> &str {
        &self.id
    }

    fn set_progress(&mut self, progress: BackfillProgress) {
        self.progress = progress;
    }

    fn finish(&mut self, outcome: Result<BackfillReport>, at_ms: i64) {
        self.finished_at_ms = at_ms;
        match outcome {
            Ok(report) => {
                self.state = JobState::Done;
                self.errors = failure_lines(&report.failures);
                self.progress = report.progress;
            }
            Err(err) => {
                self.state = JobState::Failed;
                self.errors = vec![err.to_string()];
            }
        }
    }
}

impl CustomerFlows {
    fn backfills(&self) -> OneAtATime {
        OneAtATime::new(
            self.store.clone(),
            BACKFILL_LOCK,
            self.config.lock_ttl(),
            crate::work::background::BACKFILL_RUNS,
            "the account backfill",
        )
    }

    /// Starts an account backfill in the background, or fails with `Locked` when one runs.
    pub async fn start_account_backfill(
        &self,
        options: BackfillOptions,
        allocation: SalesforceAllocation,
        log: SyncLog,
    ) -> Result<BackfillJob> {
        let job = BackfillJob {
            id: new_run_id(),
            state: JobState::Running,
            progress: BackfillProgress::default(),
            started_at_ms: now_ms(),
            finished_at_ms: 0,
            errors: Vec::new(),
        };
        let flows = self.clone();
        self.backfills()
            .start(job, move |progress| async move {
                flows
                    .backfill_accounts(&options, &allocation, &log, &*progress)
                    .await
            })
            .await
    }

    /// A backfill job by id.
    pub async fn backfill_job(&self, id: &isthmus_store::RecordId) -> Result<Option<BackfillJob>> {
        self.backfills().load(id).await
    }
}

//! Long runs in the background (an account backfill, a catalog run): one at a time across
//! replicas (a lock held for the whole run and renewed as it goes), with state and progress kept
//! as a status value in the store, so any replica or gateway can report them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{Lease, Store};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::{EngineError, Result};
use crate::lock::spawn_renewal;

/// How long a finished run's state is kept.
const RECORD_TTL: Duration = Duration::from_secs(7 * 86_400);
/// How often a running job's progress is saved.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Failures of single records kept on a run.
pub const MAX_ERRORS: usize = 20;

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

/// What a kind of run keeps as its status value.
pub trait RunRecord: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    type Progress: Clone + Default + Send + Sync + 'static;
    type Report: Send + 'static;
    fn id(&self) -> &str;
    fn set_progress(&mut self, progress: Self::Progress);
    /// Records how the run ended (state, final counts, errors) at `at_ms`.
    fn finish(&mut self, outcome: Result<Self::Report>, at_ms: i64);
}

/// Where the progress of a run goes while it runs.
pub type ProgressSink<P> = Arc<dyn Fn(&P) + Send + Sync>;

/// One kind of background run: its lock and the names of its status values.
#[derive(Clone)]
pub struct OneAtATime {
    store: Arc<dyn Store>,
    /// The lock resource held for the whole run.
    lock: &'static str,
    lock_ttl: Duration,
    /// Status values are `<prefix>:<run id>`.
    prefix: &'static str,
    /// What the run is, as messages name it ("the catalog run").
    what: &'static str,
}

/// The status-value prefix of account backfills.
pub const BACKFILL_RUNS: &str = "backfill";
/// The status-value prefix of catalog runs.
pub const CATALOG_RUNS: &str = "catalog-run";

/// The id of the latest run started of the kind kept under `prefix` ([`BACKFILL_RUNS`],
/// [`CATALOG_RUNS`]), while its record is kept.
pub async fn latest_run_id(
    statuses: &dyn isthmus_store::StatusValues,
    prefix: &str,
) -> Result<Option<isthmus_store::RecordId>> {
    Ok(statuses
        .status(&format!("{prefix}:latest"))
        .await?
        .and_then(|id| isthmus_store::RecordId::parse(&String::from_utf8_lossy(&id)).ok()))
}

/// A new run id.
pub fn new_run_id() -> String {
    isthmus_store::RecordId::new().to_string()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl OneAtATime {
    pub fn new(
        store: Arc<dyn Store>,
        lock: &'static str,
        lock_ttl: Duration,
        prefix: &'static str,
        what: &'static str,
    ) -> Self {
        Self {
            store,
            lock,
            lock_ttl,
            prefix,
            what,
        }
    }

    /// Takes the one-run lock, or fails with `Locked` when a run holds it.
    async fn take_lock(&self) -> Result<Lease> {
        self.store
            .acquire(self.lock, self.lock_ttl)
            .await?
            .ok_or_else(|| EngineError::Locked(format!("{} (one runs already)", self.what)))
    }

    /// Runs `work` in this task under the one-run lock (a command-line run).
    pub async fn exclusive<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let lease = self.take_lock().await?;
        let renewal = spawn_renewal(&self.store, &lease, self.lock_ttl);
        let outcome = work.await;
        renewal.abort();
        let _ = self.store.release(&lease).await;
        outcome
    }

    /// Starts `work` in the background under the one-run lock, or fails with `Locked` when a run
    /// holds it. `record` is saved first (state `running`); `work` gets a sink for its progress,
    /// which is saved at most every half second; its outcome finishes the record.
    pub async fn start<R, F, Fut>(&self, record: R, work: F) -> Result<R>
    where
        R: RunRecord,
        F: FnOnce(ProgressSink<R::Progress>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R::Report>> + Send + 'static,
    {
        let lease = self.take_lock().await?;
        if let Err(err) = self.save(&record).await {
            let _ = self.store.release(&lease).await;
            return Err(err);
        }
        let latest = format!("{}:latest", self.prefix);
        if let Err(err) = self
            .store
            .put_status(&latest, record.id().as_bytes(), RECORD_TTL)
            .await
        {
            tracing::warn!(%err, "keeping the latest {} failed", self.what);
        }
        let this = self.clone();
        let started = record.clone();
        tokio::spawn(async move {
            let renewal = spawn_renewal(&this.store, &lease, this.lock_ttl);
            let (progress_tx, progress_rx) = watch::channel(R::Progress::default());
            let saver = tokio::spawn(this.clone().save_progress(started.clone(), progress_rx));
            let sink: ProgressSink<R::Progress> = Arc::new(move |p: &R::Progress| {
                progress_tx.send_replace(p.clone());
            });
            let outcome = work(sink).await;
            saver.abort();
            let mut record = started;
            record.finish(outcome, now_ms());
            // Free the lock before reporting the end, so a caller that sees "done" can start
            // the next run at once.
            renewal.abort();
            let _ = this.store.release(&lease).await;
            if let Err(err) = this.save(&record).await {
                tracing::error!(%err, run = %record.id(), "saving {}'s final state failed", this.what);
            }
        });
        Ok(record)
    }

    async fn save_progress<R: RunRecord>(
        self,
        mut record: R,
        mut progress: watch::Receiver<R::Progress>,
    ) {
        while progress.changed().await.is_ok() {
            record.set_progress(progress.borrow_and_update().clone());
            if let Err(err) = self.save(&record).await {
                tracing::warn!(%err, "saving the progress of {} failed", self.what);
            }
            tokio::time::sleep(SAVE_EVERY).await;
        }
    }

    async fn save<R: RunRecord>(&self, record: &R) -> Result<()> {
        let bytes = serde_json::to_vec(record).unwrap_or_default();
        let name = format!("{}:{}", self.prefix, record.id());
        Ok(self.store.put_status(&name, &bytes, RECORD_TTL).await?)
    }

    /// A run by id (`InvalidArgument` for a malformed id).
    pub async fn load<R: RunRecord>(&self, id: &isthmus_store::RecordId) -> Result<Option<R>> {
        Ok(self
            .store
            .status(&format!("{}:{id}", self.prefix))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }
}

/// The errors a run keeps: its first [`MAX_ERRORS`] failures as `<id>: <why>`.
pub fn failure_lines(failures: &[(String, String)]) -> Vec<String> {
    failures
        .iter()
        .take(MAX_ERRORS)
        .map(|(id, why)| format!("{id}: {why}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_its_first_failures() {
        let failures: Vec<(String, String)> = (0..30)
            .map(|n| (n.to_string(), "refused".to_string()))
            .collect();
        let lines = failure_lines(&failures);
        assert_eq!(lines.len(), MAX_ERRORS);
        assert_eq!(lines[0], "0: refused");
    }
}

//! What operators see of reconciliation runs, kept as status values every replica reads: the
//! progress of a run while it goes, the last report of each flow with its drifts (so a person can
//! repair them later), and the history of a flow's runs (the newest [`HISTORY_LEN`]).
//!
//! All best effort for the run itself: a store failure while keeping them is logged, never
//! fails the comparison that already happened.

use std::time::Duration;

use isthmus_store::StatusValues;
use serde::{Deserialize, Serialize};

use super::{now_ms, Flow, LastRun, Report};
use crate::error::Result;

/// Runs a flow's history keeps.
pub const HISTORY_LEN: usize = 30;
/// How long progress is kept after its last update (a run that died stops showing).
const PROGRESS_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a flow's last report and history are kept.
const KEPT_TTL: Duration = Duration::from_secs(400 * 86_400);

/// Where a run is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub flow: Flow,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// `links` (comparing the ID map), `salesforce` / `netsuite` (looking for unlinked records).
    pub phase: String,
    pub links_checked: u64,
    pub drifts: u64,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn progress_name(flow: Flow) -> String {
    format!("reconcile:{}:progress", flow.as_str())
}

fn report_name(flow: Flow) -> String {
    format!("reconcile:{}:report", flow.as_str())
}

fn history_name(flow: Flow) -> String {
    format!("reconcile:{}:history", flow.as_str())
}

/// Publishes where a run of `report.flow` is.
pub async fn publish(
    store: &dyn StatusValues,
    report: &Report,
    state: &str,
    phase: &str,
    error: Option<String>,
) {
    let progress = Progress {
        flow: report.flow,
        state: state.to_string(),
        phase: phase.to_string(),
        links_checked: report.links_checked,
        drifts: report.counts.values().sum(),
        started_at_ms: report.started_at_ms,
        updated_at_ms: now_ms(),
        error,
    };
    let bytes = serde_json::to_vec(&progress).unwrap_or_default();
    if let Err(err) = store
        .put_status(&progress_name(report.flow), &bytes, PROGRESS_TTL)
        .await
    {
        tracing::warn!(%err, "publishing reconciliation progress failed");
    }
}

/// The progress of `flow`'s current or latest run (for 15 minutes after it ends).
pub async fn progress(store: &dyn StatusValues, flow: Flow) -> Result<Option<Progress>> {
    Ok(store
        .status(&progress_name(flow))
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// Keeps a finished run: its report (with its drifts) as the flow's last, and its counts at the
/// head of the flow's history.
pub async fn keep(store: &dyn StatusValues, report: &Report, last: &LastRun) {
    let kept = async {
        let bytes = serde_json::to_vec(report).unwrap_or_default();
        store
            .put_status(&report_name(report.flow), &bytes, KEPT_TTL)
            .await?;
        let mut runs = history(store, report.flow).await?;
        runs.insert(0, last.clone());
        runs.truncate(HISTORY_LEN);
        let bytes = serde_json::to_vec(&runs).unwrap_or_default();
        store
            .put_status(&history_name(report.flow), &bytes, KEPT_TTL)
            .await?;
        Ok::<_, crate::error::EngineError>(())
    };
    if let Err(err) = kept.await {
        tracing::warn!(%err, "keeping the reconciliation report failed");
    }
}

/// The last report of `flow`, with its drifts.
pub async fn last_report(store: &dyn StatusValues, flow: Flow) -> Result<Option<Report>> {
    Ok(store
        .status(&report_name(flow))
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// The runs of `flow`, newest first.
pub async fn history(store: &dyn StatusValues, flow: Flow) -> Result<Vec<LastRun>> {
    Ok(store
        .status(&history_name(flow))
        .await?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default())
}

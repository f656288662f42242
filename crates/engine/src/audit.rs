//! The audit log and alerts: what every finished sync leaves for operators.
//!
//! - Every sync that wrote to either side appends an [`AuditEntry`] (flow, record ids, fields
//!   changed, outcome, trace id, job id) to a Redis stream capped at `audit.max_entries`.
//! - A sync that ends in `conflict` (an ambiguous match, a parked field conflict) and every
//!   dead-lettered job raise an alert through [`Alerts`] (a Slack-compatible webhook, batched
//!   and rate-limited), when one is configured.
//!
//! Recording is best effort: a store or webhook failure is logged and never fails the sync that
//! already happened.

use crate::result::{Outcome, SyncResult};
use isthmus_store::AuditLog;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::alerts::{Alert, Alerts};

/// One write to Salesforce and/or NetSuite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub flow: String,
    pub outcome: String,
    pub salesforce_id: String,
    pub netsuite_id: String,
    /// `record.field` of every field written.
    pub fields: Vec<String>,
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_id: String,
}

/// Writes audit entries and raises alerts for finished syncs.
#[derive(Clone)]
pub struct SyncLog {
    audit: Arc<dyn AuditLog>,
    max_entries: usize,
    alerts: Option<Alerts>,
}

impl SyncLog {
    pub fn new(audit: Arc<dyn AuditLog>, max_entries: usize, alerts: Option<Alerts>) -> Self {
        Self {
            audit,
            max_entries: max_entries.max(1),
            alerts,
        }
    }

    /// Records a finished sync: an audit entry when it wrote, an alert when it ended in conflict.
    pub async fn finished(&self, result: &SyncResult) {
        let outcome = result.outcome;
        if result.dry_run {
            return;
        }
        isthmus_telemetry::metrics::sync_finished(&result.flow, outcome.as_str());
        if outcome.wrote() {
            let entry = AuditEntry {
                at_ms: chrono::Utc::now().timestamp_millis(),
                flow: result.flow.clone(),
                outcome: outcome.as_str().to_string(),
                salesforce_id: result.salesforce_id.clone(),
                netsuite_id: result.netsuite_id.clone(),
                fields: result
                    .changes
                    .iter()
                    .map(|c| format!("{}.{}", c.record, c.field))
                    .collect(),
                trace_id: result.trace_id.clone(),
                job_id: result.job_id.clone(),
            };
            let bytes = serde_json::to_vec(&entry).unwrap_or_default();
            if let Err(err) = self.audit.append_audit(&bytes, self.max_entries).await {
                tracing::warn!(%err, "appending to the audit log failed");
            }
        }
        let already_parked = result
            .warnings
            .iter()
            .any(|w| w.starts_with(crate::customers::conflicts::PARKED_WARNING));
        if outcome == Outcome::Conflict && !already_parked {
            if let Some(alerts) = &self.alerts {
                let ids = [result.salesforce_id.as_str(), result.netsuite_id.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" / ");
                alerts.raise(Alert::Conflict {
                    flow: result.flow.clone(),
                    records: ids,
                    reason: result.warnings.join("; "),
                });
            }
        }
    }

    /// Raises an alert for a job that failed for good.
    pub fn dead_letter(&self, job_id: &str, kind: &str, error: &str) {
        if let Some(alerts) = &self.alerts {
            alerts.raise(Alert::DeadLetter {
                job_id: job_id.to_string(),
                kind: kind.to_string(),
                error: error.to_string(),
            });
        }
    }
}

/// Audit entries after `after`, oldest first.
pub async fn read(
    audit: &dyn AuditLog,
    after: Option<&str>,
    limit: usize,
) -> crate::Result<Vec<(String, AuditEntry)>> {
    Ok(audit
        .audit(after, limit)
        .await?
        .into_iter()
        .filter_map(|(id, bytes)| serde_json::from_slice(&bytes).ok().map(|e| (id, e)))
        .collect())
}

//! The audit log and alerts: what every finished sync leaves for operators.
//!
//! - Every sync that wrote to either side appends an [`AuditEntry`] (flow, record ids, each
//!   field before → after, outcome, trigger, trace id, job id) to a Redis stream capped at
//!   `audit.max_entries`, and to the history of each record it names (`sf:<id>`, `ns:<id>`),
//!   so one record's trail is one read. Operator actions (a replayed or discarded dead letter)
//!   are entries too, naming who acted.
//! - Every finished sync, written or not, and every failure counts in the sync statistics
//!   ([`SyncStats`]: per flow, outcome and five minutes, with latency and the last error),
//!   which the console's overview draws.
//! - A sync that ends in `conflict` (an ambiguous match, a parked field conflict) and every
//!   dead-lettered job raise an alert through [`Alerts`] (a Slack-compatible webhook, batched
//!   and rate-limited), when one is configured.
//!
//! Recording is best effort: a store or webhook failure is logged and never fails the sync that
//! already happened.

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_store::{AuditLog, Store, SyncSample};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

use crate::alerts::{Alert, Alerts};

/// What started a sync, as the audit trail shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A request: "Sync to NetSuite", a NetSuite event, the console's "sync now".
    Request,
    /// A queued job (a retry, a queued request, a replayed dead letter).
    Job,
    Backfill,
    /// The scheduled delta sync.
    Delta,
    CatalogRun,
    /// Another scheduled run (financial summaries).
    Schedule,
    /// A reconciliation repair.
    Repair,
    /// A person resolving a parked conflict.
    Resolution,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Job => "job",
            Self::Backfill => "backfill",
            Self::Delta => "delta",
            Self::CatalogRun => "catalog_run",
            Self::Schedule => "schedule",
            Self::Repair => "repair",
            Self::Resolution => "resolution",
        }
    }
}

/// One write to Salesforce and/or NetSuite, or one operator action (`actor` set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Each field written, before → after (absent on entries written before it was kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// What started the sync (`request`, `job`, …); empty for operator actions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trigger: String,
    /// Who acted, for an operator action (the API key's name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// Why, when the actor said (a discarded dead letter's reason).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl AuditEntry {
    /// The record keys an entry is filed under: `sf:<id>` and `ns:<id>` of the ids it names.
    pub fn record_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if !self.salesforce_id.is_empty() {
            keys.push(record_key_salesforce(&self.salesforce_id));
        }
        if !self.netsuite_id.is_empty() {
            keys.push(record_key_netsuite(&self.netsuite_id));
        }
        keys
    }
}

/// The audit history key of a Salesforce record.
pub fn record_key_salesforce(id: &str) -> String {
    format!("sf:{id}")
}

/// The audit history key of a NetSuite record.
pub fn record_key_netsuite(id: &str) -> String {
    format!("ns:{id}")
}

/// Appends `entry` to the audit log and the history of each record it names; best effort
/// (logged, never failing the caller, whose write already happened).
pub async fn append(audit: &dyn AuditLog, entry: &AuditEntry, max_entries: usize) {
    let bytes = serde_json::to_vec(entry).unwrap_or_default();
    let keys = entry.record_keys();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if let Err(err) = audit.append_audit(&bytes, max_entries, &keys).await {
        tracing::warn!(%err, "appending to the audit log failed");
    }
}

/// Writes audit entries and statistics, and raises alerts, for finished syncs.
#[derive(Clone)]
pub struct SyncLog {
    store: Arc<dyn Store>,
    max_entries: usize,
    alerts: Option<Alerts>,
}

impl SyncLog {
    pub fn new(store: Arc<dyn Store>, max_entries: usize, alerts: Option<Alerts>) -> Self {
        Self {
            store,
            max_entries: max_entries.max(1),
            alerts,
        }
    }

    /// Records a finished sync that began at `began`: its sample in the statistics, an audit
    /// entry when it wrote, an alert when it ended in conflict. The statistics and the audit
    /// go to the store concurrently, so a sync costs one round trip's wait.
    pub async fn finished(&self, result: &SyncResult, trigger: Trigger, began: Instant) {
        let outcome = result.outcome;
        if result.dry_run {
            return;
        }
        isthmus_telemetry::metrics::sync_finished(&result.flow, outcome.as_str());
        let at_ms = chrono::Utc::now().timestamp_millis();
        let sample = SyncSample {
            flow: &result.flow,
            outcome: outcome.as_str(),
            at_ms,
            latency_ms: elapsed_ms(began),
            error: None,
            trace_id: &result.trace_id,
        };
        let audit = async {
            if outcome.wrote() {
                let entry = AuditEntry {
                    at_ms,
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
                    changes: result.changes.clone(),
                    trigger: trigger.as_str().to_string(),
                    actor: String::new(),
                    note: String::new(),
                };
                append(self.store.as_ref(), &entry, self.max_entries).await;
            }
        };
        let (counted, ()) = tokio::join!(self.store.record_sync(&sample), audit);
        if let Err(err) = counted {
            tracing::warn!(%err, "counting a sync in the statistics failed");
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

    /// Records an erasure of a person that wrote: an entry naming only the contact ids, the
    /// configured modes and what each side got (never a name or an e-mail).
    pub async fn erased(
        &self,
        erasure: &crate::customers::erasure::Erasure,
        actor: &str,
        trace_id: &str,
    ) {
        if !erasure.wrote() {
            return;
        }
        let entry = AuditEntry {
            at_ms: chrono::Utc::now().timestamp_millis(),
            flow: "customers.erasure".to_string(),
            outcome: "erasure".to_string(),
            salesforce_id: erasure.salesforce_contact_id.clone().unwrap_or_default(),
            netsuite_id: erasure.netsuite_contact_id.clone().unwrap_or_default(),
            fields: Vec::new(),
            trace_id: trace_id.to_string(),
            job_id: String::new(),
            changes: Vec::new(),
            trigger: Trigger::Request.as_str().to_string(),
            actor: actor.to_string(),
            note: format!(
                "erasure: salesforce {} ({}), netsuite {} ({}), {} audit entries redacted",
                erasure.salesforce.as_str(),
                erasure.salesforce_mode.as_str(),
                erasure.netsuite.as_str(),
                erasure.netsuite_mode.as_str(),
                erasure.audit_entries_redacted
            ),
        };
        append(self.store.as_ref(), &entry, self.max_entries).await;
    }

    /// Records a resolved conflict: an audit entry naming the record, the field with the
    /// values both sides held before and the value both hold now, and who won.
    pub async fn resolved(&self, conflict: &isthmus_store::Conflict, actor: &str) {
        let Some(resolution) = &conflict.resolution else {
            return;
        };
        let value = |v: &Option<String>| v.clone().map(serde_json::Value::String);
        let changes = [
            ("salesforce", &conflict.salesforce_value),
            ("netsuite", &conflict.netsuite_value),
        ]
        .into_iter()
        .filter(|(_, before)| **before != resolution.value)
        .map(|(side, before)| FieldChange {
            record: side.to_string(),
            field: conflict.field.clone(),
            before: value(before),
            after: value(&resolution.value),
        })
        .collect::<Vec<_>>();
        let entry = AuditEntry {
            at_ms: resolution.resolved_at_ms,
            flow: conflict.flow.clone(),
            outcome: "resolved".to_string(),
            salesforce_id: conflict.salesforce_id.clone(),
            netsuite_id: conflict.netsuite_id.clone(),
            fields: changes
                .iter()
                .map(|c| format!("{}.{}", c.record, c.field))
                .collect(),
            trace_id: resolution.trace_id.clone(),
            job_id: String::new(),
            changes,
            trigger: Trigger::Resolution.as_str().to_string(),
            actor: actor.to_string(),
            note: format!(
                "conflict {} resolved: kept {}",
                conflict.id, resolution.winner
            ),
        };
        append(self.store.as_ref(), &entry, self.max_entries).await;
    }

    /// Records a sync of `flow` that failed: `failed` in the statistics when it failed for
    /// good, `retried` when it will run again; either way the flow's last error.
    pub async fn failed(
        &self,
        flow: &str,
        began: Instant,
        error: &str,
        trace_id: &str,
        for_good: bool,
    ) {
        let outcome = if for_good { "failed" } else { "retried" };
        isthmus_telemetry::metrics::sync_finished(flow, outcome);
        let sample = SyncSample {
            flow,
            outcome,
            at_ms: chrono::Utc::now().timestamp_millis(),
            latency_ms: elapsed_ms(began),
            error: Some(error),
            trace_id,
        };
        if let Err(err) = self.store.record_sync(&sample).await {
            tracing::warn!(%err, "counting a failed sync in the statistics failed");
        }
    }

    /// Raises an alert that is no sync's result (a delta that outran a change log).
    pub fn alert(&self, alert: Alert) {
        if let Some(alerts) = &self.alerts {
            alerts.raise(alert);
        } else {
            tracing::warn!(?alert, "no alerts webhook configured");
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

fn elapsed_ms(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Audit entries of `record` (a key from [`record_key_salesforce`] or
/// [`record_key_netsuite`]), newest first.
pub async fn of_record(
    audit: &dyn AuditLog,
    record: &str,
    limit: usize,
) -> crate::Result<Vec<(String, AuditEntry)>> {
    Ok(audit
        .record_audit(record, limit)
        .await?
        .into_iter()
        .filter_map(|(id, bytes)| serde_json::from_slice(&bytes).ok().map(|e| (id, e)))
        .collect())
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

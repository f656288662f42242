//! How the flows report what the conflict policy ([`super::policy`]) found: each conflict
//! becomes a log entry ([`Conflict`]) with both values, the policy and the resolution, logged
//! through `tracing` and recorded in the store's conflict log, never on a dry run.
//!
//! A conflict the policy resolved is recorded after the sync's writes succeeded (so the log
//! says what happened). A `manual` conflict parks the record instead: its entries are recorded
//! parked and the link carries their ids, so every later sync of the record answers `conflict`
//! at once and writes nothing, until each is resolved through the API ([`super::resolve`]).

use crate::result::{Outcome, SyncResult};
use isthmus_store::{Conflict, ConflictResolution, Lease, Link};

use super::plan::Target;
use super::policy::{self, Reconciled, Sides};
use super::{now_ms, CustomerFlows, LINK_KIND};
use crate::error::Result;
use crate::lock::ensure_held;

/// What the policy decided for a sync that goes on to write.
pub(crate) struct Decided {
    pub reconciled: Reconciled,
    /// Conflicts the policy resolved, to record once the writes succeeded.
    pub resolved: Vec<Conflict>,
}

/// Where a flow found its conflicts.
pub(crate) struct ConflictScope<'a> {
    pub flow: &'static str,
    pub target: Target,
    pub salesforce_id: &'a str,
    pub netsuite_id: &'a str,
    pub trace_id: &'a str,
}

/// The log entries of what the policy found. Parked entries come without a resolution; when
/// the record is parked, entries the policy resolved are left out (nothing of them is written,
/// and the next sync after the resolution finds them again).
pub(crate) fn entries(scope: &ConflictScope<'_>, reconciled: &Reconciled) -> Vec<Conflict> {
    let parked = reconciled.is_parked();
    let now = now_ms();
    reconciled
        .conflicts
        .iter()
        .filter(|c| !parked || c.winner.is_none())
        .map(|c| {
            let (salesforce_value, netsuite_value) = match scope.target {
                Target::NetSuite => (c.source_value.clone(), c.far_value.clone()),
                Target::Salesforce => (c.far_value.clone(), c.source_value.clone()),
            };
            let resolution = c.winner.map(|winner| ConflictResolution {
                winner: winner.as_str().into(),
                value: if winner == scope.target {
                    c.far_value.clone()
                } else {
                    c.source_value.clone()
                },
                by: "policy".into(),
                trace_id: scope.trace_id.into(),
                resolved_at_ms: now,
            });
            Conflict {
                id: isthmus_store::RecordId::new().to_string(),
                kind: LINK_KIND.into(),
                flow: scope.flow.into(),
                salesforce_id: scope.salesforce_id.into(),
                netsuite_id: scope.netsuite_id.into(),
                field: c.unit.clone(),
                salesforce_value,
                netsuite_value,
                last_synced_value: c.last_synced.clone(),
                policy: c.policy.as_str().into(),
                resolution,
                trace_id: scope.trace_id.into(),
                detected_at_ms: now,
            }
        })
        .collect()
}

/// A warning per entry, for the sync's result.
pub(crate) fn warnings(entries: &[Conflict], dry_run: bool) -> Vec<String> {
    entries
        .iter()
        .map(|c| {
            let both = format!(
                "'{}' changed on both sides since the last sync (Salesforce {}, NetSuite {})",
                c.field,
                shown(&c.salesforce_value),
                shown(&c.netsuite_value)
            );
            match &c.resolution {
                Some(r) => format!("{both}; policy {}: {}'s value wins", c.policy, r.winner),
                None if dry_run => format!("{both}; policy manual: the record would be parked"),
                None => format!(
                    "{both}; policy manual: the record is parked until conflict {} is resolved \
                     (POST /v1/conflicts/{}/resolve)",
                    c.id, c.id
                ),
            }
        })
        .collect()
}

/// The answer of a sync of a parked record.
/// How the warning of a sync that met an already-parked record begins (the alert for the
/// conflict went out when it was parked; later syncs of it do not raise another).
pub const PARKED_WARNING: &str = "the record is parked until conflict(s)";

pub(crate) fn parked_warning(link: &Link) -> String {
    format!(
        "{PARKED_WARNING} {} are resolved (POST /v1/conflicts/{{id}}/resolve); nothing was written",
        link.parked.join(", ")
    )
}

impl CustomerFlows {
    /// Runs the conflict policy for a flow and puts its warnings on `out`. `None` when the
    /// record is parked: `out` then answers `conflict`, and (unless this is a dry run) the parked
    /// entries are recorded and the link marked, with nothing written to either side.
    pub(crate) async fn decide(
        &self,
        scope: &ConflictScope<'_>,
        sides: &Sides<'_>,
        link: Option<&Link>,
        lease: Option<&Lease>,
        out: &mut SyncResult,
    ) -> Result<Option<Decided>> {
        let reconciled = policy::reconcile(&self.config, sides);
        let found = entries(scope, &reconciled);
        out.warnings.extend(warnings(&found, lease.is_none()));
        if !reconciled.is_parked() {
            return Ok(Some(Decided {
                reconciled,
                resolved: found,
            }));
        }
        out.outcome = Outcome::Conflict;
        if let (Some(lease), Some(link)) = (lease, link) {
            ensure_held(&self.store, lease, self.config.lock_ttl()).await?;
            self.park(link, &found, lease).await?;
        }
        Ok(None)
    }

    /// Logs and records conflict entries (after the writes they describe).
    pub(crate) async fn record_conflicts(&self, entries: &[Conflict]) -> Result<()> {
        for conflict in entries {
            tracing::warn!(
                flow = %conflict.flow,
                salesforce_id = %conflict.salesforce_id,
                netsuite_id = %conflict.netsuite_id,
                field = %conflict.field,
                salesforce_value = ?conflict.salesforce_value,
                netsuite_value = ?conflict.netsuite_value,
                policy = %conflict.policy,
                resolution = conflict.resolution.as_ref().map_or("parked", |r| r.winner.as_str()),
                trace_id = %conflict.trace_id,
                conflict_id = %conflict.id,
                "conflict"
            );
            self.store
                .record_conflict(conflict, self.config.conflict_log_len)
                .await?;
        }
        Ok(())
    }

    /// Parks the record of `link`: records the parked entries, then marks the link with their
    /// ids (under the sync's lease; the snapshot and hashes stay as they were).
    pub(crate) async fn park(
        &self,
        link: &Link,
        entries: &[Conflict],
        lease: &Lease,
    ) -> Result<()> {
        self.record_conflicts(entries).await?;
        let mut parked = link.clone();
        parked.parked.extend(entries.iter().map(|c| c.id.clone()));
        self.store.put_link(&parked, lease).await?;
        Ok(())
    }
}

fn shown(value: &Option<String>) -> String {
    value.as_deref().map_or_else(
        || "empty".to_string(),
        |v| serde_json::Value::String(v.chars().take(200).collect()).to_string(),
    )
}

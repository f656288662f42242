//! Quote (+ line items) → NetSuite estimate, on "Sync to NetSuite" on the Quote: the plan
//! (`quote_plan.rs`: read, check, map), the account's customer ensured through the customers
//! service, the comparison with the estimate NetSuite holds, the upsert by external id (the
//! Quote id), and the record on both sides (link, and the estimate's id and status written back
//! to the Quote's `NetSuite_Id__c` / `NetSuite_Status__c`).
//!
//! Same guarantees as the orders flow: every check before the first write, one sync of a quote at
//! a time (the quote's fenced lock), so concurrent clicks make one estimate (and the upsert by
//! external id could not make a second anyway), a dry run that takes no lock and writes nothing,
//! and echo suppression (an unchanged Quote, its hash on the link and the write-back in place,
//! costs no NetSuite call).
//!
//! NetSuite calls: a never-linked quote (no link, nothing written back) costs two, the upsert
//! and the read-back of its number and status; a linked one is read and compared first (an
//! estimate already turned into an order, or closed, is not changed: `skipped`), then written
//! when it changed and read back. A repeated upsert of the same quote only updates its one
//! estimate, so a lost answer is safe to retry blindly.

use crate::result::{Outcome, SyncResult};
use isthmus_netsuite::GetOptions;
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::order_body::transaction_changes;
use super::to_sales_order::status_hash;
use super::{ref_name, OrderFlows, ESTIMATE_LINK_KIND, FLOW_QUOTE_TO_ESTIMATE};
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};

/// The estimate record as dry runs name it.
const NS_ESTIMATE: &str = "netsuite.estimate";
/// Estimate statuses (`status.id`) that a changed Quote may still update: Open.
const UPDATABLE_ESTIMATE: &[&str] = &["A", "Open"];

impl OrderFlows {
    /// "Sync to NetSuite" on one Quote, under the Quote's lock. A dry run takes no lock and
    /// writes nothing, in Redis either.
    pub async fn sync_quote(
        &self,
        id: &SalesforceId,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{ESTIMATE_LINK_KIND}:sf:{id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.quote_to_estimate(id, trace_id, lease),
        )
        .await
    }

    async fn quote_to_estimate(
        &self,
        id: &SalesforceId,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let dry_run = lease.is_none();
        let quote = self.read_quote(id).await?;
        let link = self
            .store
            .link_by_salesforce(ESTIMATE_LINK_KIND, id.as_str())
            .await?;
        let plan = self.plan_estimate(id, &quote).await?;
        let mut out = SyncResult::new(
            FLOW_QUOTE_TO_ESTIMATE,
            Outcome::Unchanged,
            dry_run,
            trace_id,
        );
        out.salesforce_id = id.to_string();
        let written_back = text(&quote, "NetSuite_Id__c");
        if let Some(link) = &link {
            if link.salesforce_hash == plan.hash
                && written_back.as_deref() == Some(link.netsuite_id.as_str())
            {
                out.netsuite_id = link.netsuite_id.clone();
                out.matched_rule = "id_map".into();
                return Ok(out);
            }
        }

        let customer_id = self.ensure_customer(&plan.account_id, dry_run).await?;
        let mut body = plan.body.clone();
        match &customer_id {
            Some(customer) => {
                body.insert("entity".into(), json!({ "id": customer }));
            }
            None => out.warnings.push(format!(
                "the customer of account {} does not exist yet; the sync creates it first",
                plan.account_id
            )),
        }
        let never_linked = !dry_run && link.is_none() && written_back.is_none();
        let existing_id = if never_linked {
            out.matched_rule = "none".into();
            out.changes = transaction_changes(NS_ESTIMATE, &body, None);
            out.outcome = Outcome::Created;
            None
        } else {
            self.compare_with_estimate(id, link.as_ref(), &body, &mut out)
                .await?
        };
        let Some(lease) = lease else {
            return Ok(out); // dry run: the estimate that would be written, nothing more
        };
        let customer_id = customer_id.ok_or_else(|| {
            EngineError::Unprocessable(format!(
                "the customers service returned no customer for account {}",
                plan.account_id
            ))
        })?;
        body.insert("entity".into(), json!({ "id": customer_id }));
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        let estimate_key = match existing_id {
            Some(existing)
                if out.outcome != Outcome::Created && out.outcome != Outcome::Updated =>
            {
                existing
            }
            existing => self
                .netsuite
                .upsert("estimate", id.as_str(), &body, &["item"])
                .await?
                .or(existing)
                .unwrap_or_else(|| format!("eid:{id}")),
        };
        let salesforce_hash = match (&link, out.outcome == Outcome::Skipped) {
            (Some(link), true) => link.salesforce_hash.clone(),
            (None, true) => String::new(),
            (_, false) => plan.hash,
        };
        out.netsuite_id = self
            .record_estimate(id, &quote, &estimate_key, salesforce_hash, &lease)
            .await?;
        Ok(out)
    }

    /// Finds the estimate NetSuite holds (by link, else by external id) and fills in `out`; a
    /// changed Quote whose estimate is no longer Open (made into an order, closed, expired) is
    /// `skipped` with a warning. The existing estimate's id.
    async fn compare_with_estimate(
        &self,
        id: &SalesforceId,
        link: Option<&Link>,
        body: &Record,
        out: &mut SyncResult,
    ) -> Result<Option<String>> {
        let existing = match link {
            Some(link) => self.read_estimate(&link.netsuite_id).await?,
            None => self.read_estimate(&format!("eid:{id}")).await?,
        };
        out.matched_rule = match (link, &existing) {
            (Some(_), _) => "id_map",
            (None, Some(_)) => "external_id",
            (None, None) => "none",
        }
        .into();
        out.changes = transaction_changes(NS_ESTIMATE, body, existing.as_ref());
        let existing_id = existing.as_ref().and_then(|e| text(e, "id"));
        out.netsuite_id = existing_id.clone().unwrap_or_default();
        out.outcome = match (&existing, out.changes.is_empty()) {
            (None, _) => Outcome::Created,
            (Some(_), false) => Outcome::Updated,
            (Some(_), true) => Outcome::Unchanged,
        };
        if let Some(estimate) = &existing {
            let status = estimate
                .get("status")
                .and_then(|s| s.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !out.changes.is_empty() && !UPDATABLE_ESTIMATE.contains(&status) {
                out.outcome = Outcome::Skipped;
                out.warnings.push(format!(
                    "estimate {} is {}: changes on the Quote are no longer carried over",
                    text(estimate, "tranId").unwrap_or_default(),
                    ref_name(estimate, "status").unwrap_or_else(|| status.to_string()),
                ));
                out.changes.clear();
            }
        }
        Ok(existing_id)
    }

    /// Reads the estimate back for its id, number and status, records the link under `lease`
    /// and writes id and status back to the Quote where they differ. The estimate's id.
    async fn record_estimate(
        &self,
        id: &SalesforceId,
        quote: &Record,
        estimate_key: &str,
        salesforce_hash: String,
        lease: &Lease,
    ) -> Result<String> {
        let estimate = self.read_estimate(estimate_key).await?.ok_or_else(|| {
            EngineError::Unprocessable(format!("estimate {estimate_key} vanished after the write"))
        })?;
        let estimate_id = text(&estimate, "id").ok_or_else(|| {
            EngineError::Unprocessable(format!("NetSuite lost the estimate written for {id}"))
        })?;
        let number = text(&estimate, "tranId").unwrap_or_default();
        let status = ref_name(&estimate, "status").unwrap_or_default();
        let link = Link {
            kind: ESTIMATE_LINK_KIND.into(),
            salesforce_id: id.to_string(),
            netsuite_id: estimate_id.clone(),
            salesforce_hash,
            netsuite_hash: status_hash(&number, &status),
            salesforce_modstamp: text(quote, "SystemModstamp").unwrap_or_default(),
            netsuite_modstamp: text(&estimate, "lastModifiedDate").unwrap_or_default(),
            synced_at_ms: chrono::Utc::now().timestamp_millis(),
            fields: Default::default(),
            parked: Vec::new(),
        };
        self.store.put_link(&link, lease).await?;
        self.write_back_quote(id.as_str(), quote, &estimate_id, &status)
            .await?;
        Ok(estimate_id)
    }

    /// Writes the estimate's id and status to the Quote, where they differ from `quote`.
    pub(super) async fn write_back_quote(
        &self,
        id: &str,
        quote: &Record,
        estimate_id: &str,
        status: &str,
    ) -> Result<()> {
        let mut write_back = Map::new();
        for (field, value) in [
            ("NetSuite_Id__c", estimate_id),
            ("NetSuite_Status__c", status),
        ] {
            if text(quote, field).as_deref() != Some(value) {
                write_back.insert(field.into(), Value::String(value.to_string()));
            }
        }
        if !write_back.is_empty() {
            self.salesforce.update("Quote", id, &write_back).await?;
        }
        Ok(())
    }

    /// An estimate with its lines, or `None` when it does not exist. `id` is an internal id or
    /// `eid:<external id>`.
    pub(super) async fn read_estimate(&self, id: &str) -> Result<Option<Record>> {
        let opts = GetOptions {
            expand_sub_resources: true,
            ..Default::default()
        };
        match self.netsuite.get("estimate", id, &opts).await {
            Ok(estimate) => Ok(Some(estimate)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

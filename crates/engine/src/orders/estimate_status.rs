//! NetSuite → Salesforce: an estimate's status onto the Quote it came from, on the User Event
//! script's event (a NetSuite user makes a sales order from it, closes it, or it expires).
//!
//! Only estimates that came from a Quote are followed: the estimate link, else an external id
//! that is a Quote id. Echo suppression: the link keeps the hash of the number and status last
//! written to the Quote, so the event that our own write (or an unchanged save) fires writes
//! nothing. A delete event is believed only when NetSuite no longer has the estimate; the Quote
//! then shows it and loses its `NetSuite_Id__c`, so it can be synced again.

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::to_sales_order::status_hash;
use super::{ref_name, OrderFlows, RecordChange, ESTIMATE_LINK_KIND, FLOW_ESTIMATE_TO_QUOTE};
use crate::customers::mapping::text;
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};
use crate::mirror::netsuite_owned_link;

/// What a Quote shows of a deleted estimate.
const DELETED_STATUS: &str = "Deleted in NetSuite";

impl OrderFlows {
    /// An estimate changed (or was deleted) in NetSuite: its status onto its Quote, under the
    /// estimate's lock.
    pub async fn sync_estimate(
        &self,
        estimate_id: &NetSuiteId,
        change: RecordChange,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let estimate_id = estimate_id.as_str();
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{ESTIMATE_LINK_KIND}:ns:{estimate_id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.estimate_to_quote(estimate_id, change, trace_id, lease),
        )
        .await
    }

    async fn estimate_to_quote(
        &self,
        estimate_id: &str,
        change: RecordChange,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let mut out = SyncResult::new(
            FLOW_ESTIMATE_TO_QUOTE,
            Outcome::Unchanged,
            lease.is_none(),
            trace_id,
        );
        out.netsuite_id = estimate_id.to_string();
        let link = self
            .store
            .link_by_netsuite(ESTIMATE_LINK_KIND, estimate_id)
            .await?;
        let estimate = self.read_estimate(estimate_id).await?;
        let estimate = match (change, estimate) {
            (RecordChange::Delete, Some(_)) => {
                return Err(EngineError::Unprocessable(format!(
                    "NetSuite estimate {estimate_id} still exists: the delete event is stale or \
                     forged; nothing was changed"
                )))
            }
            (RecordChange::Delete, None) => None,
            (RecordChange::Upsert, Some(estimate)) => Some(estimate),
            (RecordChange::Upsert, None) => {
                return Err(EngineError::NotFound(format!(
                    "NetSuite estimate {estimate_id} does not exist"
                )))
            }
        };
        let quote = match (&link, &estimate) {
            (Some(link), _) => Some(link.salesforce_id.clone()),
            (None, Some(estimate)) => text(estimate, "externalId")
                .filter(|e| SalesforceId::parse_as(e, SObject::Quote).is_ok()),
            (None, None) => None,
        };
        let Some(quote) = quote else {
            out.outcome = Outcome::Skipped;
            out.warnings.push(format!(
                "estimate {estimate_id} did not come from a Salesforce quote"
            ));
            return Ok(out);
        };
        out.salesforce_id = quote.clone();
        out.matched_rule = if link.is_some() {
            "id_map"
        } else {
            "external_id"
        }
        .into();
        let (number, status) = match &estimate {
            Some(estimate) => (
                text(estimate, "tranId").unwrap_or_default(),
                ref_name(estimate, "status").unwrap_or_default(),
            ),
            None => (String::new(), DELETED_STATUS.to_string()),
        };
        let new_hash = status_hash(&number, &status);
        if link.as_ref().is_some_and(|l| l.netsuite_hash == new_hash) {
            return Ok(out);
        }
        let mut body = Map::new();
        let id_value = estimate
            .as_ref()
            .map_or(Value::Null, |_| json!(estimate_id));
        body.insert("NetSuite_Id__c".into(), id_value);
        body.insert("NetSuite_Status__c".into(), json!(status));
        out.changes = body
            .iter()
            .map(|(field, value)| FieldChange {
                record: "salesforce.Quote".into(),
                field: field.clone(),
                before: None,
                after: (!value.is_null()).then(|| value.clone()),
            })
            .collect();
        out.outcome = Outcome::Updated;
        let Some(lease) = lease else {
            return Ok(out);
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        match self.salesforce.update("Quote", &quote, &body).await {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {
                out.outcome = Outcome::Skipped;
                out.warnings
                    .push(format!("quote {quote} no longer exists in Salesforce"));
                return Ok(out);
            }
            Err(err) => return Err(err.into()),
        }
        match estimate {
            Some(estimate) => {
                let link = Link {
                    salesforce_hash: link.map(|l| l.salesforce_hash).unwrap_or_default(),
                    ..netsuite_owned_link(
                        ESTIMATE_LINK_KIND,
                        &quote,
                        estimate_id,
                        new_hash,
                        text(&estimate, "lastModifiedDate").unwrap_or_default(),
                    )
                };
                self.store.put_link(&link, &lease).await?;
            }
            None if link.is_some() => {
                self.store
                    .delete_link(ESTIMATE_LINK_KIND, &quote, &lease)
                    .await?;
            }
            None => {}
        }
        Ok(out)
    }
}

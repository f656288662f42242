//! NetSuite → Salesforce: a sales order's status and number onto its Opportunity; an item
//! fulfilment into a `NetSuite_Fulfillment__c` record and onto the Opportunity's ship fields.

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::GetOptions;
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_store::{Lease, Link};
use serde_json::{json, Map, Value};

use super::to_sales_order::status_hash;
use super::{
    hash, iso_date, ref_name, OrderFlows, RecordChange, FLOW_FULFILLMENT,
    FLOW_ORDER_TO_OPPORTUNITY, FULFILLMENT_LINK_KIND, LINK_KIND,
};
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::{dry_run_or_locked, ensure_held};
use crate::mirror::{netsuite_owned_link, Mirror, MirrorWrite};

/// What an Opportunity shows of a deleted sales order.
const DELETED_STATUS: &str = "Deleted in NetSuite";

impl OrderFlows {
    /// A sales order changed (or was deleted) in NetSuite: its number and status onto the
    /// Opportunity it came from, under the order's lock.
    pub async fn sync_sales_order(
        &self,
        order_id: &NetSuiteId,
        change: RecordChange,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let order_id = order_id.as_str();
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{LINK_KIND}:ns:{order_id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.order_to_opportunity(order_id, change, trace_id, lease),
        )
        .await
    }

    async fn order_to_opportunity(
        &self,
        order_id: &str,
        change: RecordChange,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let mut out = SyncResult::new(
            FLOW_ORDER_TO_OPPORTUNITY,
            Outcome::Unchanged,
            lease.is_none(),
            trace_id,
        );
        out.netsuite_id = order_id.to_string();
        let link = self.store.link_by_netsuite(LINK_KIND, order_id).await?;
        let order = match change {
            // Believe no event: a delete of a sales order NetSuite still has is refused.
            RecordChange::Delete if link.is_some() => {
                if self.read_record("salesOrder", order_id).await?.is_some() {
                    return Err(EngineError::Unprocessable(format!(
                        "NetSuite sales order {order_id} still exists: the delete event is \
                         stale or forged; nothing was changed"
                    )));
                }
                None
            }
            RecordChange::Delete => None,
            RecordChange::Upsert => Some(
                self.read_record("salesOrder", order_id)
                    .await?
                    .ok_or_else(|| {
                        EngineError::NotFound(format!(
                            "NetSuite sales order {order_id} does not exist"
                        ))
                    })?,
            ),
        };
        let opportunity = match (&link, &order) {
            (Some(link), _) => Some(link.salesforce_id.clone()),
            (None, Some(order)) => opportunity_of(order),
            (None, None) => None,
        };
        let Some(opportunity) = opportunity else {
            out.outcome = Outcome::Skipped;
            out.warnings.push(format!(
                "sales order {order_id} did not come from a Salesforce opportunity"
            ));
            return Ok(out);
        };
        out.salesforce_id = opportunity.clone();
        out.matched_rule = if link.is_some() {
            "id_map"
        } else {
            "external_id"
        }
        .into();

        let (number, status) = match &order {
            Some(order) => (
                text(order, "tranId").unwrap_or_default(),
                ref_name(order, "status").unwrap_or_default(),
            ),
            None => (String::new(), DELETED_STATUS.to_string()),
        };
        let new_hash = status_hash(&number, &status);
        if link.as_ref().is_some_and(|l| l.netsuite_hash == new_hash) {
            return Ok(out);
        }
        let mut body = Map::new();
        match &order {
            Some(_) => {
                body.insert("NetSuite_Id__c".into(), json!(order_id));
                body.insert("NetSuite_Order_Number__c".into(), json!(number));
            }
            // The Opportunity may be synced again: it is no longer tied to the deleted order.
            None => {
                body.insert("NetSuite_Id__c".into(), Value::Null);
                body.insert("NetSuite_Order_Number__c".into(), Value::Null);
            }
        }
        body.insert("NetSuite_Order_Status__c".into(), json!(status));
        out.changes = body
            .iter()
            .map(|(field, value)| FieldChange {
                record: "salesforce.Opportunity".into(),
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
        match self
            .salesforce
            .update("Opportunity", &opportunity, &body)
            .await
        {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {
                out.outcome = Outcome::Skipped;
                out.warnings.push(format!(
                    "opportunity {opportunity} no longer exists in Salesforce"
                ));
                return Ok(out);
            }
            Err(err) => return Err(err.into()),
        }
        match order {
            Some(order) => {
                let link = Link {
                    salesforce_hash: link.map(|l| l.salesforce_hash).unwrap_or_default(),
                    ..netsuite_owned_link(
                        LINK_KIND,
                        &opportunity,
                        order_id,
                        new_hash,
                        text(&order, "lastModifiedDate").unwrap_or_default(),
                    )
                };
                self.store.put_link(&link, &lease).await?;
            }
            None => {
                if link.is_some() {
                    self.store
                        .delete_link(LINK_KIND, &opportunity, &lease)
                        .await?;
                }
            }
        }
        Ok(out)
    }

    /// An item fulfilment changed (or was deleted) in NetSuite: its `NetSuite_Fulfillment__c`
    /// record and the Opportunity's ship status, ship date and tracking numbers, in one
    /// all-or-none Composite call, under the fulfilment's lock.
    pub async fn sync_fulfillment(
        &self,
        fulfillment_id: &NetSuiteId,
        change: RecordChange,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let fulfillment_id = fulfillment_id.as_str();
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{FULFILLMENT_LINK_KIND}:ns:{fulfillment_id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.fulfillment_to_salesforce(fulfillment_id, change, trace_id, lease),
        )
        .await
    }

    async fn fulfillment_to_salesforce(
        &self,
        fulfillment_id: &str,
        change: RecordChange,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let mut out = SyncResult::new(
            FLOW_FULFILLMENT,
            Outcome::Unchanged,
            lease.is_none(),
            trace_id,
        );
        out.netsuite_id = fulfillment_id.to_string();
        let link = self
            .store
            .link_by_netsuite(FULFILLMENT_LINK_KIND, fulfillment_id)
            .await?;
        let mirror = Mirror {
            salesforce: &self.salesforce,
            store: &self.store,
            sobject: "NetSuite_Fulfillment__c",
            link_kind: FULFILLMENT_LINK_KIND,
            lock_ttl: self.config.lock_ttl(),
        };
        if change == RecordChange::Delete {
            // Believe no event: only a fulfilment NetSuite no longer has is mirrored as deleted.
            if link.is_some()
                && self
                    .read_record("itemFulfillment", fulfillment_id)
                    .await?
                    .is_some()
            {
                return Err(EngineError::Unprocessable(format!(
                    "NetSuite item fulfilment {fulfillment_id} still exists: the delete event \
                     is stale or forged; nothing was changed"
                )));
            }
            return mirror.deleted(out, link, lease).await;
        }
        let fulfillment = self
            .read_record("itemFulfillment", fulfillment_id)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "NetSuite item fulfilment {fulfillment_id} does not exist"
                ))
            })?;
        let order_id = text(&fulfillment, "createdFrom").unwrap_or_default();
        let opportunity = match self.store.link_by_netsuite(LINK_KIND, &order_id).await? {
            Some(order_link) => Some(order_link.salesforce_id),
            None if NetSuiteId::is_valid(&order_id) => self
                .read_record("salesOrder", &order_id)
                .await?
                .and_then(|order| opportunity_of(&order)),
            None => None,
        };
        let Some(opportunity) = opportunity else {
            out.outcome = Outcome::Skipped;
            out.warnings.push(format!(
                "item fulfilment {fulfillment_id} ships sales order {order_id}, which did not \
                 come from a Salesforce opportunity"
            ));
            return Ok(out);
        };
        let account = match text(&fulfillment, "entity") {
            Some(customer) => self
                .store
                .link_by_netsuite(crate::customers::LINK_KIND, &customer)
                .await?
                .map(|l| l.salesforce_id),
            None => None,
        };
        let number = text(&fulfillment, "tranId").unwrap_or_default();
        let ship_status = ref_name(&fulfillment, "shipStatus").unwrap_or_default();
        let ship_date = text(&fulfillment, "tranDate").and_then(|d| iso_date(&d));
        let tracking = text(&fulfillment, "trackingNumbers").map(|t| tidy_tracking(&t));
        let record = json!({
            "Name": format!("Item Fulfillment #{number}"),
            "Opportunity__c": opportunity,
            "Account__c": account,
            "Ship_Status__c": ship_status,
            "Ship_Date__c": ship_date,
            "Tracking_Numbers__c": tracking,
        });
        let on_opportunity = json!({
            "NetSuite_Ship_Status__c": ship_status,
            "NetSuite_Ship_Date__c": ship_date,
            "NetSuite_Tracking_Numbers__c": tracking,
        });
        let hash = hash(&json!({ "record": record, "opportunity": on_opportunity }));
        let write = MirrorWrite {
            netsuite_id: fulfillment_id.to_string(),
            netsuite_modstamp: text(&fulfillment, "lastModifiedDate").unwrap_or_default(),
            fields: record,
            related: vec![("Opportunity", opportunity.clone(), on_opportunity)],
            hash,
            what: format!("the fulfilment of opportunity {opportunity}"),
        };
        mirror.upsert(out, link, lease, write).await
    }

    /// A NetSuite record, or `None` when it does not exist.
    pub(super) async fn read_record(&self, record_type: &str, id: &str) -> Result<Option<Record>> {
        match self
            .netsuite
            .get(record_type, id, &GetOptions::default())
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

/// The Opportunity a sales order was created from: its external id, when that is an
/// Opportunity id.
fn opportunity_of(order: &Record) -> Option<String> {
    let external = text(order, "externalId")?;
    SalesforceId::parse(&external)
        .ok()
        .filter(|id| id.is(SObject::Opportunity))
        .map(|id| id.to_string())
}

/// Tracking numbers as NetSuite lists them (spaces, commas or `<BR>` between) as one per
/// comma-separated entry.
fn tidy_tracking(raw: &str) -> String {
    raw.replace("<BR>", ",")
        .replace("<br>", ",")
        .split([',', ' ', '\n'])
        .filter(|t| !t.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_listed_one_by_one() {
        assert_eq!(tidy_tracking("1Z999<BR>1Z998"), "1Z999, 1Z998");
        assert_eq!(tidy_tracking(" 1Z9 ,  1Z8 "), "1Z9, 1Z8");
    }

    #[test]
    fn only_opportunity_external_ids_name_an_opportunity() {
        let order = json!({ "externalId": "006000000000001" });
        assert_eq!(
            opportunity_of(order.as_object().unwrap()).as_deref(),
            Some("006000000000001AAA")
        );
        let order = json!({ "externalId": "LEGACY-42" });
        assert_eq!(opportunity_of(order.as_object().unwrap()), None);
    }
}

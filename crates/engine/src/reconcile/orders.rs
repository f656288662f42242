//! Reconciliation of Opportunity → sales order: the order number and status the Opportunity
//! shows compared with the order's; Opportunities carrying an order id and orders carrying an
//! Opportunity id (their external id) checked for links.
//!
//! Repairs: a number or status drift writes the order's again onto the Opportunity (NetSuite
//! owns them; the sync is forced past its echo check); a deleted order is reported to its
//! Opportunity (as the order's delete event does); an unlinked record re-syncs its
//! Opportunity (Salesforce owns the order's content, upserted by external id); a deleted
//! Opportunity drops its link (the order stays, for finance).

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::suiteql;
use isthmus_store::Link;

use super::customers::{account_id, netsuite_side};
use super::scan::{field_drift, forget_netsuite_hash, text, FlowSpec};
use super::{owned, Drift, DriftKind, Flow, ReconcileOptions, Reconciler, Report};
use crate::customers::mapping::Record;
use crate::error::{EngineError, Result};
use crate::lock::with_lock;
use crate::orders::{OrderFlows, RecordChange, LINK_KIND};

fn compare(link: &Link, opportunity: &Record, order: &Record) -> Vec<Drift> {
    let mut drifts = Vec::new();
    for (kind, field, salesforce, netsuite) in [
        (
            DriftKind::FieldDiffers,
            "NetSuite_Order_Number__c",
            text(opportunity, "NetSuite_Order_Number__c"),
            text(order, "tranid"),
        ),
        (
            DriftKind::FieldDiffers,
            "NetSuite_Id__c",
            text(opportunity, "NetSuite_Id__c"),
            Some(link.netsuite_id.clone()),
        ),
        (
            DriftKind::StatusDiffers,
            "NetSuite_Order_Status__c",
            text(opportunity, "NetSuite_Order_Status__c"),
            text(order, "status").map(|code| {
                super::transaction_status_name("SalesOrd", &code).map_or(code, str::to_string)
            }),
        ),
    ] {
        if salesforce != netsuite {
            drifts.push(field_drift(
                Flow::Orders,
                kind,
                link,
                field,
                salesforce,
                netsuite,
            ));
        }
    }
    drifts
}

impl OrderFlows {
    /// The Opportunity a sales order was made from (its external id).
    async fn opportunity_of_order(&self, order: &str) -> Result<String> {
        let q = format!(
            "SELECT t.externalid AS externalid FROM transaction t WHERE t.id = {} AND t.type = 'SalesOrd'",
            suiteql::literal(order)
        );
        let rows = self.netsuite.suiteql(&q).await?;
        rows.first()
            .and_then(|r| text(r, "externalid"))
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "sales order {order} does not exist or names no Opportunity"
                ))
            })
    }

    /// Drops the link of a deleted Opportunity under its lock.
    async fn forget_opportunity(&self, drift: &Drift, trace_id: &str) -> Result<SyncResult> {
        let id = account_id(&drift.salesforce_id)?;
        with_lock(
            &self.store,
            &format!("{LINK_KIND}:sf:{id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| async move {
                let mut out =
                    SyncResult::new("orders.reconcile", Outcome::Updated, false, trace_id);
                out.salesforce_id = id.to_string();
                out.netsuite_id = drift.netsuite_id.clone();
                out.matched_rule = "id_map".into();
                out.changes.push(FieldChange {
                    record: "isthmus.link".into(),
                    field: LINK_KIND.into(),
                    before: Some(drift.netsuite_id.clone().into()),
                    after: None,
                });
                out.warnings.push(format!(
                    "Opportunity {id} is gone; sales order {} stays in NetSuite",
                    drift.netsuite_id
                ));
                self.store
                    .delete_link(LINK_KIND, id.as_str(), &lease)
                    .await?;
                Ok(out)
            },
        )
        .await
    }
}

#[async_trait::async_trait]
impl Reconciler for OrderFlows {
    fn flows(&self) -> Vec<Flow> {
        vec![Flow::Orders]
    }

    async fn reconcile(&self, flow: Flow, options: &ReconcileOptions) -> Result<Report> {
        owned(flow, Flow::Orders, "orders")?;
        FlowSpec {
            flow,
            link_kind: LINK_KIND,
            salesforce: &self.salesforce,
            netsuite: &self.netsuite,
            store: &self.store,
            sf_object: "Opportunity",
            sf_fields: vec![
                "NetSuite_Id__c".into(),
                "NetSuite_Order_Number__c".into(),
                "NetSuite_Order_Status__c".into(),
            ],
            ns_from: "transaction t",
            ns_id: "t.id",
            ns_columns: "t.id AS id, t.tranid AS tranid, t.status AS status".into(),
            sf_expected: Some("NetSuite_Id__c != null".into()),
            ns_expected: Some("t.type = 'SalesOrd' AND t.externalid LIKE '006%'".into()),
            ns_entity: None,
            compare: &compare,
            bulk_threshold: self.bulk_threshold,
            sf_types: &[],
        }
        .run(options.max_items)
        .await
    }

    async fn repair(&self, drift: &Drift, trace_id: &str) -> Result<SyncResult> {
        owned(drift.flow, Flow::Orders, "orders")?;
        match drift.kind {
            DriftKind::FieldDiffers | DriftKind::StatusDiffers => {
                let order = netsuite_side(drift)?;
                forget_netsuite_hash(
                    &self.store,
                    LINK_KIND,
                    order.as_str(),
                    self.config.lock_ttl(),
                    self.config.lock_wait(),
                )
                .await?;
                self.sync_sales_order(&order, RecordChange::Upsert, false, trace_id)
                    .await
            }
            DriftKind::MissingInNetsuite => {
                self.sync_sales_order(
                    &netsuite_side(drift)?,
                    RecordChange::Delete,
                    false,
                    trace_id,
                )
                .await
            }
            DriftKind::MissingInSalesforce => self.forget_opportunity(drift, trace_id).await,
            DriftKind::UnlinkedInSalesforce => {
                self.sync_opportunity(&account_id(&drift.salesforce_id)?, false, trace_id)
                    .await
            }
            DriftKind::UnlinkedInNetsuite => {
                let opportunity = self
                    .opportunity_of_order(netsuite_side(drift)?.as_str())
                    .await?;
                self.sync_opportunity(&account_id(&opportunity)?, false, trace_id)
                    .await
            }
        }
    }
}

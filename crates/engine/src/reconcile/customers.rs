//! Reconciliation of Account ⇄ customer: names and the written-back id compared; accounts
//! carrying a customer id and customers carrying an account id (their external id) checked
//! for links.
//!
//! Repairs: a field drift re-syncs the customer, then the account (each field ends at the
//! value its ownership policy picks); a deleted account's customer is inactivated (as the
//! delta does); a deleted customer unlinks its account; an unlinked record is synced from the
//! side it lives on.

use crate::result::SyncResult;
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::Link;

use super::scan::{field_drift, text, FlowSpec};
use super::{owned, Drift, DriftKind, Flow, ReconcileOptions, Reconciler, Report};
use crate::customers::mapping::Record;
use crate::customers::{CustomerChange, CustomerFlows, LINK_KIND};
use crate::error::{EngineError, Result};

fn compare(link: &Link, account: &Record, customer: &Record) -> Vec<Drift> {
    let mut drifts = Vec::new();
    let name = text(account, "Name");
    let company = text(customer, "companyname");
    if company.is_some() && name != company {
        drifts.push(field_drift(
            Flow::Customers,
            DriftKind::FieldDiffers,
            link,
            "Name",
            name,
            company,
        ));
    }
    let written_back = text(account, "NetSuite_Id__c");
    if written_back.as_deref() != Some(link.netsuite_id.as_str()) {
        drifts.push(field_drift(
            Flow::Customers,
            DriftKind::FieldDiffers,
            link,
            "NetSuite_Id__c",
            written_back,
            Some(link.netsuite_id.clone()),
        ));
    }
    drifts
}

pub(crate) fn account_id(raw: &str) -> Result<SalesforceId> {
    SalesforceId::parse(raw)
        .map_err(|e| EngineError::InvalidArgument(format!("Salesforce id {raw:?}: {e}")))
}

/// The NetSuite side's id of a drift, or an error saying it has none or a malformed one.
pub(crate) fn netsuite_side(drift: &Drift) -> Result<NetSuiteId> {
    if drift.netsuite_id.is_empty() {
        return Err(EngineError::InvalidArgument(format!(
            "a {} drift needs netsuite_id",
            drift.kind.as_str()
        )));
    }
    NetSuiteId::parse(&drift.netsuite_id).map_err(|e| {
        EngineError::InvalidArgument(isthmus_proto::rejected(
            &drift.netsuite_id,
            "a drift's netsuite_id",
            e,
        ))
    })
}

#[async_trait::async_trait]
impl Reconciler for CustomerFlows {
    fn flows(&self) -> Vec<Flow> {
        vec![Flow::Customers]
    }

    async fn reconcile(&self, flow: Flow, options: &ReconcileOptions) -> Result<Report> {
        owned(flow, Flow::Customers, "customers")?;
        FlowSpec {
            flow,
            link_kind: LINK_KIND,
            salesforce: &self.salesforce,
            netsuite: &self.netsuite,
            store: &self.store,
            sf_object: "Account",
            sf_fields: vec!["Name".into(), "NetSuite_Id__c".into()],
            ns_from: "customer c",
            ns_id: "c.id",
            ns_columns: "c.id AS id, c.companyname AS companyname".into(),
            sf_expected: Some("NetSuite_Id__c != null".into()),
            ns_expected: Some("c.externalid LIKE '001%' AND c.isinactive = 'F'".into()),
            ns_entity: None,
            compare: &compare,
            bulk_threshold: self.bulk_threshold,
            sf_types: &[],
        }
        .run(options.max_items)
        .await
    }

    async fn repair(&self, drift: &Drift, trace_id: &str) -> Result<SyncResult> {
        owned(drift.flow, Flow::Customers, "customers")?;
        match drift.kind {
            DriftKind::MissingInSalesforce => {
                let done = self
                    .inactivate_for_deleted_account(&drift.salesforce_id, trace_id)
                    .await?;
                done.ok_or_else(|| {
                    EngineError::NotFound(format!(
                        "account {} has no link any more: nothing to repair",
                        drift.salesforce_id
                    ))
                })
            }
            DriftKind::MissingInNetsuite => {
                self.sync_customer(
                    &netsuite_side(drift)?,
                    CustomerChange::Delete,
                    false,
                    trace_id,
                )
                .await
            }
            DriftKind::UnlinkedInSalesforce => {
                self.sync_account(&account_id(&drift.salesforce_id)?, false, trace_id)
                    .await
            }
            DriftKind::UnlinkedInNetsuite => {
                self.sync_customer(
                    &netsuite_side(drift)?,
                    CustomerChange::Upsert,
                    false,
                    trace_id,
                )
                .await
            }
            DriftKind::FieldDiffers | DriftKind::StatusDiffers => {
                let account = account_id(&drift.salesforce_id)?;
                let from_netsuite = self
                    .sync_customer(
                        &netsuite_side(drift)?,
                        CustomerChange::Upsert,
                        false,
                        trace_id,
                    )
                    .await?;
                let from_salesforce = self.sync_account(&account, false, trace_id).await?;
                Ok(super::changed_of(from_netsuite, from_salesforce))
            }
        }
    }
}

//! Reconciliation of invoices and credit memos → `NetSuite_Invoice__c`: total, amount remaining
//! (credit memos negative, as the flow writes them) and status compared; Salesforce copies
//! and the invoices of linked customers checked for links.
//!
//! Repairs: NetSuite owns these records, so every drift re-syncs the transaction from NetSuite
//! (forced past its echo check); a transaction deleted in NetSuite removes its copy; a copy
//! deleted in Salesforce is written again.

use crate::result::SyncResult;
use isthmus_store::Link;

use super::customers::netsuite_side;
use isthmus_salesforce::BulkField;

use super::scan::{field_drift, forget_netsuite_hash, text, FlowSpec};
use super::{owned, same_amount, Drift, DriftKind, Flow, ReconcileOptions, Reconciler, Report};
use crate::customers::mapping::Record;
use crate::error::{EngineError, Result};
use crate::finance::{FinanceFlows, Transaction, INVOICE_LINK_KIND};

fn compare(link: &Link, copy: &Record, transaction: &Record) -> Vec<Drift> {
    let sign = if text(transaction, "type").as_deref() == Some("CustCred") {
        -1.0
    } else {
        1.0
    };
    let number = |row: &Record, field: &str| text(row, field).and_then(|v| v.parse::<f64>().ok());
    let mut drifts = Vec::new();
    for (field, salesforce, netsuite) in [
        (
            "Total__c",
            number(copy, "Total__c"),
            number(transaction, "foreigntotal").map(|t| t * sign),
        ),
        (
            "Amount_Remaining__c",
            number(copy, "Amount_Remaining__c"),
            number(transaction, "foreignamountremaining").map(|t| t * sign),
        ),
    ] {
        if !same_amount(salesforce, netsuite) {
            drifts.push(field_drift(
                Flow::Invoices,
                DriftKind::FieldDiffers,
                link,
                field,
                salesforce.map(|v| v.to_string()),
                netsuite.map(|v| v.to_string()),
            ));
        }
    }
    let status = text(copy, "Status__c");
    let kind = text(transaction, "type").unwrap_or_default();
    let netsuite_status = text(transaction, "status")
        .map(|code| super::transaction_status_name(&kind, &code).map_or(code, str::to_string));
    if status != netsuite_status {
        drifts.push(field_drift(
            Flow::Invoices,
            DriftKind::StatusDiffers,
            link,
            "Status__c",
            status,
            netsuite_status,
        ));
    }
    drifts
}

impl FinanceFlows {
    /// Whether a transaction is an invoice or a credit memo (`None`: it does not exist).
    async fn invoice_kind(&self, id: &str) -> Result<Option<Transaction>> {
        let q = format!(
            "SELECT t.type AS type FROM transaction t WHERE t.id = {}",
            isthmus_netsuite::suiteql::literal(id)
        );
        let rows = self.netsuite.suiteql(&q).await?;
        match rows.first().and_then(|r| text(r, "type")).as_deref() {
            None => Ok(None),
            Some("CustInvc") => Ok(Some(Transaction::Invoice)),
            Some("CustCred") => Ok(Some(Transaction::CreditMemo)),
            Some(other) => Err(EngineError::Unprocessable(format!(
                "NetSuite transaction {id} is a {other}, not an invoice or credit memo"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for FinanceFlows {
    fn flows(&self) -> Vec<Flow> {
        vec![Flow::Invoices]
    }

    async fn reconcile(&self, flow: Flow, options: &ReconcileOptions) -> Result<Report> {
        owned(flow, Flow::Invoices, "finance")?;
        FlowSpec {
            flow,
            link_kind: INVOICE_LINK_KIND,
            salesforce: &self.salesforce,
            netsuite: &self.netsuite,
            store: &self.store,
            sf_object: "NetSuite_Invoice__c",
            sf_fields: vec![
                "Total__c".into(),
                "Amount_Remaining__c".into(),
                "Status__c".into(),
            ],
            ns_from: "transaction t",
            ns_id: "t.id",
            ns_columns: "t.id AS id, t.type AS type, t.foreigntotal AS foreigntotal, \
                 t.foreignamountremaining AS foreignamountremaining, t.status AS status"
                .into(),
            sf_expected: Some("NetSuite_Id__c != null".into()),
            ns_expected: Some("t.type IN ('CustInvc', 'CustCred')".into()),
            ns_entity: Some(("t.entity", crate::customers::LINK_KIND)),
            compare: &compare,
            bulk_threshold: self.bulk_threshold,
            sf_types: &[
                ("Total__c", BulkField::Number),
                ("Amount_Remaining__c", BulkField::Number),
            ],
        }
        .run(options.max_items)
        .await
    }

    async fn repair(&self, drift: &Drift, trace_id: &str) -> Result<SyncResult> {
        owned(drift.flow, Flow::Invoices, "finance")?;
        let id = netsuite_side(drift)?;
        let Some(kind) = self.invoice_kind(id.as_str()).await? else {
            // Gone from NetSuite: the sync of its deletion removes the copy.
            return self
                .sync_transaction(Transaction::Invoice, &id, true, false, trace_id)
                .await;
        };
        forget_netsuite_hash(
            &self.store,
            INVOICE_LINK_KIND,
            id.as_str(),
            self.config.lock_ttl(),
            self.config.lock_wait(),
        )
        .await?;
        self.sync_transaction(kind, &id, false, false, trace_id)
            .await
    }
}

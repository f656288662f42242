//! Invoices, credit memos and payments to Salesforce, in steps: read the transaction (a payment
//! or credit memo first re-syncs the invoices it applies to), find its account and opportunity
//! through the ID maps, derive the mirror's fields and the opportunity's billing state, and write
//! both through the one mirror path (`crate::mirror`) under the transaction's lock.

use isthmus_netsuite::{suiteql, GetOptions, NetSuiteId};
use isthmus_store::Lease;
use serde_json::{json, Value};

use super::{billing_state, FinanceFlows, Transaction, FLOW_INVOICE, FLOW_PAYMENT};
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::dry_run_or_locked;
use crate::mirror::{Mirror, MirrorWrite};
use crate::orders::{hash, iso_date, ref_name};
use crate::result::{Outcome, SyncResult};

/// Where a transaction belongs in Salesforce.
struct Placement {
    account: Option<String>,
    /// The sales order it comes from (a payment: its first invoice's).
    order: Option<String>,
    opportunity: Option<String>,
}

impl FinanceFlows {
    /// Syncs one transaction (or its deletion) under its lock; a dry run takes no lock and
    /// writes nothing.
    pub async fn sync_transaction(
        &self,
        kind: Transaction,
        id: &NetSuiteId,
        delete: bool,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let id = id.as_str();
        dry_run_or_locked(
            &self.store,
            dry_run,
            &format!("{}:ns:{id}", kind.link_kind()),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.transaction(kind, id, delete, trace_id, lease),
        )
        .await
    }

    fn mirror(&self, kind: Transaction) -> Mirror<'_> {
        Mirror {
            salesforce: &self.salesforce,
            store: &self.store,
            sobject: kind.sobject(),
            link_kind: kind.link_kind(),
            lock_ttl: self.config.lock_ttl(),
        }
    }

    async fn transaction(
        &self,
        kind: Transaction,
        id: &str,
        delete: bool,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let flow = if kind == Transaction::Payment {
            FLOW_PAYMENT
        } else {
            FLOW_INVOICE
        };
        let mut out = SyncResult::new(flow, Outcome::Unchanged, lease.is_none(), trace_id);
        out.netsuite_id = id.to_string();
        let link = self.store.link_by_netsuite(kind.link_kind(), id).await?;
        if delete {
            // Believe no event: only a transaction NetSuite no longer has is mirrored as deleted.
            if link.is_some() {
                match self.read_transaction(kind, id).await {
                    Err(EngineError::NotFound(_)) => {}
                    Err(err) => return Err(err),
                    Ok(_) => {
                        return Err(EngineError::Unprocessable(format!(
                            "NetSuite {} {id} still exists: the delete event is stale or \
                             forged; nothing was changed",
                            kind.record_type()
                        )))
                    }
                }
            }
            return self.mirror(kind).deleted(out, link, lease).await;
        }
        let record = self.read_transaction(kind, id).await?;
        let applied = self
            .sync_applied_invoices(kind, &record, lease.is_none(), trace_id, &mut out)
            .await?;
        let placement = self.placement(kind, &record, &applied, &mut out).await?;
        let write = self
            .mirror_write(kind, id, &record, &applied, &placement)
            .await?;
        self.mirror(kind).upsert(out, link, lease, write).await
    }

    async fn read_transaction(&self, kind: Transaction, id: &str) -> Result<Record> {
        let opts = GetOptions {
            expand_sub_resources: kind != Transaction::Invoice,
            ..Default::default()
        };
        match self.netsuite.get(kind.record_type(), id, &opts).await {
            Ok(record) => Ok(record),
            Err(err) if err.is_not_found() => Err(EngineError::NotFound(format!(
                "NetSuite {} {id} does not exist",
                kind.record_type()
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// A payment or credit memo moves the invoices it applies to: those first. Their
    /// `(invoice id, Salesforce id)`.
    async fn sync_applied_invoices(
        &self,
        kind: Transaction,
        record: &Record,
        dry_run: bool,
        trace_id: &str,
        out: &mut SyncResult,
    ) -> Result<Vec<(String, String)>> {
        let mut applied = Vec::new();
        if kind == Transaction::Invoice {
            return Ok(applied);
        }
        for invoice in applied_invoices(record) {
            let invoice_id = NetSuiteId::parse(&invoice).map_err(|e| {
                EngineError::Unprocessable(format!("applied invoice {invoice:?}: {e}"))
            })?;
            let synced = Box::pin(self.sync_transaction(
                Transaction::Invoice,
                &invoice_id,
                false,
                dry_run,
                trace_id,
            ))
            .await?;
            out.warnings.extend(synced.warnings.iter().cloned());
            applied.push((invoice, synced.salesforce_id));
        }
        Ok(applied)
    }

    /// The account (customers ID map), the sales order and its opportunity (orders ID map).
    async fn placement(
        &self,
        kind: Transaction,
        record: &Record,
        applied: &[(String, String)],
        out: &mut SyncResult,
    ) -> Result<Placement> {
        let customer_field = if kind == Transaction::Payment {
            "customer"
        } else {
            "entity"
        };
        let customer = text(record, customer_field);
        let account = match &customer {
            Some(c) => {
                self.salesforce_id_of(crate::customers::LINK_KIND, c)
                    .await?
            }
            None => None,
        };
        if account.is_none() {
            out.warnings.push(format!(
                "customer {} has no Salesforce account yet; the record is not linked to one",
                customer.unwrap_or_default()
            ));
        }
        let order = match kind {
            Transaction::Payment => match applied.first() {
                Some((invoice, _)) => self.order_of_invoice(invoice).await?,
                None => None,
            },
            _ => text(record, "createdFrom"),
        };
        let opportunity = match &order {
            Some(order) => {
                self.salesforce_id_of(crate::orders::LINK_KIND, order)
                    .await?
            }
            None => None,
        };
        Ok(Placement {
            account,
            order,
            opportunity,
        })
    }

    /// The Salesforce record linked to NetSuite record `id` in the ID map of `kind`.
    async fn salesforce_id_of(&self, kind: &str, id: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .link_by_netsuite(kind, id)
            .await?
            .map(|l| l.salesforce_id))
    }

    /// The mirror's fields, and the opportunity's billing state with it (not for a payment: its
    /// invoices carried it already, and reading and writing it again would cost a SuiteQL read
    /// and a Salesforce write for nothing).
    async fn mirror_write(
        &self,
        kind: Transaction,
        id: &str,
        record: &Record,
        applied: &[(String, String)],
        placement: &Placement,
    ) -> Result<MirrorWrite> {
        let currency = text(record, "currency").and_then(|c| self.iso_currency(&c));
        let number = text(record, "tranId").unwrap_or_default();
        let mut fields = json!({
            "Name": format!("{} #{number}", kind.label()),
            "NetSuite_Id__c": id,
            "Account__c": placement.account,
            "Opportunity__c": placement.opportunity,
            "Status__c": ref_name(record, "status"),
            "CurrencyIsoCode": currency,
        });
        let amount = |field: &str| record.get(field).and_then(Value::as_f64);
        let date = |field: &str| json!(text(record, field).and_then(|d| iso_date(&d)));
        match kind {
            Transaction::Payment => {
                fields["Payment_Date__c"] = date("tranDate");
                fields["Amount__c"] = json!(amount("payment"));
                fields["Invoice__c"] = json!(applied.first().map(|(_, sf)| sf.clone()));
            }
            Transaction::Invoice | Transaction::CreditMemo => {
                // A credit memo is money owed back: its amounts count against the customer.
                let sign = if kind == Transaction::CreditMemo {
                    -1.0
                } else {
                    1.0
                };
                fields["Invoice_Date__c"] = date("tranDate");
                fields["Due_Date__c"] = date("dueDate");
                fields["Total__c"] = json!(amount("total").map(|t| t * sign));
                fields["Amount_Remaining__c"] = json!(amount("amountRemaining").map(|t| t * sign));
            }
        }
        if currency.is_none() {
            fields.as_object_mut().map(|f| f.remove("CurrencyIsoCode"));
        }
        let billing = match (kind, &placement.order, &placement.opportunity) {
            (Transaction::Payment, _, _) => None,
            (_, Some(order), Some(_)) => Some(self.billing_state(order).await?),
            _ => None,
        };
        let hash = hash(&json!({ "record": fields, "billing": billing }));
        let related = match (&placement.opportunity, billing) {
            (Some(opportunity), Some(state)) => vec![(
                "Opportunity",
                opportunity.clone(),
                json!({ "NetSuite_Billing_Status__c": state }),
            )],
            _ => Vec::new(),
        };
        Ok(MirrorWrite {
            netsuite_id: id.to_string(),
            netsuite_modstamp: text(record, "lastModifiedDate").unwrap_or_default(),
            fields,
            related,
            hash,
            what: format!("{} {number}", kind.label()),
        })
    }

    /// The sales order an invoice was created from (one SuiteQL read).
    async fn order_of_invoice(&self, invoice: &str) -> Result<Option<String>> {
        let q = format!(
            "SELECT t.createdfrom FROM transaction t WHERE t.id = {}",
            suiteql::literal(invoice)
        );
        let rows = self.netsuite.suiteql(&q).await?;
        Ok(rows.first().and_then(|r| text(r, "createdfrom")))
    }

    /// The billing state of a sales order from its invoices as NetSuite holds them now (one
    /// SuiteQL read).
    async fn billing_state(&self, order: &str) -> Result<&'static str> {
        let q = format!(
            "SELECT t.foreigntotal, t.foreignamountremaining FROM transaction t \
             WHERE t.type = 'CustInvc' AND t.createdfrom = {}",
            suiteql::literal(order)
        );
        let rows = self.netsuite.suiteql(&q).await?;
        let number = |r: &Record, f: &str| {
            text(r, f)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let invoices: Vec<(f64, f64)> = rows
            .iter()
            .map(|r| {
                (
                    number(r, "foreigntotal"),
                    number(r, "foreignamountremaining"),
                )
            })
            .collect();
        Ok(billing_state(&invoices))
    }
}

/// The invoices a payment or credit memo applies to (its `apply` lines marked applied).
fn applied_invoices(record: &Record) -> Vec<String> {
    record
        .get("apply")
        .and_then(|a| a.get("items"))
        .and_then(Value::as_array)
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l.get("apply").and_then(Value::as_bool) != Some(false))
                .filter_map(|l| text(l.as_object()?, "doc"))
                .filter(|id| NetSuiteId::is_valid(id))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_applied_lines_name_invoices() {
        let record = json!({ "apply": { "items": [
            { "doc": { "id": "12" }, "apply": true, "amount": 10 },
            { "doc": { "id": "13" }, "apply": false },
            { "doc": { "id": "x'1" }, "apply": true },
        ] } });
        assert_eq!(applied_invoices(record.as_object().unwrap()), ["12"]);
    }
}

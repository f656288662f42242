//! Finance to Salesforce: NetSuite invoices and credit memos become `NetSuite_Invoice__c` records,
//! customer payments `NetSuite_Payment__c` records (each upserted by `NetSuite_Id__c`), linked to
//! the account (through the customers ID map) and, through the sales order, the opportunity
//! (through the orders ID map). An opportunity's `NetSuite_Billing_Status__c` follows its
//! invoices as NetSuite holds them: `Not Billed`, `Billed`, `Partly Paid` or `Paid`.
//!
//! A payment or credit memo re-syncs the invoices it applies to first, so their amount remaining
//! and status, and the opportunity's billing state, move with it. Each record's write and its
//! opportunity's billing state go to Salesforce in one all-or-none Composite call, under the
//! record's lock; a record whose content hash equals the link's costs no write (echo
//! suppression).

mod subsidiaries;

pub use subsidiaries::{FLOW_SUBSIDIARIES, SUBSIDIARY_LINK_KIND};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::{suiteql, GetOptions, NetSuiteClient};
use isthmus_salesforce::{CompositeSubrequest, SalesforceClient};
use isthmus_store::{Lease, Link, Store};
use serde_json::{json, Value};

use crate::config::{FinanceConfig, SummarySource};
use crate::customers::is_netsuite_id;
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::{ensure_held, with_lock};
use crate::orders::{hash, iso_date, ref_name};
use crate::work::{foreign_job, JobRunner, SyncJob};

/// ID-map kind of `NetSuite_Invoice__c` ↔ invoice or credit memo.
pub const INVOICE_LINK_KIND: &str = "invoice";
/// ID-map kind of `NetSuite_Payment__c` ↔ customer payment.
pub const PAYMENT_LINK_KIND: &str = "payment";
pub const FLOW_INVOICE: &str = "finance.invoice_to_salesforce";
pub const FLOW_PAYMENT: &str = "finance.payment_to_salesforce";

/// The kinds of NetSuite transaction the finance flows carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    Invoice,
    CreditMemo,
    Payment,
}

impl Transaction {
    fn record_type(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::CreditMemo => "creditMemo",
            Self::Payment => "customerPayment",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Invoice => "Invoice",
            Self::CreditMemo => "Credit Memo",
            Self::Payment => "Payment",
        }
    }

    fn sobject(self) -> &'static str {
        match self {
            Self::Payment => "NetSuite_Payment__c",
            _ => "NetSuite_Invoice__c",
        }
    }

    fn link_kind(self) -> &'static str {
        match self {
            Self::Payment => PAYMENT_LINK_KIND,
            _ => INVOICE_LINK_KIND,
        }
    }
}

#[derive(Clone)]
pub struct FinanceFlows {
    pub(crate) config: Arc<FinanceConfig>,
    /// ISO code → NetSuite currency id.
    currencies: Arc<BTreeMap<String, String>>,
    pub(crate) salesforce: SalesforceClient,
    pub(crate) netsuite: NetSuiteClient,
    pub(crate) store: Arc<dyn Store>,
}

impl FinanceFlows {
    pub fn new(
        config: FinanceConfig,
        currencies: BTreeMap<String, String>,
        salesforce: SalesforceClient,
        netsuite: NetSuiteClient,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            currencies: Arc::new(currencies),
            salesforce,
            netsuite,
            store,
        }
    }

    /// Syncs one transaction (or its deletion) under its lock; a dry run takes no lock and
    /// writes nothing.
    pub async fn sync_transaction(
        &self,
        kind: Transaction,
        id: &str,
        delete: bool,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        if !is_netsuite_id(id) {
            return Err(EngineError::InvalidArgument(format!(
                "'{}' is not a NetSuite transaction id (digits only)",
                id.chars().take(40).collect::<String>().escape_debug()
            )));
        }
        if dry_run {
            return self.transaction(kind, id, delete, trace_id, None).await;
        }
        with_lock(
            &self.store,
            &format!("{}:ns:{id}", kind.link_kind()),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.transaction(kind, id, delete, trace_id, Some(lease)),
        )
        .await
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
            let mirror = crate::mirror::Mirror {
                salesforce: &self.salesforce,
                store: &self.store,
                sobject: kind.sobject(),
                link_kind: kind.link_kind(),
                lock_ttl: self.config.lock_ttl(),
            };
            return mirror.deleted(out, link, lease).await;
        }
        let opts = GetOptions {
            expand_sub_resources: kind != Transaction::Invoice,
            ..Default::default()
        };
        let record = match self.netsuite.get(kind.record_type(), id, &opts).await {
            Ok(record) => record,
            Err(err) if err.is_not_found() => {
                return Err(EngineError::NotFound(format!(
                    "NetSuite {} {id} does not exist",
                    kind.record_type()
                )))
            }
            Err(err) => return Err(err.into()),
        };
        // A payment or credit memo moves the invoices it applies to: those first.
        let mut applied = Vec::new();
        if kind != Transaction::Invoice {
            for invoice in applied_invoices(&record) {
                let synced = Box::pin(self.sync_transaction(
                    Transaction::Invoice,
                    &invoice,
                    false,
                    lease.is_none(),
                    trace_id,
                ))
                .await?;
                out.warnings.extend(synced.warnings.iter().cloned());
                applied.push((invoice, synced.salesforce_id));
            }
        }
        let customer = text(
            &record,
            if kind == Transaction::Payment {
                "customer"
            } else {
                "entity"
            },
        );
        let account = match &customer {
            Some(c) => self
                .store
                .link_by_netsuite(crate::customers::LINK_KIND, c)
                .await?
                .map(|l| l.salesforce_id),
            None => None,
        };
        if account.is_none() {
            out.warnings.push(format!(
                "customer {} has no Salesforce account yet; the record is not linked to one",
                customer.unwrap_or_default()
            ));
        }
        // The sales order: the transaction's own, or (a payment) the first paid invoice's.
        let order = match kind {
            Transaction::Payment => match applied.first() {
                Some((invoice, _)) => self.order_of_invoice(invoice).await?,
                None => None,
            },
            _ => text(&record, "createdFrom"),
        };
        let opportunity = match &order {
            Some(order) => self
                .store
                .link_by_netsuite(crate::orders::LINK_KIND, order)
                .await?
                .map(|l| l.salesforce_id),
            None => None,
        };
        let currency = text(&record, "currency").and_then(|c| self.iso_currency(&c));
        let number = text(&record, "tranId").unwrap_or_default();
        let mut fields = json!({
            "Name": format!("{} #{number}", kind.label()),
            "NetSuite_Id__c": id,
            "Account__c": account,
            "Opportunity__c": opportunity,
            "Status__c": ref_name(&record, "status"),
            "CurrencyIsoCode": currency,
        });
        let amount = |field: &str| record.get(field).and_then(Value::as_f64);
        match kind {
            Transaction::Payment => {
                fields["Payment_Date__c"] =
                    json!(text(&record, "tranDate").and_then(|d| iso_date(&d)));
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
                fields["Invoice_Date__c"] =
                    json!(text(&record, "tranDate").and_then(|d| iso_date(&d)));
                fields["Due_Date__c"] = json!(text(&record, "dueDate").and_then(|d| iso_date(&d)));
                fields["Total__c"] = json!(amount("total").map(|t| t * sign));
                fields["Amount_Remaining__c"] = json!(amount("amountRemaining").map(|t| t * sign));
            }
        }
        if currency.is_none() {
            fields.as_object_mut().map(|f| f.remove("CurrencyIsoCode"));
        }
        // A payment's invoices carried the billing state already (synced above): reading and
        // writing it again would cost a SuiteQL read and a Salesforce write for nothing.
        let billing = match (kind, &order, &opportunity) {
            (Transaction::Payment, _, _) => None,
            (_, Some(order), Some(_)) => Some(self.billing_state(order).await?),
            _ => None,
        };
        let new_hash = hash(&json!({ "record": fields, "billing": billing }));
        out.salesforce_id = link
            .as_ref()
            .map(|l| l.salesforce_id.clone())
            .unwrap_or_default();
        out.matched_rule = if link.is_some() { "id_map" } else { "none" }.into();
        if link.as_ref().is_some_and(|l| l.netsuite_hash == new_hash) {
            return Ok(out);
        }
        out.outcome = if link.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let record_name = format!("salesforce.{}", kind.sobject());
        for (field, value) in fields.as_object().into_iter().flatten() {
            out.changes.push(FieldChange {
                record: record_name.clone(),
                field: field.clone(),
                before: None,
                after: (!value.is_null()).then(|| value.clone()),
            });
        }
        if let Some(state) = &billing {
            out.changes.push(FieldChange {
                record: "salesforce.Opportunity".into(),
                field: "NetSuite_Billing_Status__c".into(),
                before: None,
                after: Some(json!(state)),
            });
        }
        let Some(lease) = lease else {
            return Ok(out);
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        let mut body = fields.clone();
        body.as_object_mut().map(|b| b.remove("NetSuite_Id__c"));
        let mut requests = vec![CompositeSubrequest::new(
            "PATCH",
            format!("sobjects/{}/NetSuite_Id__c/{id}", kind.sobject()),
            "record",
        )
        .with_body(body)];
        if let (Some(opportunity), Some(state)) = (&opportunity, &billing) {
            requests.push(
                CompositeSubrequest::new(
                    "PATCH",
                    format!("sobjects/Opportunity/{opportunity}"),
                    "opportunity",
                )
                .with_body(json!({ "NetSuite_Billing_Status__c": state })),
            );
        }
        let answers = self.salesforce.composite(requests, true).await?;
        if let Some(failed) = answers.iter().find(|a| !a.is_success()) {
            return Err(EngineError::Unprocessable(format!(
                "Salesforce refused {} {number} ({}): {}",
                kind.label(),
                failed.reference_id,
                failed.body
            )));
        }
        let sf_id = answers
            .first()
            .and_then(|a| a.body.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| link.as_ref().map(|l| l.salesforce_id.clone()))
            .ok_or_else(|| EngineError::Unprocessable("Salesforce returned no record id".into()))?;
        let link = Link {
            kind: kind.link_kind().into(),
            salesforce_id: sf_id.clone(),
            netsuite_id: id.to_string(),
            salesforce_hash: String::new(),
            netsuite_hash: new_hash,
            salesforce_modstamp: String::new(),
            netsuite_modstamp: text(&record, "lastModifiedDate").unwrap_or_default(),
            synced_at_ms: chrono::Utc::now().timestamp_millis(),
            fields: Default::default(),
            parked: Vec::new(),
        };
        self.store.put_link(&link, &lease).await?;
        out.salesforce_id = sf_id;
        Ok(out)
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

    fn iso_currency(&self, netsuite_id: &str) -> Option<String> {
        crate::config::iso_currency(&self.currencies, netsuite_id)
    }
}

/// ID-map kind of Account ↔ customer for the financial summary (its hash: the fields last written).
pub const SUMMARY_LINK_KIND: &str = "summary";

/// What a scheduled run of every account's summary did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SummariesRun {
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}
pub const FLOW_SUMMARY: &str = "finance.account_summary";

/// A customer's financial summary, as the Account shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub balance: f64,
    pub overdue_balance: f64,
    pub credit_limit: Option<f64>,
    pub days_overdue: i64,
    pub last_payment_date: Option<String>,
    pub last_payment_amount: Option<f64>,
}

/// One open or settled receivable of a customer, as SuiteQL reads it.
#[derive(Debug, Clone)]
pub struct Receivable {
    pub id: i64,
    /// `CustInvc`, `CustCred` or `CustPymt`.
    pub kind: String,
    pub date: Option<chrono::NaiveDate>,
    pub due: Option<chrono::NaiveDate>,
    pub total: f64,
    pub remaining: f64,
}

/// The summary of a customer's receivables on `today`: the balance is what open invoices still
/// owe less what open credit memos and unapplied payments hold; overdue is what invoices past
/// their due date still owe, and days overdue counts from the oldest of them.
pub fn summarise(
    receivables: &[Receivable],
    credit_limit: Option<f64>,
    today: chrono::NaiveDate,
) -> Summary {
    let sum = |pick: &dyn Fn(&Receivable) -> bool| -> f64 {
        receivables
            .iter()
            .filter(|r| pick(r))
            .map(|r| r.remaining)
            .sum()
    };
    let owed = sum(&|r| r.kind == "CustInvc");
    let credit = sum(&|r| r.kind != "CustInvc");
    let overdue: Vec<&Receivable> = receivables
        .iter()
        .filter(|r| r.kind == "CustInvc" && r.remaining > 0.0 && r.due.is_some_and(|d| d < today))
        .collect();
    let oldest = overdue.iter().filter_map(|r| r.due).min();
    let last_payment = receivables
        .iter()
        .filter(|r| r.kind == "CustPymt")
        .max_by_key(|r| (r.date, r.id));
    let round = |v: f64| (v * 100.0).round() / 100.0;
    Summary {
        balance: round(owed - credit),
        overdue_balance: round(overdue.iter().map(|r| r.remaining).sum()),
        credit_limit,
        days_overdue: oldest.map_or(0, |d| (today - d).num_days()),
        last_payment_date: last_payment.and_then(|p| p.date).map(|d| d.to_string()),
        last_payment_amount: last_payment.map(|p| p.total),
    }
}

impl FinanceFlows {
    /// Writes the customer's financial summary to its account (`customer`: the NetSuite id;
    /// the account comes from the customers ID map). Under the account's summary lock; a dry run
    /// writes nothing. Two SuiteQL reads; no Salesforce write when nothing changed.
    pub async fn sync_account_summary(
        &self,
        customer: &str,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        if !is_netsuite_id(customer) {
            return Err(EngineError::InvalidArgument(format!(
                "'{}' is not a NetSuite customer id (digits only)",
                customer.chars().take(40).collect::<String>().escape_debug()
            )));
        }
        let account = self
            .store
            .link_by_netsuite(crate::customers::LINK_KIND, customer)
            .await?
            .map(|l| l.salesforce_id)
            .ok_or_else(|| {
                EngineError::Unprocessable(format!(
                    "customer {customer} has no Salesforce account; sync the customer first"
                ))
            })?;
        if dry_run {
            return self.summary(customer, &account, trace_id, None).await;
        }
        with_lock(
            &self.store,
            &format!("{SUMMARY_LINK_KIND}:ns:{customer}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.summary(customer, &account, trace_id, Some(lease)),
        )
        .await
    }

    /// The scheduled summaries: every linked customer's summary onto its account, walking the
    /// customers ID map a page at a time. A customer whose summary fails is logged and counted;
    /// the walk goes on (the next firing tries it again).
    pub async fn sync_all_summaries(&self, log: &crate::audit::SyncLog) -> Result<SummariesRun> {
        let trace = isthmus_telemetry::TraceContext::new_root();
        let mut run = SummariesRun::default();
        let mut after: Option<String> = None;
        loop {
            let links = self
                .store
                .links_page(crate::customers::LINK_KIND, after.as_deref(), 200)
                .await?;
            let Some(last) = links.last() else {
                break;
            };
            after = Some(last.salesforce_id.clone());
            for link in &links {
                match self
                    .sync_account_summary(&link.netsuite_id, false, &trace.trace_id)
                    .await
                {
                    Ok(result) => {
                        log.finished(&result).await;
                        if result.outcome == Outcome::Unchanged {
                            run.unchanged += 1;
                        } else {
                            run.updated += 1;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(customer = %link.netsuite_id, %err, "a scheduled summary failed");
                        run.failed += 1;
                    }
                }
            }
        }
        Ok(run)
    }

    /// The NetSuite customer linked to a Salesforce account, for a summary asked by account.
    pub async fn customer_of_account(&self, account: &str) -> Result<String> {
        self.store
            .link_by_salesforce(crate::customers::LINK_KIND, account)
            .await?
            .map(|l| l.netsuite_id)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "account {account} is not linked to a NetSuite customer; sync it first"
                ))
            })
    }

    /// The summary from two SuiteQL reads: the credit limit, then the customer's receivables.
    async fn summary_from_suiteql(&self, customer: &str) -> Result<Summary> {
        let id = suiteql::literal(customer);
        let rows = self
            .netsuite
            .suiteql(&format!(
                "SELECT c.creditlimit FROM customer c WHERE c.id = {id}"
            ))
            .await?;
        let Some(row) = rows.first() else {
            return Err(EngineError::NotFound(format!(
                "NetSuite customer {customer} does not exist"
            )));
        };
        let number = |r: &Record, f: &str| text(r, f).and_then(|v| v.parse::<f64>().ok());
        let credit_limit = number(row, "creditlimit");
        let rows = self
            .netsuite
            .suiteql(&format!(
                "SELECT t.id, t.type, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate,                  TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, t.foreigntotal,                  t.foreignamountremaining FROM transaction t WHERE t.entity = {id}                  AND t.type IN ('CustInvc', 'CustCred', 'CustPymt') ORDER BY t.id"
            ))
            .await?;
        let date = |r: &Record, f: &str| {
            text(r, f).and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        };
        let receivables: Vec<Receivable> = rows
            .iter()
            .map(|r| Receivable {
                id: number(r, "id").unwrap_or_default() as i64,
                kind: text(r, "type").unwrap_or_default(),
                date: date(r, "trandate"),
                due: date(r, "duedate"),
                total: number(r, "foreigntotal").unwrap_or_default().abs(),
                remaining: number(r, "foreignamountremaining")
                    .unwrap_or_default()
                    .abs(),
            })
            .collect();
        Ok(summarise(
            &receivables,
            credit_limit,
            chrono::Utc::now().date_naive(),
        ))
    }

    /// The summary from one call of the NetSuite package's summary RESTlet
    /// (`finance.summary_restlet_script` / `_deploy`), which computes it the same way.
    async fn summary_from_restlet(&self, customer: &str) -> Result<Summary> {
        let answer = self
            .netsuite
            .restlet(
                reqwest::Method::GET,
                &self.config.summary_restlet_script,
                &self.config.summary_restlet_deploy,
                &[("customerId", customer)],
                None,
            )
            .await
            .map_err(|err| {
                if err.error_code() == Some("RCRD_DSNT_EXIST") {
                    EngineError::NotFound(format!("NetSuite customer {customer} does not exist"))
                } else {
                    err.into()
                }
            })?;
        let number = |field: &str| answer.get(field).and_then(Value::as_f64);
        let (Some(balance), Some(overdue_balance)) = (number("balance"), number("overdue_balance"))
        else {
            return Err(EngineError::Unprocessable(format!(
                "the summary RESTlet answered without balance and overdue_balance: {}",
                answer.to_string().chars().take(200).collect::<String>()
            )));
        };
        Ok(Summary {
            balance,
            overdue_balance,
            credit_limit: number("credit_limit"),
            days_overdue: answer
                .get("days_overdue")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            last_payment_date: answer
                .get("last_payment_date")
                .and_then(Value::as_str)
                .map(str::to_string),
            last_payment_amount: number("last_payment_amount"),
        })
    }

    async fn summary(
        &self,
        customer: &str,
        account: &str,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let mut out = SyncResult::new(FLOW_SUMMARY, Outcome::Unchanged, lease.is_none(), trace_id);
        out.netsuite_id = customer.to_string();
        out.salesforce_id = account.to_string();
        out.matched_rule = "id_map".into();
        let summary = match self.config.summary_source {
            SummarySource::Suiteql => self.summary_from_suiteql(customer).await?,
            SummarySource::Restlet => self.summary_from_restlet(customer).await?,
        };
        let fields = json!({
            "Balance__c": summary.balance,
            "Overdue_Balance__c": summary.overdue_balance,
            "Credit_Limit__c": summary.credit_limit,
            "Days_Overdue__c": summary.days_overdue,
            "Last_Payment_Date__c": summary.last_payment_date,
            "Last_Payment_Amount__c": summary.last_payment_amount,
        });
        let new_hash = hash(&fields);
        let link = self
            .store
            .link_by_netsuite(SUMMARY_LINK_KIND, customer)
            .await?;
        if link.as_ref().is_some_and(|l| l.netsuite_hash == new_hash) {
            return Ok(out);
        }
        out.outcome = Outcome::Updated;
        for (field, value) in fields.as_object().into_iter().flatten() {
            out.changes.push(FieldChange {
                record: "salesforce.Account".into(),
                field: field.clone(),
                before: None,
                after: (!value.is_null()).then(|| value.clone()),
            });
        }
        let Some(lease) = lease else {
            return Ok(out);
        };
        ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
        let body = fields.as_object().cloned().unwrap_or_default();
        self.salesforce.update("Account", account, &body).await?;
        let link = Link {
            kind: SUMMARY_LINK_KIND.into(),
            salesforce_id: account.to_string(),
            netsuite_id: customer.to_string(),
            salesforce_hash: String::new(),
            netsuite_hash: new_hash,
            salesforce_modstamp: String::new(),
            netsuite_modstamp: String::new(),
            synced_at_ms: chrono::Utc::now().timestamp_millis(),
            fields: Default::default(),
            parked: Vec::new(),
        };
        self.store.put_link(&link, &lease).await?;
        Ok(out)
    }
}

/// The state an opportunity shows for its order's invoices `(total, amount remaining)`.
pub fn billing_state(invoices: &[(f64, f64)]) -> &'static str {
    let total: f64 = invoices.iter().map(|i| i.0).sum();
    let remaining: f64 = invoices.iter().map(|i| i.1).sum();
    if invoices.is_empty() {
        "Not Billed"
    } else if remaining <= 0.005 {
        "Paid"
    } else if remaining < total - 0.005 {
        "Partly Paid"
    } else {
        "Billed"
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
                .filter(|id| is_netsuite_id(id))
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl JobRunner for FinanceFlows {
    async fn run(&self, job: &SyncJob, trace_id: &str) -> Result<SyncResult> {
        let (kind, id, delete) = match job {
            SyncJob::Invoice { invoice_id, delete } => (Transaction::Invoice, invoice_id, *delete),
            SyncJob::CreditMemo {
                credit_memo_id,
                delete,
            } => (Transaction::CreditMemo, credit_memo_id, *delete),
            SyncJob::Payment { payment_id, delete } => (Transaction::Payment, payment_id, *delete),
            other => return Err(foreign_job("finance", other)),
        };
        self.sync_transaction(kind, id, delete, false, trace_id)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_billing_state_follows_the_invoices() {
        assert_eq!(billing_state(&[]), "Not Billed");
        assert_eq!(billing_state(&[(100.0, 100.0)]), "Billed");
        assert_eq!(billing_state(&[(100.0, 40.0)]), "Partly Paid");
        assert_eq!(billing_state(&[(100.0, 0.0), (50.0, 50.0)]), "Partly Paid");
        assert_eq!(billing_state(&[(100.0, 0.0), (50.0, 0.0)]), "Paid");
    }

    #[test]
    fn a_summary_counts_what_is_owed_overdue_and_last_paid() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let r = |id, kind: &str, date: &str, due: &str, total, remaining| Receivable {
            id,
            kind: kind.into(),
            date: day(date),
            due: day(due),
            total,
            remaining,
        };
        let today = day("2026-11-28").unwrap();
        let summary = summarise(
            &[
                r(1, "CustInvc", "2026-10-01", "2026-10-31", 500.0, 250.0),
                r(2, "CustInvc", "2026-11-01", "2026-12-31", 300.0, 300.0),
                r(3, "CustPymt", "2026-11-02", "", 250.0, 0.0),
                r(4, "CustCred", "2026-11-03", "", 40.0, 40.0),
                r(5, "CustPymt", "2026-11-10", "", 60.0, 60.0),
            ],
            Some(5000.0),
            today,
        );
        assert_eq!(summary.balance, 250.0 + 300.0 - 40.0 - 60.0);
        assert_eq!(summary.overdue_balance, 250.0);
        assert_eq!(summary.days_overdue, 28);
        assert_eq!(summary.last_payment_date.as_deref(), Some("2026-11-10"));
        assert_eq!(summary.last_payment_amount, Some(60.0));
        let none = summarise(&[], None, today);
        assert_eq!(
            (none.balance, none.days_overdue, none.last_payment_date),
            (0.0, 0, None)
        );
    }

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

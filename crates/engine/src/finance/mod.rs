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
//!
//! - `transactions`: invoices, credit memos and payments, in steps (read, place, derive, write
//!   through `crate::mirror`);
//! - `summary`: an account's financial summary; `summaries`: the scheduled run, a page of 200
//!   accounts written in one sObject Collections call;
//! - `subsidiaries`: NetSuite subsidiaries to `Subsidiary__c` records.
//! - reporting: `aging` (receivables aging per customer and currency → `NetSuite_Aging__c`) and
//!   `gl` (GL balances by period of the configured accounts → `NetSuite_GL_Balance__c`), both
//!   written through `reports` (Collections upserts by `NetSuite_Key__c`, unchanged rows skipped).

mod aging;
mod figures;
mod gl;
mod reports;
mod subsidiaries;
mod summaries;
mod summary;
mod transactions;

pub use aging::{aging_query, Aging, AGING_LINK_KIND, AGING_SOBJECT};
pub use gl::{gl_query, GL_LINK_KIND, GL_SOBJECT};
pub use reports::{ReportRun, REPORT_KEY_FIELD};
pub use subsidiaries::{FLOW_SUBSIDIARIES, SUBSIDIARY_LINK_KIND};
pub use summaries::SummariesRun;
pub use summary::{
    by_currency_text, summarise, CurrencyBalance, Receivable, Summary, FLOW_SUMMARY,
    SUMMARY_LINK_KIND,
};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::result::SyncResult;
use isthmus_netsuite::NetSuiteClient;
use isthmus_salesforce::SalesforceClient;
use isthmus_store::Store;

use crate::config::FinanceConfig;
use crate::error::Result;
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
    /// Links above which a reconciliation reads Salesforce through Bulk API 2.0 query jobs
    /// (`salesforce.bulk_threshold`; REST always unless set).
    pub(crate) bulk_threshold: u64,
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
            bulk_threshold: u64::MAX,
        }
    }

    /// Reconciliations of more than `threshold` links read Salesforce through Bulk API 2.0
    /// query jobs (REST pages at or below it; REST always unless this is set).
    pub fn with_bulk_threshold(mut self, threshold: u64) -> Self {
        self.bulk_threshold = threshold;
        self
    }

    fn iso_currency(&self, netsuite_id: &str) -> Option<String> {
        crate::config::iso_currency(&self.currencies, netsuite_id)
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
}

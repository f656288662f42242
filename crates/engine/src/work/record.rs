//! Job records and sync job payloads, and [`Jobs`]: where a service's jobs and their records
//! live.

use std::sync::Arc;
use std::time::Duration;

use crate::result::SyncResult;
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::{Queue, StatusValues};
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub const JOB_KIND_SYNC_ACCOUNT: &str = "customers.sync_account";
pub const JOB_KIND_SYNC_CUSTOMER: &str = "customers.sync_customer";
pub const JOB_KIND_SYNC_ITEM: &str = "catalog.sync_item";
pub const JOB_KIND_SYNC_OPPORTUNITY: &str = "orders.sync_opportunity";
pub const JOB_KIND_SYNC_SALES_ORDER: &str = "orders.sync_sales_order";
pub const JOB_KIND_SYNC_FULFILLMENT: &str = "orders.sync_fulfillment";
pub const JOB_KIND_SYNC_INVOICE: &str = "finance.sync_invoice";
pub const JOB_KIND_SYNC_CREDIT_MEMO: &str = "finance.sync_credit_memo";
pub const JOB_KIND_SYNC_PAYMENT: &str = "finance.sync_payment";
pub const JOB_KIND_SYNC_QUOTE: &str = "orders.sync_quote";
pub const JOB_KIND_SYNC_ESTIMATE: &str = "orders.sync_estimate";

/// The flow a job kind runs (the statistics count failures under it); the kind itself when it
/// is not a sync job's.
pub fn flow_of_kind(kind: &str) -> &str {
    use crate::{catalog, customers, finance, orders};
    match kind {
        JOB_KIND_SYNC_ACCOUNT => customers::FLOW_ACCOUNT_TO_CUSTOMER,
        JOB_KIND_SYNC_CUSTOMER => customers::FLOW_CUSTOMER_TO_ACCOUNT,
        JOB_KIND_SYNC_ITEM => catalog::FLOW_ITEM_TO_PRODUCT,
        JOB_KIND_SYNC_OPPORTUNITY => orders::FLOW_OPPORTUNITY_TO_ORDER,
        JOB_KIND_SYNC_SALES_ORDER => orders::FLOW_ORDER_TO_OPPORTUNITY,
        JOB_KIND_SYNC_FULFILLMENT => orders::FLOW_FULFILLMENT,
        JOB_KIND_SYNC_INVOICE | JOB_KIND_SYNC_CREDIT_MEMO => finance::FLOW_INVOICE,
        JOB_KIND_SYNC_PAYMENT => finance::FLOW_PAYMENT,
        JOB_KIND_SYNC_QUOTE => orders::FLOW_QUOTE_TO_ESTIMATE,
        JOB_KIND_SYNC_ESTIMATE => orders::FLOW_ESTIMATE_TO_QUOTE,
        other => other,
    }
}

/// The payload of a sync job. Each service's queue holds only its own kinds. Ids are typed: a
/// payload with a malformed id does not deserialize (the job fails for good, nothing is called).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncJob {
    /// Salesforce Account → NetSuite customer.
    Account { account_id: SalesforceId },
    /// NetSuite customer → Salesforce Account; `delete` for a deleted customer.
    Customer {
        customer_id: NetSuiteId,
        delete: bool,
    },
    /// NetSuite item → Product2 and price book entries; `delete` deactivates the product.
    Item { item_id: NetSuiteId, delete: bool },
    /// Won Opportunity → NetSuite sales order.
    Opportunity { opportunity_id: SalesforceId },
    /// NetSuite sales order status → Opportunity.
    SalesOrder {
        sales_order_id: NetSuiteId,
        delete: bool,
    },
    /// NetSuite item fulfilment → NetSuite_Fulfillment__c and the Opportunity.
    Fulfillment {
        fulfillment_id: NetSuiteId,
        delete: bool,
    },
    /// NetSuite invoice → NetSuite_Invoice__c and the Opportunity's billing state.
    Invoice {
        invoice_id: NetSuiteId,
        delete: bool,
    },
    /// NetSuite credit memo → NetSuite_Invoice__c, and the invoices it applies to.
    CreditMemo {
        credit_memo_id: NetSuiteId,
        delete: bool,
    },
    /// NetSuite customer payment → NetSuite_Payment__c, and the invoices it pays.
    Payment {
        payment_id: NetSuiteId,
        delete: bool,
    },
    /// Quote → NetSuite estimate.
    Quote { quote_id: SalesforceId },
    /// NetSuite estimate status → its Quote.
    Estimate {
        estimate_id: NetSuiteId,
        delete: bool,
    },
}

impl SyncJob {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Account { .. } => JOB_KIND_SYNC_ACCOUNT,
            Self::Customer { .. } => JOB_KIND_SYNC_CUSTOMER,
            Self::Item { .. } => JOB_KIND_SYNC_ITEM,
            Self::Opportunity { .. } => JOB_KIND_SYNC_OPPORTUNITY,
            Self::SalesOrder { .. } => JOB_KIND_SYNC_SALES_ORDER,
            Self::Fulfillment { .. } => JOB_KIND_SYNC_FULFILLMENT,
            Self::Invoice { .. } => JOB_KIND_SYNC_INVOICE,
            Self::CreditMemo { .. } => JOB_KIND_SYNC_CREDIT_MEMO,
            Self::Payment { .. } => JOB_KIND_SYNC_PAYMENT,
            Self::Quote { .. } => JOB_KIND_SYNC_QUOTE,
            Self::Estimate { .. } => JOB_KIND_SYNC_ESTIMATE,
        }
    }

    /// The flow a job of this kind runs.
    pub fn flow(&self) -> &'static str {
        flow_of_kind(self.kind())
    }

    /// The (Salesforce id, NetSuite id) the job names, one of them empty.
    pub fn ids(&self) -> (String, String) {
        match self {
            Self::Account { account_id: id }
            | Self::Opportunity { opportunity_id: id }
            | Self::Quote { quote_id: id } => (id.to_string(), String::new()),
            Self::Customer {
                customer_id: id, ..
            }
            | Self::Item { item_id: id, .. }
            | Self::SalesOrder {
                sales_order_id: id, ..
            }
            | Self::Fulfillment {
                fulfillment_id: id, ..
            }
            | Self::Invoice { invoice_id: id, .. }
            | Self::CreditMemo {
                credit_memo_id: id, ..
            }
            | Self::Payment { payment_id: id, .. }
            | Self::Estimate {
                estimate_id: id, ..
            } => (String::new(), id.to_string()),
        }
    }
}

/// Where a service's jobs live: the jobs in the service's own [`Queue`], and what callers see of
/// each ([`JobRecord`]) as a status value. The dispatcher, the worker and the jobs API share it.
#[derive(Clone)]
pub struct Jobs {
    /// The service's queue (`Store::queue`).
    pub queue: Arc<dyn Queue>,
    /// Where the job records are kept.
    pub records: Arc<dyn StatusValues>,
}

impl Jobs {
    pub fn new(queue: Arc<dyn Queue>, records: Arc<dyn StatusValues>) -> Self {
        Self { queue, records }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Retrying,
    /// Waiting for Salesforce's daily allocation: put back, its attempt not counted.
    Held,
    Done,
    Dead,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Dead)
    }
}

/// A job as callers see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub attempts: u32,
    /// The sync result, once done.
    pub result: Option<SyncResult>,
    /// The last error, while retrying or when dead.
    pub error: Option<String>,
    /// The stable code of the error that killed the job.
    pub error_code: Option<String>,
    pub trace_id: String,
    pub updated_at_ms: i64,
    /// Each failed attempt, oldest first (the newest [`MAX_ATTEMPT_ERRORS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<AttemptError>,
    /// Deliveries put back while Salesforce's allocation was spent (not counted as attempts).
    #[serde(default)]
    pub held: u32,
}

/// How many failed attempts a job record keeps.
pub const MAX_ATTEMPT_ERRORS: usize = 20;

/// One failed attempt of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    pub attempt: u32,
    pub at_ms: i64,
    pub error: String,
}

fn status_name(id: &str) -> String {
    format!("job:{id}")
}

impl JobRecord {
    pub fn new(id: &str, kind: &str, trace_id: &str) -> Self {
        Self {
            id: id.to_string(),
            kind: kind.to_string(),
            state: JobState::Queued,
            attempts: 0,
            result: None,
            error: None,
            error_code: None,
            trace_id: trace_id.to_string(),
            updated_at_ms: chrono::Utc::now().timestamp_millis(),
            errors: Vec::new(),
            held: 0,
        }
    }

    /// Notes a failed attempt: the last error, and the attempt in the history.
    pub fn failed_attempt(&mut self, attempt: u32, error: String) {
        self.errors.push(AttemptError {
            attempt,
            at_ms: chrono::Utc::now().timestamp_millis(),
            error: error.clone(),
        });
        let excess = self.errors.len().saturating_sub(MAX_ATTEMPT_ERRORS);
        self.errors.drain(..excess);
        self.error = Some(error);
    }

    /// Saves the record as the status value `job:<id>` for `ttl`.
    pub async fn save(&mut self, statuses: &dyn StatusValues, ttl: Duration) -> Result<()> {
        self.updated_at_ms = chrono::Utc::now().timestamp_millis();
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Ok(statuses
            .put_status(&status_name(&self.id), &bytes, ttl)
            .await?)
    }

    /// The record of job `id`, when kept (an unreadable value counts as none).
    pub async fn load(statuses: &dyn StatusValues, id: &str) -> Result<Option<Self>> {
        Ok(statuses
            .status(&status_name(id))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }
}

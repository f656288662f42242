//! Lead to cash: a won Opportunity becomes a NetSuite sales order, and what NetSuite does with
//! the order flows back to the sales team.
//!
//! - [`to_sales_order`]: Opportunity (+ line items) → sales order, upserted by external id (the
//!   Opportunity id). Every check (won, lines, products mapped through the catalog's ID map,
//!   prices, currency, the order a renewal renews) runs before anything is written; then the
//!   account's customer is ensured by calling the customers service over gRPC, the order is
//!   written, the link recorded under the opportunity's fenced lock, and the order's id, number
//!   and status written back to the Opportunity.
//! - [`line_terms`]: each order line's tax code (`orders.tax`) and unit (`orders.units`), and
//!   NetSuite's tax total and total added to the Opportunity's write-back while tax is on.
//! - [`from_netsuite`]: a sales order's status and number → the Opportunity; an item fulfilment →
//!   a `NetSuite_Fulfillment__c` record and the Opportunity's ship status, date and tracking.
//! - [`promotion`]: the first order of a lead or prospect leaves it in the configured customer
//!   status (`customers.lifecycle`); NetSuite's own promotion suffices by default, at no call.
//! - [`renewals`]: sales orders whose term ends within the window raise a renewal Opportunity,
//!   once (upserted by `NetSuite_Renewal_Of__c`, the order's id); a won renewal Opportunity
//!   becomes a sales order linked to the order it renews.
//!
//! - [`to_estimate`]: Quote (+ line items) → estimate, upserted by external id (the Quote id),
//!   on "Sync to NetSuite" on the Quote; with `orders.orders_from_quotes`, a won Opportunity
//!   whose synced quote is an estimate becomes its order by NetSuite's estimate → sales order
//!   transform (`to_sales_order`), and the estimate's status (Processed) goes back to the Quote.
//! - [`estimate_status`]: an estimate's status → its Quote, on NetSuite's event.
//!
//! Echo suppression as in the customers flows: each side's content hash is kept on the link, and
//! a repeated sync of an unchanged record writes nothing anywhere.

mod estimate_status;
mod from_netsuite;
mod from_quote;
mod line_terms;
mod order_body;
mod plan;
mod promotion;
mod quote_plan;
mod renewals;
mod to_estimate;
mod to_sales_order;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::result::SyncResult;
use isthmus_netsuite::NetSuiteClient;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_salesforce::SalesforceClient;
use isthmus_store::{Link, Store};
use isthmus_telemetry::TracedChannel;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{CustomersConfig, OrdersConfig};
use crate::error::Result;
use crate::work::{foreign_job, JobRunner, SyncJob};

/// ID-map kind of Opportunity ↔ sales order.
pub const LINK_KIND: &str = "order";
/// ID-map kind of `NetSuite_Fulfillment__c` ↔ item fulfilment.
pub const FULFILLMENT_LINK_KIND: &str = "fulfillment";
/// ID-map kind of renewal Opportunity ↔ the sales order it renews.
pub const RENEWAL_LINK_KIND: &str = "renewal";
/// ID-map kind of Quote ↔ estimate.
pub const ESTIMATE_LINK_KIND: &str = "estimate";

pub const FLOW_OPPORTUNITY_TO_ORDER: &str = "orders.opportunity_to_sales_order";
pub const FLOW_ORDER_TO_OPPORTUNITY: &str = "orders.sales_order_to_opportunity";
pub const FLOW_FULFILLMENT: &str = "orders.fulfillment_to_salesforce";
pub const FLOW_RENEWAL: &str = "orders.renewal_opportunity";
pub const FLOW_QUOTE_TO_ESTIMATE: &str = "orders.quote_to_estimate";
pub const FLOW_ESTIMATE_TO_QUOTE: &str = "orders.estimate_to_quote";

/// What happened to the NetSuite record an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordChange {
    Upsert,
    Delete,
}

/// The orders flows, with the clients and the store they share.
#[derive(Clone)]
pub struct OrderFlows {
    pub(crate) config: Arc<OrdersConfig>,
    /// For the country names of the account's addresses.
    customers_config: Arc<CustomersConfig>,
    /// ISO code → NetSuite currency id.
    currencies: Arc<BTreeMap<String, String>>,
    pub(crate) salesforce: SalesforceClient,
    pub(crate) netsuite: NetSuiteClient,
    pub(crate) store: Arc<dyn Store>,
    customers: CustomerSyncClient<TracedChannel>,
    /// Links above which a reconciliation reads Salesforce through Bulk API 2.0 query jobs
    /// (`salesforce.bulk_threshold`; REST always unless set).
    pub(crate) bulk_threshold: u64,
}

impl OrderFlows {
    pub fn new(
        config: OrdersConfig,
        customers_config: CustomersConfig,
        currencies: BTreeMap<String, String>,
        salesforce: SalesforceClient,
        netsuite: NetSuiteClient,
        store: Arc<dyn Store>,
        customers: CustomerSyncClient<TracedChannel>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            customers_config: Arc::new(customers_config),
            currencies: Arc::new(currencies),
            salesforce,
            netsuite,
            store,
            customers,
            bulk_threshold: u64::MAX,
        }
    }

    /// Reconciliations of more than `threshold` links read Salesforce through Bulk API 2.0
    /// query jobs (REST pages at or below it; REST always unless this is set).
    pub fn with_bulk_threshold(mut self, threshold: u64) -> Self {
        self.bulk_threshold = threshold;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub async fn link_by_salesforce(&self, id: &str) -> Result<Option<Link>> {
        Ok(self.store.link_by_salesforce(LINK_KIND, id).await?)
    }

    pub async fn link_by_netsuite(&self, id: &str) -> Result<Option<Link>> {
        Ok(self.store.link_by_netsuite(LINK_KIND, id).await?)
    }

    /// The ISO code of a NetSuite currency id, from `[currencies]`.
    fn iso_currency(&self, netsuite_id: &str) -> Option<String> {
        crate::config::iso_currency(&self.currencies, netsuite_id)
    }
}

#[async_trait::async_trait]
impl JobRunner for OrderFlows {
    async fn run(&self, job: &SyncJob, trace_id: &str) -> Result<SyncResult> {
        let change = |delete: bool| {
            if delete {
                RecordChange::Delete
            } else {
                RecordChange::Upsert
            }
        };
        match job {
            SyncJob::Opportunity { opportunity_id } => {
                self.sync_opportunity(opportunity_id, false, trace_id).await
            }
            SyncJob::Quote { quote_id } => self.sync_quote(quote_id, false, trace_id).await,
            SyncJob::Estimate {
                estimate_id,
                delete,
            } => {
                self.sync_estimate(estimate_id, change(*delete), false, trace_id)
                    .await
            }
            SyncJob::SalesOrder {
                sales_order_id,
                delete,
            } => {
                self.sync_sales_order(sales_order_id, change(*delete), false, trace_id)
                    .await
            }
            SyncJob::Fulfillment {
                fulfillment_id,
                delete,
            } => {
                self.sync_fulfillment(fulfillment_id, change(*delete), false, trace_id)
                    .await
            }
            other => Err(foreign_job("orders", other)),
        }
    }
}

/// SHA-256 of a JSON value's text (object keys are sorted: serde_json maps are ordered).
pub(crate) fn hash(value: &Value) -> String {
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// A NetSuite date (`2027-01-31`, a datetime starting with one, or `1/31/2027` as SuiteQL shows
/// dates in a US-format account) as `YYYY-MM-DD`.
pub(crate) fn iso_date(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let Some(day) = raw.get(..10) {
        if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok() {
            return Some(day.to_string());
        }
    }
    ["%m/%d/%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(raw, f).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// The `refName` of a NetSuite select or status value (`{"id": "B", "refName": "…"}`), else its
/// text.
pub(crate) fn ref_name(record: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::Object(o) => o
            .get("refName")
            .or_else(|| o.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netsuite_dates_in_any_shape_become_iso() {
        assert_eq!(iso_date("2027-01-31").as_deref(), Some("2027-01-31"));
        assert_eq!(
            iso_date("2027-01-31T00:00:00Z").as_deref(),
            Some("2027-01-31")
        );
        assert_eq!(iso_date("1/31/2027").as_deref(), Some("2027-01-31"));
        assert_eq!(iso_date("yesterday"), None);
    }
}

//! Account (+Contacts) ⇄ customer (+contacts): the two flows of the customers service.
//!
//! Each flow: read the source record → map it to a [`CustomerDoc`] → stop early when its content
//! hash equals the one the ID map recorded for that side (echo suppression: a second sync of an
//! unchanged record makes no write anywhere) → find the far record (ID map, then the configured
//! matching rules) → diff → write with idempotent calls (upserts by external id) → record the link
//! under the record's fenced lock → write the far id back. A dry run stops before the first write
//! and returns the diff and the rule that matched.
//!
//! Between finding the far record and planning, the conflict [`policy`] decides per field which
//! value the target should hold (ownership, changes since the last synced snapshot, conflicts);
//! [`conflicts`] logs what it found, and parks a record whose conflict waits for a person.

mod account_deletes;
mod account_to_customer;
pub mod backfill;
mod bulk;
mod candidates;
pub mod conflicts;
mod customer_to_account;
pub mod delta;
pub mod doc;
pub mod erasure;
mod find_customer;
pub mod index;
pub mod jobs;
pub mod mapping;
pub mod matching;
pub mod plan;
pub mod policy;
pub mod resolve;

use std::sync::Arc;

use crate::result::SyncResult;
use isthmus_netsuite::{GetOptions, NetSuiteClient};
use isthmus_salesforce::SalesforceClient;
use isthmus_store::{Link, Queue, Store};

pub use doc::CustomerDoc;
pub use resolve::Choice;

use crate::config::CustomersConfig;
use crate::error::Result;
use mapping::Record;

/// ID-map kind of the Account ↔ customer link.
pub const LINK_KIND: &str = "customer";
pub const FLOW_ACCOUNT_TO_CUSTOMER: &str = "customers.account_to_customer";
pub const FLOW_CUSTOMER_TO_ACCOUNT: &str = "customers.customer_to_account";

/// What happened to the NetSuite record an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerChange {
    Upsert,
    Delete,
}

/// Both customer flows, with the clients and the store they share.
#[derive(Clone)]
pub struct CustomerFlows {
    pub(crate) config: Arc<CustomersConfig>,
    pub(crate) salesforce: SalesforceClient,
    pub(crate) netsuite: NetSuiteClient,
    pub(crate) store: Arc<dyn Store>,
    /// The customers queue, for syncs a backfill or delta hands to a retry; taken from the
    /// store once (on Redis that is a round trip), not per failed record.
    retry_queue: Arc<tokio::sync::OnceCell<Arc<dyn Queue>>>,
    /// Accounts above which a backfill goes through Bulk API 2.0 (`salesforce.bulk_threshold`).
    pub(crate) bulk_threshold: u64,
}

impl CustomerFlows {
    pub fn new(
        config: CustomersConfig,
        salesforce: SalesforceClient,
        netsuite: NetSuiteClient,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            salesforce,
            netsuite,
            store,
            retry_queue: Arc::default(),
            bulk_threshold: u64::MAX,
        }
    }

    /// Backfills of more than `threshold` accounts read and write Salesforce through Bulk API
    /// 2.0 jobs (REST pages and Collections at or below it; REST always unless this is set).
    pub fn with_bulk_threshold(mut self, threshold: u64) -> Self {
        self.bulk_threshold = threshold;
        self
    }

    /// The customers queue (see `retry_queue`).
    pub(crate) async fn retry_queue(&self) -> Result<&Arc<dyn Queue>> {
        Ok(self
            .retry_queue
            .get_or_try_init(|| self.store.queue(isthmus_store::DEFAULT_QUEUE_NAMESPACE))
            .await?)
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

    /// A customer read with its address book, or `None` when it does not exist.
    async fn read_customer(&self, id: &str) -> Result<Option<Record>> {
        let opts = GetOptions {
            expand_sub_resources: true,
            ..Default::default()
        };
        match self.netsuite.get("customer", id, &opts).await {
            Ok(record) => Ok(Some(record)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The contacts of a customer (one SuiteQL call). `customer_id` is a NetSuite internal id,
    /// digits only, checked by the caller; it is still quoted as a literal.
    async fn read_customer_contacts(&self, customer_id: &str) -> Result<Vec<Record>> {
        let q = format!(
            "SELECT {} FROM contact WHERE company = {} ORDER BY id",
            mapping::ns_contact_columns(&self.config),
            isthmus_netsuite::suiteql::literal(customer_id)
        );
        Ok(self.netsuite.suiteql(&q).await?)
    }
}

#[async_trait::async_trait]
impl crate::work::JobRunner for CustomerFlows {
    async fn run(&self, job: &crate::work::SyncJob, trace_id: &str) -> Result<SyncResult> {
        use crate::work::SyncJob;
        match job {
            SyncJob::Account { account_id } => self.sync_account(account_id, false, trace_id).await,
            SyncJob::Customer {
                customer_id,
                delete,
            } => {
                let change = if *delete {
                    CustomerChange::Delete
                } else {
                    CustomerChange::Upsert
                };
                self.sync_customer(customer_id, change, false, trace_id)
                    .await
            }
            other => Err(crate::work::foreign_job("customers", other)),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

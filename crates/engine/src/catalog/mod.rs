//! NetSuite items → Salesforce Product2 and PricebookEntry records (one-way: NetSuite owns the
//! catalog).
//!
//! An item (inventory, non-inventory, service or kit: `catalog.item_types`) becomes a Product2
//! upserted by `NetSuite_Id__c` (or, before one is created, the existing unlinked product whose
//! `catalog.product_match_field` equals the item's `itemId`, linked: see [`books`]), with a
//! PricebookEntry in the standard price book for each currency its standard price level
//! (`catalog.standard_price_level`) has a price in, and one in each configured book
//! (`catalog.price_books`, price level → book name) per currency of that level. NetSuite
//! currency ids become ISO codes through `[currencies]`.
//!
//! - [`item`]: the canonical [`ItemDoc`] and its content hash (echo suppression);
//! - [`source`]: SuiteQL reads (keyset-paged items, a batch's prices in one query);
//! - [`books`]: the price books and the products of a batch with their entries (one SOQL each);
//! - [`plan`]: what to write for one item, and the field-level changes a dry run returns;
//! - [`write`]: the writes of a batch in four steps: at most four sObject Collections calls, or
//!   four ingest jobs for a bulk run's whole group (one more when existing products are linked);
//! - [`transport`]: Collections or ingest jobs, answering alike;
//! - [`sync`]: one item (events) or a batch, under the items' fenced locks;
//! - [`run`]: full and delta runs, the sweep of gone items, the delta cursor;
//! - [`jobs`]: runs in the background, one at a time across replicas.
//!
//! Guarantees: an unchanged item costs no Salesforce call (its hash equals the link's); a
//! retried write never duplicates (products by external id, entries looked up before they are
//! created); inactive, deleted and no-longer-synced items deactivate their products and entries,
//! which are never deleted (opportunities reference them); every write of an item holds its lock
//! (`product:ns:<item id>`). The link (kind [`LINK_KIND`]) maps the Product2 id to the item id;
//! the orders flows read it to map opportunity lines to items.

pub mod books;
pub mod item;
pub mod jobs;
pub mod plan;
pub mod run;
pub mod source;
mod sync;
pub mod transport;
pub mod write;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::result::SyncResult;
use isthmus_netsuite::NetSuiteClient;
use isthmus_salesforce::SalesforceClient;
use isthmus_store::{Link, Store};
use tokio::sync::Mutex;

pub use item::ItemDoc;
pub use jobs::{CatalogRun, RunState};
pub use run::{RunMode, RunOptions, RunProgress, RunReport};

use crate::config::CatalogConfig;
use crate::error::Result;
use books::PriceBooks;
use item::ItemMapper;

/// ID-map kind of the Product2 ↔ item link.
pub const LINK_KIND: &str = "product";
pub const FLOW_ITEM_TO_PRODUCT: &str = "catalog.item_to_product";

/// The catalog flow, with the clients and the store it uses.
#[derive(Clone)]
pub struct CatalogFlows {
    pub(crate) config: Arc<CatalogConfig>,
    /// NetSuite currency internal id → ISO 4217 code.
    pub(crate) currencies: Arc<BTreeMap<String, String>>,
    pub(crate) salesforce: SalesforceClient,
    pub(crate) netsuite: NetSuiteClient,
    pub(crate) store: Arc<dyn Store>,
    /// The price books, read once per run and kept for single syncs.
    books: Arc<Mutex<Option<PriceBooks>>>,
    /// Items (of a full run) or links (of a reconciliation) above which Salesforce is read
    /// through Bulk API 2.0 query jobs, and a full run writes through ingest jobs
    /// (`salesforce.bulk_threshold`; REST always unless set).
    pub(crate) bulk_threshold: u64,
}

impl CatalogFlows {
    /// `currencies` is the config's `[currencies]`: ISO code → NetSuite currency id.
    pub fn new(
        config: CatalogConfig,
        currencies: &BTreeMap<String, String>,
        salesforce: SalesforceClient,
        netsuite: NetSuiteClient,
        store: Arc<dyn Store>,
    ) -> Self {
        let mut by_id = BTreeMap::new();
        for (iso, id) in currencies {
            by_id.entry(id.clone()).or_insert_with(|| iso.clone());
        }
        Self {
            config: Arc::new(config),
            currencies: Arc::new(by_id),
            salesforce,
            netsuite,
            store,
            books: Arc::new(Mutex::new(None)),
            bulk_threshold: u64::MAX,
        }
    }

    /// Full runs of more than `threshold` items read Salesforce through Bulk API 2.0 query jobs
    /// and write through ingest jobs, and reconciliations of more than `threshold` links read
    /// through query jobs (REST and sObject Collections at or below it; always unless this is
    /// set).
    pub fn with_bulk_threshold(mut self, threshold: u64) -> Self {
        self.bulk_threshold = threshold;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The Salesforce client (to publish its API usage).
    pub fn salesforce(&self) -> &SalesforceClient {
        &self.salesforce
    }

    /// The link of a Product2 (18-character id).
    pub async fn link_by_product(&self, product_id: &str) -> Result<Option<Link>> {
        Ok(self.store.link_by_salesforce(LINK_KIND, product_id).await?)
    }

    /// The link of a NetSuite item (internal id).
    pub async fn link_by_item(&self, item_id: &str) -> Result<Option<Link>> {
        Ok(self.store.link_by_netsuite(LINK_KIND, item_id).await?)
    }

    fn mapper(&self) -> ItemMapper<'_> {
        ItemMapper::new(&self.config, &self.currencies)
    }
}

#[async_trait::async_trait]
impl crate::work::JobRunner for CatalogFlows {
    async fn run(&self, job: &crate::work::SyncJob, trace_id: &str) -> Result<SyncResult> {
        match job {
            crate::work::SyncJob::Item { item_id, delete } => {
                self.sync_item(item_id, *delete, false, trace_id).await
            }
            other => Err(crate::work::foreign_job("catalog", other)),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

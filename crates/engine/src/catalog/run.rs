//! Catalog runs: every item (full) or the items modified since the last run (delta), in
//! batches of `catalog.batch_size`.
//!
//! Per batch: one SuiteQL query for the prices, one Redis round trip for the links (echo
//! suppression: an unchanged item costs nothing more), then for the items that changed one SOQL
//! query for their products and entries and at most four sObject Collections calls (see
//! [`write`](super::write)). Batch work yields to people: before each Salesforce call it waits
//! while the daily API allocation is past the batch share.
//!
//! A full run of more than `salesforce.bulk_threshold` items reads every product and entry once
//! (two query jobs, [`read_products_bulk`](CatalogFlows::read_products_bulk)) and writes through
//! ingest jobs: the changed items of the batches are kept (plans are made only at the write) and
//! written [`BULK_WRITE_ITEMS`] at a time, the sweep's gone items with the last of them, so a run
//! costs about twenty calls per 10,000 changed items (four jobs: products, standard entries,
//! custom book entries, entry updates) instead of up to four per 200. Their locks are taken for
//! the write, as a batch's are. An item an event syncs while the run holds its row may be
//! written with the run's older row; its link then keeps the older hash, so the next run
//! writes it again.
//!
//! A full run that read every item ends with a sweep: active products whose `NetSuite_Id__c`
//! names an item the run did not see (deleted, or of a type no longer synced) are deactivated.
//!
//! The delta cursor is a status value: the start time of the last run that read everything
//! (no `limit` cut it short) without a failed item. A delta reads items modified since the
//! cursor minus `catalog.delta_overlap_s`; with no cursor yet, it reads every item (and does not
//! sweep). An item that failed keeps the cursor where it was, so the next delta retries it.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use isthmus_netsuite::NetSuiteId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::books::{ExistingProduct, PriceBooks, Snapshot};
use super::item::{column, Record};
use super::plan::Target;
use super::source::{last_id, ItemWindow};
use super::sync::{lock_resource, ItemSynced, Prepared};
use super::{now_ms, CatalogFlows, LINK_KIND};
use crate::audit::{SyncLog, Trigger};
use crate::error::Result;
use crate::governance::SalesforceAllocation;
use crate::lock::bounded;

/// Status name of the delta cursor (ms since the epoch, as JSON).
pub const CURSOR_STATUS: &str = "catalog:delta-cursor";
/// How long the cursor is kept without a run (a delta after that reads everything).
const CURSOR_TTL: Duration = Duration::from_secs(400 * 86_400);
/// Items read into memory at once: past it, the next window starts by id.
const SUITEQL_WINDOW: usize = 100_000;
/// Failures a run's report keeps (the count goes on).
const MAX_FAILURES: usize = 1000;
/// Changed items a bulk run writes through one set of ingest jobs (at most four jobs, about
/// twenty calls): held in memory until then, their locks taken only for the write. Salesforce
/// cuts a job into batches of 10,000 records itself.
pub const BULK_WRITE_ITEMS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    Full,
    Delta,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Delta => "delta",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    pub mode: RunMode,
    /// Stop after this many items.
    pub limit: Option<usize>,
}

/// Running totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProgress {
    /// Items the run will read (known after the first query).
    pub total: u64,
    pub seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Products deactivated because their item is inactive or gone.
    pub deactivated: u64,
    pub failed: u64,
    /// PricebookEntry records created or updated.
    pub prices_written: u64,
}

impl RunProgress {
    fn count(&mut self, synced: &ItemSynced) {
        use crate::result::Outcome;
        self.prices_written += synced.prices_written;
        let counter = match synced.result.outcome {
            Outcome::Failed => &mut self.failed,
            _ if synced.deactivated => &mut self.deactivated,
            Outcome::Created => &mut self.created,
            Outcome::Updated => &mut self.updated,
            _ => &mut self.unchanged,
        };
        *counter += 1;
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub mode: RunMode,
    pub progress: RunProgress,
    /// Items that failed, with the reason.
    pub failures: Vec<(String, String)>,
    /// Whether the delta cursor moved to this run's start.
    pub cursor_saved: bool,
    pub elapsed_ms: u64,
}

/// The run's state as it goes.
struct Tally<'a> {
    progress: RunProgress,
    failures: Vec<(String, String)>,
    on_progress: &'a (dyn Fn(&RunProgress) + Send + Sync),
}

impl Tally<'_> {
    fn fail(&mut self, item: &str, reason: String) {
        self.progress.failed += 1;
        self.note(item, reason);
    }

    fn note(&mut self, item: &str, reason: String) {
        if self.failures.len() < MAX_FAILURES {
            self.failures.push((item.to_string(), reason));
        }
    }
}

impl CatalogFlows {
    /// Runs the catalog in this task; `on_progress` is called after every batch. Callers that
    /// must be alone (every run) hold the run lock: see [`CatalogFlows::run_catalog_exclusive`].
    pub async fn run_catalog(
        &self,
        options: RunOptions,
        allocation: &SalesforceAllocation,
        log: &SyncLog,
        on_progress: &(dyn Fn(&RunProgress) + Send + Sync),
    ) -> Result<RunReport> {
        let clock = Instant::now();
        let started_at_ms = now_ms();
        let since = match options.mode {
            RunMode::Full => None,
            RunMode::Delta => self.delta_since().await?,
        };
        allocation.wait_for_batch(&self.salesforce).await?;
        let books = self.price_books(true).await?;
        let trace = isthmus_telemetry::TraceContext::new_root();
        let mut tally = Tally {
            progress: RunProgress::default(),
            failures: Vec::new(),
            on_progress,
        };
        let mut seen = HashSet::new();
        let mut window = ItemWindow { after: 0, since };
        let mut left = options.limit.unwrap_or(usize::MAX);
        let mut truncated = false;
        let mut known = None;
        // A bulk run's changed items, written together (`BULK_WRITE_ITEMS` at a time).
        let mut pending: Vec<Prepared> = Vec::new();
        loop {
            let rows = self.read_items(&window, SUITEQL_WINDOW).await?;
            let more = rows.len() >= SUITEQL_WINDOW;
            if window.after == 0 {
                tally.progress.total = (rows.len().min(left)) as u64;
                (tally.on_progress)(&tally.progress);
                if options.mode == RunMode::Full && tally.progress.total > self.bulk_threshold {
                    allocation.wait_for_batch(&self.salesforce).await?;
                    known = Some(self.read_products_bulk().await?);
                }
            }
            let next = last_id(&rows);
            for batch in rows.chunks(self.config.batch_size.max(1)) {
                if left == 0 {
                    truncated = true;
                    break;
                }
                if batch.len() > left {
                    truncated = true; // items after the limit stay unread
                }
                let batch = &batch[..batch.len().min(left)];
                left -= batch.len();
                seen.extend(batch.iter().filter_map(|r| column(r, "id")));
                let context = (allocation, log, trace.trace_id.as_str());
                let changed = self.run_batch(batch, &mut tally).await?;
                match known.as_ref() {
                    None => {
                        self.sync_locked(changed, &books, context, &mut tally, None)
                            .await;
                    }
                    Some(known) => {
                        pending.extend(changed);
                        if pending.len() >= BULK_WRITE_ITEMS {
                            let group = std::mem::take(&mut pending);
                            self.sync_locked(group, &books, context, &mut tally, Some(known))
                                .await;
                        }
                    }
                }
                (tally.on_progress)(&tally.progress);
            }
            match next {
                Some(last) if more && !truncated => window.after = last,
                _ => break,
            }
        }
        let context = (allocation, log, trace.trace_id.as_str());
        if options.mode == RunMode::Full && !truncated {
            allocation.wait_for_batch(&self.salesforce).await?;
            let gone = self
                .gone(&seen, known.as_ref().map(|s| &s.products))
                .await?;
            match known.as_ref() {
                // With the last changed items: one set of jobs for both.
                Some(_) => pending.extend(gone),
                None => {
                    let mut gone = gone.into_iter().peekable();
                    while gone.peek().is_some() {
                        let batch = gone.by_ref().take(self.config.batch_size.max(1)).collect();
                        self.sync_locked(batch, &books, context, &mut tally, None)
                            .await;
                        (tally.on_progress)(&tally.progress);
                    }
                }
            }
        }
        if let Some(known) = known.as_ref().filter(|_| !pending.is_empty()) {
            self.sync_locked(pending, &books, context, &mut tally, Some(known))
                .await;
            (tally.on_progress)(&tally.progress);
        }
        let cursor_saved = !truncated && tally.progress.failed == 0;
        if cursor_saved {
            let value = serde_json::to_vec(&started_at_ms).unwrap_or_default();
            self.store
                .put_status(CURSOR_STATUS, &value, CURSOR_TTL)
                .await?;
        }
        allocation.publish(&self.salesforce).await?;
        Ok(RunReport {
            mode: options.mode,
            progress: tally.progress,
            failures: tally.failures,
            cursor_saved,
            elapsed_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// The instant a delta reads from: the cursor minus the overlap; `None` without a cursor.
    async fn delta_since(&self) -> Result<Option<chrono::DateTime<Utc>>> {
        let Some(bytes) = self.store.status(CURSOR_STATUS).await? else {
            return Ok(None);
        };
        let Ok(cursor_ms) = serde_json::from_slice::<i64>(&bytes) else {
            tracing::warn!("the catalog delta cursor is unreadable: reading every item");
            return Ok(None);
        };
        let overlap_ms =
            i64::try_from(self.config.delta_overlap_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Ok(Utc
            .timestamp_millis_opt(cursor_ms.saturating_sub(overlap_ms))
            .single())
    }

    /// One batch of item rows: prices and links in one call each; the items that changed.
    async fn run_batch(&self, rows: &[Record], tally: &mut Tally<'_>) -> Result<Vec<Prepared>> {
        let ids: Vec<String> = rows.iter().filter_map(|r| column(r, "id")).collect();
        let prices = self.read_prices(&ids).await?;
        let links = self.store.links_by_netsuite_many(LINK_KIND, &ids).await?;
        let mapper = self.mapper();
        let mut changed = Vec::new();
        for (row, link) in rows.iter().zip(links) {
            tally.progress.seen += 1;
            let id = column(row, "id").unwrap_or_default();
            match mapper.doc(row, &prices) {
                Err(reason) => tally.fail(&id, reason),
                Ok((doc, warnings)) => {
                    let prepared = Prepared {
                        target: Target::Item(doc),
                        link,
                        warnings,
                    };
                    if prepared.is_echo() {
                        tally.progress.unchanged += 1;
                    } else {
                        changed.push(prepared);
                    }
                }
            }
        }
        Ok(changed)
    }

    /// The active products whose item the full run did not see, to be deactivated (from the
    /// bulk snapshot when there is one, else one SOQL query), with their links.
    async fn gone(
        &self,
        seen: &HashSet<String>,
        known: Option<&BTreeMap<String, ExistingProduct>>,
    ) -> Result<Vec<Prepared>> {
        let gone = match known {
            Some(known) => gone_of_snapshot(known, seen),
            None => self.gone_products(seen).await?,
        };
        let mut prepared = Vec::with_capacity(gone.len());
        for batch in gone.chunks(self.config.batch_size.max(1)) {
            let links = self.store.links_by_netsuite_many(LINK_KIND, batch).await?;
            prepared.extend(batch.iter().zip(links).map(|(id, link)| Prepared {
                target: Target::Gone {
                    item_id: id.clone(),
                },
                link,
                warnings: vec![format!(
                    "NetSuite item {id} no longer exists as a synced item type: product deactivated"
                )],
            }));
        }
        Ok(prepared)
    }

    /// Active products naming an item id the run did not see (one SOQL query), in `Id` order.
    async fn gone_products(&self, seen: &HashSet<String>) -> Result<Vec<String>> {
        let q = "SELECT Id, NetSuite_Id__c FROM Product2 WHERE NetSuite_Id__c != null AND IsActive = true ORDER BY Id";
        Ok(self
            .salesforce
            .query(q)
            .await?
            .iter()
            .filter_map(|p| p.get("NetSuite_Id__c").and_then(Value::as_str))
            .filter(|id| NetSuiteId::is_valid(id) && !seen.contains(*id))
            .map(str::to_string)
            .collect())
    }

    /// Takes the locks of `items` without waiting (an item held elsewhere fails for this run),
    /// renews them while the batch is written, settles the batch and releases them.
    async fn sync_locked(
        &self,
        items: Vec<Prepared>,
        books: &PriceBooks,
        (allocation, log, trace_id): (&SalesforceAllocation, &SyncLog, &str),
        tally: &mut Tally<'_>,
        known: Option<&Snapshot>,
    ) {
        if items.is_empty() {
            return;
        }
        let ttl = self.config.lock_ttl();
        let acquired = bounded(items.iter().map(|p| {
            let resource = lock_resource(p.target.item_id());
            async move { self.store.acquire(&resource, ttl).await }
        }))
        .await;
        let mut locked = Vec::new();
        for (prepared, lease) in items.into_iter().zip(acquired) {
            let id = prepared.target.item_id().to_string();
            match lease {
                Ok(Some(lease)) => locked.push((prepared, Some(lease))),
                Ok(None) => tally.fail(&id, "another sync of the item holds its lock".into()),
                Err(err) => tally.fail(&id, err.to_string()),
            }
        }
        let leases: Vec<_> = locked.iter().filter_map(|(_, l)| l.clone()).collect();
        let renewal = crate::lock::spawn_renewals(&self.store, leases.clone(), ttl);
        let ids: Vec<String> = locked
            .iter()
            .map(|(p, _)| p.target.item_id().to_string())
            .collect();
        let began = Instant::now();
        let settled = self
            .settle(locked, false, books, Some(allocation), trace_id, known)
            .await;
        renewal.abort();
        crate::lock::release_all(self.store.as_ref(), &leases).await;
        match settled {
            Ok(results) => {
                for synced in results {
                    tally.progress.count(&synced);
                    for warning in &synced.result.warnings {
                        tracing::warn!(item = %synced.result.netsuite_id, "{warning}");
                    }
                    if let Some(err) = &synced.failure {
                        tally.note(&synced.result.netsuite_id, err.to_string());
                    }
                    log.finished(&synced.result, Trigger::CatalogRun, began)
                        .await;
                }
            }
            Err(err) => {
                for id in ids {
                    tally.fail(&id, err.to_string());
                }
            }
        }
    }
}

/// [`CatalogFlows::gone_products`] from the run's bulk snapshot of the products.
fn gone_of_snapshot(
    known: &BTreeMap<String, ExistingProduct>,
    seen: &HashSet<String>,
) -> Vec<String> {
    let mut gone: Vec<(&str, &str)> = known
        .iter()
        .filter(|(item, product)| {
            product.active() && NetSuiteId::is_valid(item) && !seen.contains(*item)
        })
        .map(|(item, product)| (product.id.as_str(), item.as_str()))
        .collect();
    gone.sort_unstable();
    gone.into_iter().map(|(_, item)| item.to_string()).collect()
}

//! Syncing items: one (a NetSuite event, a person's request) or a batch (a run), both through
//! [`CatalogFlows::settle`]: read the products, plan, fence, write, record the links.
//!
//! Echo suppression comes first, before any lock or Salesforce call: an item whose content hash
//! equals its link's `netsuite_hash` is `unchanged`. Every write of an item holds the item's
//! lock (`product:ns:<item id>`): one item waits for it a bounded time ([`crate::lock::with_lock`]); a batch
//! takes the locks of the items it must write without waiting, and an item whose lock someone
//! else holds fails for this run (the next run retries it). Before the first write every lease
//! is renewed ([`ensure_held`]); the link write checks the fencing token again.

use crate::result::{Outcome, SyncResult};
use isthmus_netsuite::NetSuiteId;
use isthmus_store::{Lease, Link};

use std::collections::BTreeMap;

use super::books::{match_key, ExistingProduct, PriceBooks, Snapshot};
use super::item::column;
use super::plan::{plan_item, plan_link, ItemPlan, Target};
use super::transport::Transport;
use super::write::Written;
use super::{CatalogFlows, FLOW_ITEM_TO_PRODUCT, LINK_KIND};
use crate::error::{EngineError, Result};
use crate::governance::SalesforceAllocation;
use crate::lock::bounded;
use crate::lock::{dry_run_or_locked, ensure_held};
use crate::mirror::netsuite_owned_link;

/// An item read from NetSuite, with its link and the warnings of its mapping.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub target: Target,
    pub link: Option<Link>,
    pub warnings: Vec<String>,
}

impl Prepared {
    /// Whether the item is unchanged since its last sync (its hash equals the link's).
    pub fn is_echo(&self) -> bool {
        match (&self.target, &self.link) {
            (Target::Item(doc), Some(link)) => link.netsuite_hash == doc.content_hash(),
            _ => false,
        }
    }
}

/// One item's sync, as a run counts it.
#[derive(Debug)]
pub(super) struct ItemSynced {
    pub result: SyncResult,
    pub deactivated: bool,
    pub prices_written: u64,
    /// Why the item was not (completely) written.
    pub failure: Option<EngineError>,
}

/// The lock resource of an item.
pub(super) fn lock_resource(item_id: &str) -> String {
    format!("{LINK_KIND}:ns:{item_id}")
}

fn base_result(item_id: &str, dry_run: bool, trace_id: &str) -> SyncResult {
    let mut result = SyncResult::new(FLOW_ITEM_TO_PRODUCT, Outcome::Unchanged, dry_run, trace_id);
    result.netsuite_id = item_id.to_string();
    result
}

impl CatalogFlows {
    /// Syncs one item to its product and price book entries under the item's lock. `delete`
    /// (a deleted item) deactivates the product; so does an item whose type is not synced.
    /// A dry run returns the changes for Product2 and each PricebookEntry and writes nothing,
    /// in Redis either.
    pub async fn sync_item(
        &self,
        id: &NetSuiteId,
        delete: bool,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<SyncResult> {
        let id = id.as_str();
        dry_run_or_locked(
            &self.store,
            dry_run,
            &lock_resource(id),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.item_to_product(id, delete, trace_id, lease),
        )
        .await
    }

    async fn item_to_product(
        &self,
        id: &str,
        delete: bool,
        trace_id: &str,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let mut warnings = Vec::new();
        let target = if delete {
            // Believe no event: a delete of an item NetSuite still has is refused.
            if self.read_item(id).await?.is_some() {
                return Err(EngineError::Unprocessable(format!(
                    "NetSuite item {id} still exists: the delete event is stale or forged; \
                     nothing was changed"
                )));
            }
            Target::Gone {
                item_id: id.to_string(),
            }
        } else {
            let row = self.read_item(id).await?.ok_or_else(|| {
                EngineError::NotFound(format!("NetSuite item {id} does not exist"))
            })?;
            let item_type = column(&row, "itemtype").unwrap_or_default();
            if self.config.item_types.contains(&item_type) {
                let prices = self.read_prices(&[id.to_string()]).await?;
                let (doc, mapped) = self
                    .mapper()
                    .doc(&row, &prices)
                    .map_err(EngineError::Unprocessable)?;
                warnings.extend(mapped);
                Target::Item(doc)
            } else {
                warnings.push(format!(
                    "item {id} is of type {item_type:?}, which catalog.item_types does not sync: its product (if any) is deactivated"
                ));
                Target::Gone {
                    item_id: id.to_string(),
                }
            }
        };
        let link = self.store.link_by_netsuite(LINK_KIND, id).await?;
        let prepared = Prepared {
            target,
            link,
            warnings,
        };
        if prepared.is_echo() {
            let mut out = base_result(id, lease.is_none(), trace_id);
            out.matched_rule = "id_map".into();
            out.salesforce_id = prepared
                .link
                .as_ref()
                .map(|l| l.salesforce_id.clone())
                .unwrap_or_default();
            out.warnings = prepared.warnings;
            return Ok(out);
        }
        let books = self.price_books(false).await?;
        let dry_run = lease.is_none();
        let synced = self
            .settle(
                vec![(prepared, lease)],
                dry_run,
                &books,
                None,
                trace_id,
                None,
            )
            .await?
            .pop()
            .ok_or_else(|| EngineError::Unprocessable("the sync produced no result".into()))?;
        match synced.failure {
            Some(err) => Err(err),
            None => Ok(synced.result),
        }
    }

    /// Plans each item against its product (one Salesforce query for all, or `known`: a bulk
    /// run's snapshot), and unless `dry_run` writes them: every lease renewed first, then the
    /// writes (ingest jobs with `known`, sObject Collections otherwise), then the links.
    /// `Err` when a whole call failed; a single item's refusal is its `failure`.
    pub(super) async fn settle(
        &self,
        items: Vec<(Prepared, Option<Lease>)>,
        dry_run: bool,
        books: &PriceBooks,
        allocation: Option<&SalesforceAllocation>,
        trace_id: &str,
        known: Option<&Snapshot>,
    ) -> Result<Vec<ItemSynced>> {
        let ids: Vec<String> = items
            .iter()
            .map(|(p, _)| p.target.item_id().to_string())
            .collect();
        if let Some(allocation) = allocation {
            allocation.wait_for_batch(&self.salesforce).await?;
        }
        // A full run above the bulk threshold read every product up front.
        let existing = match known {
            Some(known) => ids
                .iter()
                .filter_map(|id| Some((id.clone(), known.products.get(id)?.clone())))
                .collect(),
            None => self.read_products(&ids).await?,
        };
        let currencies: Vec<String> = self.currencies.values().cloned().collect();
        // Existing products first: an item with no link and no product of its own looks for
        // an unlinked product whose match field holds its itemId.
        let looks: Vec<bool> = items
            .iter()
            .map(|(p, _)| {
                self.match_field().is_some()
                    && p.link.is_none()
                    && matches!(p.target, Target::Item(_))
                    && !existing.contains_key(p.target.item_id())
            })
            .collect();
        let codes: Vec<String> = items
            .iter()
            .zip(&looks)
            .filter_map(|((p, _), looks)| match &p.target {
                Target::Item(doc) if *looks => Some(doc.code.clone()),
                _ => None,
            })
            .collect();
        let fetched;
        let candidates = match known {
            Some(known) => &known.candidates,
            None => {
                fetched = self.read_candidates(&codes).await?;
                &fetched
            }
        };
        let mut failures: Vec<Option<EngineError>> = items.iter().map(|_| None).collect();
        let mut plans: Vec<ItemPlan> = Vec::with_capacity(items.len());
        for (i, (p, _)) in items.iter().enumerate() {
            let own = existing.get(p.target.item_id());
            let matches = match &p.target {
                Target::Item(doc) if looks[i] => candidates
                    .get(&match_key(&doc.code))
                    .map_or(&[][..], Vec::as_slice),
                _ => &[][..],
            };
            let field = self.match_field().unwrap_or_default();
            plans.push(match matches {
                [] => plan_item(&p.target, own, books, &currencies),
                [one] => plan_link(&p.target, one, field, books, &currencies),
                several => {
                    failures[i] = Some(ambiguous(p.target.item_id(), field, several));
                    ItemPlan {
                        item_id: p.target.item_id().to_string(),
                        ..Default::default()
                    }
                }
            });
        }
        // One product is never linked to two items (itemIds differ only in case, say).
        let mut claims: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, plan) in plans.iter().enumerate().filter(|(_, p)| p.links_existing) {
            if let Some(product) = &plan.product_id {
                claims.entry(product.clone()).or_default().push(i);
            }
        }
        for (product, claimants) in claims.into_iter().filter(|(_, c)| c.len() > 1) {
            for i in claimants {
                failures[i] = Some(EngineError::Unprocessable(format!(
                    "item {}: ambiguous match: product {product} matches several items of this \
                     batch; nothing was written for it",
                    plans[i].item_id
                )));
                plans[i] = ItemPlan {
                    item_id: plans[i].item_id.clone(),
                    ..Default::default()
                };
            }
        }
        let found: Vec<bool> = plans.iter().map(|p| p.product_id.is_some()).collect();
        let mut written: Vec<Written> = plans.iter().map(|_| Written::default()).collect();
        if !dry_run {
            let ttl = self.config.lock_ttl();
            let held = bounded(items.iter().map(|(_, lease)| async move {
                match lease {
                    Some(lease) => ensure_held(&self.store, lease, ttl).await,
                    None => Err(EngineError::Locked("the item (no lease)".into())),
                }
            }))
            .await;
            let mut writable = Vec::new();
            for (i, held) in held.into_iter().enumerate() {
                if failures[i].is_some() {
                    continue; // refused before any write (an ambiguous match)
                }
                match held {
                    Ok(()) => writable.push(i),
                    Err(err) => failures[i] = Some(err),
                }
            }
            let mut to_write: Vec<ItemPlan> = writable.iter().map(|&i| plans[i].clone()).collect();
            // A full run above the bulk threshold writes as it read: through jobs.
            let transport = match known {
                Some(_) => Transport::Ingest,
                None => Transport::Collections,
            };
            let done = self
                .write_plans(&mut to_write, allocation, transport)
                .await?;
            for ((&i, plan), outcome) in writable.iter().zip(to_write).zip(done) {
                if let Some(reason) = &outcome.failure {
                    failures[i] = Some(EngineError::Unprocessable(format!(
                        "item {}: {reason}",
                        plan.item_id
                    )));
                }
                plans[i] = plan;
                written[i] = outcome;
            }
            let links = bounded(items.iter().zip(&plans).zip(&failures).map(
                |(((prepared, lease), plan), failure)| async move {
                    match (lease, failure) {
                        (Some(lease), None) => self.record_link(prepared, plan, lease).await,
                        _ => Ok(()),
                    }
                },
            ))
            .await;
            for (i, linked) in links.into_iter().enumerate() {
                if let Err(err) = linked {
                    failures[i].get_or_insert(err);
                }
            }
        }
        Ok(items
            .into_iter()
            .zip(plans)
            .zip(written)
            .zip(failures)
            .zip(found)
            .map(|(((((prepared, _), plan), written), failure), found)| {
                synced(prepared, plan, written, failure, found, (dry_run, trace_id))
            })
            .collect())
    }

    /// Records the item's link (or, for a gone item whose product no longer exists, removes
    /// it), fenced by `lease`.
    async fn record_link(&self, prepared: &Prepared, plan: &ItemPlan, lease: &Lease) -> Result<()> {
        let Some(product_id) = &plan.product_id else {
            if let Some(stale) = &prepared.link {
                self.store
                    .delete_link(LINK_KIND, &stale.salesforce_id, lease)
                    .await?;
            }
            return Ok(());
        };
        let (hash, modstamp) = match &prepared.target {
            // A plan that could not place every price keeps no hash: the next run looks again.
            Target::Item(doc) if !plan.incomplete => {
                (doc.content_hash(), doc.modified.clone().unwrap_or_default())
            }
            Target::Item(doc) => (String::new(), doc.modified.clone().unwrap_or_default()),
            // A gone item keeps no hash, so if it comes back it is synced again.
            Target::Gone { .. } => (String::new(), String::new()),
        };
        let link = netsuite_owned_link(LINK_KIND, product_id, &plan.item_id, hash, modstamp);
        Ok(self.store.put_link(&link, lease).await?)
    }
}

/// Why an item with several matching products is neither linked nor given a new product.
fn ambiguous(item_id: &str, field: &str, several: &[ExistingProduct]) -> EngineError {
    let ids: Vec<&str> = several.iter().map(|p| p.id.as_str()).collect();
    EngineError::Unprocessable(format!(
        "item {item_id}: ambiguous match: {} products without NetSuite_Id__c have its itemId in \
         {field} ({}); nothing was written for it: set NetSuite_Id__c on the right one or change \
         the others' {field}",
        several.len(),
        ids.join(", ")
    ))
}

/// The result of one settled item.
fn synced(
    prepared: Prepared,
    plan: ItemPlan,
    written: Written,
    failure: Option<EngineError>,
    found: bool,
    (dry_run, trace_id): (bool, &str),
) -> ItemSynced {
    let mut result = base_result(&plan.item_id, dry_run, trace_id);
    result.matched_rule = match (&prepared.link, found) {
        (Some(_), _) => "id_map",
        (None, true) if plan.links_existing => "product_match",
        (None, true) => "external_id",
        (None, false) => "none",
    }
    .into();
    let outcome = match (&prepared.target, found) {
        (Target::Gone { .. }, false) => Outcome::Skipped,
        (_, false) if plan.product_write.is_some() => Outcome::Created,
        _ if plan.writes_anything() => Outcome::Updated,
        _ => Outcome::Unchanged,
    };
    result.outcome = if failure.is_some() {
        Outcome::Failed
    } else {
        outcome
    };
    result.salesforce_id = plan.product_id.clone().unwrap_or_default();
    result.warnings = prepared.warnings;
    result.warnings.extend(plan.warnings.iter().cloned());
    if matches!(prepared.target, Target::Gone { .. }) && !found {
        result.warnings.push(format!(
            "NetSuite item {} has no product in Salesforce: nothing to deactivate",
            plan.item_id
        ));
    }
    if let Some(err) = &failure {
        result.warnings.push(err.to_string());
    }
    result.changes = plan.changes;
    ItemSynced {
        deactivated: plan.deactivates && failure.is_none() && !dry_run,
        prices_written: written.prices_written,
        failure,
        result,
    }
}

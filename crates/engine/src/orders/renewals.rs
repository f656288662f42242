//! Renewals from NetSuite: each sales order whose term (`endDate`) ends within the window raises
//! one renewal Opportunity in Salesforce, upserted by `NetSuite_Renewal_Of__c` (the order's
//! internal id), so a second scan, another replica or a retry never raises a second one. The
//! Opportunity gets the order's products at the order's rates, in its currency, on the
//! customer's account, and points at the Opportunity the order came from (`Renewal_Of__c`); when
//! it is won, "Sync to NetSuite" turns it into a sales order linked to the one it renews.
//!
//! The upsert and the lines' create are two calls: when an attempt fails after its upsert
//! committed (the lines refused or lost, or the upsert's answer lost), the next scan's upsert
//! finds the renewal rather than creating it, and adds its lines if it has none (they are
//! created all or none, so "none" means that attempt did not get them in).
//!
//! Reads are batched across every expiring order: one SuiteQL for the orders, one for their
//! lines, one Redis MGET per link kind, one SOQL for the standard price book's entries.

use std::collections::{BTreeMap, HashMap};

use crate::result::{FieldChange, Outcome, SyncResult};
use isthmus_netsuite::suiteql;
use isthmus_salesforce::soql;
use isthmus_store::Link;
use serde_json::{json, Map, Value};

use super::{iso_date, OrderFlows, FLOW_RENEWAL, LINK_KIND, RENEWAL_LINK_KIND};
use crate::catalog::LINK_KIND as PRODUCT_LINK_KIND;
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::with_lock;
use crate::mirror::netsuite_owned_link;

/// What the orders still to raise need, read in batches.
struct RenewalLookups {
    /// The account of each pending order's customer, in the order of the pending orders.
    accounts: Vec<Option<Link>>,
    /// The Opportunity each pending order came from, likewise.
    originals: Vec<Option<Link>>,
    /// Each order's lines: (item, quantity, rate).
    lines: BTreeMap<String, Vec<(String, f64, f64)>>,
    /// Item → Product2 id.
    products: HashMap<String, String>,
    standard_book: String,
    /// (Product2 id, ISO currency) → standard price book entry id.
    entries: HashMap<(String, String), String>,
}

/// An expiring sales order, as SuiteQL reads it.
struct Expiring {
    order_id: String,
    number: String,
    customer: String,
    end_date: String,
    currency: String,
}

impl OrderFlows {
    /// Raises a renewal Opportunity for each sales order ending within `within_days` (0: the
    /// configured window) from today. One result per expiring order. In steps: the expiring
    /// orders, those already raised (by the renewal link), what the others need read in batches
    /// (`RenewalLookups`), each one's plan (`plan_renewal`), then its upsert.
    pub async fn scan_renewals(
        &self,
        within_days: u32,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<Vec<SyncResult>> {
        let days = self.renewal_window(within_days)?;
        let today = chrono::Utc::now().date_naive();
        let until = today + chrono::Days::new(u64::from(days));
        let orders = self
            .expiring_orders(&today.to_string(), &until.to_string())
            .await?;
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let order_ids: Vec<String> = orders.iter().map(|o| o.order_id.clone()).collect();
        let raised = self
            .store
            .links_by_netsuite_many(RENEWAL_LINK_KIND, &order_ids)
            .await?;
        let mut results = Vec::new();
        let mut pending = Vec::new();
        for (order, raised) in orders.into_iter().zip(raised) {
            let mut out = SyncResult::new(FLOW_RENEWAL, Outcome::Unchanged, dry_run, trace_id);
            out.netsuite_id = order.order_id.clone();
            match raised {
                Some(link) => {
                    out.salesforce_id = link.salesforce_id;
                    out.matched_rule = "id_map".into();
                    results.push(out);
                }
                None => pending.push((order, out)),
            }
        }
        if pending.is_empty() {
            return Ok(results);
        }
        let lookups = self.renewal_lookups(&pending).await?;
        for ((order, mut out), (account, original)) in pending
            .into_iter()
            .zip(lookups.accounts.iter().zip(&lookups.originals))
        {
            let (fields, lines) =
                match self.plan_renewal(&order, account.as_ref(), original.as_ref(), &lookups) {
                    Ok(plan) => plan,
                    Err(why) => {
                        out.outcome = Outcome::Skipped;
                        out.warnings.push(why);
                        results.push(out);
                        continue;
                    }
                };
            out.outcome = Outcome::Created;
            out.matched_rule = "none".into();
            out.changes = fields
                .iter()
                .map(|(field, value)| FieldChange::set("salesforce.Opportunity", field, value))
                .collect();
            if !dry_run {
                match self.raise_renewal(&order.order_id, fields, lines).await {
                    Ok((id, created)) => {
                        out.salesforce_id = id;
                        if !created {
                            out.outcome = Outcome::Unchanged;
                            out.matched_rule = "external_id".into();
                        }
                    }
                    Err(err) => {
                        out.outcome = Outcome::Failed;
                        out.warnings.push(err.to_string());
                    }
                }
            }
            results.push(out);
        }
        Ok(results)
    }

    /// The scan's window in days: `within_days`, or the configured one for 0.
    fn renewal_window(&self, within_days: u32) -> Result<u32> {
        let renewals = &self.config.renewals;
        if !renewals.enabled {
            return Err(EngineError::Unprocessable(
                "renewals are disabled (orders.renewals.enabled = false)".into(),
            ));
        }
        let days = if within_days == 0 {
            renewals.window_days
        } else {
            within_days
        };
        if days > 3660 {
            return Err(EngineError::InvalidArgument(
                "within_days must be at most 3660".into(),
            ));
        }
        Ok(days)
    }

    /// What the orders still to raise need, read for all of them at once: their accounts and
    /// original Opportunities (one MGET each), their lines (one SuiteQL), the lines' products
    /// (one MGET) and the standard price book's entries (one SOQL).
    async fn renewal_lookups(&self, pending: &[(Expiring, SyncResult)]) -> Result<RenewalLookups> {
        let pending_ids: Vec<String> = pending.iter().map(|(o, _)| o.order_id.clone()).collect();
        let customers: Vec<String> = pending.iter().map(|(o, _)| o.customer.clone()).collect();
        let accounts = self
            .store
            .links_by_netsuite_many(crate::customers::LINK_KIND, &customers)
            .await?;
        let originals = self
            .store
            .links_by_netsuite_many(LINK_KIND, &pending_ids)
            .await?;
        let lines = self.order_lines(&pending_ids).await?;
        let item_ids: Vec<String> = {
            let mut ids: Vec<String> = lines.values().flatten().map(|l| l.0.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let products: HashMap<String, String> = item_ids
            .iter()
            .cloned()
            .zip(
                self.store
                    .links_by_netsuite_many(PRODUCT_LINK_KIND, &item_ids)
                    .await?,
            )
            .filter_map(|(item, link)| link.map(|l| (item, l.salesforce_id)))
            .collect();
        let (standard_book, entries) = self.standard_entries(products.values()).await?;
        Ok(RenewalLookups {
            accounts,
            originals,
            lines,
            products,
            standard_book,
            entries,
        })
    }

    /// The renewal Opportunity of `order` and its line items, or why it cannot be raised (no
    /// account, an unmapped currency, lines without a priced product).
    fn plan_renewal(
        &self,
        order: &Expiring,
        account: Option<&Link>,
        original: Option<&Link>,
        lookups: &RenewalLookups,
    ) -> std::result::Result<(Map<String, Value>, Vec<Value>), String> {
        let Some(account) = account else {
            return Err(format!(
                "customer {} of sales order {} has no Salesforce account; sync the customer first",
                order.customer, order.number
            ));
        };
        let Some(currency) = self.iso_currency(&order.currency) else {
            return Err(format!(
                "NetSuite currency {} of sales order {} is not in [currencies]",
                order.currency, order.number
            ));
        };
        let order_lines = lookups
            .lines
            .get(&order.order_id)
            .cloned()
            .unwrap_or_default();
        let mut opportunity_lines = Vec::new();
        let mut unmapped = Vec::new();
        for (item, quantity, rate) in &order_lines {
            let entry = lookups
                .products
                .get(item)
                .and_then(|product| lookups.entries.get(&(product.clone(), currency.clone())));
            match entry {
                Some(entry) => opportunity_lines.push(json!({
                    "PricebookEntryId": entry,
                    "Quantity": quantity,
                    "UnitPrice": rate,
                })),
                None => unmapped.push(item.clone()),
            }
        }
        if !unmapped.is_empty() || opportunity_lines.is_empty() {
            return Err(format!(
                "sales order {}: items {} have no product priced in {currency} in the standard \
                 price book; run the catalog sync",
                order.number,
                if unmapped.is_empty() {
                    "(none: the order has no lines)".to_string()
                } else {
                    unmapped.join(", ")
                }
            ));
        }
        let renewals = &self.config.renewals;
        let mut fields = Map::new();
        let name = format!("Sales Order #{}{}", order.number, renewals.name_suffix);
        fields.insert("Name".into(), json!(name));
        fields.insert("AccountId".into(), json!(account.salesforce_id));
        fields.insert("StageName".into(), json!(renewals.stage));
        fields.insert("CloseDate".into(), json!(order.end_date));
        fields.insert("CurrencyIsoCode".into(), json!(currency));
        fields.insert("Pricebook2Id".into(), json!(lookups.standard_book));
        fields.insert("Type".into(), json!(renewals.opportunity_type));
        if let Some(original) = original {
            fields.insert("Renewal_Of__c".into(), json!(original.salesforce_id));
        }
        Ok((fields, opportunity_lines))
    }

    /// One scheduled scan (a [`crate::schedule::Scheduler`] firing: the scheduler holds the
    /// firing's lock, so one replica scans at a time).
    pub async fn scheduled_renewal_scan(&self) -> Result<()> {
        let trace_id = isthmus_telemetry::TraceContext::new_root().trace_id;
        let results = self.scan_renewals(0, false, &trace_id).await?;
        let raised = results
            .iter()
            .filter(|r| r.outcome == Outcome::Created)
            .count();
        tracing::info!(expiring = results.len(), raised, "renewal scan");
        Ok(())
    }

    /// The schedule of the renewal scan, when one is configured and renewals are on.
    pub fn renewal_schedule(&self) -> Result<Option<crate::schedule::Schedule>> {
        let renewals = &self.config.renewals;
        if !renewals.enabled || renewals.schedule.is_empty() {
            return Ok(None);
        }
        crate::schedule::Schedule::parse(&renewals.schedule).map(Some)
    }

    /// The lock lease of scheduled work.
    pub fn lock_ttl(&self) -> std::time::Duration {
        self.config.lock_ttl()
    }

    /// Upserts the renewal Opportunity by `NetSuite_Renewal_Of__c`, adds its lines when it was
    /// created (or found without lines: an earlier attempt's answer was lost after the upsert
    /// committed), and records the link, under the order's renewal lock. Whether this call
    /// raised it (created it or completed it).
    async fn raise_renewal(
        &self,
        order_id: &str,
        fields: Map<String, Value>,
        lines: Vec<Value>,
    ) -> Result<(String, bool)> {
        with_lock(
            &self.store,
            &format!("{RENEWAL_LINK_KIND}:ns:{order_id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| async move {
                if let Some(link) = self
                    .store
                    .link_by_netsuite(RENEWAL_LINK_KIND, order_id)
                    .await?
                {
                    return Ok((link.salesforce_id, false));
                }
                let upserted = self
                    .salesforce
                    .upsert("Opportunity", "NetSuite_Renewal_Of__c", order_id, &fields)
                    .await?;
                // Found rather than created, with no link: an earlier attempt created it and
                // failed after (its answer lost, or its lines refused). Its lines are added
                // unless that attempt got them in (they are created all or none).
                let add_lines = upserted.created || !self.has_lines(&upserted.id).await?;
                if add_lines {
                    let records: Vec<Record> = lines
                        .into_iter()
                        .filter_map(|mut line| {
                            line["OpportunityId"] = json!(upserted.id);
                            line.as_object().cloned()
                        })
                        .collect();
                    let saved = self
                        .salesforce
                        .create_many("OpportunityLineItem", &records, true)
                        .await?;
                    if let Some(failed) = saved.iter().find(|r| !r.success) {
                        return Err(EngineError::Unprocessable(format!(
                            "Salesforce refused a line of renewal opportunity {}: {:?}",
                            upserted.id, failed.errors
                        )));
                    }
                }
                let link = netsuite_owned_link(
                    RENEWAL_LINK_KIND,
                    &upserted.id,
                    order_id,
                    String::new(),
                    String::new(),
                );
                self.store.put_link(&link, &lease).await?;
                Ok((upserted.id, add_lines))
            },
        )
        .await
    }

    /// Whether the Opportunity has any line item.
    async fn has_lines(&self, opportunity_id: &str) -> Result<bool> {
        let q = format!(
            "SELECT Id FROM OpportunityLineItem WHERE OpportunityId = {} LIMIT 1",
            soql::literal(opportunity_id)
        );
        Ok(!self.salesforce.query(&q).await?.is_empty())
    }

    /// Sales orders whose `endDate` falls in [from, until] (ISO dates), by internal id.
    /// Walked by id, not offset, so a long window is not cut at SuiteQL's 100,000-row cap.
    async fn expiring_orders(&self, from: &str, until: &str) -> Result<Vec<Expiring>> {
        let (from, until) = (suiteql::literal(from), suiteql::literal(until));
        let rows = self
            .netsuite
            .suiteql_by_id("id", usize::MAX, |after| {
                format!(
                    "SELECT t.id, t.tranid, t.entity, TO_CHAR(t.enddate, 'YYYY-MM-DD') AS enddate, \
                     t.currency FROM transaction t WHERE t.type = 'SalesOrd' AND t.id > {after} \
                     AND t.enddate >= TO_DATE({from}, 'YYYY-MM-DD') \
                     AND t.enddate <= TO_DATE({until}, 'YYYY-MM-DD') ORDER BY t.id"
                )
            })
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                Some(Expiring {
                    order_id: text(row, "id")?,
                    number: text(row, "tranid").unwrap_or_default(),
                    customer: text(row, "entity")?,
                    end_date: text(row, "enddate").and_then(|d| iso_date(&d))?,
                    currency: text(row, "currency").unwrap_or_default(),
                })
            })
            .collect())
    }

    /// The item lines of the orders: order id → (item id, quantity, rate). Quantities are
    /// made positive: `transactionline` holds a sales order's line quantities negative (its
    /// posting sign), and the main line (`mainline = 'T'`) carries no item.
    async fn order_lines(
        &self,
        order_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<(String, f64, f64)>>> {
        let mut lines: BTreeMap<String, Vec<(String, f64, f64)>> = BTreeMap::new();
        for chunk in order_ids.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(|id| suiteql::literal(id)).collect();
            let q = format!(
                "SELECT tl.transaction, tl.item, tl.quantity, tl.rate FROM transactionline tl \
                 WHERE tl.transaction IN ({}) AND tl.mainline = 'F' AND tl.item IS NOT NULL \
                 ORDER BY tl.transaction, tl.id",
                ids.join(", ")
            );
            for row in self.netsuite.suiteql(&q).await? {
                let (Some(order), Some(item)) = (text(&row, "transaction"), text(&row, "item"))
                else {
                    continue;
                };
                let number = |f: &str| text(&row, f).and_then(|v| v.parse::<f64>().ok());
                let quantity = number("quantity").unwrap_or(0.0).abs();
                let rate = number("rate").unwrap_or(0.0).abs();
                if quantity > 0.0 {
                    lines.entry(order).or_default().push((item, quantity, rate));
                }
            }
        }
        Ok(lines)
    }

    /// The standard price book's id and its active entries for `products`:
    /// (product id, currency) → entry id.
    async fn standard_entries<'a>(
        &self,
        products: impl Iterator<Item = &'a String>,
    ) -> Result<(String, HashMap<(String, String), String>)> {
        let books = self
            .salesforce
            .query("SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1")
            .await?;
        let book = books.first().and_then(|b| text(b, "Id")).ok_or_else(|| {
            EngineError::Unprocessable("Salesforce has no standard price book".into())
        })?;
        let mut entries = HashMap::new();
        let products: Vec<String> = products.map(|p| soql::literal(p)).collect();
        for chunk in products.chunks(200) {
            let q = format!(
                "SELECT Id, Product2Id, CurrencyIsoCode FROM PricebookEntry WHERE Pricebook2Id = {} \
                 AND IsActive = true AND Product2Id IN ({})",
                soql::literal(&book),
                chunk.join(", ")
            );
            for row in self.salesforce.query(&q).await? {
                if let (Some(id), Some(product), Some(currency)) = (
                    text(&row, "Id"),
                    text(&row, "Product2Id"),
                    text(&row, "CurrencyIsoCode"),
                ) {
                    entries.insert((product, currency), id);
                }
            }
        }
        Ok((book, entries))
    }
}

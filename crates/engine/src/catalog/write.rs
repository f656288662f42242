//! Carrying out the plans of a batch of items in four steps, each one write of every record it
//! needs (the first two when existing products are linked): with sObject Collections at most
//! five Salesforce calls per 200 items; with ingest jobs (a full run above
//! `salesforce.bulk_threshold`) at most five jobs for the whole group
//! ([`transport`](super::transport) carries either and answers alike).
//!
//! 1. products: one upsert by `NetSuite_Id__c` (a retry after a lost answer updates what the
//!    first attempt created, never a duplicate), and one update by `Id` of the existing products
//!    being linked (it writes their `NetSuite_Id__c`, so a retry finds them by it);
//! 2. standard price book entries: one create (Salesforce requires them before any other book's
//!    entry of the same product and currency);
//! 3. other books' entries: one create;
//! 4. entry price and active-flag changes: one update.
//!
//! Calls are not all-or-none: each record stands alone, and an item with a failed record is
//! left out of the later steps and reported failed (its link is not written, so the next run
//! tries it again; every step is idempotent).

use std::collections::BTreeMap;

use isthmus_salesforce::RecordResult;
use serde_json::{json, Value};

use super::item::Record;
use super::plan::ItemPlan;
use super::transport::{Operation, Transport};
use super::CatalogFlows;
use crate::error::Result;
use crate::governance::SalesforceAllocation;

/// What the writes did for one item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The product created by this write (not found before).
    pub created: bool,
    pub prices_written: u64,
    /// Why a record of the item was refused; the item's later steps were skipped.
    pub failure: Option<String>,
}

fn refusal(result: &RecordResult) -> String {
    result
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The fields that tell a batch's new entries apart (one entry per book, product and currency).
const ENTRY_KEY: &[&str] = &["Pricebook2Id", "Product2Id", "CurrencyIsoCode"];

impl CatalogFlows {
    /// Writes every plan through `transport`; `plans[i].product_id` is set once its product
    /// exists. Batch work passes `allocation` and waits while the Salesforce allocation is past
    /// the batch share, before each step. `Err` only when a whole call or job failed (nothing
    /// after it was sent).
    pub(super) async fn write_plans(
        &self,
        plans: &mut [ItemPlan],
        allocation: Option<&SalesforceAllocation>,
        transport: Transport,
    ) -> Result<Vec<Written>> {
        let mut written = vec![Written::default(); plans.len()];
        let wait = || async {
            match allocation {
                Some(allocation) => allocation.wait_for_batch(&self.salesforce).await,
                None => Ok(()),
            }
        };

        // 1. Products: upserts by NetSuite_Id__c, then links of existing products by Id.
        for linking in [false, true] {
            let writes: Vec<usize> = (0..plans.len())
                .filter(|&i| plans[i].product_write.is_some() && plans[i].links_existing == linking)
                .collect();
            if writes.is_empty() {
                continue;
            }
            let bodies: Vec<Record> = writes
                .iter()
                .filter_map(|&i| {
                    let mut body = plans[i].product_write.clone()?;
                    if linking {
                        body.insert("Id".into(), json!(plans[i].product_id.clone()?));
                    }
                    Some(body)
                })
                .collect();
            // A new product's id is needed for its entries and its link.
            let new = writes.iter().any(|&i| plans[i].product_id.is_none());
            let operation = if linking {
                Operation::Update
            } else {
                Operation::Upsert("NetSuite_Id__c")
            };
            wait().await?;
            let results = self
                .write_records(transport, "Product2", operation, &bodies, new)
                .await?;
            for (&i, result) in writes.iter().zip(&results) {
                match (&result.id, result.success) {
                    (Some(id), true) => {
                        written[i].created =
                            plans[i].product_id.is_none() && result.created != Some(false);
                        plans[i].product_id = Some(id.clone());
                    }
                    (None, true) if plans[i].product_id.is_some() => {}
                    _ => written[i].failure = Some(format!("Product2: {}", refusal(result))),
                }
            }
        }

        // 2 and 3. Entries, standard book first.
        for standard in [true, false] {
            let mut owners = Vec::new();
            let mut records = Vec::new();
            for (i, plan) in plans.iter().enumerate() {
                let Some(product) = plan
                    .product_id
                    .as_ref()
                    .filter(|_| written[i].failure.is_none())
                else {
                    continue;
                };
                for create in plan.creates.iter().filter(|c| c.standard == standard) {
                    let mut record = create.record.clone();
                    record.insert("Product2Id".into(), json!(product));
                    owners.push(i);
                    records.push(record);
                }
            }
            if records.is_empty() {
                continue;
            }
            wait().await?;
            let results = self
                .write_records(
                    transport,
                    "PricebookEntry",
                    Operation::Insert(ENTRY_KEY),
                    &records,
                    false,
                )
                .await?;
            settle_entries(&owners, &records, &results, &mut written);
        }

        // 4. Entry updates.
        let mut owners = Vec::new();
        let mut records = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            if written[i].failure.is_none() {
                for update in &plan.updates {
                    owners.push(i);
                    records.push(update.clone());
                }
            }
        }
        if !records.is_empty() {
            wait().await?;
            let results = self
                .write_records(
                    transport,
                    "PricebookEntry",
                    Operation::Update,
                    &records,
                    false,
                )
                .await?;
            settle_entries(&owners, &records, &results, &mut written);
        }
        Ok(written)
    }
}

/// Counts written entries and records the first refusal of each item.
fn settle_entries(
    owners: &[usize],
    records: &[Record],
    results: &[RecordResult],
    written: &mut [Written],
) {
    let mut first_refusal: BTreeMap<usize, String> = BTreeMap::new();
    for ((&i, record), result) in owners.iter().zip(records).zip(results) {
        if result.success {
            written[i].prices_written += 1;
        } else {
            let currency = record
                .get("CurrencyIsoCode")
                .and_then(Value::as_str)
                .unwrap_or_default();
            first_refusal
                .entry(i)
                .or_insert_with(|| format!("PricebookEntry {currency}: {}", refusal(result)));
        }
    }
    for (i, reason) in first_refusal {
        written[i].failure.get_or_insert(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isthmus_salesforce::ApiError;

    #[test]
    fn an_item_with_a_refused_entry_is_failed_and_others_count_their_prices() {
        let ok = RecordResult {
            id: Some("01u1".into()),
            success: true,
            created: None,
            errors: vec![],
        };
        let refused = RecordResult {
            id: None,
            success: false,
            created: None,
            errors: vec![ApiError {
                error_code: "STANDARD_PRICE_NOT_DEFINED".into(),
                message: "No standard price defined for this product".into(),
                fields: vec![],
            }],
        };
        let record = |c: &str| {
            json!({ "CurrencyIsoCode": c })
                .as_object()
                .cloned()
                .unwrap()
        };
        let mut written = vec![Written::default(); 2];
        settle_entries(
            &[0, 0, 1],
            &[record("USD"), record("EUR"), record("GBP")],
            &[ok.clone(), refused, ok],
            &mut written,
        );
        assert_eq!(written[0].prices_written, 1);
        assert!(written[0]
            .failure
            .as_deref()
            .is_some_and(|f| f.starts_with("PricebookEntry EUR: STANDARD_PRICE_NOT_DEFINED")));
        assert_eq!(
            written[1],
            Written {
                created: false,
                prices_written: 1,
                failure: None
            }
        );
    }
}

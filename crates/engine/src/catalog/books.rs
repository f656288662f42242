//! The Salesforce side of the catalog as it stands: the price books the prices go to, and the
//! products of a batch of items with their price book entries (one SOQL query each).
//!
//! A full run of more than `salesforce.bulk_threshold` items reads every synced product and
//! every price book entry once, through two Bulk API 2.0 query jobs
//! ([`CatalogFlows::read_products_bulk`]), instead of one SOQL query a batch (the end-of-run
//! sweep finds the products of unseen items in the same snapshot): the same
//! [`ExistingProduct`]s (entries in `Id` order), for a few calls whatever the catalog's size.
//! The snapshot is the run's view of Salesforce, older than a batch's own read: a product
//! someone creates for an item during the run is not in it, and the plan's upsert by
//! `NetSuite_Id__c` updates that product rather than duplicating it, as after a REST read.
//!
//! Existing products first: an item with no link and no product of its own may be linked to an
//! unlinked Product2 (no `NetSuite_Id__c`) whose `catalog.product_match_field` equals its
//! `itemId` ([`CatalogFlows::read_candidates`]: one SOQL query a batch, values escaped; a bulk
//! run's snapshot holds them too, read by the same product job). These are only the
//! candidates: which one, if any, is linked is [`plan`](super::plan)'s and the settle's call.

use std::collections::BTreeMap;

use isthmus_salesforce::{soql, BulkField, BulkQuery};
use serde_json::Value;

use super::item::Record;
use super::CatalogFlows;
use crate::config::CatalogConfig;
use crate::error::{EngineError, Result};

/// A Salesforce price book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceBook {
    pub id: String,
    pub name: String,
    pub standard: bool,
}

/// Where each price level's prices go: the standard level to the standard price book, each
/// level of `catalog.price_books` to the book of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceBooks {
    pub standard: PriceBook,
    /// Price level id → its book (configured levels whose book exists).
    by_level: BTreeMap<String, PriceBook>,
    standard_level: String,
    /// Configured books Salesforce does not have: (level, name).
    pub missing: Vec<(String, String)>,
}

impl PriceBooks {
    /// From `Pricebook2` rows (`Id, Name, IsStandard, IsActive`). When several books carry a
    /// configured name, the active one with the lowest id wins.
    pub fn from_rows(config: &CatalogConfig, rows: &[Record]) -> Result<Self> {
        let book = |row: &Record| PriceBook {
            id: str_field(row, "Id"),
            name: str_field(row, "Name"),
            standard: row.get("IsStandard").and_then(Value::as_bool) == Some(true),
        };
        let mut rows: Vec<&Record> = rows.iter().collect();
        rows.sort_by_key(|r| {
            (
                r.get("IsActive").and_then(Value::as_bool) != Some(true),
                str_field(r, "Id"),
            )
        });
        let standard = rows
            .iter()
            .map(|r| book(r))
            .find(|b| b.standard)
            .ok_or_else(|| {
                EngineError::Unprocessable("Salesforce has no standard price book".into())
            })?;
        let mut by_level = BTreeMap::new();
        let mut missing = Vec::new();
        for (level, name) in &config.price_books {
            match rows.iter().map(|r| book(r)).find(|b| &b.name == name) {
                Some(found) => {
                    by_level.insert(level.clone(), found);
                }
                None => missing.push((level.clone(), name.clone())),
            }
        }
        Ok(Self {
            standard,
            by_level,
            standard_level: config.standard_price_level.clone(),
            missing,
        })
    }

    /// The book a price level's prices go to; `None` for a configured book that is missing.
    pub fn for_level(&self, level: &str) -> Option<&PriceBook> {
        if level == self.standard_level {
            Some(&self.standard)
        } else {
            self.by_level.get(level)
        }
    }

    /// Whether `book_id` is a book the catalog writes to.
    pub fn manages(&self, book_id: &str) -> bool {
        self.standard.id == book_id || self.by_level.values().any(|b| b.id == book_id)
    }

    /// A book's name by id, when managed.
    pub fn name_of(&self, book_id: &str) -> Option<&str> {
        std::iter::once(&self.standard)
            .chain(self.by_level.values())
            .find(|b| b.id == book_id)
            .map(|b| b.name.as_str())
    }
}

/// A PricebookEntry as Salesforce holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingEntry {
    pub id: String,
    pub book_id: String,
    pub currency: String,
    pub price: f64,
    pub active: bool,
}

/// A Product2 with its entries, as Salesforce holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingProduct {
    pub id: String,
    /// The Product2 fields the catalog writes, as read.
    pub fields: Record,
    pub entries: Vec<ExistingEntry>,
}

impl ExistingProduct {
    pub fn active(&self) -> bool {
        self.fields.get("IsActive").and_then(Value::as_bool) == Some(true)
    }

    /// From a Product2 row with its `PricebookEntries` child rows.
    pub fn from_row(row: &Record) -> Self {
        let entries = row
            .get("PricebookEntries")
            .and_then(|c| c.get("records"))
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .filter_map(Value::as_object)
                    .map(|e| ExistingEntry {
                        id: str_field(e, "Id"),
                        book_id: str_field(e, "Pricebook2Id"),
                        currency: str_field(e, "CurrencyIsoCode"),
                        price: e.get("UnitPrice").and_then(Value::as_f64).unwrap_or(0.0),
                        active: e.get("IsActive").and_then(Value::as_bool) == Some(true),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fields = PRODUCT_FIELDS
            .iter()
            .map(|f| (f.to_string(), row.get(*f).cloned().unwrap_or(Value::Null)))
            .collect();
        Self {
            id: str_field(row, "Id"),
            fields,
            entries,
        }
    }
}

/// The Product2 fields the catalog writes (besides `NetSuite_Id__c`).
pub const PRODUCT_FIELDS: [&str; 6] = [
    "Name",
    "ProductCode",
    "Description",
    "IsActive",
    "Family",
    "QuantityUnitOfMeasure",
];

fn str_field(row: &Record, name: &str) -> String {
    row.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl CatalogFlows {
    /// The price books, read once and kept; `refresh` reads them again (each run does, and a
    /// single sync does while a configured book was missing).
    pub(super) async fn price_books(&self, refresh: bool) -> Result<PriceBooks> {
        let mut cached = self.books.lock().await;
        if let Some(books) = cached.as_ref().filter(|b| !refresh && b.missing.is_empty()) {
            return Ok(books.clone());
        }
        let mut condition = "IsStandard = true".to_string();
        let names: Vec<String> = self
            .config
            .price_books
            .values()
            .map(|n| soql::literal(n))
            .collect();
        if !names.is_empty() {
            condition = format!("{condition} OR Name IN ({})", names.join(", "));
        }
        let q = format!("SELECT Id, Name, IsStandard, IsActive FROM Pricebook2 WHERE {condition}");
        let rows = self.salesforce.query(&q).await?;
        let books = PriceBooks::from_rows(&self.config, &rows)?;
        *cached = Some(books.clone());
        Ok(books)
    }

    /// The products carrying these item ids in `NetSuite_Id__c`, with their price book entries
    /// (one query with a child subquery), by item id.
    pub(super) async fn read_products(
        &self,
        item_ids: &[String],
    ) -> Result<BTreeMap<String, ExistingProduct>> {
        if item_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<String> = item_ids.iter().map(|id| soql::literal(id)).collect();
        let q = format!(
            "SELECT Id, NetSuite_Id__c, {}, (SELECT Id, Pricebook2Id, CurrencyIsoCode, UnitPrice, IsActive FROM PricebookEntries) \
             FROM Product2 WHERE NetSuite_Id__c IN ({}) ORDER BY Id",
            PRODUCT_FIELDS.join(", "),
            ids.join(", ")
        );
        let mut products = BTreeMap::new();
        for row in self.salesforce.query(&q).await? {
            let item = str_field(&row, "NetSuite_Id__c");
            // NetSuite_Id__c is unique: at most one product per item.
            products
                .entry(item)
                .or_insert_with(|| ExistingProduct::from_row(&row));
        }
        Ok(products)
    }

    /// Every product carrying an item id in `NetSuite_Id__c`, with its price book entries, by
    /// item id, and every unlinked product with a value in the match field (the candidates to
    /// link): two bulk query jobs (products, entries), joined here.
    pub(super) async fn read_products_bulk(&self) -> Result<Snapshot> {
        let field = self.match_field();
        let (select, condition) = match field {
            Some(field) => (
                select_with(field),
                format!("NetSuite_Id__c != null OR {field} != null"),
            ),
            None => (PRODUCT_FIELDS.join(", "), "NetSuite_Id__c != null".into()),
        };
        let mut rows = self
            .salesforce
            .bulk_query(
                &BulkQuery::new(format!(
                    "SELECT Id, NetSuite_Id__c, {select} FROM Product2 WHERE {condition}"
                ))
                .typed("IsActive", BulkField::Boolean),
            )
            .await?;
        let mut entries = self
            .salesforce
            .bulk_query(
                &BulkQuery::new(
                    "SELECT Id, Product2Id, Pricebook2Id, CurrencyIsoCode, UnitPrice, IsActive \
                     FROM PricebookEntry",
                )
                .typed("UnitPrice", BulkField::Number)
                .typed("IsActive", BulkField::Boolean),
            )
            .await?;
        entries.sort_by_key(|e| str_field(e, "Id"));
        let mut by_product: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for entry in entries {
            let product = str_field(&entry, "Product2Id");
            by_product
                .entry(product.get(..15).unwrap_or(&product).to_string())
                .or_default()
                .push(Value::Object(entry));
        }
        rows.sort_by_key(|r| str_field(r, "Id"));
        let mut snapshot = Snapshot::default();
        for mut row in rows {
            let id = str_field(&row, "Id");
            let children = by_product
                .remove(id.get(..15).unwrap_or(&id))
                .unwrap_or_default();
            row.insert(
                "PricebookEntries".into(),
                serde_json::json!({ "totalSize": children.len(), "done": true, "records": children }),
            );
            let item = str_field(&row, "NetSuite_Id__c");
            if !item.is_empty() {
                snapshot
                    .products
                    .entry(item)
                    .or_insert_with(|| ExistingProduct::from_row(&row));
            } else if let Some(field) = field {
                add_candidate(&mut snapshot.candidates, field, &row);
            }
        }
        Ok(snapshot)
    }

    /// The match field (`catalog.product_match_field`), `None` when matching is off.
    pub(super) fn match_field(&self) -> Option<&str> {
        Some(self.config.product_match_field.as_str()).filter(|f| !f.is_empty())
    }

    /// The unlinked products (no `NetSuite_Id__c`) whose match field holds one of `codes`, with
    /// their price book entries: one SOQL query a batch of `catalog.batch_size` codes.
    pub(super) async fn read_candidates(&self, codes: &[String]) -> Result<Candidates> {
        let mut candidates = Candidates::new();
        let Some(field) = self.match_field() else {
            return Ok(candidates);
        };
        for chunk in codes.chunks(self.config.batch_size.max(1)) {
            let values: Vec<String> = chunk.iter().map(|c| soql::literal(c)).collect();
            let q = format!(
                "SELECT Id, NetSuite_Id__c, {}, (SELECT Id, Pricebook2Id, CurrencyIsoCode, UnitPrice, IsActive FROM PricebookEntries) \
                 FROM Product2 WHERE NetSuite_Id__c = null AND {field} IN ({}) ORDER BY Id",
                select_with(field),
                values.join(", ")
            );
            for row in self.salesforce.query(&q).await? {
                add_candidate(&mut candidates, field, &row);
            }
        }
        Ok(candidates)
    }
}

/// Unlinked products by their match field's value (trimmed, lowercase: SOQL compares text
/// without case), in `Id` order.
pub type Candidates = BTreeMap<String, Vec<ExistingProduct>>;

/// The key a match field's value (or an item's `itemId`) is looked up by.
pub fn match_key(value: &str) -> String {
    value.trim().to_lowercase()
}

fn add_candidate(candidates: &mut Candidates, field: &str, row: &Record) {
    let key = match_key(&str_field(row, field));
    if !key.is_empty() {
        candidates
            .entry(key)
            .or_default()
            .push(ExistingProduct::from_row(row));
    }
}

/// The catalog's Product2 fields and the match field, once.
fn select_with(field: &str) -> String {
    let mut fields: Vec<&str> = PRODUCT_FIELDS.to_vec();
    if !fields.iter().any(|f| f.eq_ignore_ascii_case(field)) {
        fields.push(field);
    }
    fields.join(", ")
}

/// A bulk run's view of Salesforce: the synced products by item id, and the unlinked products
/// an item may be linked to.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub products: BTreeMap<String, ExistingProduct>,
    pub candidates: Candidates,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(value: Value) -> Vec<Record> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().cloned().unwrap())
            .collect()
    }

    #[test]
    fn levels_map_to_the_standard_book_and_to_books_by_name() {
        let mut config = crate::Config::load_from(None, Vec::new()).unwrap().catalog;
        config.price_books.insert("2".into(), "Partner".into());
        config.price_books.insert("3".into(), "Nowhere".into());
        let books = PriceBooks::from_rows(
            &config,
            &rows(json!([
                { "Id": "01s2", "Name": "Partner", "IsStandard": false, "IsActive": false },
                { "Id": "01s1", "Name": "Standard Price Book", "IsStandard": true, "IsActive": true },
                { "Id": "01s3", "Name": "Partner", "IsStandard": false, "IsActive": true },
            ])),
        )
        .unwrap();
        assert_eq!(books.for_level("1").unwrap().id, "01s1");
        assert_eq!(books.for_level("2").unwrap().id, "01s3", "the active one");
        assert!(books.for_level("3").is_none());
        assert_eq!(books.missing, vec![("3".into(), "Nowhere".into())]);
        assert!(books.manages("01s3") && !books.manages("01s2"));
        assert!(PriceBooks::from_rows(&config, &[]).is_err());
    }

    #[test]
    fn a_product_row_reads_with_its_entries() {
        let row = rows(json!([{
            "Id": "01tA", "Name": "Widget", "IsActive": true, "NetSuite_Id__c": "7",
            "PricebookEntries": { "done": true, "totalSize": 1, "records": [
                { "Id": "01uA", "Pricebook2Id": "01s1", "CurrencyIsoCode": "EUR", "UnitPrice": 23.5, "IsActive": true }
            ]}
        }]));
        let product = ExistingProduct::from_row(&row[0]);
        assert!(product.active());
        assert_eq!(product.fields.get("Description"), Some(&Value::Null));
        assert_eq!(
            product.entries,
            vec![ExistingEntry {
                id: "01uA".into(),
                book_id: "01s1".into(),
                currency: "EUR".into(),
                price: 23.5,
                active: true
            }]
        );
    }
}

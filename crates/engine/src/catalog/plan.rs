//! Deciding what to write for one item: the Product2 fields that differ, the price book
//! entries to create or update, the field-level changes a dry run shows. Pure: the caller reads
//! both sides first and writes after.
//!
//! - A present item: its product is upserted by `NetSuite_Id__c` with the fields that differ
//!   (all of them when it is new); each mapped price is an entry in its book and currency,
//!   created when missing and updated when its price or active flag differs. An inactive item
//!   makes its product and entries inactive.
//! - Entries in a managed book (standard or configured) and a mapped currency that NetSuite no
//!   longer prices are deactivated, never deleted.
//! - A custom book's entry needs a standard entry of the same currency first (Salesforce
//!   refuses it otherwise): without one, the price is left out with a warning.
//! - A gone item (deleted, or its type no longer synced): its product and every entry of it are
//!   deactivated; nothing else changes.

use std::collections::BTreeMap;

use crate::result::FieldChange;
use serde_json::{json, Map, Value};

use super::books::{ExistingProduct, PriceBooks};
use super::item::{ItemDoc, Record};

/// What a sync is about.
#[derive(Debug, Clone)]
pub enum Target {
    Item(ItemDoc),
    /// The item is deleted or no longer of a synced type: deactivate its product.
    Gone {
        item_id: String,
    },
}

impl Target {
    pub fn item_id(&self) -> &str {
        match self {
            Self::Item(doc) => &doc.item_id,
            Self::Gone { item_id } => item_id,
        }
    }
}

/// A price book entry to create.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryCreate {
    /// In the standard book (written before any custom book's entries).
    pub standard: bool,
    /// Pricebook2Id, CurrencyIsoCode, UnitPrice, IsActive; Product2Id is added at the write.
    pub record: Record,
}

/// The writes of one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemPlan {
    pub item_id: String,
    /// The product, when Salesforce has it.
    pub product_id: Option<String>,
    /// The upsert body (by `NetSuite_Id__c`), when the product is new or differs.
    pub product_write: Option<Record>,
    pub creates: Vec<EntryCreate>,
    /// Entry updates, each with its `Id`.
    pub updates: Vec<Record>,
    pub changes: Vec<FieldChange>,
    pub warnings: Vec<String>,
    /// The product goes from active to inactive.
    pub deactivates: bool,
    /// Some price could not be placed (a missing book, no standard price): the link keeps no
    /// hash, so the next run looks again.
    pub incomplete: bool,
    /// `product_id` is an existing unlinked product matched by `catalog.product_match_field`:
    /// `product_write` (which then carries `NetSuite_Id__c`) is an update by `Id`, not an upsert.
    pub links_existing: bool,
}

impl ItemPlan {
    pub fn writes_anything(&self) -> bool {
        self.product_write.is_some() || !self.creates.is_empty() || !self.updates.is_empty()
    }
}

/// Prices closer than this are equal (Salesforce stores currency amounts rounded).
const PRICE_EPSILON: f64 = 1e-6;

fn change(record: &str, field: &str, before: Option<&Value>, after: &Value) -> FieldChange {
    let encode = |v: &Value| (!v.is_null()).then(|| v.clone());
    FieldChange {
        record: record.to_string(),
        field: field.to_string(),
        before: before.and_then(encode),
        after: encode(after),
    }
}

/// A text value as compared: trimmed, empty as null.
fn normalised(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(s)) if s.trim().is_empty() => Value::Null,
        Some(Value::String(s)) => Value::String(s.trim().to_string()),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

fn entry_label(books: &PriceBooks, book_id: &str, currency: &str) -> String {
    format!(
        "salesforce.PricebookEntry:{}/{currency}",
        books.name_of(book_id).unwrap_or(book_id)
    )
}

/// Plans the writes that bring Salesforce to `target`.
pub fn plan_item(
    target: &Target,
    existing: Option<&ExistingProduct>,
    books: &PriceBooks,
    mapped_currencies: &[String],
) -> ItemPlan {
    let mut plan = ItemPlan {
        item_id: target.item_id().to_string(),
        product_id: existing.map(|p| p.id.clone()),
        ..Default::default()
    };
    match target {
        Target::Item(doc) => plan_present(&mut plan, doc, existing, books, mapped_currencies),
        Target::Gone { .. } => {
            if let Some(product) = existing {
                plan_gone(&mut plan, product, books);
            }
        }
    }
    plan
}

/// Plans the writes that link `target`'s item to `candidate`, an existing product without
/// `NetSuite_Id__c` whose `field` equals the item's `itemId`: the product gets the item's id
/// and the fields that differ, its entries are reused (a standard entry in the same currency is
/// updated, never duplicated) and the missing ones created.
pub fn plan_link(
    target: &Target,
    candidate: &ExistingProduct,
    field: &str,
    books: &PriceBooks,
    mapped_currencies: &[String],
) -> ItemPlan {
    let mut plan = plan_item(target, Some(candidate), books, mapped_currencies);
    plan.links_existing = true;
    let body = plan.product_write.get_or_insert_with(Map::new);
    body.insert("NetSuite_Id__c".into(), json!(plan.item_id));
    plan.changes.insert(
        0,
        change(
            "salesforce.Product2",
            "NetSuite_Id__c",
            None,
            &json!(plan.item_id),
        ),
    );
    let code = match target {
        Target::Item(doc) => doc.code.as_str(),
        Target::Gone { .. } => "",
    };
    plan.warnings.insert(
        0,
        format!(
            "item {}: link existing product {} ({field} = {code:?}) instead of creating one",
            plan.item_id, candidate.id
        ),
    );
    plan
}

fn plan_present(
    plan: &mut ItemPlan,
    doc: &ItemDoc,
    existing: Option<&ExistingProduct>,
    books: &PriceBooks,
    mapped_currencies: &[String],
) {
    let mut body = Map::new();
    for (field, wanted) in doc.product_fields() {
        let current = existing.map(|p| normalised(p.fields.get(field)));
        if current.as_ref() != Some(&wanted) {
            plan.changes.push(change(
                "salesforce.Product2",
                field,
                current.as_ref(),
                &wanted,
            ));
            body.insert(field.to_string(), wanted);
        }
    }
    if !body.is_empty() {
        body.insert("NetSuite_Id__c".into(), json!(doc.item_id));
        plan.product_write = Some(body);
    }
    plan.deactivates = existing.is_some_and(ExistingProduct::active) && !doc.active;

    let entries = existing.map_or(&[][..], |p| p.entries.as_slice());
    let find = |book: &str, currency: &str| {
        entries
            .iter()
            .find(|e| e.book_id == book && e.currency == currency)
    };
    // (book id, currency) → price, standard book first so its creates come first.
    let mut wanted: BTreeMap<(bool, String, String), f64> = BTreeMap::new();
    for (key, price) in &doc.prices {
        let Some(book) = books.for_level(&key.level) else {
            plan.incomplete = true;
            let name = books
                .missing
                .iter()
                .find(|(l, _)| l == &key.level)
                .map_or("?", |(_, n)| n.as_str());
            plan.warnings.push(format!(
                "item {}: price level {} maps to price book {name:?}, which Salesforce does not have: its prices are not written",
                doc.item_id, key.level
            ));
            continue;
        };
        wanted.insert(
            (!book.standard, book.id.clone(), key.currency.clone()),
            *price,
        );
    }
    let standard_id = books.standard.id.clone();
    let has_standard = |currency: &str, wanted: &BTreeMap<(bool, String, String), f64>| {
        wanted.contains_key(&(false, standard_id.clone(), currency.to_string()))
            || find(&standard_id, currency).is_some()
    };
    for ((custom, book_id, currency), price) in &wanted {
        let label = entry_label(books, book_id, currency);
        if *custom && !has_standard(currency, &wanted) {
            plan.incomplete = true;
            plan.warnings.push(format!(
                "item {}: no standard price in {currency}, so its {} price is not written",
                doc.item_id,
                books.name_of(book_id).unwrap_or(book_id)
            ));
            continue;
        }
        match find(book_id, currency) {
            None => {
                let mut record = Map::new();
                record.insert("Pricebook2Id".into(), json!(book_id));
                record.insert("CurrencyIsoCode".into(), json!(currency));
                record.insert("UnitPrice".into(), json!(price));
                record.insert("IsActive".into(), json!(doc.active));
                plan.changes
                    .push(change(&label, "UnitPrice", None, &json!(price)));
                plan.changes
                    .push(change(&label, "IsActive", None, &json!(doc.active)));
                plan.creates.push(EntryCreate {
                    standard: !custom,
                    record,
                });
            }
            Some(entry) => {
                let mut update = Map::new();
                if (entry.price - price).abs() > PRICE_EPSILON {
                    plan.changes.push(change(
                        &label,
                        "UnitPrice",
                        Some(&json!(entry.price)),
                        &json!(price),
                    ));
                    update.insert("UnitPrice".into(), json!(price));
                }
                if entry.active != doc.active {
                    plan.changes.push(change(
                        &label,
                        "IsActive",
                        Some(&json!(entry.active)),
                        &json!(doc.active),
                    ));
                    update.insert("IsActive".into(), json!(doc.active));
                }
                if !update.is_empty() {
                    update.insert("Id".into(), json!(entry.id));
                    plan.updates.push(update);
                }
            }
        }
    }
    // Managed entries NetSuite no longer prices: deactivated.
    for entry in entries {
        let priced = wanted
            .keys()
            .any(|(_, book, currency)| book == &entry.book_id && currency == &entry.currency);
        let managed = books.manages(&entry.book_id) && mapped_currencies.contains(&entry.currency);
        if entry.active && managed && !priced {
            deactivate_entry(plan, books, entry);
        }
    }
}

fn deactivate_entry(plan: &mut ItemPlan, books: &PriceBooks, entry: &super::books::ExistingEntry) {
    let label = entry_label(books, &entry.book_id, &entry.currency);
    plan.changes.push(change(
        &label,
        "IsActive",
        Some(&json!(true)),
        &json!(false),
    ));
    let mut update = Map::new();
    update.insert("Id".into(), json!(entry.id));
    update.insert("IsActive".into(), json!(false));
    plan.updates.push(update);
}

fn plan_gone(plan: &mut ItemPlan, product: &ExistingProduct, books: &PriceBooks) {
    if product.active() {
        plan.changes.push(change(
            "salesforce.Product2",
            "IsActive",
            Some(&json!(true)),
            &json!(false),
        ));
        let mut body = Map::new();
        body.insert("IsActive".into(), json!(false));
        body.insert("NetSuite_Id__c".into(), json!(plan.item_id));
        plan.product_write = Some(body);
        plan.deactivates = true;
    }
    for entry in product.entries.iter().filter(|e| e.active) {
        deactivate_entry(plan, books, entry);
    }
}

#[cfg(test)]
mod tests;

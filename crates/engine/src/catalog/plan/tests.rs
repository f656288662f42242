use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::catalog::books::{ExistingEntry, ExistingProduct, PriceBooks};
use crate::catalog::item::{ItemDoc, PriceKey};

fn books(custom: &[(&str, &str)]) -> PriceBooks {
    let mut config = crate::Config::load_from(None, Vec::new()).unwrap().catalog;
    let mut rows = vec![
        json!({ "Id": "01sSTD", "Name": "Standard Price Book", "IsStandard": true, "IsActive": true }),
    ];
    for (level, name) in custom {
        config
            .price_books
            .insert(level.to_string(), name.to_string());
        rows.push(json!({ "Id": format!("01s{level}"), "Name": name, "IsStandard": false, "IsActive": true }));
    }
    let rows: Vec<Record> = rows
        .into_iter()
        .map(|r| r.as_object().cloned().unwrap())
        .collect();
    PriceBooks::from_rows(&config, &rows).unwrap()
}

fn currencies() -> Vec<String> {
    vec!["EUR".into(), "GBP".into(), "USD".into()]
}

fn doc(prices: &[(&str, &str, f64)]) -> ItemDoc {
    ItemDoc {
        item_id: "7".into(),
        item_type: "InvtPart".into(),
        name: "Standard Widget".into(),
        code: "WIDGET-100".into(),
        description: Some("A widget".into()),
        active: true,
        family: Some("Hardware".into()),
        unit: None,
        prices: prices
            .iter()
            .map(|(level, currency, price)| {
                (
                    PriceKey {
                        level: level.to_string(),
                        currency: currency.to_string(),
                    },
                    *price,
                )
            })
            .collect::<BTreeMap<_, _>>(),
        modified: None,
    }
}

fn entry(id: &str, book: &str, currency: &str, price: f64, active: bool) -> ExistingEntry {
    ExistingEntry {
        id: id.into(),
        book_id: book.into(),
        currency: currency.into(),
        price,
        active,
    }
}

fn product(doc: &ItemDoc, entries: Vec<ExistingEntry>) -> ExistingProduct {
    ExistingProduct {
        id: "01tP".into(),
        fields: doc
            .product_fields()
            .into_iter()
            .map(|(f, v)| (f.to_string(), v))
            .collect(),
        entries,
    }
}

#[test]
fn a_new_item_upserts_the_product_and_creates_standard_entries_before_custom_ones() {
    let books = books(&[("2", "Partner Price Book")]);
    let doc = doc(&[("1", "USD", 25.0), ("2", "USD", 20.0), ("1", "EUR", 23.0)]);
    let plan = plan_item(&Target::Item(doc), None, &books, &currencies());
    let body = plan.product_write.as_ref().unwrap();
    assert_eq!(body["NetSuite_Id__c"], "7");
    assert_eq!(body["Name"], "Standard Widget");
    assert_eq!(body["Family"], "Hardware");
    let order: Vec<(bool, Value, Value)> = plan
        .creates
        .iter()
        .map(|c| {
            (
                c.standard,
                c.record["Pricebook2Id"].clone(),
                c.record["CurrencyIsoCode"].clone(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (true, json!("01sSTD"), json!("EUR")),
            (true, json!("01sSTD"), json!("USD")),
            (false, json!("01s2"), json!("USD")),
        ]
    );
    assert!(plan.updates.is_empty() && !plan.incomplete);
    assert!(plan.changes.iter().any(|c| c.record
        == "salesforce.PricebookEntry:Partner Price Book/USD"
        && c.field == "UnitPrice"
        && c.after == Some(serde_json::json!(20.0))));
}

#[test]
fn an_unchanged_item_plans_nothing_and_a_price_change_only_its_entry() {
    let books = books(&[]);
    let doc = doc(&[("1", "USD", 25.0), ("1", "EUR", 23.0)]);
    let existing = product(
        &doc,
        vec![
            entry("01uU", "01sSTD", "USD", 25.0, true),
            entry("01uE", "01sSTD", "EUR", 23.0, true),
        ],
    );
    let same = plan_item(
        &Target::Item(doc.clone()),
        Some(&existing),
        &books,
        &currencies(),
    );
    assert!(!same.writes_anything(), "{same:?}");

    let mut repriced = doc.clone();
    repriced.prices.insert(
        PriceKey {
            level: "1".into(),
            currency: "EUR".into(),
        },
        24.5,
    );
    let plan = plan_item(
        &Target::Item(repriced),
        Some(&existing),
        &books,
        &currencies(),
    );
    assert!(plan.product_write.is_none() && plan.creates.is_empty());
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.updates[0]["Id"], "01uE");
    assert_eq!(plan.updates[0]["UnitPrice"], 24.5);
    assert!(!plan.updates[0].contains_key("IsActive"));
}

#[test]
fn an_inactive_item_deactivates_its_product_and_entries() {
    let books = books(&[]);
    let active = doc(&[("1", "USD", 25.0)]);
    let existing = product(&active, vec![entry("01uU", "01sSTD", "USD", 25.0, true)]);
    let mut inactive = active.clone();
    inactive.active = false;
    let plan = plan_item(
        &Target::Item(inactive),
        Some(&existing),
        &books,
        &currencies(),
    );
    assert!(plan.deactivates);
    let body = plan.product_write.unwrap();
    assert_eq!(body["IsActive"], false);
    assert!(!body.contains_key("Name"), "only what differs is written");
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.updates[0]["IsActive"], false);
}

#[test]
fn a_gone_item_deactivates_everything_and_an_unknown_one_nothing() {
    let books = books(&[]);
    let doc = doc(&[("1", "USD", 25.0)]);
    let existing = product(
        &doc,
        vec![
            entry("01uU", "01sSTD", "USD", 25.0, true),
            entry("01uX", "01sOTHER", "USD", 22.0, true),
            entry("01uO", "01sSTD", "EUR", 23.0, false),
        ],
    );
    let gone = Target::Gone {
        item_id: "7".into(),
    };
    let plan = plan_item(&gone, Some(&existing), &books, &currencies());
    assert!(plan.deactivates);
    assert_eq!(plan.product_write.as_ref().unwrap()["IsActive"], false);
    let ids: Vec<&Value> = plan.updates.iter().map(|u| &u["Id"]).collect();
    assert_eq!(ids, vec![&json!("01uU"), &json!("01uX")]);
    let nothing = plan_item(&gone, None, &books, &currencies());
    assert!(!nothing.writes_anything());
}

#[test]
fn a_price_netsuite_dropped_is_deactivated_in_managed_books_only() {
    let books = books(&[]);
    let doc = doc(&[("1", "USD", 25.0)]);
    let existing = product(
        &doc,
        vec![
            entry("01uU", "01sSTD", "USD", 25.0, true),
            entry("01uG", "01sSTD", "GBP", 20.0, true),
            entry("01uJ", "01sSTD", "JPY", 3000.0, true),
            entry("01uX", "01sHUMAN", "USD", 19.0, true),
        ],
    );
    let plan = plan_item(&Target::Item(doc), Some(&existing), &books, &currencies());
    assert_eq!(plan.updates.len(), 1, "{:?}", plan.updates);
    assert_eq!(plan.updates[0]["Id"], "01uG");
}

#[test]
fn a_missing_book_or_standard_price_is_a_warning_and_leaves_the_plan_incomplete() {
    let mut books = books(&[("2", "Partner Price Book")]);
    books.missing.push(("3".into(), "Gone Book".into()));
    let doc = doc(&[("1", "USD", 25.0), ("2", "EUR", 20.0), ("3", "USD", 1.0)]);
    let plan = plan_item(&Target::Item(doc), None, &books, &currencies());
    assert!(plan.incomplete);
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(plan.warnings.iter().any(|w| w.contains("Gone Book")));
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("no standard price in EUR")));
    assert_eq!(plan.creates.len(), 1, "only the standard USD entry");
}

#[test]
fn a_link_writes_the_item_id_by_id_and_reuses_the_standard_entry() {
    let books = books(&[]);
    let doc = doc(&[("1", "USD", 25.0), ("1", "EUR", 23.0)]);
    // Same fields as the item, a standard USD entry already there at another price.
    let existing = product(&doc, vec![entry("01uU", "01sSTD", "USD", 30.0, true)]);
    let plan = plan_link(
        &Target::Item(doc),
        &existing,
        "ProductCode",
        &books,
        &currencies(),
    );
    assert!(plan.links_existing);
    assert_eq!(plan.product_id.as_deref(), Some("01tP"));
    let body = plan.product_write.as_ref().unwrap();
    assert_eq!(body.len(), 1, "only the id: the fields agree: {body:?}");
    assert_eq!(body["NetSuite_Id__c"], "7");
    assert_eq!(plan.creates.len(), 1, "EUR only: {:?}", plan.creates);
    assert_eq!(plan.creates[0].record["CurrencyIsoCode"], "EUR");
    assert_eq!(
        plan.updates,
        vec![json!({ "Id": "01uU", "UnitPrice": 25.0 })
            .as_object()
            .cloned()
            .unwrap()]
    );
    assert_eq!(plan.changes[0].field, "NetSuite_Id__c");
    assert!(
        plan.warnings[0].contains("link existing product 01tP (ProductCode = \"WIDGET-100\")"),
        "{:?}",
        plan.warnings
    );
}

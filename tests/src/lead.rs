//! Lead-to-cash set-up the whole-mesh tests share: a catalog run through the gateway, accounts
//! and opportunities entered as a sales rep would, and the prices the catalog left.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::{text, TestMesh, ADMIN_KEY, SF_KEY};

pub fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

pub fn number(value: Option<&Value>) -> f64 {
    match value {
        Some(Value::Number(n)) => n.as_f64().unwrap(),
        Some(Value::String(s)) => s.parse().unwrap(),
        other => panic!("not a number: {other:?}"),
    }
}

/// Runs a full catalog run through the gateway and waits for it to finish.
pub async fn run_catalog(mesh: &TestMesh) -> Value {
    let (status, run) = mesh
        .post(
            "/v1/catalog/runs",
            Some(ADMIN_KEY),
            Some(json!({ "mode": "full" })),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    let id = run["id"].as_str().expect("run id").to_string();
    for _ in 0..600 {
        let (status, run) = mesh
            .get(&format!("/v1/catalog/runs/{id}"), Some(ADMIN_KEY))
            .await;
        assert_eq!(status, 200, "{run}");
        if run["state"] != "running" {
            assert_eq!(run["state"], "done", "{run}");
            return run;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("catalog run {id} did not finish");
}

pub fn standard_book(mesh: &TestMesh) -> String {
    mesh.sandbox
        .sf_records("Pricebook2")
        .into_iter()
        .find(|b| b.get("IsStandard") == Some(&json!(true)))
        .and_then(|b| text(b.get("Id")))
        .expect("standard price book")
}

/// The item id, product id, standard entry id and price of the item with `item_code` in
/// `currency`, as the catalog sync left them.
pub fn priced(mesh: &TestMesh, item_code: &str, currency: &str) -> (String, String, String, f64) {
    let product = mesh
        .sandbox
        .sf_records("Product2")
        .into_iter()
        .find(|p| {
            text(p.get("ProductCode")).as_deref() == Some(item_code)
                && text(p.get("NetSuite_Id__c")).is_some()
        })
        .unwrap_or_else(|| panic!("no synced product for {item_code}"));
    let product_id = text(product.get("Id")).unwrap();
    let book = standard_book(mesh);
    let entry = mesh
        .sandbox
        .sf_records("PricebookEntry")
        .into_iter()
        .find(|e| {
            text(e.get("Product2Id")) == Some(product_id.clone())
                && text(e.get("Pricebook2Id")) == Some(book.clone())
                && text(e.get("CurrencyIsoCode")).as_deref() == Some(currency)
        })
        .unwrap_or_else(|| panic!("no {currency} standard price for {item_code}"));
    (
        text(product.get("NetSuite_Id__c")).unwrap(),
        product_id,
        text(entry.get("Id")).unwrap(),
        number(entry.get("UnitPrice")),
    )
}

/// A new account with addresses, as a sales rep would enter it.
pub fn new_account(mesh: &TestMesh, name: &str) -> String {
    mesh.sandbox
        .sf_insert(
            "Account",
            object(json!({
                "Name": name,
                "Phone": "+44 20 7946 0000",
                "BillingStreet": "1 Canal Street",
                "BillingCity": "Manchester",
                "BillingPostalCode": "M1 3HE",
                "BillingCountry": "United Kingdom",
                "ShippingStreet": "9 Dock Road",
                "ShippingCity": "Liverpool",
                "ShippingPostalCode": "L3 4AA",
                "ShippingCountry": "United Kingdom",
            })),
        )
        .expect("account inserted")
}

/// An opportunity with `lines` of (item code, quantity, discount %) at standard prices in
/// `currency`, then moved to `stage`.
pub fn new_opportunity(
    mesh: &TestMesh,
    account: &str,
    currency: &str,
    lines: &[(&str, f64, f64)],
    stage: &str,
) -> String {
    let id = mesh
        .sandbox
        .sf_insert(
            "Opportunity",
            object(json!({
                "Name": format!("Order {}", uuid::Uuid::new_v4().simple()),
                "AccountId": account,
                "StageName": "Prospecting",
                "CloseDate": "2026-11-20",
                "CurrencyIsoCode": currency,
                "Pricebook2Id": standard_book(mesh),
                "Purchase_Order__c": "PO-7781",
            })),
        )
        .expect("opportunity inserted");
    for (code, quantity, discount) in lines {
        let (_, _, entry, price) = priced(mesh, code, currency);
        mesh.sandbox
            .sf_insert(
                "OpportunityLineItem",
                object(json!({
                    "OpportunityId": id,
                    "PricebookEntryId": entry,
                    "Quantity": quantity,
                    "UnitPrice": price,
                    "Discount": discount,
                })),
            )
            .expect("line inserted");
    }
    set_stage(mesh, &id, stage);
    id
}

pub fn set_stage(mesh: &TestMesh, id: &str, stage: &str) {
    mesh.sandbox
        .sf_update("Opportunity", id, object(json!({ "StageName": stage })))
        .expect("stage set");
}

/// A won opportunity of `account` with `lines` in `currency`, synced by its button: its id and
/// the sync's answer (checked to be `200`).
pub async fn won_order(
    mesh: &TestMesh,
    account: &str,
    currency: &str,
    lines: &[(&str, f64, f64)],
) -> (String, Value) {
    let opportunity = new_opportunity(mesh, account, currency, lines, "Closed Won");
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/opportunities/{opportunity}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (opportunity, body)
}

/// A NetSuite user's transform ("Bill", "Accept Payment", "Credit"); the new record's id.
pub async fn transform(mesh: &TestMesh, from: &str, id: &str, to: &str, body: Value) -> String {
    let url = format!(
        "{}/__sandbox/netsuite/records/{from}/{id}/!transform/{to}",
        mesh.sandbox_urls.netsuite
    );
    let answer: Value = mesh
        .http
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id"]
        .as_str()
        .unwrap_or_else(|| panic!("transform refused: {answer}"))
        .to_string()
}

//! Estimates over the record API: an upsert by external id with item lines priced like a sales
//! order's, SuiteQL's `transaction` type `Estimate`, and the estimate → sales order transform,
//! which copies the lines, links the order to the estimate and leaves the estimate Processed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

async fn create(h: &Harness, record_type: &str, body: Value) -> String {
    let response = h
        .ns(
            Method::POST,
            &format!("record/v1/{record_type}"),
            Some(body),
        )
        .await;
    assert_eq!(response.status(), 204);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location.rsplit('/').next().unwrap().to_owned()
}

async fn get(h: &Harness, path: &str) -> Value {
    let response = h.ns(Method::GET, path, None).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn suiteql(h: &Harness, q: &str) -> Vec<Value> {
    let response = h
        .ns(Method::POST, "query/v1/suiteql", Some(json!({ "q": q })))
        .await;
    assert_eq!(response.status(), 200, "{q}");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_estimate_upserts_by_external_id_and_becomes_a_linked_sales_order_by_transform() {
    let h = empty().await;
    let customer = create(&h, "customer", json!({ "companyName": "Quoted Ltd" })).await;
    let item = create(
        &h,
        "serviceSaleItem",
        json!({ "itemId": "SVC-1", "basePrice": 150 }),
    )
    .await;
    let body = json!({ "entity": { "id": customer }, "dueDate": "2027-01-31", "title": "Q-1",
        "item": { "items": [
            { "item": { "id": item }, "quantity": 2, "rate": 135, "description": "Setup" },
            { "item": { "id": item }, "quantity": 1 } ] } });
    let path = "record/v1/estimate/eid:0Q0Dn0000000001KAA";
    let response = h.ns(Method::PUT, path, Some(body.clone())).await;
    assert_eq!(response.status(), 204);
    let estimate = get(
        &h,
        "record/v1/estimate/eid:0Q0Dn0000000001KAA?expandSubResources=true",
    )
    .await;
    let id = estimate["id"].as_str().unwrap().to_owned();
    assert_eq!(estimate["tranId"], format!("EST{id}"));
    assert_eq!(estimate["status"]["refName"], "Open");
    assert_eq!(estimate["total"], 420.0, "2 × 135 + 150 at the base price");
    assert_eq!(estimate["dueDate"], "2027-01-31");
    assert_eq!(estimate["item"]["items"].as_array().unwrap().len(), 2);
    // The same upsert again updates the one estimate (lines replaced), it never adds one.
    let response = h
        .ns(Method::PUT, &format!("{path}?replace=item"), Some(body))
        .await;
    assert_eq!(response.status(), 204);
    let rows = suiteql(
        &h,
        "SELECT id, type, status, externalid, foreigntotal FROM transaction WHERE type = 'Estimate'",
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["externalid"], "0Q0Dn0000000001KAA");
    assert_eq!(
        rows[0]["foreigntotal"], "420",
        "SuiteQL shows numbers as text"
    );

    let response = h
        .ns(
            Method::POST,
            &format!("record/v1/estimate/{id}/!transform/salesOrder"),
            Some(json!({ "externalId": "006Dn0000000001IAA", "tranDate": "2026-12-31" })),
        )
        .await;
    assert_eq!(response.status(), 204);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/record/v1/salesOrder/"), "{location}");
    let order = get(
        &h,
        "record/v1/salesOrder/eid:006Dn0000000001IAA?expandSubResources=true",
    )
    .await;
    assert_eq!(order["createdFrom"]["id"], id.as_str());
    assert_eq!(
        order["createdFrom"]["refName"],
        format!("Estimate #EST{id}")
    );
    assert_eq!(order["entity"]["id"], customer.as_str());
    assert_eq!(order["total"], 420.0);
    assert_eq!(order["tranDate"], "2026-12-31");
    let lines = order["item"]["items"].as_array().unwrap();
    assert_eq!(
        (
            lines[0]["quantity"].clone(),
            lines[0]["rate"].clone(),
            lines[0]["description"].clone()
        ),
        (json!(2.0), json!(135.0), json!("Setup"))
    );
    let estimate = get(&h, &format!("record/v1/estimate/{id}")).await;
    assert_eq!(estimate["status"]["refName"], "Processed");

    // A processed estimate is not transformed twice.
    let response = h
        .ns(
            Method::POST,
            &format!("record/v1/estimate/{id}/!transform/salesOrder"),
            None,
        )
        .await;
    assert_eq!(response.status(), 400);
    let links = suiteql(
        &h,
        &format!(
            "SELECT nexttype, linktype FROM previoustransactionlinelink WHERE previousdoc = {id}"
        ),
    )
    .await;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["nexttype"], "SalesOrd");

    // Deleting the order leaves the estimate Open again.
    let order_id = order["id"].as_str().unwrap();
    let response = h
        .ns(
            Method::DELETE,
            &format!("record/v1/salesOrder/{order_id}"),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    let estimate = get(&h, &format!("record/v1/estimate/{id}")).await;
    assert_eq!(estimate["status"]["refName"], "Open");
}

#[tokio::test]
async fn an_estimate_needs_a_customer_and_a_line() {
    let h = empty().await;
    let customer = create(&h, "customer", json!({ "companyName": "Quoted Ltd" })).await;
    for body in [
        json!({ "item": { "items": [] } }),
        json!({ "entity": { "id": customer }, "item": { "items": [] } }),
    ] {
        let response = h.ns(Method::POST, "record/v1/estimate", Some(body)).await;
        assert_eq!(response.status(), 400);
    }
    assert!(
        suiteql(&h, "SELECT id FROM transaction WHERE type = 'Estimate'")
            .await
            .is_empty()
    );
}

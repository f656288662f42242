//! Leads, prospects and customers as stages of one customer record: `entityStatus` names a
//! customer status, `stage` follows it, an unknown status is refused with nothing written, and
//! the first sales order of a lead or prospect promotes it to `CUSTOMER-Closed Won`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

async fn create(h: &Harness, path: &str, body: Value) -> String {
    let response = h.ns(Method::POST, path, Some(body)).await;
    assert_eq!(
        response.status(),
        204,
        "{path}: {:?}",
        response.text().await
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location.rsplit('/').next().unwrap().to_owned()
}

async fn get(h: &Harness, path: &str) -> Value {
    let response = h.ns(Method::GET, path, None).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_customer_record_is_a_lead_prospect_or_customer_by_its_status() {
    let h = empty().await;
    let prospect = create(
        &h,
        "record/v1/customer",
        json!({ "companyName": "Pendant Publishing", "entityStatus": { "id": "8" } }),
    )
    .await;
    let record = get(&h, &format!("record/v1/customer/{prospect}")).await;
    assert_eq!(record["entityStatus"]["id"], "8");
    assert_eq!(record["entityStatus"]["refName"], "PROSPECT-In Discussion");
    assert_eq!(record["stage"]["id"], "PROSPECT");

    // Without a status, a customer record made through REST is a customer (Closed Won).
    let plain = create(
        &h,
        "record/v1/customer",
        json!({ "companyName": "Kramerica" }),
    )
    .await;
    let record = get(&h, &format!("record/v1/customer/{plain}")).await;
    assert_eq!(record["entityStatus"]["id"], "13");
    assert_eq!(record["stage"]["id"], "CUSTOMER");

    // A new status moves the stage with it.
    let response = h
        .ns(
            Method::PATCH,
            &format!("record/v1/customer/{prospect}"),
            Some(json!({ "entityStatus": { "id": "6" } })),
        )
        .await;
    assert_eq!(response.status(), 204);
    let status = get(&h, "record/v1/customerstatus/6").await;
    assert_eq!(status["stage"]["id"], "LEAD");
    assert_eq!(status["name"], "Unqualified");

    let body: Value = h
        .ns(
            Method::POST,
            "query/v1/suiteql",
            Some(json!({ "q": format!(
                "SELECT c.entitystatus, c.stage, s.name FROM customer c JOIN customerstatus s \
                 ON s.id = c.entitystatus WHERE c.id = {prospect}"
            ) })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["items"][0],
        json!({ "links": [], "entitystatus": "6", "stage": "LEAD", "name": "Unqualified" })
    );
}

#[tokio::test]
async fn an_unknown_status_is_refused_and_nothing_is_written() {
    let h = empty().await;
    let response = h
        .ns(
            Method::POST,
            "record/v1/customer",
            Some(json!({ "companyName": "Vandelay Industries", "entityStatus": { "id": "999" } })),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_CONTENT");
    assert!(h.sandbox.ns_records("customer").is_empty());

    let id = create(
        &h,
        "record/v1/customer",
        json!({ "companyName": "Kramerica" }),
    )
    .await;
    let response = h
        .ns(
            Method::PATCH,
            &format!("record/v1/customer/{id}"),
            Some(json!({ "entityStatus": { "id": "4" } })),
        )
        .await;
    assert_eq!(response.status(), 400);
    let record = get(&h, &format!("record/v1/customer/{id}")).await;
    assert_eq!(record["entityStatus"]["id"], "13");
}

#[tokio::test]
async fn the_first_sales_order_promotes_a_prospect_and_leaves_a_customer_in_its_status() {
    let h = empty().await;
    let item = create(
        &h,
        "record/v1/serviceSaleItem",
        json!({ "itemId": "LIC-1", "basePrice": 25 }),
    )
    .await;
    let prospect = create(
        &h,
        "record/v1/customer",
        json!({ "companyName": "Pendant Publishing", "entityStatus": { "id": "10" } }),
    )
    .await;
    let renewal = create(
        &h,
        "record/v1/customer",
        json!({ "companyName": "Kramerica", "entityStatus": { "id": "15" } }),
    )
    .await;
    for customer in [&prospect, &renewal] {
        create(
            &h,
            "record/v1/salesOrder",
            json!({
                "entity": { "id": customer },
                "item": { "items": [{ "item": { "id": item }, "quantity": 1 }] },
            }),
        )
        .await;
    }
    let promoted = get(&h, &format!("record/v1/customer/{prospect}")).await;
    assert_eq!(promoted["entityStatus"]["id"], "13");
    assert_eq!(promoted["stage"]["id"], "CUSTOMER");
    let kept = get(&h, &format!("record/v1/customer/{renewal}")).await;
    assert_eq!(kept["entityStatus"]["id"], "15");
}

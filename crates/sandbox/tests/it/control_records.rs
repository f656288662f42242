//! `/__sandbox/{salesforce|netsuite}/records/…`: what a person does in the vendor's UI, over HTTP
//! on either router, seen afterwards through the vendors' real APIs and not counted as API calls.

use isthmus_sandbox::{seed, Fault, System};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::harness::{empty, seeded, Harness};

/// A control request to `base` (either router) with a JSON body.
async fn control(
    h: &Harness,
    method: Method,
    base: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut request = h.http.request(method, format!("{base}/__sandbox/{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The status and the JSON body of a control answer (`Null` when it has none).
async fn answer(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

fn id_where(records: Vec<serde_json::Map<String, Value>>, field: &str, value: &Value) -> String {
    records
        .into_iter()
        .find(|r| r.get(field) == Some(value))
        .and_then(|r| r.get("id").or_else(|| r.get("Id")).cloned())
        .and_then(|id| id.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no record with {field} = {value}"))
}

#[tokio::test]
async fn a_warehouse_user_fulfils_a_seeded_sales_order_and_the_record_api_shows_it_shipped() {
    let h = seeded().await;
    let customer = id_where(
        h.sandbox.ns_records("customer"),
        "companyName",
        &json!(seed::PENDING_ORDER_CUSTOMER),
    );
    let order = h
        .sandbox
        .ns_records("salesOrder")
        .into_iter()
        .find(|o| o["entity"]["id"] == customer)
        .expect("the seeded order pending fulfilment");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let lines: Vec<Value> = order["item"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({ "item": { "id": l["item"]["id"] }, "quantity": l["quantity"], "orderLine": l["line"] }))
        .collect();
    assert_eq!(lines.len(), 2);

    // Through the Salesforce router: the control endpoints of both systems are on both routers.
    let (status, body) = answer(
        control(
            &h,
            Method::POST,
            &h.sf,
            "netsuite/records/itemFulfillment",
            Some(json!({
                "createdFrom": { "id": order_id },
                "trackingNumbers": "1Z999AA10123456785",
                "item": { "items": lines },
            })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let fulfilment = body["id"].as_str().unwrap().to_owned();
    assert!(fulfilment.parse::<i64>().is_ok(), "{fulfilment}");
    assert_eq!(h.sandbox.calls().netsuite_total(), 0);

    let response = h
        .ns(
            Method::GET,
            &format!("record/v1/itemFulfillment/{fulfilment}?expandSubResources=true"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let shipped: Value = response.json().await.unwrap();
    assert_eq!(shipped["createdFrom"]["id"], order_id);
    assert_eq!(shipped["trackingNumbers"], "1Z999AA10123456785");
    assert_eq!(shipped["item"]["items"].as_array().unwrap().len(), 2);
    let response = h
        .ns(
            Method::GET,
            &format!("record/v1/salesOrder/{order_id}"),
            None,
        )
        .await;
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["orderStatus"]["id"], "F", "{}", order["orderStatus"]);

    let (status, read) = answer(
        control(
            &h,
            Method::GET,
            &h.ns,
            &format!("netsuite/records/itemFulfillment/{fulfilment}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(read["createdFrom"]["id"], order_id);
}

#[tokio::test]
async fn fulfil_on_a_sales_order_ships_every_open_line_with_the_given_tracking() {
    let h = seeded().await;
    let customer = id_where(
        h.sandbox.ns_records("customer"),
        "companyName",
        &json!(seed::PENDING_ORDER_CUSTOMER),
    );
    let order_id = h
        .sandbox
        .ns_records("salesOrder")
        .into_iter()
        .find(|o| o["entity"]["id"] == customer)
        .and_then(|o| o["id"].as_str().map(str::to_owned))
        .expect("the seeded order pending fulfilment");
    let (status, body) = answer(
        control(
            &h,
            Method::POST,
            &h.ns,
            &format!("netsuite/records/salesOrder/{order_id}/!transform/itemFulfillment"),
            Some(json!({ "shipStatus": { "id": "C" }, "trackingNumbers": "1Z999AA10123456786" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let fulfilment = body["id"].as_str().unwrap().to_owned();
    let shipped = h.sandbox.ns_record("itemFulfillment", &fulfilment).unwrap();
    assert_eq!(shipped["createdFrom"]["id"], order_id);
    assert_eq!(shipped["trackingNumbers"], "1Z999AA10123456786");
    assert_eq!(
        shipped["item"]["items"].as_array().unwrap().len(),
        2,
        "every open line"
    );
    assert_eq!(h.sandbox.calls().netsuite_total(), 0, "not an API call");

    let (status, body) = answer(
        control(
            &h,
            Method::POST,
            &h.ns,
            "netsuite/records/salesOrder/999999/!transform/itemFulfillment",
            None,
        )
        .await,
    )
    .await;
    assert!(matches!(status, 400 | 404), "{status}: {body}");
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn closing_an_opportunity_as_the_admin_makes_it_won_for_the_integration() {
    let h = seeded().await;
    let opportunity = id_where(
        h.sandbox.sf_records("Opportunity"),
        "Name",
        &json!(seed::OPEN_OPPORTUNITIES[0]),
    );
    let path = format!("salesforce/records/Opportunity/{opportunity}");
    let (status, before) = answer(control(&h, Method::GET, &h.ns, &path, None).await).await;
    assert_eq!(status, 200);
    assert_eq!(before["IsWon"], false);

    let (status, body) = answer(
        control(
            &h,
            Method::PATCH,
            &h.ns,
            &path,
            Some(json!({ "StageName": "Closed Won" })),
        )
        .await,
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));

    let (_, after) = answer(control(&h, Method::GET, &h.sf, &path, None).await).await;
    assert_eq!(
        (after["IsWon"].clone(), after["IsClosed"].clone()),
        (json!(true), json!(true))
    );
    let admin = id_where(
        h.sandbox.sf_records("User"),
        "Username",
        &json!("admin@isthmus.example"),
    );
    assert_eq!(after["LastModifiedById"], admin);
    let query = h
        .soql(&format!(
            "SELECT IsWon, StageName FROM Opportunity WHERE Id = '{opportunity}'"
        ))
        .await;
    let rows: Value = query.json().await.unwrap();
    assert_eq!(rows["records"][0]["IsWon"], true);
    assert_eq!(rows["records"][0]["StageName"], "Closed Won");
}

#[tokio::test]
async fn a_salesforce_record_is_created_by_the_admin_from_a_body_sent_without_a_content_type() {
    let h = empty().await;
    let response = h
        .http
        .post(format!("{}/__sandbox/salesforce/records/Account", h.sf))
        .body(r#"{"Name": "Pasted Curl Ltd", "Industry": "Retail"}"#)
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 18);
    let account = h.sandbox.sf_record("Account", id).expect("created");
    assert_eq!(account["Name"], "Pasted Curl Ltd");
    assert_ne!(
        account["CreatedById"],
        h.sandbox.salesforce_org().integration_user_id
    );
}

#[tokio::test]
async fn a_netsuite_item_is_deactivated_and_the_record_api_shows_it_inactive() {
    let h = seeded().await;
    let item = id_where(
        h.sandbox.ns_records("inventoryItem"),
        "itemId",
        &json!("WIDGET-100"),
    );
    let response = control(
        &h,
        Method::PATCH,
        &h.ns,
        &format!("netsuite/records/inventoryItem/{item}"),
        Some(json!({ "isInactive": true })),
    )
    .await;
    assert_eq!(response.status(), 204);
    let read: Value = h
        .ns(
            Method::GET,
            &format!("record/v1/inventoryItem/{item}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["isInactive"], true);
}

/// `(method, path below /__sandbox/, body or "" for none, status)` of requests that must fail.
#[rustfmt::skip]
const MISTAKES: &[(&str, &str, &str, u16)] = &[
    ("POST", "salesforce/records/Widget__c", r#"{"Name":"x"}"#, 400),
    ("POST", "salesforce/records/Account", r#"{"NoSuchField__c":1}"#, 400),
    ("POST", "salesforce/records/Account", r#"{"Name": "#, 400),
    ("POST", "salesforce/records/Account", r#"["Name"]"#, 400),
    ("POST", "salesforce/records/Account", "", 400),
    ("GET", "salesforce/records/Widget__c/001Dn0000009999", "", 400),
    ("GET", "salesforce/records/Account/001Dn0000009999", "", 404),
    ("GET", "salesforce/records/Account/not-an-id", "", 404),
    ("PATCH", "salesforce/records/Account/001Dn0000009999", r#"{"Name":"x"}"#, 404),
    ("POST", "netsuite/records/spaceship", "{}", 400),
    ("POST", "netsuite/records/customer", r#"{"noSuchField":1}"#, 400),
    ("POST", "netsuite/records/customer", "not json", 400),
    ("GET", "netsuite/records/spaceship/1", "", 400),
    ("GET", "netsuite/records/customer/999999", "", 404),
    ("GET", "netsuite/records/customer/abc", "", 404),
    ("PATCH", "netsuite/records/customer/999999", r#"{"companyName":"x"}"#, 404),
];

#[tokio::test]
async fn bad_requests_answer_400_and_missing_records_404_with_a_json_error() {
    let h = seeded().await;
    for &(method, path, body, expected) in MISTAKES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = h
            .http
            .request(method.clone(), format!("{}/__sandbox/{path}", h.ns));
        if !body.is_empty() {
            request = request.body(body);
        }
        let (status, answer) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{method} {path}: {answer}");
    }
    let (_, unknown) = answer(
        control(
            &h,
            Method::POST,
            &h.sf,
            "salesforce/records/Widget__c",
            Some(json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(unknown["code"], "INVALID_TYPE");
    let bad_stage = id_where(
        h.sandbox.sf_records("Opportunity"),
        "Name",
        &json!(seed::OPEN_OPPORTUNITIES[1]),
    );
    let (status, rejected) = answer(
        control(
            &h,
            Method::PATCH,
            &h.sf,
            &format!("salesforce/records/Opportunity/{bad_stage}"),
            Some(json!({ "StageName": "Nope" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{rejected}");
    assert!(rejected["code"].is_string());
    assert_eq!(h.sandbox.ns_records("customer").len(), seed::CUSTOMER_COUNT);
}

#[tokio::test]
async fn record_edits_are_not_api_calls_and_are_never_faulted() {
    let h = empty().await;
    h.sandbox.inject_fault(System::NetSuite, Fault::error("*"));
    h.sandbox
        .inject_fault(System::Salesforce, Fault::error("*"));
    let (status, created) = answer(
        control(
            &h,
            Method::POST,
            &h.ns,
            "netsuite/records/customer",
            Some(json!({ "companyName": "Walk-in Customer", "subsidiary": { "id": seed::US_SUBSIDIARY_ID } })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let path = format!("netsuite/records/customer/{id}");
    let patched = control(
        &h,
        Method::PATCH,
        &h.sf,
        &path,
        Some(json!({ "phone": "555-0100" })),
    )
    .await;
    assert_eq!(patched.status(), 204);
    let (_, read) = answer(control(&h, Method::GET, &h.ns, &path, None).await).await;
    assert_eq!(read["phone"], "555-0100");
    let created = control(
        &h,
        Method::POST,
        &h.sf,
        "salesforce/records/Account",
        Some(json!({ "Name": "Walk-in Account" })),
    )
    .await;
    assert_eq!(created.status(), 201);

    let calls = h.sandbox.calls();
    assert_eq!((calls.salesforce_total(), calls.netsuite_total()), (0, 0));
    assert_eq!(h.sandbox.salesforce_org().api_allocation().1, 0);
    let counters = h.sandbox.counters();
    assert_eq!(counters.netsuite.injected_faults, 0);
    assert_eq!(counters.netsuite.peak_in_flight, 0);
    assert_eq!(h.sandbox.faults(System::NetSuite).len(), 1);
}

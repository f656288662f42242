//! `X-NetSuite-PropertyNameValidation` as a plain HTTP client meets it: by default (`Warning`) a
//! field the record does not have is dropped, the write succeeds and the answer warns; `Error`
//! refuses the write and writes nothing; `Ignore` drops the field without a word.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};
use crate::signer::{authorization, Options};

const HEADER: &str = "x-netsuite-propertynamevalidation";
const WARNING: &str = "x-netsuite-warning";

async fn write(
    h: &Harness,
    method: Method,
    path: &str,
    validation: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let url = format!("{}/services/rest/{path}", h.ns);
    let mut request = h.http.request(method.clone(), &url).header(
        "authorization",
        authorization(method.as_str(), &url, &Options::default()),
    );
    if let Some(validation) = validation {
        request = request.header(HEADER, validation);
    }
    request.json(&body).send().await.unwrap()
}

fn warnings(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(WARNING)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn customers_named(h: &Harness, name: &str) -> Vec<serde_json::Map<String, Value>> {
    h.sandbox
        .ns_records("customer")
        .into_iter()
        .filter(|c| c["companyName"] == name)
        .collect()
}

#[tokio::test]
async fn by_default_an_unknown_field_is_dropped_with_a_warning_and_the_write_succeeds() {
    let h = empty().await;
    let created = write(
        &h,
        Method::POST,
        "record/v1/customer",
        None,
        json!({"companyName": "Acme", "custentity_missing": "lost"}),
    )
    .await;
    assert_eq!(created.status(), 204);
    let warned = warnings(&created);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("custentity_missing"), "{warned:?}");
    let acme = customers_named(&h, "Acme");
    assert_eq!(acme.len(), 1);
    assert!(!acme[0].contains_key("custentity_missing"));

    // An update and an upsert likewise keep the known fields and drop the unknown one.
    let id = acme[0]["id"].as_str().unwrap().to_owned();
    let updated = write(
        &h,
        Method::PATCH,
        &format!("record/v1/customer/{id}"),
        Some("Warning"),
        json!({"phone": "555-0100", "custentity_missing": "lost"}),
    )
    .await;
    assert_eq!(updated.status(), 204);
    assert_eq!(warnings(&updated).len(), 1);
    let upserted = write(
        &h,
        Method::PUT,
        "record/v1/customer/eid:ACME-2",
        None,
        json!({"companyName": "Acme Two", "custentity_other": 1}),
    )
    .await;
    assert_eq!(upserted.status(), 204);
    assert!(warnings(&upserted)[0].contains("custentity_other"));
    assert_eq!(customers_named(&h, "Acme")[0]["phone"], "555-0100");
    assert_eq!(customers_named(&h, "Acme Two").len(), 1);
}

#[tokio::test]
async fn error_refuses_the_write_and_writes_nothing() {
    let h = empty().await;
    let refused = write(
        &h,
        Method::POST,
        "record/v1/customer",
        Some("Error"),
        json!({"companyName": "Acme", "custentity_missing": "lost"}),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        "NONEXISTENT_FIELD"
    );
    assert_eq!(
        body["o:errorDetails"][0]["o:errorPath"],
        "custentity_missing"
    );
    assert!(customers_named(&h, "Acme").is_empty());

    let upsert = write(
        &h,
        Method::PUT,
        "record/v1/customer/eid:ACME-1",
        Some("error"),
        json!({"companyName": "Acme", "custentity_missing": "lost"}),
    )
    .await;
    assert_eq!(upsert.status(), 400);
    assert!(h.sandbox.ns_records("customer").is_empty());
}

#[tokio::test]
async fn ignore_drops_the_field_silently_and_a_bad_value_is_refused() {
    let h = empty().await;
    let created = write(
        &h,
        Method::POST,
        "record/v1/customer",
        Some("Ignore"),
        json!({"companyName": "Acme", "custentity_missing": "lost"}),
    )
    .await;
    assert_eq!(created.status(), 204);
    assert!(warnings(&created).is_empty());
    assert_eq!(customers_named(&h, "Acme").len(), 1);

    let bad = write(
        &h,
        Method::POST,
        "record/v1/customer",
        Some("Loudly"),
        json!({"companyName": "Other"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert!(customers_named(&h, "Other").is_empty());
}

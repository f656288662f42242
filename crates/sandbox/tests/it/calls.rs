use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::empty;

#[tokio::test]
async fn calls_are_counted_by_route_pattern_and_reset() {
    let h = empty().await;
    h.sf(
        Method::PATCH,
        "sobjects/Account/NetSuite_Id__c/1",
        Some(json!({"Name": "A"})),
    )
    .await;
    h.sf(
        Method::PATCH,
        "sobjects/Account/NetSuite_Id__c/2",
        Some(json!({"Name": "B"})),
    )
    .await;
    h.soql("SELECT Id FROM Account").await;
    h.ns(
        Method::PUT,
        "record/v1/customer/eid:A-1",
        Some(json!({"companyName": "A"})),
    )
    .await;
    h.ns(
        Method::POST,
        "query/v1/suiteql",
        Some(json!({"q": "SELECT id FROM customer"})),
    )
    .await;

    let calls = h.sandbox.calls();
    assert_eq!(calls.get("POST /services/oauth2/token"), 3);
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/sobjects/Account/NetSuite_Id__c/{value}"),
        2
    );
    assert_eq!(calls.get("GET /services/data/vXX.X/query"), 1);
    assert_eq!(
        calls.get("PUT /services/rest/record/v1/customer/eid:{externalId}"),
        1
    );
    assert_eq!(calls.get("POST /services/rest/query/v1/suiteql"), 1);
    assert_eq!((calls.salesforce_writes(), calls.netsuite_writes()), (2, 1));
    assert_eq!((calls.salesforce_total(), calls.netsuite_total()), (6, 2));

    let over_http: Value = h
        .http
        .get(format!("{}/__sandbox/calls", h.ns))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        over_http["netsuite"]["POST /services/rest/query/v1/suiteql"],
        1
    );
    let reset = h
        .http
        .post(format!("{}/__sandbox/calls/reset", h.sf))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(h.sandbox.calls().salesforce_total(), 0);
    assert_eq!(h.sandbox.calls().netsuite_total(), 0);
}

#[tokio::test]
async fn latency_is_added_to_api_calls() {
    let h = crate::harness::start(isthmus_sandbox::SandboxConfig {
        latency: std::time::Duration::from_millis(60),
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    h.sf_token().await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(60));
}

//! Fault injection and the `/__sandbox/` control endpoints, on both systems.

use std::time::{Duration, Instant};

use isthmus_sandbox::{Fault, System};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

const CUSTOMERS: &str = "GET /services/rest/record/v1/customer";

async fn list_customers(h: &Harness) -> reqwest::Response {
    h.ns(Method::GET, "record/v1/customer", None).await
}

#[tokio::test]
async fn the_next_n_matching_calls_fail_with_netsuites_503_then_calls_succeed() {
    let h = empty().await;
    h.sandbox
        .inject_fault(System::NetSuite, Fault::error(CUSTOMERS).times(2));
    for _ in 0..2 {
        let response = list_customers(&h).await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], 503);
        assert!(body["o:errorDetails"][0]["o:errorCode"].is_string());
    }
    assert_eq!(list_customers(&h).await.status(), 200);
    assert_eq!(h.sandbox.counters().netsuite.injected_faults, 2);
    assert_eq!(h.sandbox.calls().get(CUSTOMERS), 3);
    assert!(h.sandbox.faults(System::NetSuite).is_empty());
}

#[tokio::test]
async fn salesforce_faults_answer_with_its_error_array_or_the_given_body() {
    let h = empty().await;
    h.sandbox.inject_fault(
        System::Salesforce,
        Fault::error("POST /services/oauth2/token").times(1),
    );
    let response = h
        .http
        .post(format!("{}/services/oauth2/token", h.sf))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE");

    h.sandbox.inject_fault(
        System::Salesforce,
        Fault::error_with("* /services/data/*", 500, Some(json!([{"errorCode": "X"}]))).times(1),
    );
    let response = h.sf(Method::GET, "limits", None).await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.json::<Value>().await.unwrap()[0]["errorCode"], "X");
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_and_the_sandbox_keeps_serving() {
    let h = empty().await;
    h.sandbox
        .inject_fault(System::NetSuite, Fault::drop_connection(CUSTOMERS).times(1));
    let url = format!("{}/services/rest/record/v1/customer", h.ns);
    let err = h.http.get(&url).send().await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(list_customers(&h).await.status(), 200);
    assert_eq!(h.sandbox.counters().netsuite.injected_faults, 1);
}

#[tokio::test]
async fn a_timeout_holds_the_request_then_drops_it() {
    let h = empty().await;
    h.sandbox.inject_fault(
        System::NetSuite,
        Fault::timeout("*", Duration::from_millis(250)).times(1),
    );
    let started = Instant::now();
    let result = h
        .http
        .get(format!("{}/services/rest/record/v1/customer", h.ns))
        .send()
        .await;
    assert!(result.is_err());
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A client with a shorter timeout of its own gives up first.
    h.sandbox.inject_fault(
        System::NetSuite,
        Fault::timeout("*", Duration::from_secs(5)).times(1),
    );
    let started = Instant::now();
    let err = h
        .http
        .get(format!("{}/services/rest/record/v1/customer", h.ns))
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_rate_fails_some_calls_but_not_all() {
    let h = empty().await;
    h.sandbox
        .inject_fault(System::NetSuite, Fault::error(CUSTOMERS).rate(0.5));
    let mut failed = 0;
    for _ in 0..30 {
        if list_customers(&h).await.status() == 503 {
            failed += 1;
        }
    }
    assert!((5..=25).contains(&failed), "{failed} of 30 failed");
    h.sandbox.clear_faults(System::NetSuite);
    assert_eq!(list_customers(&h).await.status(), 200);
}

#[tokio::test]
async fn control_endpoints_set_latency_inject_faults_read_counters_and_reset() {
    let h = empty().await;
    let control = |path: &str| format!("{}/__sandbox/{path}", h.ns);
    let added = h
        .http
        .post(control("faults"))
        .json(&json!({ "route": CUSTOMERS, "kind": "error", "status": 502, "times": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    // The NetSuite router's control endpoint can address Salesforce too.
    h.http
        .post(control("faults"))
        .json(
            &json!({ "system": "salesforce", "route": "*", "kind": "drop_connection", "times": 1 }),
        )
        .send()
        .await
        .unwrap();
    let faults: Value = h
        .http
        .get(control("faults?system=salesforce"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults[0]["kind"], "drop_connection");
    assert_eq!(list_customers(&h).await.status(), 502);

    let set = h
        .http
        .put(control("latency"))
        .json(&json!({ "ms": 120 }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let started = Instant::now();
    assert_eq!(list_customers(&h).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    let latency: Value = h
        .http
        .get(control("latency"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latency["netsuite"]["ms"], 120);
    assert_eq!(latency["salesforce"]["ms"], 0);

    let counters: Value = h
        .http
        .get(control("counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["netsuite"]["injected_faults"], 1);
    assert_eq!(counters["netsuite"]["peak_in_flight"], 1);
    assert_eq!(counters["calls"]["netsuite"][CUSTOMERS], 2);

    let reset = h.http.post(control("reset")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(h.sandbox.counters().netsuite.injected_faults, 0);
    assert_eq!(h.sandbox.calls().netsuite_total(), 0);
    assert!(h.sandbox.faults(System::Salesforce).is_empty());
    assert_eq!(h.sandbox.latency(System::NetSuite), Duration::ZERO);
}

#[tokio::test]
async fn a_lost_answer_commits_the_netsuite_write_then_resets_the_connection() {
    let h = empty().await;
    let upsert = "PUT /services/rest/record/v1/customer/eid:{externalId}";
    h.sandbox
        .inject_fault(System::NetSuite, Fault::lost_answer(upsert).times(1));
    let url = format!("{}/services/rest/record/v1/customer/eid:LOST1", h.ns);
    let authorization = crate::signer::authorization("PUT", &url, &Default::default());
    let err = h
        .http
        .put(&url)
        .header("authorization", authorization)
        .json(&json!({ "companyName": "Lost Answer Ltd", "subsidiary": { "id": "1" } }))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err}");
    // The customer was created although the client never heard so.
    let created: Vec<_> = h
        .sandbox
        .ns_records("customer")
        .into_iter()
        .filter(|c| c.get("externalId") == Some(&json!("LOST1")))
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["companyName"], "Lost Answer Ltd");
    assert_eq!(h.sandbox.counters().netsuite.injected_faults, 1);
    assert_eq!(h.sandbox.calls().get(upsert), 1);
}

#[tokio::test]
async fn a_lost_salesforce_answer_comes_back_as_a_proxys_504_after_the_record_is_saved() {
    let h = empty().await;
    h.sandbox.inject_fault(
        System::Salesforce,
        Fault::lost_answer_with_status("POST /services/data/*", 504).times(1),
    );
    let response = h
        .sf(
            Method::POST,
            "sobjects/Account",
            Some(json!({ "Name": "Answer Lost Inc" })),
        )
        .await;
    assert_eq!(response.status(), 504);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let saved: Vec<_> = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .filter(|a| a.get("Name") == Some(&json!("Answer Lost Inc")))
        .collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(h.sandbox.counters().salesforce.injected_faults, 1);
}

#[tokio::test]
async fn a_lost_answer_can_hang_past_the_clients_deadline_after_committing() {
    let h = empty().await;
    h.sandbox.inject_fault(
        System::Salesforce,
        Fault::lost_answer_after("PATCH /services/data/*", Duration::from_secs(5)).times(1),
    );
    let id = {
        let response = h
            .sf(
                Method::POST,
                "sobjects/Account",
                Some(json!({ "Name": "Before" })),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let token = h.sf_token().await;
    let started = Instant::now();
    let err = h
        .http
        .patch(format!(
            "{}/services/data/v61.0/sobjects/Account/{id}",
            h.sf
        ))
        .bearer_auth(token)
        .json(&json!({ "Name": "After" }))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        h.sandbox.sf_record("Account", &id).unwrap()["Name"],
        "After"
    );
}

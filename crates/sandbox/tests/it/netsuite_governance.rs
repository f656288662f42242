//! Governance: NetSuite's account concurrency limit, latency inside the in-flight window, counters.

use std::time::Duration;

use futures::future::join_all;
use isthmus_sandbox::{OverLimitAnswer, SandboxConfig, System};
use reqwest::Method;
use serde_json::Value;

use crate::harness::{start, Harness};
use crate::netsuite_support::{restlet_path, signed};

async fn limited(limit: usize, latency_ms: u64, over_limit: OverLimitAnswer) -> Harness {
    start(SandboxConfig {
        netsuite_concurrency_limit: Some(limit),
        latency: Duration::from_millis(latency_ms),
        netsuite_over_limit: over_limit,
        ..SandboxConfig::default()
    })
    .await
}

async fn concurrent_gets(h: &Harness, n: usize) -> Vec<reqwest::Response> {
    join_all((0..n).map(|_| h.ns(Method::GET, "record/v1/customer", None))).await
}

#[tokio::test]
async fn the_call_past_the_limit_is_refused_at_once_with_429_and_retry_after() {
    let h = limited(2, 300, OverLimitAnswer::default()).await;
    let responses = concurrent_gets(&h, 3).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 429]);
    let refused = responses.into_iter().find(|r| r.status() == 429).unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["title"], "Too Many Requests");
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        "CONCURRENCY_LIMIT_EXCEEDED"
    );
    let counters = h.sandbox.counters().netsuite;
    assert_eq!(counters.peak_in_flight, 2);
    assert_eq!(counters.rejected_over_limit, 1);
    assert_eq!(counters.in_flight, 0);
    // Refused calls are still calls.
    assert_eq!(h.sandbox.calls().netsuite_total(), 3);
}

#[tokio::test]
async fn the_over_limit_code_and_retry_after_are_configurable() {
    let answer = OverLimitAnswer {
        error_code: "SSS_REQUEST_LIMIT_EXCEEDED".into(),
        retry_after_seconds: None,
    };
    let h = limited(1, 300, answer).await;
    let responses = concurrent_gets(&h, 2).await;
    let refused = responses
        .into_iter()
        .find(|r| r.status() == 429)
        .expect("one call refused");
    assert!(refused.headers().get("retry-after").is_none());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        "SSS_REQUEST_LIMIT_EXCEEDED"
    );
}

#[tokio::test]
async fn the_limit_is_shared_by_rest_suiteql_and_restlets_and_restlets_get_400() {
    let h = limited(2, 300, OverLimitAnswer::default()).await;
    let restlet = restlet_path("customscript_isthmus_summary", "1", "customerId=101");
    let (record, query, over) = tokio::join!(
        h.ns(Method::GET, "record/v1/customer", None),
        h.ns(
            Method::POST,
            "query/v1/suiteql",
            Some(serde_json::json!({ "q": "SELECT id FROM customer" }))
        ),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            signed(&h, Method::GET, &restlet, None).await
        }
    );
    assert_eq!(
        (record.status().as_u16(), query.status().as_u16()),
        (200, 200)
    );
    assert_eq!(over.status(), 400);
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["error"]["code"], "SSS_REQUEST_LIMIT_EXCEEDED");
    assert_eq!(h.sandbox.counters().netsuite.rejected_over_limit, 1);
}

#[tokio::test]
async fn latency_is_spent_inside_the_window_so_the_limit_bounds_throughput() {
    // Five calls, two at a time, 150 ms each: callers that retry on 429 need three rounds.
    let h = limited(2, 150, OverLimitAnswer::default()).await;
    let started = std::time::Instant::now();
    let calls = (0..5).map(|_| async {
        loop {
            let response = h.ns(Method::GET, "record/v1/customer", None).await;
            if response.status() != 429 {
                return response.status();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let statuses = join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert!(started.elapsed() >= Duration::from_millis(450));
    let counters = h.sandbox.counters().netsuite;
    assert_eq!(counters.peak_in_flight, 2);
    assert!(counters.rejected_over_limit > 0);
}

#[tokio::test]
async fn salesforce_has_no_limit_but_its_peak_is_counted() {
    let h = limited(1, 200, OverLimitAnswer::default()).await;
    let token = h.sf_token().await;
    let calls = (0..6).map(|_| {
        h.http
            .get(format!("{}/services/data/v61.0/limits", h.sf))
            .bearer_auth(&token)
            .send()
    });
    let responses = join_all(calls).await;
    assert!(responses
        .iter()
        .all(|r| r.as_ref().unwrap().status() == 200));
    let counters = h.sandbox.counters().salesforce;
    assert_eq!(counters.peak_in_flight, 6);
    assert_eq!(counters.rejected_over_limit, 0);
    h.sandbox.set_latency(System::Salesforce, Duration::ZERO);
    assert_eq!(h.sandbox.latency(System::Salesforce), Duration::ZERO);
    assert_eq!(
        h.sandbox.latency(System::NetSuite),
        Duration::from_millis(200)
    );
}

#[tokio::test]
async fn the_other_tenants_slots_leave_us_only_the_free_share() {
    let h = start(SandboxConfig {
        netsuite_concurrency_limit: Some(5),
        latency: Duration::from_millis(300),
        netsuite_other_tenant: vec![isthmus_sandbox::TenantStep {
            after_ms: 0,
            slots: 3,
        }],
        ..SandboxConfig::default()
    })
    .await;
    let responses = concurrent_gets(&h, 4).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 429, 429]);
    let counters = h.sandbox.counters().netsuite;
    assert_eq!(counters.peak_in_flight, 2, "ours never past the free share");
    assert_eq!(counters.other_tenant_in_flight, 3);
    assert_eq!(counters.rejected_over_limit, 2);
    assert_eq!(h.sandbox.calls().netsuite_total(), 4);
}

#[tokio::test]
async fn the_other_tenants_load_is_set_and_read_over_the_control_api() {
    let h = limited(3, 300, OverLimitAnswer::default()).await;
    let url = format!("{}/__sandbox/netsuite/other-tenant", h.ns);
    let put = |body: Value| h.http.put(&url).json(&body).send();
    // Bad input: a stable code, and the load in force is unchanged.
    put(serde_json::json!({ "slots": 2 })).await.unwrap();
    for bad in [
        serde_json::json!({}),
        serde_json::json!({ "slots": 1, "steps": [] }),
        serde_json::json!({ "steps": [{ "after_ms": -1, "slots": 1 }] }),
        serde_json::json!({ "slots": 1, "tenant": "x" }),
    ] {
        let response = put(bad.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "INVALID_TENANT_LOAD", "{bad}");
    }
    let state: Value = h.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["slots"], 2);
    // Two of three held: one call of ours at a time gets in.
    let statuses: Vec<u16> = concurrent_gets(&h, 2)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.contains(&200) && statuses.contains(&429));
    // A schedule: idle now, the whole account in an hour.
    let response = put(serde_json::json!({ "steps": [
        { "after_ms": 3_600_000, "slots": 3 },
        { "after_ms": 0, "slots": 0 },
    ] }))
    .await
    .unwrap();
    assert_eq!(response.status(), 204);
    let state: Value = h.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["slots"], 0);
    assert_eq!(
        state["steps"][0]["after_ms"], 0,
        "steps are kept in time order"
    );
    assert_eq!(state["steps"][1]["slots"], 3);
    let counters: Value = h
        .http
        .get(format!("{}/__sandbox/counters", h.ns))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["netsuite"]["other_tenant_in_flight"], 0);
    assert_eq!(counters["netsuite"]["rejected_over_limit"], 1);
    let statuses: Vec<u16> = concurrent_gets(&h, 3)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses, [200, 200, 200]);
}

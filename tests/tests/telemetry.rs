//! Telemetry end to end: an OTLP/HTTP receiver runs inside this test; the process exports its
//! spans to it. One "Sync to NetSuite" click on an account is one trace holding the gateway's
//! span, the customers service's span and one span per Salesforce and NetSuite call the click
//! made; a click on an opportunity adds the orders service calling the customers service, both
//! in that same trace. The result's trace id is the trace's. `/metrics` counts what happened.
//!
//! This file holds one test: it installs the process's global tracing subscriber.

use std::sync::Arc;
use std::time::Duration;

use isthmus_tests::lead::{new_account, run_catalog, won_order};
use isthmus_tests::otlp::{receiver, Received};
use isthmus_tests::{StoreKind, TestMesh, SF_KEY};
use serde_json::Value;

fn named<'a>(spans: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .collect()
}

/// Waits until the receiver holds `at_least` spans of `trace_id`.
async fn spans(
    received: &Received,
    telemetry: &isthmus_telemetry::Telemetry,
    trace_id: &str,
    at_least: usize,
) -> Vec<Value> {
    for _ in 0..100 {
        telemetry.flush();
        let found = received.spans_of(trace_id);
        if found.len() >= at_least {
            // A little longer for stragglers of the same trace.
            tokio::time::sleep(Duration::from_millis(200)).await;
            telemetry.flush();
            return received.spans_of(trace_id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "trace {trace_id}: {} spans received",
        received.spans_of(trace_id).len()
    );
}

/// Every span of `spans` descends from `root` through parent ids within the trace.
fn descends_from(spans: &[Value], span: &Value, root: &Value) -> bool {
    let mut current = span.clone();
    for _ in 0..32 {
        if current["spanId"] == root["spanId"] {
            return true;
        }
        let parent = current["parentSpanId"].as_str().unwrap_or_default();
        match spans.iter().find(|s| s["spanId"].as_str() == Some(parent)) {
            Some(p) => current = p.clone(),
            None => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_is_one_trace_from_the_gateway_to_each_vendor_call() {
    let received = Received::default();
    let endpoint = receiver(received.clone()).await;
    let telemetry = isthmus_telemetry::init(
        &endpoint,
        "isthmus-test",
        isthmus_telemetry::LogFormat::Text,
    )
    .expect("telemetry");
    let mesh = TestMesh::start(StoreKind::Redis).await;

    // An account click.
    let account = new_account(&mesh, "Traced Goods Ltd");
    mesh.sandbox.reset_calls();
    let response = mesh
        .http
        .post(format!(
            "{}/v1/salesforce/accounts/{account}/sync",
            mesh.gateway
        ))
        .bearer_auth(SF_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    let trace_id = body["trace_id"].as_str().unwrap().to_string();
    assert_eq!(header.split('-').nth(1), Some(trace_id.as_str()));
    let calls = mesh.sandbox.calls();
    let (sf_calls, ns_calls) = (calls.salesforce_total(), calls.netsuite_total());
    assert!(sf_calls > 0 && ns_calls > 0);

    let found = spans(
        &received,
        &telemetry,
        &trace_id,
        2 + (sf_calls + ns_calls) as usize,
    )
    .await;
    let gateway = named(&found, "POST /v1/salesforce/accounts/{id}/sync");
    assert_eq!(gateway.len(), 1, "{found:#?}");
    let service = named(&found, "isthmus.customers.v1.CustomerSync/SyncAccount");
    assert_eq!(service.len(), 1, "{found:#?}");
    assert_eq!(service[0]["parentSpanId"], gateway[0]["spanId"]);
    let salesforce = named(&found, "Salesforce ");
    let netsuite = named(&found, "NetSuite ");
    assert_eq!(
        salesforce.len() as u64,
        sf_calls,
        "one span per Salesforce call"
    );
    assert_eq!(
        netsuite.len() as u64,
        ns_calls,
        "one span per NetSuite call"
    );
    for upstream in salesforce.iter().chain(&netsuite) {
        assert!(
            descends_from(&found, upstream, service[0]),
            "{upstream} is not under the service's span"
        );
        assert_eq!(upstream["kind"], 3, "a client span: {upstream}");
    }
    assert_eq!(gateway[0]["kind"], 2, "a server span");
    assert!(found.iter().all(|s| s["service"] == "isthmus-test"));

    // An opportunity click: the orders service calls the customers service, in the same trace.
    run_catalog(&mesh).await;
    let (_, body) = won_order(&mesh, &account, "EUR", &[("WIDGET-200", 2.0, 0.0)]).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_string();
    let found = spans(&received, &telemetry, &trace_id, 4).await;
    let orders = named(&found, "isthmus.orders.v1.OrderSync/SyncOpportunity");
    let customers = named(&found, "isthmus.customers.v1.CustomerSync/SyncAccount");
    assert_eq!((orders.len(), customers.len()), (1, 1), "{found:#?}");
    assert!(
        descends_from(&found, customers[0], orders[0]),
        "the customers service's span is a child of the orders service's"
    );
    assert!(!named(&found, "NetSuite PUT record/v1/salesOrder").is_empty());

    // The counters saw it too.
    let metrics = mesh
        .http
        .get(format!("{}/metrics", mesh.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "isthmus_syncs_total{flow=\"orders.opportunity_to_sales_order\"",
        "isthmus_upstream_requests_total{route=",
        "isthmus_sync_duration_seconds_bucket{kind=",
        "isthmus_queue_jobs{service=\"orders\",state=\"dead\"} 0",
        "isthmus_netsuite_slots_in_use 0",
        "isthmus_conflicts_parked 0",
        "isthmus_salesforce_api_requests_remaining ",
        "isthmus_salesforce_api_requests_max ",
        "isthmus_queue_oldest_job_age_seconds{lane=\"interactive\",service=\"orders\"} 0",
    ] {
        assert!(metrics.contains(expected), "{expected} not in {metrics}");
    }
    mesh.shutdown().await;
    telemetry.shutdown();
}

/// A service process's own `/metrics` (what `isthmus serve <service>` serves on
/// `telemetry.metrics_listen`): this process's metrics with that service's queue read from Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_process_serves_its_metrics() {
    let server = isthmus_store::testing::RedisServer::start();
    let store: Arc<dyn isthmus_store::Store> = Arc::new(server.store().await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(isthmus::wiring::serve_metrics(listener, store, "orders"));
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for expected in [
        "isthmus_queue_jobs{service=\"orders\",state=\"interactive\"} 0",
        "isthmus_queue_jobs{service=\"orders\",state=\"dead\"} 0",
        "isthmus_netsuite_slots_in_use 0",
        "isthmus_conflicts_parked 0",
        "isthmus_queue_oldest_job_age_seconds{lane=\"batch\",service=\"orders\"} 0",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
}

//! Every kind of bad input gets a 4xx with a stable code and changes nothing: no call that
//! writes to Salesforce or NetSuite, nothing written to the store (Redis or in-memory: every key
//! and value the same after as before).

use isthmus_sandbox::seed;
use isthmus_store::testing::StoreSnapshot;
use isthmus_tests::{on_both_stores, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY};
use serde_json::{json, Value};

/// Asserts the answer's status and code, and that nothing was written anywhere.
async fn refused(
    mesh: &TestMesh,
    before: &StoreSnapshot,
    answer: (u16, Value),
    status: u16,
    code: &str,
) {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
    assert_eq!(body["trace_id"].as_str().map(str::len), Some(32), "{body}");
    mesh.assert_nothing_written(before).await;
}

async fn malformed_account_ids_are_rejected_before_anything_runs(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let mut bad_checksum = demo.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
    let contact = mesh.sandbox.sf_records("Contact")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [
        "001",
        "001ABC",
        "0012345678901234567",
        "001%27%20OR%201%3D1",
        "001000000000000!!!",
        bad_checksum.as_str(),
        contact.as_str(),
    ] {
        let answer = mesh.sync_account(bad, false).await;
        refused(mesh, &before, answer, 400, "INVALID_ARGUMENT").await;
    }
    assert_eq!(
        mesh.sandbox.calls().salesforce_total(),
        0,
        "no id reached Salesforce"
    );
}
on_both_stores!(
    malformed_ids,
    malformed_account_ids_are_rejected_before_anything_runs
);

async fn an_unknown_account_is_not_found_and_writes_nothing(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    let unknown = isthmus_salesforce::id::SalesforceId::parse("001Zz00000Q9xYz")
        .unwrap()
        .to_string();
    let (status, body) = mesh.sync_account(&unknown, false).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    let (status, body) = mesh.customer_event("987654321", "edit").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    // Well-formed ids pass the edge; only the vendor, read under the record's lock, says the
    // record does not exist. Taking that lock draws a token from the connection's one fencing
    // counter (`fence`): the counter moves, and nothing about the request is recorded (the
    // lock itself is released, no key is left behind).
    mesh.assert_nothing_written_but(&before, &["fence"]).await;
}
on_both_stores!(
    unknown_records,
    an_unknown_account_is_not_found_and_writes_nothing,
    unsigned_events
);

async fn missing_wrong_and_misused_keys_are_refused(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let path = format!("/v1/salesforce/accounts/{demo}/sync");
    let event = json!({ "record_type": "customer", "id": "1", "event_type": "edit" });
    refused(
        mesh,
        &before,
        mesh.post(&path, None, None).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
    refused(
        mesh,
        &before,
        mesh.post(&path, Some("not-a-key"), None).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
    refused(
        mesh,
        &before,
        mesh.post(&path, Some(NS_KEY), None).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    refused(
        mesh,
        &before,
        mesh.post("/v1/netsuite/events", Some(SF_KEY), Some(event.clone()))
            .await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    refused(
        mesh,
        &before,
        mesh.post("/v1/netsuite/events", None, Some(event)).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
    assert_eq!(
        mesh.sandbox.calls().salesforce_total() + mesh.sandbox.calls().netsuite_total(),
        0
    );
}
on_both_stores!(keys, missing_wrong_and_misused_keys_are_refused);

async fn malformed_events_are_rejected_with_stable_codes(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    let cases = [
        json!({ "record_type": "customer", "id": "12", "event_type": "explode" }),
        json!({ "record_type": "vendor", "id": "12", "event_type": "edit" }),
        json!({ "record_type": "customer", "id": "12' OR '1'='1", "event_type": "edit" }),
        json!({ "record_type": "customer", "id": -3, "event_type": "edit" }),
        json!({ "record_type": "customer", "event_type": "edit" }),
        json!({ "record_type": "customer", "id": "12", "event_type": "edit", "extra": true }),
        json!(["customer", "12"]),
    ];
    for case in cases {
        let answer = mesh
            .post("/v1/netsuite/events", Some(NS_KEY), Some(case))
            .await;
        refused(mesh, &before, answer, 400, "INVALID_ARGUMENT").await;
    }
    let raw = mesh
        .http
        .post(format!("{}/v1/netsuite/events", mesh.gateway))
        .bearer_auth(NS_KEY)
        .header("content-type", "application/json")
        .body("{\"record_type\": \"customer\", ")
        .send()
        .await
        .unwrap();
    let status = raw.status().as_u16();
    let body: Value = raw.json().await.unwrap();
    refused(mesh, &before, (status, body), 400, "INVALID_ARGUMENT").await;
    let unknown_query = mesh
        .post(
            "/v1/netsuite/events?mode=turbo",
            Some(NS_KEY),
            Some(json!({})),
        )
        .await;
    refused(mesh, &before, unknown_query, 400, "INVALID_ARGUMENT").await;
    assert_eq!(mesh.sandbox.calls().netsuite_total(), 0);
}
// Unsigned events (`gateway.netsuite_events_unsigned`), so the body checks are what answers: a
// signed event's signature is remembered (a Redis key) once it verifies, before the body is read.
on_both_stores!(
    malformed_events,
    malformed_events_are_rejected_with_stable_codes,
    unsigned_events
);

async fn an_oversized_body_is_refused(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    let big = json!({ "record_type": "customer", "id": "12", "event_type": "edit", "padding": "x".repeat(200_000) });
    let answer = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(big))
        .await;
    refused(mesh, &before, answer, 413, "PAYLOAD_TOO_LARGE").await;
}
on_both_stores!(oversized, an_oversized_body_is_refused);

async fn unknown_routes_and_methods_answer_json_errors(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    refused(
        mesh,
        &before,
        mesh.get("/v1/nothing", Some(ADMIN_KEY)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh
        .get(
            &format!("/v1/salesforce/accounts/{demo}/sync"),
            Some(SF_KEY),
        )
        .await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{body}");
}
on_both_stores!(
    unknown_routes,
    unknown_routes_and_methods_answer_json_errors
);

async fn an_error_carries_the_trace_of_the_request(mesh: &TestMesh) {
    // The trace layer writes every error body; no handler passes the trace along.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = mesh
        .http
        .get(format!("{}/v1/jobs/not-a-job", mesh.gateway))
        .bearer_auth(ADMIN_KEY)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answered = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(answered.contains(trace_id), "{answered}");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["trace_id"], trace_id, "{body}");
    assert_eq!(body["code"], "INVALID_ARGUMENT", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'not-a-job' is not a job id"),
        "{body}"
    );
}
on_both_stores!(
    errors_carry_the_request_trace,
    an_error_carries_the_trace_of_the_request
);

/// A raw request with `content_type` and `body`: its status and JSON answer.
async fn raw(
    mesh: &TestMesh,
    method: reqwest::Method,
    path: &str,
    key: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let answer = mesh
        .http
        .request(method, format!("{}{path}", mesh.gateway))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn input_is_strict_on_every_route(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    // Objects only: a struct no longer deserializes from an array by position.
    for (path, key, body) in [
        (
            "/v1/netsuite/events",
            NS_KEY,
            json!(["customer", "126", "edit"]),
        ),
        ("/v1/backfills/accounts", ADMIN_KEY, json!([])),
        ("/v1/renewals/scan", ADMIN_KEY, json!([30, false])),
        ("/v1/reconcile/customers", ADMIN_KEY, json!([10])),
    ] {
        let answer = mesh.post(path, Some(key), Some(body)).await;
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .contains("JSON object"),
            "{}",
            answer.1
        );
        refused(mesh, &before, answer, 400, "INVALID_ARGUMENT").await;
    }
    // Exactly application/json (parameters and case aside).
    let event = r#"{"record_type":"customer","id":"126","event_type":"edit"}"#;
    for content_type in [
        "application/jsonx",
        "application/json-patch+json",
        "text/plain",
    ] {
        let answer = raw(
            mesh,
            reqwest::Method::POST,
            "/v1/netsuite/events",
            NS_KEY,
            content_type,
            event,
        )
        .await;
        refused(mesh, &before, answer, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    }
    // Routes that take no body refuse one before reading it.
    let sync = format!("/v1/salesforce/accounts/{demo}/sync");
    for (method, path, key) in [
        (reqwest::Method::POST, sync.as_str(), SF_KEY),
        (reqwest::Method::GET, "/v1/queue", ADMIN_KEY),
        (reqwest::Method::POST, "/v1/subsidiaries/sync", ADMIN_KEY),
    ] {
        let answer = raw(
            mesh,
            method,
            path,
            key,
            "application/json",
            r#"{"ignored":true}"#,
        )
        .await;
        assert_eq!(answer.1["message"], "this route takes no body", "{path}");
        refused(mesh, &before, answer, 400, "INVALID_ARGUMENT").await;
    }
    // NetSuite ids are canonical: 000126 is not customer 126 spelt another way.
    refused(
        mesh,
        &before,
        mesh.get("/v1/links/customers/000126", Some(ADMIN_KEY))
            .await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    let padded = json!({ "record_type": "customer", "id": "000126", "event_type": "edit" });
    let answer = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(padded))
        .await;
    refused(mesh, &before, answer, 400, "INVALID_ARGUMENT").await;
    // A parameter is not a content type: charset is fine.
    let answer = raw(
        mesh,
        reqwest::Method::POST,
        "/v1/netsuite/events?dry_run=true",
        NS_KEY,
        "Application/JSON; charset=utf-8",
        r#"{"record_type":"customer","id":"9999999","event_type":"edit"}"#,
    )
    .await;
    assert_ne!(answer.0, 400, "{}", answer.1);
}
on_both_stores!(strict, input_is_strict_on_every_route, unsigned_events);

fn unsigned_events(config: &mut isthmus::Config) {
    config.gateway.netsuite_events_unsigned = true;
}

//! Integers are checked against their documented ranges on every route, query parameters and
//! body fields alike (`isthmus_gateway::bounded`): out of range is 400 `INVALID_ARGUMENT` naming
//! the range, before any service runs, so nothing reaches Salesforce, NetSuite or the store; the
//! OpenAPI document declares the same ranges.

use isthmus_store::testing::StoreSnapshot;
use isthmus_tests::{on_both_stores, TestMesh, ADMIN_KEY};
use serde_json::{json, Value};

/// Asserts a 400 naming `range`, and no write to either vendor or to the store.
async fn refused_naming(
    mesh: &TestMesh,
    before: &StoreSnapshot,
    answer: (u16, Value),
    range: &str,
) {
    let (status, body) = answer;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "INVALID_ARGUMENT", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(range), "{message:?} names {range:?}");
    mesh.assert_nothing_written(before).await;
}

async fn integers_past_their_range_are_refused_on_every_route(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    for (query, range) in [
        ("/v1/audit?limit=1001", "from 1 to 1000"),
        ("/v1/audit?limit=0", "from 1 to 1000"),
        ("/v1/audit?limit=-5", "from 1 to 1000"),
        ("/v1/audit?limit=4294967296", "from 1 to 1000"),
        ("/v1/conflicts?limit=501", "from 1 to 500"),
        ("/v1/conflicts?offset=100001", "from 0 to 100000"),
        ("/v1/dead-letters?limit=9999", "from 1 to 500"),
        ("/v1/dead-letters?offset=1.5", "from 0 to 100000"),
        ("/v1/dead-letters?since_ms=-1", "from 0 to 253402300799999"),
    ] {
        let answer = mesh.get(query, Some(ADMIN_KEY)).await;
        refused_naming(mesh, &before, answer, range).await;
    }
    for (path, body, range) in [
        (
            "/v1/renewals/scan",
            json!({ "within_days": 3661 }),
            "from 1 to 3660",
        ),
        (
            "/v1/renewals/scan",
            json!({ "within_days": 0 }),
            "from 1 to 3660",
        ),
        (
            "/v1/backfills/accounts",
            json!({ "limit": 0 }),
            "from 1 to 1000000",
        ),
        (
            "/v1/backfills/accounts",
            json!({ "limit": 4_294_967_297_u64 }),
            "from 1 to 1000000",
        ),
        (
            "/v1/catalog/runs",
            json!({ "mode": "full", "limit": 1_000_001 }),
            "from 1 to 1000000",
        ),
        (
            "/v1/reconcile/customers",
            json!({ "max_items": 10_001 }),
            "from 1 to 10000",
        ),
        (
            "/v1/reconcile/customers",
            json!({ "max_items": -1 }),
            "from 1 to 10000",
        ),
    ] {
        let answer = mesh.post(path, Some(ADMIN_KEY), Some(body)).await;
        refused_naming(mesh, &before, answer, range).await;
    }
    assert_eq!(
        mesh.sandbox.calls().salesforce_total() + mesh.sandbox.calls().netsuite_total(),
        0
    );
}

on_both_stores!(
    out_of_range,
    integers_past_their_range_are_refused_on_every_route
);

async fn integers_at_the_ends_of_their_range_are_taken(mesh: &TestMesh) {
    for query in [
        "/v1/audit?limit=1",
        "/v1/audit?limit=1000",
        "/v1/conflicts?limit=500&offset=100000",
        "/v1/dead-letters?limit=1&offset=0&since_ms=0",
    ] {
        let (status, body) = mesh.get(query, Some(ADMIN_KEY)).await;
        assert_eq!(status, 200, "{query}: {body}");
    }
    let (status, body) = mesh
        .post(
            "/v1/reconcile/customers",
            Some(ADMIN_KEY),
            Some(json!({ "max_items": 10_000 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both_stores!(in_range, integers_at_the_ends_of_their_range_are_taken);

#[test]
fn the_openapi_document_declares_each_range() {
    let document: Value = serde_json::from_str(&isthmus_gateway::openapi_json()).unwrap();
    let param = |path: &str, method: &str, name: &str| -> Value {
        document["paths"][path][method]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has parameters"))
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} declares {name}"))["schema"]
            .clone()
    };
    for (path, method, name, min, max) in [
        ("/v1/audit", "get", "limit", 1, 1000),
        ("/v1/conflicts", "get", "limit", 1, 500),
        ("/v1/conflicts", "get", "offset", 0, 100_000),
        ("/v1/dead-letters", "get", "limit", 1, 500),
    ] {
        let schema = param(path, method, name);
        assert_eq!(
            schema["minimum"].as_f64(),
            Some(min as f64),
            "{path} {name}: {schema}"
        );
        assert_eq!(
            schema["maximum"].as_f64(),
            Some(max as f64),
            "{path} {name}: {schema}"
        );
    }
    let within = &document["components"]["schemas"]["ScanRenewals"]["properties"]["within_days"];
    assert!(within.to_string().contains("3660"), "{within}");
}

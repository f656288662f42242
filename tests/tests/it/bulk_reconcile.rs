//! Reconciliations above `salesforce.bulk_threshold` read Salesforce through Bulk API 2.0 query
//! jobs: the same fixture, with every customer drift kind planted, reconciled below and above
//! the threshold gives the same report, the one above for two jobs instead of SOQL pages.

use std::time::Duration;

use isthmus_engine::reconcile::{Flow, ReconcileOptions, Reconciler};
use isthmus_tests::{StoreKind, TestMesh};
use serde_json::{json, Map, Value};

use super::bulk_backfill::run_backfill;

/// More than one page of links (200), so the walk reads store pages after the bulk job too.
const ACCOUNTS: usize = 260;
const BULK_THRESHOLD: u64 = 100;

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

/// Reconciles customers with the mesh's config at `threshold`.
async fn reconcile_at(mesh: &TestMesh, threshold: u64) -> Value {
    let (mut config, secrets) = mesh.sandbox_config();
    config.salesforce.bulk_threshold = threshold;
    let (flows, _) =
        isthmus::wiring::customer_flows(&config, &secrets, mesh.store.clone()).unwrap();
    let report = flows
        .reconcile(Flow::Customers, &ReconcileOptions::default())
        .await
        .unwrap();
    serde_json::to_value(report).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_reconciliation_reports_what_the_rest_one_reports_for_two_query_jobs() {
    let mesh = TestMesh::start(StoreKind::Redis).await;
    let accounts: Vec<String> = (0..ACCOUNTS)
        .map(|i| {
            let account = fields(json!({
                "Name": format!("Reconciled Fixture {i:04}"),
                "BillingCity": "Porto",
                "BillingCountry": "Portugal",
            }));
            mesh.sandbox.sf_insert("Account", account).unwrap()
        })
        .collect();
    let done = run_backfill(&mesh).await;
    assert_eq!(done["failed"], 0, "{done}");

    // field_differs: renamed in Salesforce.
    mesh.sandbox
        .sf_update(
            "Account",
            &accounts[3],
            fields(json!({ "Name": "Renamed By Hand" })),
        )
        .unwrap();
    // missing_in_salesforce: deleted.
    let (config, secrets) = mesh.sandbox_config();
    isthmus::wiring::salesforce(&config, &secrets)
        .unwrap()
        .delete("Account", &accounts[5])
        .await
        .unwrap();
    // unlinked on both sides: the link lost.
    let lease = mesh
        .store
        .acquire("test:lose-link", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    mesh.store
        .delete_link("customer", &accounts[7], &lease)
        .await
        .unwrap();
    mesh.store.release(&lease).await.unwrap();

    mesh.sandbox.reset_calls();
    let rest = reconcile_at(&mesh, u64::MAX).await;
    let rest_calls = mesh.sandbox.calls();
    mesh.sandbox.reset_calls();
    let bulk = reconcile_at(&mesh, BULK_THRESHOLD).await;
    let bulk_calls = mesh.sandbox.calls();

    let job = |calls: &isthmus_sandbox::CallCounts, method: &str, path: &str| {
        calls.get(&format!("{method} /services/data/vXX.X/jobs/{path}"))
    };
    // REST: SOQL pages, no job.
    assert_eq!(job(&rest_calls, "POST", "query"), 0, "{rest_calls:?}");
    assert!(
        rest_calls.get("GET /services/data/vXX.X/query") >= 3,
        "two link pages and the scan: {rest_calls:?}"
    );
    // Bulk: two query jobs (the linked records, the records that should be linked) of one
    // results page each, no SOQL page; NetSuite read as through REST.
    assert_eq!(job(&bulk_calls, "POST", "query"), 2, "{bulk_calls:?}");
    assert_eq!(
        job(&bulk_calls, "GET", "query/{jobId}/results"),
        2,
        "{bulk_calls:?}"
    );
    assert_eq!(
        bulk_calls.get("GET /services/data/vXX.X/query"),
        0,
        "{bulk_calls:?}"
    );
    let polls = job(&bulk_calls, "GET", "query/{jobId}");
    assert!((2..=10).contains(&polls), "{bulk_calls:?}");
    assert_eq!(
        bulk_calls.netsuite_total(),
        rest_calls.netsuite_total(),
        "{rest_calls:?} vs {bulk_calls:?}"
    );

    // The same report, drift for drift.
    for key in ["links_checked", "counts", "drifts", "truncated"] {
        assert_eq!(rest[key], bulk[key], "{key}: {rest} vs {bulk}");
    }
    // The fixture's links but the lost one, with the sandbox's seeded ones.
    assert!(
        rest["links_checked"].as_u64().unwrap() >= ACCOUNTS as u64 - 1,
        "{rest}"
    );
    for kind in [
        "field_differs",
        "missing_in_salesforce",
        "unlinked_in_salesforce",
        "unlinked_in_netsuite",
    ] {
        assert_eq!(rest["counts"][kind], 1, "{kind}: {rest}");
    }
    let named = |id: &str, kind: &str| {
        bulk["drifts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == kind && d["salesforce_id"] == id)
    };
    assert!(named(&accounts[3], "field_differs"), "{bulk}");
    assert!(named(&accounts[5], "missing_in_salesforce"), "{bulk}");
    assert!(named(&accounts[7], "unlinked_in_salesforce"), "{bulk}");
    mesh.shutdown().await;
}

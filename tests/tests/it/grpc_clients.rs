//! An independent gRPC client against the services: Python `grpcio` with stubs that
//! `grpcio-tools` generates from `proto/` at test time (tests/grpc/orders_client.py). It previews
//! and syncs a won opportunity over `isthmus.orders.v1.OrderSync`, reads the order and product
//! links, sends malformed ids, and reads the orders queue; the far sides are checked here.
//! The harness installs the pinned packages into its own venv; a failed install fails the test.

use std::process::Command;

use isthmus_tests::lead::{new_account, new_opportunity, priced, run_catalog};
use isthmus_tests::{text, StoreKind, TestMesh};
use serde_json::Value;

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_syncs_an_opportunity_through_the_orders_service() {
    let python = isthmus_tests::python()
        .unwrap_or_else(|err| panic!("grpcio and grpcio-tools are needed: {err}"));
    let probe = Command::new(&python)
        .args(["-c", "import grpc, grpc_tools"])
        .output()
        .expect("the venv's python runs");
    assert!(
        probe.status.success(),
        "grpcio and grpcio-tools are missing from the tests' venv\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let mesh = TestMesh::start(StoreKind::Redis).await;
    run_catalog(&mesh).await;
    let account = new_account(&mesh, "Polyglot Systems");
    let opportunity = new_opportunity(
        &mesh,
        &account,
        "GBP",
        &[("WIDGET-200", 3.0, 0.0), ("TRAINING-DAY", 1.0, 0.0)],
        "Closed Won",
    );
    let (item, product, _, _) = priced(&mesh, "WIDGET-200", "GBP");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = tokio::task::spawn_blocking({
        let (orders, catalog) = (host_port(&mesh.orders_grpc), host_port(&mesh.catalog_grpc));
        let opportunity = opportunity.clone();
        let item = item.clone();
        move || {
            Command::new(python)
                .arg(root.join("tests/grpc/orders_client.py"))
                .env("PROTO_DIR", root.join("proto"))
                .env("ORDERS_GRPC", orders)
                .env("CATALOG_GRPC", catalog)
                .env("OPPORTUNITY", opportunity)
                .env("ITEM", item)
                .env("GRPC_TOKEN", isthmus_tests::GRPC_ADMIN_TOKEN)
                .output()
                .expect("the venv's python runs")
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the gRPC client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));

    assert_eq!(seen["preview_outcome"], "OUTCOME_CREATED", "{seen}");
    assert!(seen["preview_changes"].as_u64().unwrap() > 4, "{seen}");
    assert_eq!(
        seen["preview_trace"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the trace id of the caller's traceparent"
    );
    assert_eq!(seen["outcome"], "OUTCOME_CREATED", "{seen}");
    let orders = mesh.ns_where("salesOrder", "externalId", &opportunity);
    assert_eq!(orders.len(), 1, "one sales order in NetSuite");
    let order_id = text(orders[0].get("id")).unwrap();
    assert_eq!(seen["sales_order"], order_id.as_str());
    assert_eq!(seen["link_sales_order"], order_id.as_str());
    assert_eq!(
        text(
            mesh.sandbox
                .sf_record("Opportunity", &opportunity)
                .unwrap()
                .get("NetSuite_Id__c")
        ),
        Some(order_id)
    );
    assert_eq!(
        seen["bad_id"],
        serde_json::json!(["INVALID_ARGUMENT", "INVALID_ARGUMENT"])
    );
    assert_eq!(
        seen["bad_order_id"],
        serde_json::json!(["INVALID_ARGUMENT", "INVALID_ARGUMENT"])
    );
    assert_eq!(seen["orders_dead"], 0);
    assert_eq!(seen["product"], product.as_str());
    mesh.shutdown().await;
}

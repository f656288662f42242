//! Reconciliation on the sandbox: each planted drift kind is found through the gateway, named
//! with its records, and repaired by one call, after which the flow reconciles clean again;
//! bad requests change nothing; the counts reach `/metrics`; the mesh reconciles on schedule.

use std::time::Duration;

use isthmus_proto::reconcile::v1::reconciliation_client::ReconciliationClient;
use isthmus_proto::reconcile::v1::ReconcileRequest;
use isthmus_tests::lead::{new_account, object, run_catalog, transform, won_order};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY};
use serde_json::{json, Value};

async fn reconcile(mesh: &TestMesh, flow: &str) -> Value {
    let (status, report) = mesh
        .post(
            &format!("/v1/reconcile/{flow}"),
            Some(ADMIN_KEY),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    report
}

/// The drifts of `kind` in a report that name `id` (either side).
fn drifts<'a>(report: &'a Value, kind: &str, id: &str) -> Vec<&'a Value> {
    report["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == kind && (d["salesforce_id"] == id || d["netsuite_id"] == id))
        .collect()
}

/// Finds the one drift of `kind` naming `id`, repairs it through the gateway, and checks the
/// flow no longer reports it; the repair's result.
async fn find_and_repair(mesh: &TestMesh, flow: &str, kind: &str, id: &str) -> Value {
    let report = reconcile(mesh, flow).await;
    let found = drifts(&report, kind, id);
    assert_eq!(found.len(), 1, "{kind} of {id} in {report}");
    assert!(report["counts"][kind].as_u64().unwrap() >= 1, "{report}");
    let drift = found[0].clone();
    let (status, result) = mesh
        .post(
            &format!("/v1/reconcile/{flow}/repair"),
            Some(ADMIN_KEY),
            Some(drift.clone()),
        )
        .await;
    assert_eq!(status, 200, "repairing {drift}: {result}");
    let after = reconcile(mesh, flow).await;
    assert!(
        drifts(&after, kind, id).is_empty(),
        "{kind} of {id} still there after {result}: {after}"
    );
    result
}

async fn post_event(mesh: &TestMesh, record_type: &str, id: &str) {
    let body = json!({ "record_type": record_type, "id": id, "event_type": "create" });
    let (status, body) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(body))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn linked_account(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    (account, body["netsuite_id"].as_str().unwrap().to_string())
}

/// Drops a link as a lost Redis key would.
async fn lose_link(mesh: &TestMesh, kind: &str, salesforce_id: &str) {
    let lease = mesh
        .store
        .acquire("test:lose-link", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    mesh.store
        .delete_link(kind, salesforce_id, &lease)
        .await
        .unwrap();
    mesh.store.release(&lease).await.unwrap();
}

/// The lead-to-cash chain: products, one account with an order and an invoice.
async fn lead_to_cash(mesh: &TestMesh) -> (String, String, String, String) {
    run_catalog(mesh).await;
    let (account, customer) = linked_account(mesh, "Reconciled Industries").await;
    let (opportunity, body) = won_order(mesh, &account, "EUR", &[("WIDGET-200", 4.0, 0.0)]).await;
    let order = body["netsuite_id"].as_str().unwrap().to_string();
    let invoice = transform(mesh, "salesOrder", &order, "invoice", json!({})).await;
    post_event(mesh, "invoice", &invoice).await;
    // Billing moved the order's status: its User Event tells Isthmus, as NetSuite's would.
    post_event(mesh, "salesOrder", &order).await;
    let _ = customer;
    (account, opportunity, order, invoice)
}

async fn each_drift_kind_is_found_and_repaired(mesh: &TestMesh) {
    let (account, opportunity, order, invoice) = lead_to_cash(mesh).await;

    // What we synced agrees on both sides: no drift names any of it.
    for (flow, ids) in [
        ("customers", vec![account.clone()]),
        ("orders", vec![opportunity.clone(), order.clone()]),
        ("invoices", vec![invoice.clone()]),
    ] {
        let report = reconcile(mesh, flow).await;
        assert!(report["links_checked"].as_u64().unwrap() >= 1, "{report}");
        for id in &ids {
            let named: Vec<_> = report["drifts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["salesforce_id"] == id.as_str() || d["netsuite_id"] == id.as_str())
                .collect();
            assert!(named.is_empty(), "{flow}: {named:?}");
        }
    }
    let products = reconcile(mesh, "products").await;
    assert!(
        products["links_checked"].as_u64().unwrap() >= 4,
        "{products}"
    );
    for kind in [
        "field_differs",
        "status_differs",
        "missing_in_salesforce",
        "missing_in_netsuite",
    ] {
        assert_eq!(products["counts"][kind], 0, "{products}");
    }

    // Reconciling reads only: no write on either side.
    mesh.sandbox.reset_calls();
    reconcile(mesh, "customers").await;
    reconcile(mesh, "invoices").await;
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes() + calls.netsuite_writes(), 0);

    // customers / field_differs: the customer renamed in NetSuite; the repair carries the
    // new name to the account.
    let customer = mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .unwrap();
    mesh.ns_patch(
        "customer",
        &customer.netsuite_id,
        json!({ "companyName": "Reconciled Industries AG" }),
        &[],
    )
    .await;
    find_and_repair(mesh, "customers", "field_differs", &account).await;
    let renamed = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(
        text(renamed.get("Name")).as_deref(),
        Some("Reconciled Industries AG")
    );

    // customers / missing_in_netsuite: the customer deleted; the repair unlinks the account.
    let (gone_customer_account, gone_customer) =
        linked_account(mesh, "Vanished Customer Ltd").await;
    mesh.ns_delete("customer", &gone_customer).await;
    find_and_repair(mesh, "customers", "missing_in_netsuite", &gone_customer).await;
    let unlinked = mesh
        .sandbox
        .sf_record("Account", &gone_customer_account)
        .unwrap();
    assert_eq!(text(unlinked.get("NetSuite_Id__c")), None);

    // customers / missing_in_salesforce: the account deleted; the repair inactivates the
    // customer.
    let (gone_account, orphan) = linked_account(mesh, "Vanished Account Ltd").await;
    let (config, secrets) = mesh.sandbox_config();
    isthmus::wiring::salesforce(&config, &secrets)
        .unwrap()
        .delete("Account", &gone_account)
        .await
        .unwrap();
    find_and_repair(mesh, "customers", "missing_in_salesforce", &gone_account).await;
    let orphan = mesh.sandbox.ns_record("customer", &orphan).unwrap();
    assert_eq!(orphan.get("isInactive"), Some(&json!(true)));

    // customers / unlinked on both sides: the link lost; either drift's repair relinks.
    let (lost, lost_customer) = linked_account(mesh, "Lost Link Ltd").await;
    lose_link(mesh, "customer", &lost).await;
    let report = reconcile(mesh, "customers").await;
    assert_eq!(
        drifts(&report, "unlinked_in_salesforce", &lost).len(),
        1,
        "{report}"
    );
    assert_eq!(
        drifts(&report, "unlinked_in_netsuite", &lost_customer).len(),
        1,
        "{report}"
    );
    find_and_repair(mesh, "customers", "unlinked_in_netsuite", &lost_customer).await;
    let relinked = mesh
        .store
        .link_by_salesforce("customer", &lost)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(relinked.netsuite_id, lost_customer);
    let (lost, lost_customer) = linked_account(mesh, "Lost Again Ltd").await;
    lose_link(mesh, "customer", &lost).await;
    find_and_repair(mesh, "customers", "unlinked_in_salesforce", &lost).await;
    let relinked = mesh
        .store
        .link_by_salesforce("customer", &lost)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(relinked.netsuite_id, lost_customer);
    let customers = mesh
        .sandbox
        .ns_records("customer")
        .into_iter()
        .filter(|c| text(c.get("externalId")).as_deref() == Some(lost.as_str()))
        .count();
    assert_eq!(customers, 1, "relinking created no second customer");

    // products / field_differs and status_differs: a product edited in Salesforce is put back.
    let product = mesh
        .store
        .links_page("product", None, 1)
        .await
        .unwrap()
        .remove(0);
    let original = mesh
        .sandbox
        .sf_record("Product2", &product.salesforce_id)
        .unwrap();
    mesh.sandbox
        .sf_update(
            "Product2",
            &product.salesforce_id,
            object(json!({ "Name": "Tampered", "IsActive": false })),
        )
        .unwrap();
    let report = reconcile(mesh, "products").await;
    assert_eq!(
        drifts(&report, "status_differs", &product.salesforce_id).len(),
        1,
        "{report}"
    );
    find_and_repair(mesh, "products", "field_differs", &product.salesforce_id).await;
    let restored = mesh
        .sandbox
        .sf_record("Product2", &product.salesforce_id)
        .unwrap();
    assert_eq!(restored.get("Name"), original.get("Name"));
    assert_eq!(restored.get("IsActive"), Some(&json!(true)));

    // orders / status_differs: the status on the Opportunity overwritten in Salesforce.
    let shown = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    mesh.sandbox
        .sf_update(
            "Opportunity",
            &opportunity,
            object(json!({ "NetSuite_Order_Status__c": "Tampered" })),
        )
        .unwrap();
    find_and_repair(mesh, "orders", "status_differs", &opportunity).await;
    let repaired = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert_eq!(
        repaired.get("NetSuite_Order_Status__c"),
        shown.get("NetSuite_Order_Status__c")
    );

    // invoices / field_differs: an amount changed on the Salesforce copy.
    let copy = mesh
        .sandbox
        .sf_records("NetSuite_Invoice__c")
        .into_iter()
        .find(|r| text(r.get("NetSuite_Id__c")).as_deref() == Some(invoice.as_str()))
        .unwrap();
    let copy_id = text(copy.get("Id")).unwrap();
    mesh.sandbox
        .sf_update(
            "NetSuite_Invoice__c",
            &copy_id,
            object(json!({ "Amount_Remaining__c": 1.0 })),
        )
        .unwrap();
    find_and_repair(mesh, "invoices", "field_differs", &invoice).await;
    let repaired = mesh
        .sandbox
        .sf_record("NetSuite_Invoice__c", &copy_id)
        .unwrap();
    assert_eq!(
        repaired.get("Amount_Remaining__c"),
        copy.get("Amount_Remaining__c")
    );

    // The counts are kept as each flow's last run, and shown as metrics and as a table.
    let (status, last) = mesh.get("/v1/reconcile", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(last["runs"].as_array().unwrap().len(), 4, "{last}");
    let metrics = mesh
        .http
        .get(format!("{}/metrics", mesh.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("isthmus_reconcile_drifts{flow=\"invoices\",kind=\"field_differs\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("isthmus_reconcile_links_checked{flow=\"customers\"}"));
    let table = mesh
        .http
        .post(format!("{}/v1/reconcile/orders?format=table", mesh.gateway))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.starts_with("orders — ") && table.contains("status_differs"),
        "{table}"
    );
}

on_both_stores!(drift_kinds, each_drift_kind_is_found_and_repaired);

async fn bad_requests_are_refused_and_change_nothing(mesh: &TestMesh) {
    let (account, customer) = linked_account(mesh, "Careful Requests Ltd").await;
    mesh.sandbox.reset_calls();
    let before = mesh.settled_store_snapshot().await;
    let drift = |flow: &str, kind: &str, sf: &str, ns: &str| json!({ "flow": flow, "kind": kind, "salesforce_id": sf, "netsuite_id": ns });
    let cases: Vec<(String, Option<&str>, Value, u16, &str)> = vec![
        (
            "/v1/reconcile/vendors".into(),
            Some(ADMIN_KEY),
            json!({}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers".into(),
            Some(SF_KEY),
            json!({}),
            403,
            "PERMISSION_DENIED",
        ),
        (
            "/v1/reconcile/customers".into(),
            None,
            json!({}),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "/v1/reconcile/customers".into(),
            Some(ADMIN_KEY),
            json!({ "max_items": 20000 }),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers".into(),
            Some(ADMIN_KEY),
            json!({ "surprise": true }),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers/repair".into(),
            Some(ADMIN_KEY),
            drift("customers", "field_differs", "not-an-id", &customer),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers/repair".into(),
            Some(ADMIN_KEY),
            drift("customers", "field_differs", &account, "12' OR '1'='1"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers/repair".into(),
            Some(ADMIN_KEY),
            drift("customers", "gremlins", &account, &customer),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers/repair".into(),
            Some(ADMIN_KEY),
            drift("orders", "field_differs", &account, &customer),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "/v1/reconcile/customers/repair".into(),
            Some(ADMIN_KEY),
            drift("customers", "missing_in_netsuite", &account, ""),
            400,
            "INVALID_ARGUMENT",
        ),
    ];
    for (path, key, body, status, code) in cases {
        let (got, answer) = mesh.post(&path, key, Some(body.clone())).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert_eq!(answer["code"], code, "{path} {body}: {answer}");
    }
    let big = json!({ "flow": "customers", "kind": "field_differs",
        "salesforce_id": account, "netsuite_id": customer, "detail": "x".repeat(200_000) });
    let (got, answer) = mesh
        .post("/v1/reconcile/customers/repair", Some(ADMIN_KEY), Some(big))
        .await;
    assert_eq!(got, 413, "{answer}");

    // A service asked about a flow it does not own refuses over gRPC too.
    let mut client = ReconciliationClient::new(mesh.admin_grpc(&mesh.customers_grpc));
    let refused = client
        .reconcile(ReconcileRequest {
            flow: "products".into(),
            max_items: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("catalog"), "{refused:?}");

    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes() + calls.netsuite_writes(), 0);
    mesh.assert_store_unchanged(&before).await;
}

on_both_stores!(bad_requests, bad_requests_are_refused_and_change_nothing);

async fn the_mesh_reconciles_on_its_schedule(mesh: &TestMesh) {
    linked_account(mesh, "Scheduled Checks Ltd").await;
    let mut flows = 0;
    for _ in 0..300 {
        let (status, last) = mesh.get("/v1/reconcile", Some(ADMIN_KEY)).await;
        assert_eq!(status, 200, "{last}");
        flows = last["runs"].as_array().unwrap().len();
        if flows == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(flows, 4, "every service reconciled its flow");
    let metrics = mesh
        .http
        .get(format!("{}/metrics", mesh.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for flow in ["customers", "products", "orders", "invoices"] {
        assert!(
            metrics.contains(&format!(
                "isthmus_reconcile_last_run_timestamp_seconds{{flow=\"{flow}\"}}"
            )),
            "{metrics}"
        );
    }
}

on_both_stores!(
    scheduled,
    the_mesh_reconciles_on_its_schedule,
    |c: &mut isthmus::Config| c.schedules.reconcile = "* * * * * *".into()
);

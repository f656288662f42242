//! The NetSuite panel's one call (`GET /v1/salesforce/records/{id}/status`) and the console's
//! statistics and record trail over REST: what they answer matches what the sandbox holds.

use isthmus_engine::config::Ownership;
use isthmus_sandbox::seed;
use isthmus_tests::lead::{new_account, run_catalog, won_order};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY, VIEWER_KEY};
use serde_json::{json, Map, Value};

fn one(field: &str, value: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(field.into(), Value::String(value.into()));
    fields
}

async fn status_of(mesh: &TestMesh, id: &str) -> Value {
    let (status, body) = mesh
        .get(&format!("/v1/salesforce/records/{id}/status"), Some(SF_KEY))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn the_panel_shows_the_link_the_last_write_and_open_conflicts(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let before = status_of(mesh, &account).await;
    assert_eq!(before["linked"], false, "{before}");
    assert!(
        before["netsuite_id"].is_null() && before["last_sync"].is_null(),
        "{before}"
    );

    let (_, synced) = mesh.sync_account(&account, false).await;
    let customer = synced["netsuite_id"].as_str().unwrap().to_string();
    let linked = status_of(mesh, &account).await;
    assert_eq!(linked["object"], "Account");
    assert_eq!(linked["linked"], true);
    assert_eq!(linked["netsuite_id"], customer.as_str());
    // The customer the panel names is the one in NetSuite, with the account as external id.
    let record = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(
        text(record.get("externalId")).as_deref(),
        Some(account.as_str())
    );
    assert!(linked["netsuite_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("custjob.nl?id={customer}")));
    assert_eq!(linked["last_sync"]["outcome"], "created");
    assert_eq!(linked["last_sync"]["flow"], "customers.account_to_customer");
    assert_eq!(linked["conflicts"], json!([]));

    // Both sides change the phone under the manual policy: the record parks.
    mesh.sandbox
        .sf_update("Account", &account, one("Phone", "+1 555 0100"))
        .unwrap();
    mesh.sandbox
        .ns_update("customer", &customer, one("phone", "+1 555 0199"))
        .unwrap();
    let (_, parked) = mesh.sync_account(&account, false).await;
    assert_eq!(parked["outcome"], "conflict", "{parked}");
    let panel = status_of(mesh, &account).await;
    let conflicts = panel["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{panel}");
    assert_eq!(
        (
            conflicts[0]["field"].as_str(),
            conflicts[0]["salesforce_value"].as_str(),
            conflicts[0]["netsuite_value"].as_str()
        ),
        (Some("phone"), Some("+1 555 0100"), Some("+1 555 0199"))
    );

    // Resolved from the panel: both sides hold the value, the conflict is gone from the panel,
    // and the resolution is the record's last write.
    let id = conflicts[0]["id"].as_str().unwrap();
    let (status, resolved) = mesh
        .post(
            &format!("/v1/salesforce/conflicts/{id}/resolve"),
            Some(SF_KEY),
            Some(json!({"choose": "salesforce"})),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    let ns = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(text(ns.get("phone")).as_deref(), Some("+1 555 0100"));
    let after = status_of(mesh, &account).await;
    assert_eq!(after["conflicts"], json!([]), "{after}");
    assert_eq!(after["last_sync"]["outcome"], "resolved", "{after}");

    // The trail over REST: newest first, with the phone's before → after.
    let (status, trail) = mesh
        .get(
            &format!("/v1/audit?salesforce_id={account}"),
            Some(VIEWER_KEY),
        )
        .await;
    assert_eq!(status, 200, "{trail}");
    let trail = trail.as_array().unwrap();
    assert_eq!(trail[0]["outcome"], "resolved");
    assert_eq!(trail[0]["actor"], "test-salesforce", "who resolved it");
    assert_eq!(trail[0]["changes"][0]["before"], "+1 555 0199");
    assert_eq!(trail[0]["changes"][0]["after"], "+1 555 0100");
    assert_eq!(trail.last().unwrap()["outcome"], "created");
    assert_eq!(trail.last().unwrap()["trigger"], "request");
    let (_, by_customer) = mesh
        .get(
            &format!("/v1/audit?netsuite_id={customer}"),
            Some(ADMIN_KEY),
        )
        .await;
    assert!(by_customer.as_array().unwrap().len() >= 2, "{by_customer}");
}
on_both_stores!(
    panel,
    the_panel_shows_the_link_the_last_write_and_open_conflicts,
    |config: &mut isthmus::Config| {
        config
            .customers
            .ownership
            .insert("phone".into(), Ownership::Manual);
    }
);

async fn an_opportunity_panel_names_its_sales_order(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Panel Traders");
    let (opportunity, synced) = won_order(mesh, &account, "USD", &[("WIDGET-100", 2.0, 0.0)]).await;
    let order = synced["netsuite_id"].as_str().unwrap();
    let panel = status_of(mesh, &opportunity).await;
    assert_eq!(
        (
            panel["object"].as_str(),
            panel["linked"].as_bool(),
            panel["netsuite_id"].as_str()
        ),
        (Some("Opportunity"), Some(true), Some(order)),
        "{panel}"
    );
    // The order the panel names is the opportunity's in NetSuite.
    let record = mesh
        .sandbox
        .ns_record("salesOrder", order)
        .expect("the sales order the panel names");
    assert_eq!(
        text(record.get("externalId")).as_deref(),
        Some(opportunity.as_str())
    );
    assert!(panel["netsuite_url"]
        .as_str()
        .unwrap()
        .contains("salesord.nl"));
    assert_eq!(panel["last_sync"]["outcome"], "created");
}
on_both_stores!(
    opportunity_panel,
    an_opportunity_panel_names_its_sales_order
);

async fn the_panel_route_checks_ids_and_scopes_and_writes_nothing(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    mesh.sandbox.reset_calls();
    for bad in [
        "nope",
        "0015g00000ABCDEAAA",
        "01t000000000001AAA",
        &"1".repeat(200),
    ] {
        let (status, body) = mesh
            .get(
                &format!("/v1/salesforce/records/{bad}/status"),
                Some(SF_KEY),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{bad}: {body}"
        );
    }
    let (status, _) = mesh
        .get(
            &format!("/v1/salesforce/records/{account}/status"),
            Some(NS_KEY),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = mesh
        .get(&format!("/v1/salesforce/records/{account}/status"), None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = mesh
        .post(
            "/v1/salesforce/conflicts/0123456789abcdef0123456789abcdef/resolve",
            Some(SF_KEY),
            Some(json!({"choose": "salesforce"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
}
on_both_stores!(
    panel_bad_input,
    the_panel_route_checks_ids_and_scopes_and_writes_nothing
);

async fn statistics_count_every_sync_by_flow_and_outcome(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    mesh.sync_account(&account, false).await;
    mesh.sync_account(&account, false).await;
    let (status, stats) = mesh.get("/v1/stats", Some(VIEWER_KEY)).await;
    assert_eq!(status, 200, "{stats}");
    let flow = stats["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "customers.account_to_customer")
        .unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(flow["last_hour"]["outcomes"]["created"], 1, "{flow}");
    assert_eq!(flow["last_hour"]["outcomes"]["unchanged"], 1, "{flow}");
    assert_eq!(flow["last_hour"]["success_rate"], 1.0);
    assert!(flow["last_hour"]["p50_ms"].as_u64().is_some());
    assert_eq!(
        stats["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["outcomes"]["created"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        1
    );
    assert_eq!(mesh.get("/v1/stats", Some(SF_KEY)).await.0, 403);
}
on_both_stores!(statistics, statistics_count_every_sync_by_flow_and_outcome);

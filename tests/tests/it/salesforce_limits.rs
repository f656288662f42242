//! Limits a real Salesforce org enforces, met by the whole mesh: a delta whose cursor is older
//! than the 15 days of the deleted-records log says so and finds the deletions it can no longer
//! read; a backfill whose query cursor is dropped midway still creates every customer once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use isthmus::wiring;
use isthmus_engine::audit::SyncLog;
use isthmus_engine::customers::delta::{DeltaOptions, DELETES_CURSOR};
use isthmus_engine::customers::CustomerFlows;
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::schedule::Cursor;
use isthmus_sandbox::{Fault, System};
use isthmus_tests::lead::new_account;
use isthmus_tests::webhook::alert_webhook;
use isthmus_tests::{on_both_stores, TestMesh, ADMIN_KEY};
use secrecy::SecretString;
use serde_json::{json, Map};

const DELETED: &str = "GET /services/data/vXX.X/sobjects/Account/deleted";
const QUERY: &str = "GET /services/data/vXX.X/query";
const QUERY_MORE: &str = "GET /services/data/vXX.X/query/{locator}";

/// The customers flows and a sync log that alerts to `webhook`.
fn flows(mesh: &TestMesh, webhook: &str) -> (CustomerFlows, SyncLog) {
    let (mut config, mut secrets) = mesh.sandbox_config();
    config.alerts.min_interval_ms = 50;
    secrets.alerts_webhook_url = Some(SecretString::from(webhook.to_owned()));
    let (flows, _) = wiring::customer_flows(&config, &secrets, mesh.store.clone()).unwrap();
    (
        flows,
        wiring::sync_log(&config, &secrets, mesh.store.clone()),
    )
}

fn options(mesh: &TestMesh) -> DeltaOptions {
    let (config, _) = mesh.sandbox_config();
    DeltaOptions {
        page_size: 50,
        overlap: Duration::from_secs(120),
        concurrency: 4,
        allocation: SalesforceAllocation::new(
            mesh.store.clone(),
            config.salesforce.batch_share,
            Duration::from_millis(100),
        ),
    }
}

/// Links an account through the button; its customer id.
async fn linked(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    (account, body["netsuite_id"].as_str().unwrap().to_string())
}

fn inactive(mesh: &TestMesh, customer: &str) -> bool {
    let record = mesh.sandbox.ns_record("customer", customer).unwrap();
    record.get("isInactive") == Some(&json!(true))
}

async fn an_outage_longer_than_the_deleted_log_is_alerted_and_reconciled(mesh: &TestMesh) {
    let (url, seen) = alert_webhook().await;
    let (flows, log) = flows(mesh, &url);
    let org = mesh.sandbox.salesforce_org();
    let (early, early_customer) = linked(mesh, "Deleted During The Outage Ltd").await;
    let (late, late_customer) = linked(mesh, "Deleted Yesterday Ltd").await;
    let (kept, kept_customer) = linked(mesh, "Never Deleted Ltd").await;

    // The last run: 20 days ago on the org's clock, so its cursor is 20 days old.
    org.shift_clock(chrono::Duration::days(-20));
    flows
        .propagate_account_deletes(&options(mesh), &log, "trace")
        .await
        .unwrap();
    let cursor = Cursor::new(DELETES_CURSOR, Duration::ZERO).unwrap();
    let before = cursor.load(&mesh.store).await.unwrap().unwrap();
    assert!(before.modified_at < chrono::Utc::now() - chrono::Duration::days(19));
    // Deleted 18 days ago (gone from the log by now), and a day ago (still in it).
    org.reset_clock();
    mesh.sf_delete("Account", &early, chrono::Duration::days(18))
        .await;
    mesh.sf_delete("Account", &late, chrono::Duration::days(1))
        .await;
    mesh.sandbox.reset_calls();

    let (deleted, inactivated) = flows
        .propagate_account_deletes(&options(mesh), &log, "trace")
        .await
        .expect("the run reads what the log still has instead of failing");

    assert!(inactive(mesh, &early_customer), "found by reconciliation");
    assert!(inactive(mesh, &late_customer));
    assert!(!inactive(mesh, &kept_customer));
    assert_eq!(inactivated, 2);
    assert!(deleted >= 2, "{deleted}");
    for gone in [&early, &late] {
        assert!(flows.link_by_salesforce(gone).await.unwrap().is_none());
    }
    assert!(flows.link_by_salesforce(&kept).await.unwrap().is_some());
    // The log was asked once, within its 15 days; each customer was written once.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(DELETED), 1, "{calls:?}");
    assert_eq!(calls.netsuite_writes(), 2, "{calls:?}");
    let after = cursor.load(&mesh.store).await.unwrap().unwrap();
    assert!(after.modified_at > chrono::Utc::now() - chrono::Duration::minutes(5));

    let alerts = wait_for_alert(&seen).await;
    assert!(alerts.contains(DELETES_CURSOR), "{alerts}");
    assert!(alerts.contains("2 linked account(s) gone"), "{alerts}");

    // The next run reads the log from where this one stopped: nothing twice.
    mesh.sandbox.reset_calls();
    let (_, again) = flows
        .propagate_account_deletes(&options(mesh), &log, "trace")
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);
}

async fn wait_for_alert(seen: &Arc<Mutex<Vec<String>>>) -> String {
    for _ in 0..100 {
        let all = seen.lock().unwrap().join("\n");
        if !all.is_empty() {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no alert was posted");
}

on_both_stores!(
    deleted_log_outrun,
    an_outage_longer_than_the_deleted_log_is_alerted_and_reconciled
);

async fn a_backfill_whose_query_cursor_is_dropped_creates_every_customer_once(mesh: &TestMesh) {
    let names: Vec<String> = (0..40).map(|i| format!("Cursor Lost {i:02}")).collect();
    for name in &names {
        let mut account = Map::new();
        account.insert("Name".into(), json!(name));
        mesh.sandbox.sf_insert("Account", account).unwrap();
    }
    mesh.sandbox.salesforce_org().set_query_page_size(10);
    let gone =
        json!([{ "message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR" }]);
    mesh.sandbox.inject_fault(
        System::Salesforce,
        Fault::error_with(QUERY_MORE, 400, Some(gone)).times(2),
    );
    mesh.sandbox.reset_calls();

    let (status, job) = mesh
        .post("/v1/backfills/accounts", Some(ADMIN_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let done = loop {
        let (_, job) = mesh
            .get(&format!("/v1/backfills/{id}"), Some(ADMIN_KEY))
            .await;
        if job["state"] != "running" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["state"], "done", "{done}");
    for name in &names {
        let customers = mesh.ns_where("customer", "companyName", name);
        assert_eq!(customers.len(), 1, "{name}: {customers:?}");
    }
    let calls = mesh.sandbox.calls();
    assert_eq!(mesh.sandbox.counters().salesforce.injected_faults, 2);
    // The COUNT() for the progress bar, the walk's first query, and one restart after each
    // lost cursor (after the last Id read, so no account twice).
    assert_eq!(calls.get(QUERY), 4, "{calls:?}");
}

on_both_stores!(
    backfill_cursor_lost,
    a_backfill_whose_query_cursor_is_dropped_creates_every_customer_once
);

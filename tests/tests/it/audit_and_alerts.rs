//! The audit log records every write, and alerts reach a webhook (a real HTTP receiver here).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use isthmus_sandbox::{seed, Fault, System};
use isthmus_tests::webhook::alert_webhook;
use isthmus_tests::{on_both_stores, StoreKind, TestMesh, ADMIN_KEY, SF_KEY};
use secrecy::SecretString;
use serde_json::Value;

async fn every_write_is_audited_and_nothing_else(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, dry) = mesh.sync_account(&account, true).await;
    assert_eq!(dry["dry_run"], true);
    let (_, created) = mesh.sync_account(&account, false).await;
    let (_, unchanged) = mesh.sync_account(&account, false).await;
    assert_eq!(unchanged["outcome"], "unchanged");

    let (status, entries) = mesh.get("/v1/audit", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{entries}");
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "one write, one entry: {entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["flow"], "customers.account_to_customer");
    assert_eq!(entry["outcome"], "created");
    assert_eq!(entry["salesforce_id"], account.as_str());
    assert_eq!(entry["netsuite_id"], created["netsuite_id"]);
    assert_eq!(entry["trace_id"], created["trace_id"]);
    assert!(
        entry["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "netsuite.customer.companyName"),
        "{entry}"
    );

    let after = entry["id"].as_str().unwrap();
    let (status, rest) = mesh
        .get(&format!("/v1/audit?after={after}"), Some(ADMIN_KEY))
        .await;
    assert_eq!((status, rest.as_array().map(Vec::len)), (200, Some(0)));
    let (status, bad) = mesh.get("/v1/audit?after=x'%20OR", Some(ADMIN_KEY)).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    let (status, _) = mesh.get("/v1/audit", Some(SF_KEY)).await;
    assert_eq!(status, 403);
}
on_both_stores!(audit, every_write_is_audited_and_nothing_else);

async fn messages_after(seen: &Arc<Mutex<Vec<String>>>, wait: Duration) -> Vec<String> {
    tokio::time::sleep(wait).await;
    seen.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_and_conflicts_are_alerted_in_rate_limited_batches() {
    let (url, seen) = alert_webhook().await;
    let mesh = TestMesh::start_configured(StoreKind::Memory, |config, secrets| {
        config.alerts.min_interval_ms = 500;
        secrets.alerts_webhook_url = Some(SecretString::from(url.clone()));
    })
    .await;
    // Three permanent failures and one ambiguous match in quick succession.
    mesh.sandbox.inject_fault(
        System::NetSuite,
        Fault::error_with(
            "PUT /services/rest/record/v1/customer/eid:{externalId}",
            400,
            None,
        ),
    );
    let accounts: Vec<String> = ["Alert Test One", "Alert Test Two", "Alert Test Three"]
        .iter()
        .map(|name| {
            let mut account = serde_json::Map::new();
            account.insert("Name".into(), Value::String((*name).into()));
            mesh.sandbox.sf_insert("Account", account).unwrap()
        })
        .collect();
    let mut jobs = Vec::new();
    for account in &accounts {
        let (status, body) = mesh
            .post(
                &format!("/v1/salesforce/accounts/{account}/sync?mode=async"),
                Some(SF_KEY),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        jobs.push(body["job_id"].as_str().unwrap().to_string());
    }
    for job in &jobs {
        mesh.wait_job(job).await;
    }
    let ambiguous = mesh.account_id(seed::AMBIGUOUS_DOMAIN_ACCOUNT);
    let (_, conflict) = mesh.sync_account(&ambiguous, false).await;
    assert_eq!(conflict["outcome"], "conflict");

    let messages = messages_after(&seen, Duration::from_millis(1500)).await;
    assert!(!messages.is_empty(), "alerts were posted");
    assert!(
        messages.len() <= 3,
        "batched, at most one message per 500 ms: {messages:?}"
    );
    let all = messages.join("\n");
    for job in &jobs {
        assert!(
            all.contains(job.as_str()),
            "dead letter {job} alerted: {all}"
        );
    }
    assert!(
        all.contains("conflict in customers.account_to_customer"),
        "{all}"
    );
    assert!(!all.contains(&url), "the webhook URL is a secret");
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_record_is_alerted_once_not_on_every_click() {
    let (url, seen) = alert_webhook().await;
    let mesh = TestMesh::start_configured(StoreKind::Memory, |config, secrets| {
        config.alerts.min_interval_ms = 100;
        config
            .customers
            .ownership
            .insert("name".into(), isthmus_engine::config::Ownership::Manual);
        secrets.alerts_webhook_url = Some(SecretString::from(url.clone()));
    })
    .await;
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, first) = mesh.sync_account(&account, false).await;
    let customer = first["netsuite_id"].as_str().unwrap().to_string();
    let rename = |field: &str, value: &str| {
        let mut fields = serde_json::Map::new();
        fields.insert(field.into(), Value::String(value.into()));
        fields
    };
    mesh.sandbox
        .sf_update("Account", &account, rename("Name", "Renamed in Salesforce"))
        .unwrap();
    mesh.sandbox
        .ns_update(
            "customer",
            &customer,
            rename("companyName", "Renamed in NetSuite"),
        )
        .unwrap();
    for _ in 0..3 {
        let (_, click) = mesh.sync_account(&account, false).await;
        assert_eq!(click["outcome"], "conflict", "{click}");
    }
    let all = messages_after(&seen, Duration::from_millis(600))
        .await
        .join("\n");
    assert_eq!(
        all.matches("• conflict").count(),
        1,
        "parked once, alerted once: {all}"
    );
    mesh.shutdown().await;
}

//! The schema doctor: a clean sandbox is ok; a renamed Salesforce field, a picklist value a value
//! map sends removed, and a NetSuite field gone are each reported with the configuration key that
//! needs them; the command and the scheduled run (its report at `GET /v1/doctor`) alert the
//! webhook; only metadata is read.

use std::collections::BTreeSet;

use crate::console_access::{page, sign_in};
use isthmus_engine::doctor::{self, DoctorReport, ProblemKind, Side};
use isthmus_tests::webhook::alert_webhook;
use isthmus_tests::{on_both_stores, StoreKind, TestMesh, ADMIN_KEY, SF_KEY, VIEWER_KEY};
use secrecy::SecretString;
use serde_json::Value;

/// The JSON report names exactly the three drifts [`drift`] makes, by the key that needs each.
fn assert_drift_reported(report: &Value) {
    let keys: BTreeSet<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["config_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "customers.fields.phone",
            "catalog.families",
            "orders.fields.Purchase_Order__c"
        ])
    );
}

/// Runs the doctor in this process against the mesh's sandbox and store.
async fn run_doctor(mesh: &TestMesh) -> DoctorReport {
    let (config, secrets) = mesh.sandbox_config();
    let salesforce = isthmus::wiring::salesforce(&config, &secrets).unwrap();
    let netsuite = isthmus::wiring::netsuite(&config, &secrets, mesh.store.clone()).unwrap();
    doctor::run(&config, &salesforce, &netsuite).await.unwrap()
}

/// Makes the three drifts an administrator might: `Account.Phone` renamed (mapped by
/// `customers.fields.phone`), `Hardware` removed from `Product2.Family` (sent by
/// `catalog.families`), `salesOrder.otherRefNum` deleted (mapped by `orders.fields`).
fn drift(mesh: &TestMesh) {
    mesh.sandbox
        .sf_rename_field("Account", "Phone", Some("Main_Phone__c"));
    mesh.sandbox
        .sf_remove_picklist_value("Product2", "Family", "Hardware");
    mesh.sandbox.ns_remove_field("salesOrder", "otherRefNum");
}

/// Every call since the last reset was a metadata read (or a token): nothing else was read or
/// written, and each object was described once.
fn assert_only_metadata_read(mesh: &TestMesh) {
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    for (key, count) in calls.salesforce.iter().chain(calls.netsuite.iter()) {
        let metadata = key.starts_with("GET ")
            && (key.ends_with("/describe") || key.contains("/metadata-catalog/"));
        // The customers service publishes the Salesforce allocation every 5 s (`GET limits`),
        // whatever the doctor does.
        let beside =
            key == "POST /services/oauth2/token" || key == "GET /services/data/vXX.X/limits";
        assert!(
            metadata || beside,
            "only metadata is read, not {key} ({count})"
        );
        if key.ends_with("/describe") {
            assert_eq!(*count, 1, "{key} read once (cached for the run)");
        }
    }
    // customer, contact and salesOrder, once each (the route counts them under one pattern).
    assert_eq!(
        calls.get("GET /services/rest/record/v1/metadata-catalog/{recordType}"),
        3,
        "{calls:?}"
    );
}

async fn clean_then_drifted(mesh: &TestMesh) {
    let before = mesh.store_snapshot().await;
    mesh.sandbox.reset_calls();
    let clean = run_doctor(mesh).await;
    assert!(clean.ok, "{}", clean.text());
    assert!(clean.checked > 10, "{clean:?}");
    assert!(clean.text().starts_with("ok:"));
    assert_only_metadata_read(mesh);

    drift(mesh);
    mesh.sandbox.reset_calls();
    let report = run_doctor(mesh).await;
    assert!(!report.ok);
    let found: BTreeSet<(ProblemKind, Side, &str, &str, &str)> = report
        .problems
        .iter()
        .map(|p| {
            (
                p.kind,
                p.side,
                p.object.as_str(),
                p.field.as_str(),
                p.config_key.as_str(),
            )
        })
        .collect();
    let expected = BTreeSet::from([
        (
            ProblemKind::FieldMissing,
            Side::Salesforce,
            "Account",
            "Phone",
            "customers.fields.phone",
        ),
        (
            ProblemKind::ValueMissing,
            Side::Salesforce,
            "Product2",
            "Family",
            "catalog.families",
        ),
        (
            ProblemKind::FieldMissing,
            Side::NetSuite,
            "salesOrder",
            "otherRefNum",
            "orders.fields.Purchase_Order__c",
        ),
    ]);
    assert_eq!(found, expected, "{}", report.text());
    let family = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::ValueMissing)
        .unwrap();
    assert_eq!(family.value.as_deref(), Some("Hardware"));
    assert!(report.problems.iter().all(|p| !p.fix.is_empty()));
    assert!(report.alert().is_some());
    assert_only_metadata_read(mesh);
    mesh.assert_nothing_written(&before).await;
}
on_both_stores!(drift_reported, clean_then_drifted);

/// `isthmus doctor [--json]` against the mesh's sandbox: (exit code, stdout).
async fn doctor_command(mesh: &mut TestMesh, hook: &str, json: bool) -> (i32, String) {
    let binary = isthmus_tests::isthmus_binary().await;
    let urls = mesh.sandbox_urls.clone();
    let redis = mesh.redis_server().expect("a Redis mesh");
    let mut command = tokio::process::Command::new(binary);
    command.arg("doctor");
    if json {
        command.arg("--json");
    }
    let output = command
        .env_clear()
        .envs(isthmus_tests::process_env(&urls, redis))
        .env("ISTHMUS_ALERTS__WEBHOOK_URL", hook)
        .kill_on_drop(true)
        .output()
        .await
        .expect("isthmus runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(hook), "the webhook URL is never logged");
    (output.status.code().unwrap_or(-1), stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_command_exits_non_zero_and_alerts_on_drift() {
    let mut mesh = TestMesh::start(StoreKind::Redis).await;
    let (hook, seen) = alert_webhook().await;
    let (code, stdout) = doctor_command(&mut mesh, &hook, false).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("ok:"), "{stdout}");
    assert!(seen.lock().unwrap().is_empty(), "no alert when all is well");

    drift(&mesh);
    mesh.sandbox.reset_calls();
    let before = mesh.store_snapshot().await;
    let (code, stdout) = doctor_command(&mut mesh, &hook, true).await;
    assert_eq!(code, 1, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["ok"], false);
    assert_drift_reported(&report);
    // The command sends the alert before it exits: it is there now.
    let alerts = seen.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains("schema drift: 3 problem(s)"),
        "{alerts:?}"
    );
    assert!(alerts[0].contains("customers.fields.phone"), "{alerts:?}");
    assert_only_metadata_read(&mesh);
    mesh.assert_nothing_written(&before).await;
    mesh.shutdown().await;
}

/// The scheduled doctor, run now through the gateway: its report at `GET /v1/doctor` names the
/// same problems, one alert reaches the webhook, and only metadata was read.
async fn scheduled_run_reported_at_the_gateway(kind: StoreKind) {
    let (hook, seen) = alert_webhook().await;
    let mesh = TestMesh::start_configured(kind, |config, secrets| {
        // Set (so a replica runs it when asked) but never due during the test.
        config.schedules.doctor = "0 0 1 1 *".into();
        secrets.alerts_webhook_url = Some(SecretString::from(hook.clone()));
    })
    .await;
    let (status, none) = mesh.get("/v1/doctor", Some(ADMIN_KEY)).await;
    assert_eq!(
        (status, none["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{none}"
    );
    let (status, _) = mesh.get("/v1/doctor", Some(SF_KEY)).await;
    assert_eq!(status, 403, "an operator route");
    let (cookie, _) = sign_in(&mesh, VIEWER_KEY).await;
    let (status, overview) = page(&mesh, &cookie, "/console").await;
    assert_eq!(status, 200);
    assert!(
        overview.contains("The schema doctor has not run yet"),
        "{overview}"
    );

    drift(&mesh);
    mesh.sandbox.reset_calls();
    let (status, asked) = mesh
        .post("/v1/schedules/customers.doctor/run", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 202, "{asked}");
    let mut report = Value::Null;
    for _ in 0..300 {
        let (status, body) = mesh.get("/v1/doctor", Some(VIEWER_KEY)).await;
        if status == 200 {
            report = body;
            break;
        }
        assert_eq!(status, 404, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(report["ok"], false, "{report}");
    assert_drift_reported(&report);
    // The console's overview shows the same problems, each with the key that needs it.
    let (_, overview) = page(&mesh, &cookie, "/console").await;
    let table = overview
        .split("id=\"schema-problems\"")
        .nth(1)
        .expect("the overview lists the schema problems");
    for needed in [
        "customers.fields.phone",
        "catalog.families",
        "orders.fields.Purchase_Order__c",
        "Account.Phone",
        "salesOrder.otherRefNum",
        "Hardware",
    ] {
        assert!(table.contains(needed), "{needed} in {table}");
    }
    let mut alerts = Vec::new();
    for _ in 0..300 {
        alerts = seen.lock().unwrap().clone();
        if !alerts.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("schema drift: 3 problem(s)")),
        "{alerts:?}"
    );
    assert_only_metadata_read(&mesh);
    // The run's outcome names the problems in the schedules' last runs too.
    let mut last_run = Value::Null;
    for _ in 0..300 {
        let (_, schedules) = mesh.get("/v1/schedules", Some(ADMIN_KEY)).await;
        last_run = schedules["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "customers.doctor")
            .map(|s| s["last_run"].clone())
            .unwrap();
        if !last_run["ended_at"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        last_run["error"]
            .as_str()
            .is_some_and(|e| e.contains("3 schema problem(s)")),
        "{last_run}"
    );
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_doctor_on_redis() {
    scheduled_run_reported_at_the_gateway(StoreKind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_doctor_on_memory() {
    scheduled_run_reported_at_the_gateway(StoreKind::Memory).await;
}

/// With quotes and the report schedules on, the doctor checks the Quote's id and status fields,
/// the estimate's external id and every field of the two report objects: all present in the
/// sandbox; a report field removed is named with the schedule that needs it.
async fn quotes_and_reports_are_checked(mesh: &TestMesh) {
    let (mut config, secrets) = mesh.sandbox_config();
    config.orders.orders_from_quotes = true;
    config.schedules.aging = "30 4 * * *".into();
    config.schedules.gl_balances = "45 4 * * *".into();
    let salesforce = isthmus::wiring::salesforce(&config, &secrets).unwrap();
    let netsuite = isthmus::wiring::netsuite(&config, &secrets, mesh.store.clone()).unwrap();
    let needs = doctor::needs(&config);
    for (object, field) in [
        ("Quote", "NetSuite_Id__c"),
        ("estimate", "externalId"),
        ("NetSuite_Aging__c", "Days_90_Plus__c"),
        ("NetSuite_GL_Balance__c", "NetSuite_Key__c"),
    ] {
        assert!(
            needs.iter().any(|n| n.object == object && n.field == field),
            "{object}.{field} is checked"
        );
    }
    let clean = doctor::run(&config, &salesforce, &netsuite).await.unwrap();
    assert!(clean.ok, "{clean:?}");
    mesh.sandbox
        .sf_rename_field("NetSuite_Aging__c", "Days_90_Plus__c", None);
    let drifted = doctor::run(&config, &salesforce, &netsuite).await.unwrap();
    let named: Vec<(&str, &str)> = drifted
        .problems
        .iter()
        .map(|p| (p.field.as_str(), p.config_key.as_str()))
        .collect();
    assert_eq!(
        named,
        [("Days_90_Plus__c", "schedules.aging")],
        "{drifted:?}"
    );
}
on_both_stores!(quotes_and_reports, quotes_and_reports_are_checked);

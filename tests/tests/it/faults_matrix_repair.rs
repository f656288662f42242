//! The fault matrix of reconciliation repair (customers): linked accounts renamed on one side
//! show as `field_differs` drifts, and each is repaired through the gateway under a fifth of
//! failures of each [`FailureKind`] on the two routes a repair writes through: Salesforce's
//! Composite call (a customer renamed in NetSuite renames its account) and NetSuite's customer
//! PATCH (an account renamed in Salesforce renames its customer). A repair is one call, not a
//! job: when it answers a 5xx the operator (here, the test) asks again, as the console does.
//!
//! Why the call counts are exact: a repair re-syncs the customer, then the account. A write
//! that failed before the vendor ran it is made again by the next repair. A committed write
//! whose answer was lost is not: the next repair finds both sides already agreeing (the
//! account or customer carries the new name), writes only the link, and the account's half is
//! an echo. Hence on each route: calls = renamed records + the faults that fired there before
//! the vendor committed.

use std::time::Duration;

use isthmus_sandbox::System;
use isthmus_tests::faults::{
    add_accounts, assert_each_once, assert_no_lock_held, assert_no_lock_keys, fired,
    wait_queue_drained, FailureKind,
};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY};
use serde_json::{json, Value};

use crate::faults_matrix_accounts::adjust;

/// Accounts renamed on each side, per failure kind.
const RENAMED: usize = 8;
const RATE: f64 = 0.2;
/// Repairs of one drift before the test gives up.
const ASKS: usize = 20;
const COMPOSITE: &str = "POST /services/data/vXX.X/composite";
const PATCH_CUSTOMER: &str = "PATCH /services/rest/record/v1/customer/{id}";

async fn reconcile(mesh: &TestMesh) -> Value {
    let (status, report) = mesh
        .post("/v1/reconcile/customers", Some(ADMIN_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{report}");
    report
}

/// The `field_differs` drifts naming one of `accounts`.
fn drifts_of(report: &Value, accounts: &[String]) -> Vec<Value> {
    report["drifts"]
        .as_array()
        .expect("drifts")
        .iter()
        .filter(|d| {
            d["kind"] == "field_differs"
                && d["salesforce_id"]
                    .as_str()
                    .is_some_and(|id| accounts.iter().any(|a| a == id))
        })
        .cloned()
        .collect()
}

/// Repairs `drift`, asking again after each 5xx; the number of asks.
async fn repair(mesh: &TestMesh, drift: &Value) -> usize {
    for ask in 1..=ASKS {
        let (status, result) = mesh
            .post(
                "/v1/reconcile/customers/repair",
                Some(ADMIN_KEY),
                Some(drift.clone()),
            )
            .await;
        match status {
            200 => return ask,
            500..=599 => continue,
            _ => panic!("repairing {drift}: {status} {result}"),
        }
    }
    panic!("{drift} not repaired in {ASKS} asks");
}

/// `RENAMED` accounts synced, then renamed in NetSuite, and as many renamed in Salesforce;
/// the accounts and the names each side should end with.
async fn drifted(mesh: &TestMesh, prefix: &str) -> (Vec<String>, Vec<String>) {
    let accounts = add_accounts(&mesh.sandbox, prefix, 2 * RENAMED);
    let mut names = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let (status, body) = mesh.sync_account(account, false).await;
        assert_eq!(status, 200, "{body}");
        let customer = body["netsuite_id"].as_str().expect("linked").to_string();
        let name = format!("{prefix}{i:04} Renamed");
        let mut edit = serde_json::Map::new();
        if i < RENAMED {
            edit.insert("companyName".into(), json!(name));
            mesh.sandbox.ns_update("customer", &customer, edit).unwrap();
        } else {
            edit.insert("Name".into(), json!(name));
            mesh.sandbox.sf_update("Account", account, edit).unwrap();
        }
        names.push(name);
    }
    (accounts, names)
}

async fn repairs_under_each_failure_kind_rename_every_record_once(mesh: &TestMesh) {
    for kind in FailureKind::ALL {
        let (accounts, names) = drifted(mesh, &format!("Repair{kind:?}")).await;
        let found = drifts_of(&reconcile(mesh).await, &accounts);
        assert_eq!(
            found.len(),
            accounts.len(),
            "{kind:?}: one drift each: {found:?}"
        );
        mesh.sandbox.reset_control();
        kind.inject(&mesh.sandbox, System::Salesforce, &[COMPOSITE], RATE);
        kind.inject(&mesh.sandbox, System::NetSuite, &[PATCH_CUSTOMER], RATE);

        let mut asks = 0;
        for drift in &found {
            asks += repair(mesh, drift).await;
        }
        let composites = fired(&mesh.sandbox, System::Salesforce, COMPOSITE);
        let patches = fired(&mesh.sandbox, System::NetSuite, PATCH_CUSTOMER);
        assert!(
            composites.total() + patches.total() >= 2,
            "{kind:?}: the faults fired: {composites:?} {patches:?}"
        );
        assert_eq!(
            asks as u64,
            accounts.len() as u64 + composites.total() + patches.total(),
            "{kind:?}: one ask per drift and per fault"
        );

        let calls = mesh.sandbox.calls();
        assert_eq!(
            calls.get(COMPOSITE),
            RENAMED as u64 + composites.uncommitted,
            "{kind:?}: {composites:?} {calls:?}"
        );
        assert_eq!(
            calls.get(PATCH_CUSTOMER),
            RENAMED as u64 + patches.uncommitted,
            "{kind:?}: {patches:?} {calls:?}"
        );
        assert_eq!(
            (calls.salesforce_writes(), calls.netsuite_writes()),
            (calls.get(COMPOSITE), calls.get(PATCH_CUSTOMER)),
            "{kind:?}: no other write: {calls:?}"
        );

        mesh.sandbox.reset_control();
        assert!(
            drifts_of(&reconcile(mesh).await, &accounts).is_empty(),
            "{kind:?}: no drift left"
        );
        // Both sides carry each new name exactly once, on the linked pair.
        let sf = assert_each_once(&mesh.sandbox.sf_records("Account"), "Name", &names);
        let ns = assert_each_once(&mesh.sandbox.ns_records("customer"), "companyName", &names);
        for ((account, customer), id) in sf.iter().zip(&ns).zip(&accounts) {
            assert_eq!(text(account.get("Id")).as_ref(), Some(id));
            assert_eq!(
                text(account.get("NetSuite_Id__c")),
                text(customer.get("id"))
            );
            assert_eq!(text(customer.get("externalId")).as_ref(), Some(id));
        }
        let depth =
            wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(10)).await;
        assert_eq!(depth.dead, 0, "{depth:?}");
        assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
        assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
    }
}
on_both_stores!(
    repair,
    repairs_under_each_failure_kind_rename_every_record_once,
    adjust
);

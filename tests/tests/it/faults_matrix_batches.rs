//! The fault matrix of the batch flows of customers: the scheduled delta (accounts → customers
//! with their write-backs, customers → accounts, deleted accounts → inactive customers, the
//! last with its own count reasoning at its test) and the account backfill, under a fifth
//! of failures of each [`FailureKind`] on every route they write through: NetSuite's customer
//! upsert; Salesforce's sObject Collections update (a page's or a batch's write-backs), the
//! one-account PATCH (the write-back of a record retried as a job) and Composite (an account
//! made from a customer). A record that fails in a batch goes to the batch lane as a job; the
//! tests wait until the lane is drained and assert on both sandboxes.
//!
//! Why the counts are what they are (the upsert and Composite reasoning of
//! `faults_matrix_accounts.rs` and `faults_matrix_customers.rs` holds here too: a call that
//! never ran is made again, a committed one whose answer was lost is found by its external key
//! and not repeated):
//! - a Collections call is never retried as such: a failed one hands its accounts to jobs, and
//!   each job writes its own id back with the one-account PATCH, unless the failed call had
//!   committed, in which case the job finds an echo and writes nothing;
//! - an account whose sync failed in the batch is written back by its job, one PATCH.
//!
//! So, with `synced` the accounts the batch itself synced (its report's `created`) and `u(r)`
//! the faults that fired on route `r` before the vendor committed:
//! `PATCH Account = accounts − synced + (accounts in Collections calls that never ran) + u(PATCH)`.
//! The delta reads pages of one account, so each Collections call holds one account and that
//! middle term is `u(Collections)`; the backfill's batch holds every account it synced, so the
//! term is `synced` when its one Collections call never ran, else 0.

use std::time::Duration;

use chrono::Utc;
use isthmus::wiring;
use isthmus_engine::audit::SyncLog;
use isthmus_engine::customers::delta::{DeltaOptions, ACCOUNTS_CURSOR, CUSTOMERS_CURSOR};
use isthmus_engine::customers::CustomerFlows;
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::schedule::{Cursor, CursorPos};
use isthmus_sandbox::System;
use isthmus_tests::faults::{
    add_accounts, assert_each_account_synced_once, assert_each_once, assert_no_lock_held,
    assert_no_lock_keys, fired, run_backfill, wait_queue_drained, FailureKind, PUT_CUSTOMER,
};
use isthmus_tests::lead::object;
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::json;

use crate::faults_matrix_accounts::{adjust, WRITE_BACK};

const ACCOUNTS: usize = 25;
const CUSTOMERS: usize = 15;
const RATE: f64 = 0.2;
/// sObject Collections update: many accounts' write-backs in one call.
const COLLECTIONS: &str = "PATCH /services/data/vXX.X/composite/sobjects";
const COMPOSITE: &str = "POST /services/data/vXX.X/composite";

/// Every route the batch flows write through, by vendor.
fn inject(mesh: &TestMesh, kind: FailureKind) {
    kind.inject(&mesh.sandbox, System::NetSuite, &[PUT_CUSTOMER], RATE);
    kind.inject(
        &mesh.sandbox,
        System::Salesforce,
        &[COLLECTIONS, WRITE_BACK, COMPOSITE],
        RATE,
    );
}

fn delta_flows(mesh: &TestMesh) -> (CustomerFlows, SyncLog) {
    let (mut config, secrets) = mesh.sandbox_config();
    config.customers.delta_accounts = isthmus_engine::config::DeltaAccounts::All;
    let (flows, _) = wiring::customer_flows(&config, &secrets, mesh.store.clone()).unwrap();
    let log = wiring::sync_log(&config, &secrets, mesh.store.clone());
    (flows, log)
}

/// Pages of one record, so each write-back Collections call holds one account (see the
/// module doc), read from where the cursor stands.
fn delta_options(mesh: &TestMesh) -> DeltaOptions {
    let (config, _) = mesh.sandbox_config();
    DeltaOptions {
        page_size: 1,
        overlap: Duration::ZERO,
        concurrency: 4,
        allocation: SalesforceAllocation::new(
            mesh.store.clone(),
            config.salesforce.batch_share,
            Duration::from_millis(100),
        ),
    }
}

async fn cursors_at_now(mesh: &TestMesh) {
    let start = Utc::now() - chrono::Duration::seconds(2);
    for flow in [ACCOUNTS_CURSOR, CUSTOMERS_CURSOR] {
        Cursor::new(flow, Duration::ZERO)
            .unwrap()
            .save(&mesh.store, &CursorPos::new(start, ""))
            .await
            .unwrap();
    }
}

/// The write-back PATCHes expected (see the module doc).
fn expected_write_backs(
    accounts: usize,
    synced: u64,
    unrun_in_collections: u64,
    unrun: u64,
) -> u64 {
    accounts as u64 - synced + unrun_in_collections + unrun
}

async fn the_delta_under_each_failure_kind_syncs_every_record_once(mesh: &TestMesh) {
    let (flows, log) = delta_flows(mesh);
    let drained = Duration::from_secs(60);
    for kind in FailureKind::ALL {
        mesh.sandbox.reset_control();
        cursors_at_now(mesh).await;
        let prefix = format!("Delta{kind:?}");
        let accounts = add_accounts(&mesh.sandbox, &prefix, ACCOUNTS);
        let names: Vec<String> = (0..CUSTOMERS)
            .map(|i| format!("{prefix}{i:04} Imports"))
            .collect();
        let customers: Vec<String> = names
            .iter()
            .map(|name| {
                let body = json!({ "companyName": name, "subsidiary": { "id": "1" } });
                mesh.sandbox.ns_insert("customer", object(body)).unwrap()
            })
            .collect();
        inject(mesh, kind);

        // The accounts first, and their retries, so the customers half then meets the
        // customers those accounts made as linked echoes, not as a race with the jobs.
        let options = delta_options(mesh);
        let report = flows
            .delta_accounts(&options, &log, "matrix")
            .await
            .unwrap();
        let depth = wait_queue_drained(mesh.customers_queue.as_ref(), drained).await;
        assert_eq!(depth.dead, 0, "{kind:?}: nothing dead-lettered: {depth:?}");
        let made = flows
            .delta_customers(&options, &log, "matrix")
            .await
            .unwrap();
        let depth = wait_queue_drained(mesh.customers_queue.as_ref(), drained).await;
        assert_eq!(depth.dead, 0, "{kind:?}: nothing dead-lettered: {depth:?}");

        assert_each_account_synced_once(&mesh.sandbox, &accounts);
        let sf_accounts = mesh.sandbox.sf_records("Account");
        let made_accounts = assert_each_once(&sf_accounts, "Name", &names);
        assert_each_once(&sf_accounts, "NetSuite_Id__c", &customers);
        for (account, customer) in made_accounts.iter().zip(&customers) {
            assert_eq!(text(account.get("NetSuite_Id__c")).as_ref(), Some(customer));
        }

        let upserts = fired(&mesh.sandbox, System::NetSuite, PUT_CUSTOMER);
        let collections = fired(&mesh.sandbox, System::Salesforce, COLLECTIONS);
        let write_backs = fired(&mesh.sandbox, System::Salesforce, WRITE_BACK);
        let composites = fired(&mesh.sandbox, System::Salesforce, COMPOSITE);
        let all = [upserts, collections, write_backs, composites];
        assert!(
            all.iter().map(|f| f.total()).sum::<u64>() >= 3,
            "{kind:?}: the faults fired: {all:?}"
        );
        assert!(
            report.queued + made.queued > 0,
            "{kind:?}: some records went to the batch lane: {report:?} {made:?}"
        );
        let calls = mesh.sandbox.calls();
        let context = format!("{kind:?}: {report:?} {made:?} {all:?} {calls:?}");
        assert_eq!(
            calls.get(PUT_CUSTOMER),
            ACCOUNTS as u64 + upserts.uncommitted,
            "{context}"
        );
        assert_eq!(calls.get(COLLECTIONS), report.created, "{context}");
        assert_eq!(
            calls.get(WRITE_BACK),
            expected_write_backs(
                ACCOUNTS,
                report.created,
                collections.uncommitted,
                write_backs.uncommitted
            ),
            "{context}"
        );
        assert_eq!(
            calls.get(COMPOSITE),
            CUSTOMERS as u64 + composites.uncommitted,
            "{context}"
        );
        assert_eq!(
            (calls.netsuite_writes(), calls.salesforce_writes()),
            (
                calls.get(PUT_CUSTOMER),
                calls.get(COLLECTIONS) + calls.get(WRITE_BACK) + calls.get(COMPOSITE)
            ),
            "no other write: {context}"
        );
        assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
        assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
    }
}
on_both_stores!(
    delta,
    the_delta_under_each_failure_kind_syncs_every_record_once,
    adjust
);

async fn the_backfill_under_each_failure_kind_syncs_every_account_once(mesh: &TestMesh) {
    // The seeded accounts first, with no fault, so each faulted run reads only its own.
    let seeded = run_backfill(mesh, Duration::from_secs(60)).await;
    assert_eq!(seeded["state"], "done", "{seeded}");
    for kind in FailureKind::ALL {
        let accounts = add_accounts(&mesh.sandbox, &format!("Backfill{kind:?}"), ACCOUNTS);
        wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(10)).await;
        mesh.sandbox.reset_control();
        inject(mesh, kind);

        let report = run_backfill(mesh, Duration::from_secs(60)).await;
        assert_eq!(report["state"], "done", "{report}");
        assert_eq!(
            report["failed"], 0,
            "{kind:?}: no account dropped: {report}"
        );
        let depth =
            wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(60)).await;
        assert_eq!(depth.dead, 0, "{kind:?}: nothing dead-lettered: {depth:?}");

        assert_each_account_synced_once(&mesh.sandbox, &accounts);
        let upserts = fired(&mesh.sandbox, System::NetSuite, PUT_CUSTOMER);
        let collections = fired(&mesh.sandbox, System::Salesforce, COLLECTIONS);
        let write_backs = fired(&mesh.sandbox, System::Salesforce, WRITE_BACK);
        let all = [upserts, collections, write_backs];
        assert!(
            all.iter().map(|f| f.total()).sum::<u64>() >= 2,
            "{kind:?}: the faults fired: {all:?}"
        );
        let synced = report["created"].as_u64().expect("created");
        let calls = mesh.sandbox.calls();
        let context = format!("{kind:?}: {report} {all:?} {calls:?}");
        assert_eq!(
            calls.get(PUT_CUSTOMER),
            ACCOUNTS as u64 + upserts.uncommitted,
            "{context}"
        );
        assert_eq!(
            calls.get(COLLECTIONS),
            u64::from(synced > 0),
            "one write-back batch: {context}"
        );
        let unrun_batch = if collections.uncommitted > 0 {
            synced
        } else {
            0
        };
        assert_eq!(
            calls.get(WRITE_BACK),
            expected_write_backs(ACCOUNTS, synced, unrun_batch, write_backs.uncommitted),
            "{context}"
        );
        assert_eq!(
            (calls.netsuite_writes(), calls.salesforce_writes()),
            (
                calls.get(PUT_CUSTOMER),
                calls.get(COLLECTIONS) + calls.get(WRITE_BACK)
            ),
            "no other write: {context}"
        );
        assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
        assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
    }
}
on_both_stores!(
    backfill,
    the_backfill_under_each_failure_kind_syncs_every_account_once,
    adjust
);

/// NetSuite's update of one customer: a deleted account's customer made inactive.
const PATCH_CUSTOMER: &str = "PATCH /services/rest/record/v1/customer/{id}";
/// Accounts deleted per failure kind.
const DELETED: usize = 10;

/// The delta's third part, deleted accounts → inactive customers, under each failure kind on
/// the customer PATCH. A failure ends the run where it stands and the next run reads the
/// deletion log again from the same point; a customer already inactivated has lost its link
/// and is skipped. Inactivation is a plain PATCH with no echo check, so a committed PATCH whose
/// answer was lost is made once more by the next run (harmless: it sets the same flag). Hence
/// PATCHes = deleted accounts + every fault, and runs = 1 + every fault.
async fn deleted_accounts_under_each_failure_kind_inactivate_every_customer_once(mesh: &TestMesh) {
    let (flows, log) = delta_flows(mesh);
    for kind in FailureKind::ALL {
        let accounts = add_accounts(&mesh.sandbox, &format!("Deleted{kind:?}"), DELETED);
        let mut customers = Vec::new();
        for account in &accounts {
            let (status, body) = mesh.sync_account(account, false).await;
            assert_eq!(status, 200, "{body}");
            customers.push(body["netsuite_id"].as_str().expect("linked").to_string());
            mesh.sf_delete("Account", account, chrono::Duration::seconds(90))
                .await;
        }
        mesh.sandbox.reset_control();
        kind.inject(&mesh.sandbox, System::NetSuite, &[PATCH_CUSTOMER], RATE);

        let options = DeltaOptions {
            overlap: Duration::from_secs(120),
            ..delta_options(mesh)
        };
        let mut runs = 0_u64;
        loop {
            runs += 1;
            assert!(runs <= 40, "{kind:?}: the deletes never went through");
            if flows
                .propagate_account_deletes(&options, &log, "matrix")
                .await
                .is_ok()
            {
                break;
            }
        }
        let faults = fired(&mesh.sandbox, System::NetSuite, PATCH_CUSTOMER);
        assert!(faults.total() >= 1, "{kind:?}: the faults fired");
        assert_eq!(
            runs,
            1 + faults.total(),
            "{kind:?}: each fault ended one run"
        );
        for (account, customer) in accounts.iter().zip(&customers) {
            let record = mesh.sandbox.ns_record("customer", customer).unwrap();
            assert_eq!(record.get("isInactive"), Some(&json!(true)), "{record:?}");
            assert!(flows.link_by_salesforce(account).await.unwrap().is_none());
        }
        let calls = mesh.sandbox.calls();
        assert_eq!(
            calls.get(PATCH_CUSTOMER),
            DELETED as u64 + faults.total(),
            "{kind:?}: {faults:?} {calls:?}"
        );
        assert_eq!(
            (calls.netsuite_writes(), calls.salesforce_writes()),
            (calls.get(PATCH_CUSTOMER), 0),
            "{kind:?}: no other write: {calls:?}"
        );
        assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
        assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
    }
}
on_both_stores!(
    account_deletes,
    deleted_accounts_under_each_failure_kind_inactivate_every_customer_once,
    adjust
);

//! The fault matrix of customer → account (NetSuite's User Events through the gateway): new
//! customers with their contacts become accounts, edited linked customers update theirs,
//! under a fifth of failures of each [`FailureKind`] on the flow's one writing route,
//! Salesforce's Composite call (account and contacts in one all-or-none call; the flow writes
//! nothing to NetSuite), asserted on both sandboxes.
//!
//! Why the call count is exact: a new customer's account is an upsert on `NetSuite_Id__c`
//! inside the Composite call, an edit a PATCH of the linked account. A call that failed before
//! Salesforce ran it is made again by the retry. A committed call whose answer was lost is not:
//! the retry finds the account by `NetSuite_Id__c` (or its link) already as the customer wants
//! it, and writes nothing. Hence Composite calls = customers + the faults that fired before
//! Salesforce committed.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use isthmus_sandbox::System;
use isthmus_tests::faults::{
    add_accounts, assert_each_once, assert_jobs_done, assert_no_lock_keys, assert_resources_free,
    fired, wait_queue_drained, FailureKind,
};
use isthmus_tests::lead::object;
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::json;

use crate::faults_matrix_accounts::adjust;

/// New customers, and edited linked ones, per failure kind.
const NEW: usize = 20;
const EDITED: usize = 10;
/// Contacts of each new customer (made in the same Composite call as its account).
const CONTACTS: usize = 2;
const RATE: f64 = 0.2;
/// Salesforce's Composite call: the account and its contacts in one all-or-none request.
const COMPOSITE: &str = "POST /services/data/vXX.X/composite";

/// Sends a customer event for each customer (inline; a job when the inline run failed); the
/// ids of the jobs they left.
async fn send_events(mesh: &TestMesh, customers: &[String], event: &str) -> Vec<String> {
    stream::iter(customers)
        .map(|customer| async move {
            let (status, body) = mesh.customer_event(customer, event).await;
            match status {
                200 => {
                    assert!(
                        body["outcome"] == "created" || body["outcome"] == "updated",
                        "{customer}: {body}"
                    );
                    None
                }
                202 => Some(body["job_id"].as_str().expect("a job id").to_string()),
                _ => panic!("{customer}: {status} {body}"),
            }
        })
        .buffer_unordered(8)
        .filter_map(|job| async move { job })
        .collect()
        .await
}

/// `n` NetSuite customers with no account, named `{prefix}{i} Imports`, each with
/// [`CONTACTS`] contacts; their ids, names and the contacts' e-mail addresses.
fn add_customers(
    mesh: &TestMesh,
    prefix: &str,
    n: usize,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i:04} Imports")).collect();
    let mut emails = Vec::new();
    let ids = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let id = mesh
                .sandbox
                .ns_insert(
                    "customer",
                    object(json!({ "companyName": name, "subsidiary": { "id": "1" } })),
                )
                .expect("customer");
            for c in 0..CONTACTS {
                let email = format!("buyer{c}.{}{i}@example.com", prefix.to_ascii_lowercase());
                let contact = json!({
                    "firstName": format!("Buyer{c}"),
                    "lastName": name,
                    "email": email,
                    "company": { "id": id },
                    "subsidiary": { "id": "1" },
                });
                mesh.sandbox
                    .ns_insert("contact", object(contact))
                    .expect("contact");
                emails.push(email);
            }
            id
        })
        .collect();
    (ids, names, emails)
}

/// `n` accounts synced to NetSuite (no fault yet), then renamed in NetSuite; the customers'
/// ids and their new names.
async fn linked_then_renamed(
    mesh: &TestMesh,
    prefix: &str,
    n: usize,
) -> (Vec<String>, Vec<String>) {
    let accounts = add_accounts(&mesh.sandbox, prefix, n);
    let mut customers = Vec::new();
    let mut names = Vec::new();
    for account in &accounts {
        let (status, body) = mesh.sync_account(account, false).await;
        assert_eq!(status, 200, "{body}");
        let customer = body["netsuite_id"].as_str().expect("linked").to_string();
        let name = format!("{account} Renamed");
        let mut edit = serde_json::Map::new();
        edit.insert("companyName".into(), json!(name));
        mesh.sandbox
            .ns_update("customer", &customer, edit)
            .expect("edit");
        customers.push(customer);
        names.push(name);
    }
    (customers, names)
}

async fn each_failure_kind_makes_or_updates_every_account_once(mesh: &TestMesh) {
    for kind in FailureKind::ALL {
        let prefix = format!("Event{kind:?}");
        let (new, new_names, emails) = add_customers(mesh, &prefix, NEW);
        let (edited, edited_names) = linked_then_renamed(mesh, &prefix, EDITED).await;
        mesh.sandbox.reset_control();
        kind.inject(&mesh.sandbox, System::Salesforce, &[COMPOSITE], RATE);

        let mut jobs = send_events(mesh, &new, "create").await;
        jobs.extend(send_events(mesh, &edited, "edit").await);
        let depth =
            wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(60)).await;
        assert_eq!(depth.dead, 0, "{kind:?}: nothing dead-lettered: {depth:?}");
        assert_jobs_done(mesh.store.as_ref(), &jobs).await;

        let faults = fired(&mesh.sandbox, System::Salesforce, COMPOSITE);
        assert!(
            faults.total() >= 2,
            "{kind:?}: the faults fired: {faults:?}"
        );
        // One account per customer, counted by name (a duplicate would share it) and by the
        // NetSuite id it carries (the link).
        let accounts = mesh.sandbox.sf_records("Account");
        let named = assert_each_once(&accounts, "Name", &new_names);
        assert_each_once(&accounts, "NetSuite_Id__c", &new);
        for (account, customer) in named.iter().zip(&new) {
            assert_eq!(text(account.get("NetSuite_Id__c")).as_ref(), Some(customer));
        }
        // Each contact once, by the e-mail a duplicate would share, on its customer's account.
        let contacts = assert_each_once(&mesh.sandbox.sf_records("Contact"), "Email", &emails);
        let owners = named.iter().flat_map(|a| std::iter::repeat_n(a, CONTACTS));
        for (contact, account) in contacts.iter().zip(owners) {
            assert_eq!(text(contact.get("AccountId")), text(account.get("Id")));
        }
        let renamed = assert_each_once(&accounts, "Name", &edited_names);
        for (account, customer) in renamed.iter().zip(&edited) {
            assert_eq!(text(account.get("NetSuite_Id__c")).as_ref(), Some(customer));
        }
        for (customer, account) in new.iter().chain(&edited).zip(named.iter().chain(&renamed)) {
            let link = mesh
                .store
                .link_by_netsuite(isthmus_engine::customers::LINK_KIND, customer)
                .await
                .expect("store answers")
                .unwrap_or_else(|| panic!("{kind:?}: customer {customer} is linked"));
            assert_eq!(Some(link.salesforce_id), text(account.get("Id")));
        }
        let calls = mesh.sandbox.calls();
        assert_eq!(
            calls.get(COMPOSITE),
            (NEW + EDITED) as u64 + faults.uncommitted,
            "{kind:?}: one Composite call per customer and per call that never ran: {calls:?}"
        );
        assert_eq!(
            (calls.salesforce_writes(), calls.netsuite_writes()),
            (calls.get(COMPOSITE), 0),
            "{kind:?}: no other write: {calls:?}"
        );
        let resources: Vec<String> = new
            .iter()
            .chain(&edited)
            .map(|customer| format!("{}:ns:{customer}", isthmus_engine::customers::LINK_KIND))
            .collect();
        assert_resources_free(mesh.store.as_ref(), &resources).await;
        assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
    }
}
on_both_stores!(
    events,
    each_failure_kind_makes_or_updates_every_account_once,
    adjust
);

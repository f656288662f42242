//! The fault matrix of account → customer ("Sync to NetSuite", inline and queued) and of its
//! Salesforce write-back: a batch of accounts with two contacts each, under a fifth of
//! failures of each [`FailureKind`] on every writing route (NetSuite's customer and contact
//! upserts, Salesforce's `NetSuite_Id__c` PATCH), asserted on both sandboxes.
//!
//! Why the call counts are exact: each account's upsert is retried until one commits. A call
//! that failed before the vendor ran it is simply made again; a committed call whose answer was
//! lost is not: the retry finds the customer by its external id (`eid:`), has nothing left to
//! change and goes on to the write-back. A failed write-back re-runs the job, which finds the
//! customer through its link, writes nothing to NetSuite and PATCHes the account again; a
//! committed write-back whose answer was lost leaves the account carrying the id, so the retry
//! finds an echo and writes nothing. A contact is upserted on its Salesforce id, after the
//! customer: a retry reads the customer's contacts, finds the committed ones as wanted and
//! upserts only the rest. Hence on each route: calls = records + the faults that fired there
//! before the vendor committed.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use isthmus_sandbox::System;
use isthmus_tests::faults::{
    add_accounts, add_contacts, assert_each_account_synced_once, assert_each_once,
    assert_jobs_done, assert_no_lock_held, assert_no_lock_keys, fired, queue_syncs,
    wait_queue_drained, FailureKind, PUT_CUSTOMER,
};
use isthmus_tests::{on_both_stores, text, TestMesh};

/// Accounts per failure kind.
const ACCOUNTS: usize = 30;
/// Contacts per account.
const CONTACTS: usize = 2;
/// NetSuite's contact upsert by external id (the Salesforce contact's id).
const PUT_CONTACT: &str = "PUT /services/rest/record/v1/contact/eid:{externalId}";
/// The share of calls on each faulted route that fail.
const RATE: f64 = 0.2;
/// Salesforce's update of one account: the write-back of a click.
pub const WRITE_BACK: &str = "PATCH /services/data/vXX.X/sobjects/Account/{id}";

/// Enough attempts that no job fails for good by chance (0.36^12 a job with two faulted
/// routes), on the harness's short backoffs.
pub fn adjust(config: &mut isthmus::Config) {
    config.queue.retryable_attempts = 12;
}

/// How the accounts were clicked.
#[derive(Debug, Clone, Copy)]
enum Click {
    /// `?mode=async`: a job at once.
    Queued,
    /// The default: inline, a job only when the inline run failed.
    Inline,
}

/// Clicks every account; the ids of the jobs the clicks left.
async fn click(mesh: &TestMesh, accounts: &[String], how: Click) -> Vec<String> {
    match how {
        Click::Queued => queue_syncs(&mesh.http, &mesh.gateway, accounts).await,
        Click::Inline => {
            stream::iter(accounts)
                .map(|account| async move {
                    let (status, body) = mesh.sync_account(account, false).await;
                    match status {
                        200 => {
                            assert_eq!(body["outcome"], "created", "{account}: {body}");
                            None
                        }
                        202 => Some(body["job_id"].as_str().expect("a job id").to_string()),
                        _ => panic!("{account}: {status} {body}"),
                    }
                })
                .buffer_unordered(8)
                .filter_map(|job| async move { job })
                .collect()
                .await
        }
    }
}

async fn each_failure_kind_syncs_every_account_once(mesh: &TestMesh, how: Click) {
    for kind in FailureKind::ALL {
        mesh.sandbox.reset_control();
        let prefix = format!("{how:?}{kind:?}");
        let accounts = add_accounts(&mesh.sandbox, &prefix, ACCOUNTS);
        let emails = add_contacts(&mesh.sandbox, &accounts, CONTACTS);
        kind.inject(
            &mesh.sandbox,
            System::NetSuite,
            &[PUT_CUSTOMER, PUT_CONTACT],
            RATE,
        );
        kind.inject(&mesh.sandbox, System::Salesforce, &[WRITE_BACK], RATE);

        let jobs = click(mesh, &accounts, how).await;
        let depth =
            wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(60)).await;
        assert_eq!(depth.dead, 0, "{kind:?}: nothing dead-lettered: {depth:?}");
        let records = assert_jobs_done(mesh.store.as_ref(), &jobs).await;

        let upserts = fired(&mesh.sandbox, System::NetSuite, PUT_CUSTOMER);
        let contacts = fired(&mesh.sandbox, System::NetSuite, PUT_CONTACT);
        let write_backs = fired(&mesh.sandbox, System::Salesforce, WRITE_BACK);
        let faults = upserts.total() + contacts.total() + write_backs.total();
        assert!(
            faults >= 3,
            "{kind:?}: the faults fired: {upserts:?} {contacts:?} {write_backs:?}"
        );
        if let Click::Queued = how {
            // Each fault failed one attempt of one job, and nothing else did.
            let attempts: u64 = records.iter().map(|r| u64::from(r.attempts)).sum();
            assert_eq!(
                attempts,
                ACCOUNTS as u64 + faults,
                "{kind:?}: one attempt per account and per fault"
            );
        }
        assert_each_account_synced_once(&mesh.sandbox, &accounts);
        // Each contact once, by the e-mail a duplicate would share, under its customer.
        let ns_contacts = assert_each_once(&mesh.sandbox.ns_records("contact"), "email", &emails);
        for (contact, account) in ns_contacts.iter().zip(
            accounts
                .iter()
                .flat_map(|a| std::iter::repeat_n(a, CONTACTS)),
        ) {
            let customer = mesh.sandbox.sf_record("Account", account).expect("account");
            assert_eq!(
                text(contact.get("company")),
                text(customer.get("NetSuite_Id__c")),
                "{kind:?}: {contact:?}"
            );
        }
        let calls = mesh.sandbox.calls();
        assert_eq!(
            calls.get(PUT_CUSTOMER),
            ACCOUNTS as u64 + upserts.uncommitted,
            "{kind:?}: one upsert per account and per upsert that never ran: {calls:?}"
        );
        assert_eq!(
            calls.get(PUT_CONTACT),
            (ACCOUNTS * CONTACTS) as u64 + contacts.uncommitted,
            "{kind:?}: one upsert per contact and per upsert that never ran: {calls:?}"
        );
        assert_eq!(
            calls.get(WRITE_BACK),
            ACCOUNTS as u64 + write_backs.uncommitted,
            "{kind:?}: one write-back per account and per write-back that never ran: {calls:?}"
        );
        assert_eq!(
            (calls.netsuite_writes(), calls.salesforce_writes()),
            (
                calls.get(PUT_CUSTOMER) + calls.get(PUT_CONTACT),
                calls.get(WRITE_BACK)
            ),
            "{kind:?}: no other write: {calls:?}"
        );
        assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
        assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
    }
}

async fn queued_clicks(mesh: &TestMesh) {
    each_failure_kind_syncs_every_account_once(mesh, Click::Queued).await;
}
on_both_stores!(queued, queued_clicks, adjust);

async fn inline_clicks(mesh: &TestMesh) {
    each_failure_kind_syncs_every_account_once(mesh, Click::Inline).await;
}
on_both_stores!(inline, inline_clicks, adjust);

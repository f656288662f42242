//! NetSuite failing about a fifth of the customer upserts (503s, and calls that hang and then
//! lose their connection) while 500 accounts sync, as queued button clicks or as a backfill
//! (which hands the accounts it fails to the batch lane): every account still ends with exactly
//! one customer and its id written back, nothing is dead-lettered and no lock is left behind.
//! And answers lost past the clients' deadline (the vendor committed, the client gave up):
//! nothing is written twice.

use std::time::Duration;

use crate::faults_matrix_accounts::WRITE_BACK;
use isthmus_sandbox::{Fault, Sandbox, System};
use isthmus_tests::faults::{
    add_accounts, assert_each_account_synced_once, assert_jobs_done, assert_no_lock_held,
    assert_no_lock_keys, fired, queue_syncs, retried, run_backfill, wait_queue_drained,
    PUT_CUSTOMER,
};
use isthmus_tests::{on_both_stores, TestMesh};

const ACCOUNTS: usize = 500;

/// How long an injected timeout holds the call before dropping it: well under the client's
/// timeout, so the client sees the connection lost, not its own deadline.
const HANG: Duration = Duration::from_millis(100);

/// About 10 % of customer upserts answer 503 and about 10 % hang, then lose their connection.
/// The sandbox decides before running the call, so a failed upsert wrote nothing.
fn flaky_upserts(sandbox: &Sandbox) {
    sandbox.inject_fault(System::NetSuite, Fault::error(PUT_CUSTOMER).rate(0.1));
    sandbox.inject_fault(
        System::NetSuite,
        Fault::timeout(PUT_CUSTOMER, HANG).rate(0.11),
    );
}

/// Test time scale: a client timeout above the hang, and enough attempts that a job failing
/// at 20 % a try is not dead-lettered by chance (0.2^10 per job).
fn adjust(config: &mut isthmus::Config) {
    config.netsuite.timeout_ms = 2_000;
    config.queue.retryable_attempts = 10;
}

async fn a_fifth_of_upserts_failing_loses_and_duplicates_no_customer(mesh: &TestMesh) {
    let accounts = add_accounts(&mesh.sandbox, "Flaky", ACCOUNTS);
    mesh.sandbox.reset_calls();
    flaky_upserts(&mesh.sandbox);

    let jobs = queue_syncs(&mesh.http, &mesh.gateway, &accounts).await;
    let depth = wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(120)).await;
    assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");
    let retried_jobs = retried(&assert_jobs_done(mesh.store.as_ref(), &jobs).await);

    let faults = mesh.sandbox.counters().netsuite.injected_faults;
    assert!(
        faults >= 60,
        "about a fifth of the upserts failed: {faults}"
    );
    assert!(
        retried_jobs >= 60,
        "the failed syncs were retried: {retried_jobs}"
    );
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    assert_eq!(
        mesh.sandbox.calls().get(PUT_CUSTOMER),
        ACCOUNTS as u64 + faults,
        "one upsert got through per account; every other one was a failure"
    );
    assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}
on_both_stores!(
    queued_syncs,
    a_fifth_of_upserts_failing_loses_and_duplicates_no_customer,
    adjust
);

async fn a_backfill_under_the_same_faults_hands_failures_to_the_queue_which_finishes_them(
    mesh: &TestMesh,
) {
    let accounts = add_accounts(&mesh.sandbox, "Bulk", ACCOUNTS);
    let customers_before = mesh.sandbox.ns_records("customer").len();
    mesh.sandbox.reset_calls();
    flaky_upserts(&mesh.sandbox);

    let report = run_backfill(mesh, Duration::from_secs(120)).await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["failed"], 0, "no account dropped: {report}");
    let queued = report["queued"].as_u64().expect("queued count");
    assert!(
        queued >= 60,
        "about a fifth went to the batch lane: {report}"
    );

    let depth = wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(120)).await;
    assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    // Every upsert either failed before NetSuite ran it or created a customer (the seeded
    // accounts the backfill also reads included): none ran twice.
    let created = (mesh.sandbox.ns_records("customer").len() - customers_before) as u64;
    let faults = mesh.sandbox.counters().netsuite.injected_faults;
    assert!(
        faults >= 60,
        "about a fifth of the upserts failed: {faults}"
    );
    assert_eq!(
        mesh.sandbox.calls().get(PUT_CUSTOMER),
        created + faults,
        "one upsert per customer created and per failure"
    );
    assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}
on_both_stores!(
    backfill,
    a_backfill_under_the_same_faults_hands_failures_to_the_queue_which_finishes_them,
    adjust
);

/// How long a committed call hangs before its connection closes: past the clients' deadline.
const PAST_DEADLINE: Duration = Duration::from_millis(1_500);

/// Clients that give up well before [`PAST_DEADLINE`].
fn short_deadlines(config: &mut isthmus::Config) {
    adjust(config);
    config.netsuite.timeout_ms = 1_000;
    config.salesforce.timeout_ms = 1_000;
}

/// Lost answers the third way: NetSuite commits the upsert, or Salesforce the write-back, and
/// the answer never comes before the client's own deadline. The retry finds the committed
/// customer by its external id, or the account already carrying the id, so neither call is
/// made again: each route sees exactly one call per account.
async fn answers_lost_past_the_clients_deadline_are_not_written_twice(mesh: &TestMesh) {
    let accounts = add_accounts(&mesh.sandbox, "Deadline", 30);
    mesh.sandbox.reset_calls();
    let rule = |route| Fault::lost_answer_after(route, PAST_DEADLINE).rate(0.2);
    mesh.sandbox
        .inject_fault(System::NetSuite, rule(PUT_CUSTOMER));
    mesh.sandbox
        .inject_fault(System::Salesforce, rule(WRITE_BACK));

    let jobs = queue_syncs(&mesh.http, &mesh.gateway, &accounts).await;
    let depth = wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(60)).await;
    assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");
    let records = assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    let upserts = fired(&mesh.sandbox, System::NetSuite, PUT_CUSTOMER);
    let write_backs = fired(&mesh.sandbox, System::Salesforce, WRITE_BACK);
    let faults = upserts.committed + write_backs.committed;
    assert!(
        faults >= 3,
        "answers were lost: {upserts:?} {write_backs:?}"
    );
    // At least one retry per lost answer; a call a loaded machine slows past the deadline is
    // one more failure, which no rule counted.
    let attempts: u64 = records.iter().map(|r| u64::from(r.attempts)).sum();
    assert!(
        attempts >= accounts.len() as u64 + faults,
        "one retry per lost answer: {attempts} attempts"
    );
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(PUT_CUSTOMER), calls.get(WRITE_BACK)),
        (accounts.len() as u64, accounts.len() as u64),
        "no committed call made twice: {calls:?}"
    );
    assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}
on_both_stores!(
    past_the_deadline,
    answers_lost_past_the_clients_deadline_are_not_written_twice,
    short_deadlines
);

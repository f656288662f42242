//! A hundred "Sync to NetSuite" clicks on one account at the same moment (people, or an Apex
//! trigger retrying): one customer and one create call, whether the clicks run inline or queued.

use std::time::Duration;

use isthmus_engine::Outcome;
use isthmus_sandbox::seed;
use isthmus_tests::faults::{
    assert_jobs_done, assert_no_lock_held, assert_no_lock_keys, queue_syncs, wait_queue_drained,
    PUT_CUSTOMER,
};
use isthmus_tests::{on_both_stores, text, TestMesh};

const CLICKS: usize = 100;

/// Exactly one customer carries the account's name (what a duplicate under another external id
/// would share too) and its id, the account carries the customer's, one upsert created it, and
/// the account's lock is free.
async fn assert_one_customer(mesh: &TestMesh, account: &str) {
    let record = mesh.sandbox.sf_record("Account", account).unwrap();
    let name = text(record.get("Name")).expect("the account's name");
    let customers = mesh.ns_where("customer", "companyName", &name);
    assert_eq!(
        customers.len(),
        1,
        "customers named {name:?}: {customers:?}"
    );
    assert_eq!(
        text(customers[0].get("externalId")).as_deref(),
        Some(account)
    );
    assert_eq!(
        text(record.get("NetSuite_Id__c")),
        text(customers[0].get("id"))
    );
    assert_eq!(mesh.sandbox.calls().get(PUT_CUSTOMER), 1, "one create call");
    assert_no_lock_held(mesh.store.as_ref(), &[account.to_string()]).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}

async fn a_hundred_concurrent_clicks_create_one_customer(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let clicks = (0..CLICKS).map(|_| mesh.sync_account(&account, false));
    let answers = futures::future::join_all(clicks).await;
    let created = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["outcome"] == "created")
        .count();
    assert_eq!(created, 1);
    // A click that waited for the lock longer than `customers.lock_wait` is queued for retry.
    let queued: Vec<String> = answers
        .iter()
        .filter(|(s, _)| *s == 202)
        .filter_map(|(_, b)| b["job_id"].as_str().map(str::to_string))
        .collect();
    let others: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s != 200 && *s != 202)
        .collect();
    assert!(
        others.is_empty(),
        "each click syncs or is queued: {others:?}"
    );
    let depth = wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(60)).await;
    assert_eq!(depth.dead, 0, "{depth:?}");
    assert_jobs_done(mesh.store.as_ref(), &queued).await;
    assert_one_customer(mesh, &account).await;
}
on_both_stores!(inline, a_hundred_concurrent_clicks_create_one_customer);

async fn a_hundred_concurrent_queued_clicks_create_one_customer(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let jobs = queue_syncs(&mesh.http, &mesh.gateway, &vec![account.clone(); CLICKS]).await;
    let depth = wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(60)).await;
    assert_eq!(depth.dead, 0, "{depth:?}");
    let records = assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    let created = records
        .iter()
        .filter(|r| {
            r.result
                .as_ref()
                .is_some_and(|s| s.outcome == Outcome::Created)
        })
        .count();
    assert_eq!(
        created, 1,
        "one job created the customer, the rest found it synced"
    );
    assert_one_customer(mesh, &account).await;
}
on_both_stores!(
    queued,
    a_hundred_concurrent_queued_clicks_create_one_customer
);

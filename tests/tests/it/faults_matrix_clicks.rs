//! The clicks' harder cases under faults (issue 15): the first order of a new account (the
//! click creates the customer through the customers service, under faults on every write of
//! both vendors), a permanent refusal among transient faults (the only dead letter), and
//! answers that arrive after the client's deadline. Each asserts one customer per account and
//! one order per opportunity, counted by fields a duplicate would share, and the write calls.

use isthmus_sandbox::System;
use isthmus_tests::fault_matrix::{
    adjust, assert_drained, assert_locks_free, assert_once_each, assert_write_calls, clear,
    click_all, fired, inject, synced_account, whose, written_back_order, Delivery,
    PATCH_OPPORTUNITY, PUT_ORDER,
};
use isthmus_tests::faults::{assert_jobs_done, assert_no_lock_keys, FailureKind};
use isthmus_tests::lead::{new_account, new_opportunity, run_catalog};
use isthmus_tests::{on_both_stores, text, TestMesh};
use std::time::Duration;

/// NetSuite's customer upsert by external id (the Account id).
const PUT_CUSTOMER: &str = isthmus_tests::faults::PUT_CUSTOMER;
/// Salesforce's update of one Account (the customer's id written back).
const PATCH_ACCOUNT: &str = "PATCH /services/data/vXX.X/sobjects/Account/{id}";

/// One cell: each won opportunity on an account NetSuite does not know yet, so its click
/// creates the customer (through the customers service) before the order, under `kind` on
/// every write of both: one customer per account, one order per opportunity.
async fn new_accounts_cell(mesh: &TestMesh, kind: FailureKind) {
    const ACCOUNTS: usize = 15;
    let names: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("Matrix {kind:?} First Order {i:02} Ltd"))
        .collect();
    let accounts: Vec<String> = names.iter().map(|n| new_account(mesh, n)).collect();
    let opportunities: Vec<String> = accounts
        .iter()
        .map(|a| new_opportunity(mesh, a, "USD", &[("CABLE-SET", 3.0, 0.0)], "Closed Won"))
        .collect();
    clear(&mesh.sandbox);
    inject(
        &mesh.sandbox,
        kind,
        System::NetSuite,
        &[PUT_CUSTOMER, PUT_ORDER],
    );
    inject(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        &[PATCH_ACCOUNT, PATCH_OPPORTUNITY],
    );
    let jobs = click_all(mesh, Delivery::Inline, &opportunities).await;
    assert_drained(mesh, "orders").await;
    assert_drained(mesh, "customers").await;
    assert_jobs_done(mesh.store.as_ref(), &jobs).await;

    let customers = mesh.sandbox.ns_records("customer");
    assert_once_each(&customers, "externalId", &accounts);
    assert_once_each(&customers, "companyName", &names);
    let orders_ns = mesh.sandbox.ns_records("salesOrder");
    assert_once_each(&orders_ns, "externalId", &opportunities);
    for (account, opportunity_id) in accounts.iter().zip(&opportunities) {
        let customer = whose(&customers, "externalId", std::slice::from_ref(account))
            .next()
            .unwrap();
        let customer_id = text(customer.get("id")).unwrap();
        let written_back = mesh.sandbox.sf_record("Account", account).unwrap();
        assert_eq!(
            text(written_back.get("NetSuite_Id__c")),
            Some(customer_id.clone())
        );
        let order = whose(
            &orders_ns,
            "externalId",
            std::slice::from_ref(opportunity_id),
        )
        .next()
        .unwrap();
        assert_eq!(text(order.get("entity")), Some(customer_id));
        assert_eq!(
            written_back_order(mesh, opportunity_id),
            text(order.get("id"))
        );
    }
    // Each write gets through once per record; a lost answer's retry reads the customer or
    // the order back by external id (or finds the link and the write-back) and writes nothing.
    // Two routes of a vendor share its dice in the order the calls interleave: which route a
    // fault hits varies from run to run; that some hit each vendor does not (0.8^30).
    for (system, routes) in [
        (System::NetSuite, [PUT_CUSTOMER, PUT_ORDER]),
        (System::Salesforce, [PATCH_ACCOUNT, PATCH_OPPORTUNITY]),
    ] {
        let faults: u64 = routes.iter().map(|r| fired(&mesh.sandbox, system, r)).sum();
        assert!(faults > 0, "{kind:?}: faults fired on {system:?}");
        for route in routes {
            assert_write_calls(&mesh.sandbox, kind, system, route, ACCOUNTS, true);
        }
    }
    let locks: Vec<String> = opportunities
        .iter()
        .map(|o| format!("order:sf:{o}"))
        .chain(
            accounts
                .iter()
                .map(|a| format!("{}:sf:{a}", isthmus_engine::customers::LINK_KIND)),
        )
        .collect();
    assert_locks_free(mesh, &locks).await;
}

async fn first_orders_of_new_accounts_make_one_customer_and_one_order_each_under_every_failure(
    mesh: &TestMesh,
) {
    run_catalog(mesh).await;
    for kind in FailureKind::ALL {
        new_accounts_cell(mesh, kind).await;
    }
}
on_both_stores!(
    new_accounts,
    first_orders_of_new_accounts_make_one_customer_and_one_order_each_under_every_failure,
    adjust
);

/// The one fault that is permanent in a batch meeting transient ones: NetSuite refuses one
/// order upsert with a 400 while a fifth of the others fail with 503s. Only that click's job is
/// dead-lettered, with nothing written for it; every other opportunity gets its one order; the
/// replay, once the cause is gone, makes the missing order, once.
async fn only_a_permanent_refusal_is_dead_lettered_and_its_replay_makes_one_order(mesh: &TestMesh) {
    const CLICKS: usize = 8;
    run_catalog(mesh).await;
    let (account, _) = synced_account(mesh, "Matrix Permanent Refusal Ltd").await;
    let opportunities: Vec<String> = (0..CLICKS)
        .map(|_| {
            new_opportunity(
                mesh,
                &account,
                "USD",
                &[("CABLE-SET", 2.0, 0.0)],
                "Closed Won",
            )
        })
        .collect();
    clear(&mesh.sandbox);
    mesh.sandbox.inject_fault(
        System::NetSuite,
        isthmus_sandbox::Fault::error_with(PUT_ORDER, 400, None).times(1),
    );
    inject(
        &mesh.sandbox,
        FailureKind::BeforeCommit,
        System::NetSuite,
        &[PUT_ORDER],
    );
    let jobs = click_all(mesh, Delivery::Queued, &opportunities).await;
    let queue = mesh.store.queue("orders").await.expect("store answers");
    let depth =
        isthmus_tests::faults::wait_queue_drained(queue.as_ref(), Duration::from_secs(60)).await;
    assert_eq!(depth.dead, 1, "the refused click alone: {depth:?}");

    let mut dead = Vec::new();
    for (job, opportunity) in jobs.iter().zip(&opportunities) {
        let record = isthmus_engine::work::JobRecord::load(mesh.store.as_ref(), job)
            .await
            .expect("store answers")
            .expect("a job record");
        let orders = mesh.ns_where("salesOrder", "externalId", opportunity);
        match record.state {
            isthmus_engine::work::JobState::Done => assert_eq!(orders.len(), 1, "{opportunity}"),
            isthmus_engine::work::JobState::Dead => {
                assert!(
                    orders.is_empty(),
                    "nothing written for the refused {opportunity}"
                );
                assert!(written_back_order(mesh, opportunity).is_none());
                dead.push((job.clone(), opportunity.clone()));
            }
            other => panic!("job {job}: {other:?}"),
        }
    }
    assert_eq!(dead.len(), 1, "{dead:?}");
    let faults = fired(&mesh.sandbox, System::NetSuite, PUT_ORDER);
    assert_eq!(
        mesh.sandbox.calls().get(PUT_ORDER),
        CLICKS as u64 + faults,
        "one refused upsert, never retried; every 503 retried once more"
    );

    clear(&mesh.sandbox);
    let (job, opportunity) = &dead[0];
    let (status, body) = mesh
        .post(
            &format!("/v1/dead-letters/{job}/replay?service=orders"),
            Some(isthmus_tests::ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let settled = mesh.wait_job(job).await;
    assert_eq!(settled["state"], "done", "{settled}");
    let orders = mesh.ns_where("salesOrder", "externalId", opportunity);
    assert_eq!(orders.len(), 1);
    assert_eq!(
        written_back_order(mesh, opportunity),
        text(orders[0].get("id"))
    );
    assert_eq!(mesh.sandbox.calls().get(PUT_ORDER), 1);
    assert_drained(mesh, "orders").await;
}

on_both_stores!(
    permanent_refusal,
    only_a_permanent_refusal_is_dead_lettered_and_its_replay_makes_one_order,
    adjust
);

/// A client deadline short enough for the late answers below, long enough for any other call.
fn short_deadlines(config: &mut isthmus::Config) {
    adjust(config);
    config.netsuite.timeout_ms = 1_500;
    config.salesforce.timeout_ms = 1_500;
}

/// The lost answer that outlives the client: NetSuite commits the order, or Salesforce the
/// write-back, then holds the answer past the client's deadline. The retry finds what was
/// committed: one order per opportunity, nothing written twice.
async fn answers_arriving_after_the_deadline_make_no_second_order(mesh: &TestMesh) {
    const CLICKS: usize = 10;
    run_catalog(mesh).await;
    let (account, _) = synced_account(mesh, "Matrix Late Answers Ltd").await;
    let opportunities: Vec<String> = (0..CLICKS)
        .map(|_| {
            new_opportunity(
                mesh,
                &account,
                "USD",
                &[("CABLE-SET", 1.0, 0.0)],
                "Closed Won",
            )
        })
        .collect();
    clear(&mesh.sandbox);
    let late = |route: &str| {
        isthmus_sandbox::Fault::lost_answer_after(route, Duration::from_millis(2_000))
            .rate(isthmus_tests::fault_matrix::RATE)
            .times(1_000)
    };
    mesh.sandbox.inject_fault(System::NetSuite, late(PUT_ORDER));
    mesh.sandbox
        .inject_fault(System::Salesforce, late(PATCH_OPPORTUNITY));
    let jobs = click_all(mesh, Delivery::Inline, &opportunities).await;
    assert_drained(mesh, "orders").await;
    assert_jobs_done(mesh.store.as_ref(), &jobs).await;

    let orders_ns = mesh.sandbox.ns_records("salesOrder");
    assert_once_each(&orders_ns, "externalId", &opportunities);
    for id in &opportunities {
        let order = whose(&orders_ns, "externalId", std::slice::from_ref(id))
            .next()
            .unwrap();
        assert_eq!(written_back_order(mesh, id), text(order.get("id")));
    }
    let late_orders = 1_000 - mesh.sandbox.faults(System::NetSuite)[0].times.unwrap();
    assert!(late_orders > 0, "some order upsert answered late");
    assert_eq!(
        mesh.sandbox.calls().get(PUT_ORDER),
        CLICKS as u64,
        "a late answer's retry reads the order back and does not write it again"
    );
    assert_eq!(mesh.sandbox.calls().get(PATCH_OPPORTUNITY), CLICKS as u64);
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}
on_both_stores!(
    late_answers,
    answers_arriving_after_the_deadline_make_no_second_order,
    short_deadlines
);

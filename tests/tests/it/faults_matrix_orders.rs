//! The fault matrix over the orders flows (issue 15): won opportunities → sales orders (clicks
//! run inline, a failed one becoming a job), a sales order's status → its opportunity (queued
//! events), item fulfilments → `NetSuite_Fulfillment__c` and the opportunity's ship fields
//! (inline events), and renewals (scans). Each flow runs a batch of records once per
//! kind of failure (before-commit 503, dropped connection, lost answer) at 20 % on every route it
//! writes, and proves on both sandboxes: each record exactly once, counted by a field a duplicate
//! would share (not the unique external id), every link and write-back present, the queue
//! drained with nothing dead, no lock left, and the write calls per route exactly what the
//! records and the faults that fired explain.

use isthmus_sandbox::System;
use isthmus_tests::fault_matrix::{
    assert_drained, assert_linked, assert_locks_free, assert_once_each, assert_write_calls, clear,
    click_all, fired, inject, scan_renewals_until_raised, send_events, whose, Delivery,
};
use isthmus_tests::faults::{assert_jobs_done, assert_no_lock_keys, FailureKind};
use isthmus_tests::lead::{new_account, new_opportunity, number, object, priced, run_catalog};
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Records per cell of the matrix.
const RECORDS: usize = 20;

/// NetSuite's sales order upsert by external id (the Opportunity id).
const PUT_ORDER: &str = "PUT /services/rest/record/v1/salesOrder/eid:{externalId}";
/// Salesforce's update of one record (the Opportunity's write-back and status).
const PATCH_OPPORTUNITY: &str = "PATCH /services/data/vXX.X/sobjects/Opportunity/{id}";
/// Salesforce's upsert of one record by an external id (the renewal Opportunity).
const UPSERT_RENEWAL: &str =
    "PATCH /services/data/vXX.X/sobjects/Opportunity/NetSuite_Renewal_Of__c/{value}";
/// sObject Collections create (the renewal's line items).
const CREATE_MANY: &str = "POST /services/data/vXX.X/composite/sobjects";
/// Composite (a mirror record and its opportunity's fields, all or none).
const COMPOSITE: &str = "POST /services/data/vXX.X/composite";

/// Retries on a test's time scale, and enough attempts that a job failing at 20 % a try is not
/// dead-lettered by chance (0.2^12 per job).
fn adjust(config: &mut isthmus::Config) {
    config.queue.retryable_attempts = 12;
    config.netsuite.timeout_ms = 5_000;
    config.salesforce.timeout_ms = 5_000;
}

/// A new account synced to NetSuite (no fault yet): its id and its customer's.
async fn synced_account(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = body["netsuite_id"]
        .as_str()
        .expect("customer id")
        .to_string();
    (account, customer)
}

fn opportunity(mesh: &TestMesh, id: &str) -> Map<String, Value> {
    mesh.sandbox
        .sf_record("Opportunity", id)
        .expect("opportunity")
}

/// One cell: `RECORDS` won opportunities clicked under `kind` on the order upsert and
/// on the Opportunity write-back; then each order's status, then a fulfilment of each, under
/// `kind` on the Salesforce writes those flows make.
async fn orders_cell(mesh: &TestMesh, kind: FailureKind) {
    let (account, customer) = synced_account(mesh, &format!("Matrix {kind:?} Orders Ltd")).await;
    let opportunities: Vec<String> = (0..RECORDS)
        .map(|i| {
            let id = new_opportunity(
                mesh,
                &account,
                "USD",
                &[("SUPPORT-ANNUAL", 1.0 + i as f64, 0.0)],
                "Closed Won",
            );
            mesh.sandbox
                .sf_update(
                    "Opportunity",
                    &id,
                    object(json!({ "Purchase_Order__c": format!("PO-{kind:?}-{i}") })),
                )
                .expect("PO set");
            id
        })
        .collect();

    // Clicks: one order per opportunity, its id, number and status written back.
    clear(&mesh.sandbox);
    inject(&mesh.sandbox, kind, System::NetSuite, &[PUT_ORDER]);
    inject(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        &[PATCH_OPPORTUNITY],
    );
    let jobs = click_all(mesh, Delivery::Inline, &opportunities).await;
    assert!(
        !jobs.is_empty(),
        "{kind:?}: some click failed inline and became a job"
    );
    assert_drained(mesh, "orders").await;
    assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    let orders_ns = mesh.sandbox.ns_records("salesOrder");
    assert_once_each(&orders_ns, "externalId", &opportunities);
    let references: Vec<String> = (0..RECORDS).map(|i| format!("PO-{kind:?}-{i}")).collect();
    assert_once_each(&orders_ns, "otherRefNum", &references);
    let mut orders = Vec::new();
    for id in &opportunities {
        let order = whose(&orders_ns, "externalId", std::slice::from_ref(id))
            .next()
            .expect("the order");
        let order_id = text(order.get("id")).unwrap();
        let written_back = opportunity(mesh, id);
        assert_eq!(
            text(written_back.get("NetSuite_Id__c")),
            Some(order_id.clone())
        );
        assert_eq!(
            text(written_back.get("NetSuite_Order_Number__c")),
            text(order.get("tranId"))
        );
        assert_eq!(text(order.get("entity")), Some(customer.clone()));
        assert_linked(mesh, "order", &order_id, id).await;
        orders.push(order_id);
    }
    // A lost upsert's retry reads the order by external id and writes nothing; a lost
    // write-back's retry finds the link and the write-back and writes nothing either.
    assert_write_calls(
        &mesh.sandbox,
        kind,
        System::NetSuite,
        PUT_ORDER,
        RECORDS,
        true,
    );
    assert_write_calls(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        PATCH_OPPORTUNITY,
        RECORDS,
        true,
    );
    assert!(
        fired(&mesh.sandbox, System::NetSuite, PUT_ORDER) > 0
            && fired(&mesh.sandbox, System::Salesforce, PATCH_OPPORTUNITY) > 0,
        "faults fired on both vendors"
    );
    let locks: Vec<String> = opportunities
        .iter()
        .map(|o| format!("order:sf:{o}"))
        .collect();
    assert_locks_free(mesh.store.as_ref(), &locks).await;

    // The status NetSuite moves an order to reaches its opportunity.
    for order in &orders {
        mesh.sandbox
            .ns_update(
                "salesOrder",
                order,
                object(json!({ "orderStatus": { "id": "F" } })),
            )
            .expect("status set");
    }
    clear(&mesh.sandbox);
    inject(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        &[PATCH_OPPORTUNITY],
    );
    let jobs = send_events(mesh, Delivery::Queued, "salesOrder", &orders).await;
    assert_drained(mesh, "orders").await;
    assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    for id in &opportunities {
        assert_eq!(
            text(opportunity(mesh, id).get("NetSuite_Order_Status__c")).as_deref(),
            Some("Pending Billing")
        );
    }
    // The link records the status only after the update: a lost update is sent again.
    assert_write_calls(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        PATCH_OPPORTUNITY,
        RECORDS,
        false,
    );
    let locks: Vec<String> = orders.iter().map(|o| format!("order:ns:{o}")).collect();
    assert_locks_free(mesh.store.as_ref(), &locks).await;

    // A fulfilment of each order: one mirror record each, the opportunity's ship fields.
    let fulfilments: Vec<String> = orders
        .iter()
        .enumerate()
        .map(|(i, order)| {
            mesh.sandbox
                .ns_insert(
                    "itemFulfillment",
                    object(json!({
                        "createdFrom": { "id": order },
                        "entity": { "id": customer },
                        "tranDate": "2026-11-25",
                        "shipStatus": { "id": "C" },
                        "trackingNumbers": format!("1Z{i:016}"),
                        "item": { "items": [{ "item": { "id": priced(mesh, "SUPPORT-ANNUAL", "USD").0 },
                                              "quantity": 1.0 + i as f64, "orderLine": 1 }] },
                    })),
                )
                .expect("fulfilment inserted")
        })
        .collect();
    clear(&mesh.sandbox);
    inject(&mesh.sandbox, kind, System::Salesforce, &[COMPOSITE]);
    let jobs = send_events(mesh, Delivery::Inline, "itemFulfillment", &fulfilments).await;
    assert_drained(mesh, "orders").await;
    assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    let mirrors = mesh.sandbox.sf_records("NetSuite_Fulfillment__c");
    assert_once_each(&mirrors, "NetSuite_Id__c", &fulfilments);
    let names: Vec<String> = fulfilments
        .iter()
        .map(|f| {
            let number = text(
                mesh.sandbox
                    .ns_record("itemFulfillment", f)
                    .unwrap()
                    .get("tranId"),
            );
            format!("Item Fulfillment #{}", number.expect("a number"))
        })
        .collect();
    assert_once_each(&mirrors, "Name", &names);
    for (i, (fulfilment, id)) in fulfilments.iter().zip(&opportunities).enumerate() {
        let mirror = whose(&mirrors, "NetSuite_Id__c", std::slice::from_ref(fulfilment))
            .next()
            .unwrap();
        assert_eq!(text(mirror.get("Opportunity__c")), Some(id.clone()));
        assert_eq!(text(mirror.get("Account__c")), Some(account.clone()));
        let mirror_id = text(mirror.get("Id")).unwrap();
        assert_linked(mesh, "fulfillment", fulfilment, &mirror_id).await;
        let shipped = opportunity(mesh, id);
        assert_eq!(
            text(shipped.get("NetSuite_Ship_Status__c")).as_deref(),
            Some("Shipped")
        );
        assert_eq!(
            text(shipped.get("NetSuite_Tracking_Numbers__c")),
            Some(format!("1Z{i:016}"))
        );
    }
    // The link is recorded after the Composite call: a lost answer's retry sends it again (an
    // upsert by `NetSuite_Id__c`, which finds the record the first one made).
    assert_write_calls(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        COMPOSITE,
        RECORDS,
        false,
    );
    let locks: Vec<String> = fulfilments
        .iter()
        .map(|f| format!("fulfillment:ns:{f}"))
        .collect();
    assert_locks_free(mesh.store.as_ref(), &locks).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}

async fn every_opportunity_and_fulfilment_lands_once_under_every_failure(mesh: &TestMesh) {
    run_catalog(mesh).await;
    for kind in FailureKind::ALL {
        orders_cell(mesh, kind).await;
    }
}
on_both_stores!(
    orders,
    every_opportunity_and_fulfilment_lands_once_under_every_failure,
    adjust
);

/// One cell: `RECORDS` sales orders ending within the window, scanned under `kind` on the
/// renewal's upsert and on its line items' create until none fails.
async fn renewals_cell(mesh: &TestMesh, kind: FailureKind) {
    let (account, customer) = synced_account(mesh, &format!("Matrix {kind:?} Renewals Ltd")).await;
    let (item, _, _, price) = priced(mesh, "SUPPORT-ANNUAL", "USD");
    let ends = (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string();
    let orders: Vec<String> = (0..RECORDS)
        .map(|i| {
            mesh.sandbox
                .ns_insert(
                    "salesOrder",
                    object(json!({
                        "entity": { "id": customer },
                        "tranDate": "2025-12-01",
                        "startDate": "2025-12-01",
                        "endDate": ends,
                        "currency": { "id": "1" },
                        "item": { "items": [{ "item": { "id": item }, "quantity": 1.0 + i as f64,
                                              "rate": price, "orderLine": 1 }] },
                    })),
                )
                .expect("order inserted")
        })
        .collect();

    clear(&mesh.sandbox);
    inject(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        &[UPSERT_RENEWAL, CREATE_MANY],
    );
    let scans = scan_renewals_until_raised(mesh, &orders, 30).await;
    assert!(scans > 1, "{kind:?}: some renewal failed at first");

    let opportunities = mesh.sandbox.sf_records("Opportunity");
    assert_once_each(&opportunities, "NetSuite_Renewal_Of__c", &orders);
    let lines = mesh.sandbox.sf_records("OpportunityLineItem");
    let mut names = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let renewal = whose(
            &opportunities,
            "NetSuite_Renewal_Of__c",
            std::slice::from_ref(order),
        )
        .next()
        .unwrap();
        let id = text(renewal.get("Id")).unwrap();
        assert_eq!(text(renewal.get("AccountId")), Some(account.clone()));
        assert_linked(mesh, "renewal", order, &id).await;
        let number = text(
            mesh.sandbox
                .ns_record("salesOrder", order)
                .unwrap()
                .get("tranId"),
        );
        let name = text(renewal.get("Name")).unwrap();
        assert!(
            name.starts_with(&format!("Sales Order #{}", number.unwrap())),
            "{name}"
        );
        names.push(name);
        let own: Vec<_> = whose(&lines, "OpportunityId", std::slice::from_ref(&id)).collect();
        assert_eq!(
            own.len(),
            1,
            "renewal {id} of order {order} has its one line: {own:?}"
        );
        assert_eq!(number_of(own[0], "Quantity"), 1.0 + i as f64);
    }
    assert_once_each(&opportunities, "Name", &names);
    // The upsert runs again whenever any step of a renewal failed (the scan retries the whole
    // renewal); a lost line create is recognised on the retry (the lines are there) and not
    // sent again.
    let upserts = mesh.sandbox.calls().get(UPSERT_RENEWAL);
    let failed = fired(&mesh.sandbox, System::Salesforce, UPSERT_RENEWAL)
        + fired(&mesh.sandbox, System::Salesforce, CREATE_MANY);
    assert_eq!(
        upserts,
        RECORDS as u64 + failed,
        "{kind:?}: renewal upserts"
    );
    assert_write_calls(
        &mesh.sandbox,
        kind,
        System::Salesforce,
        CREATE_MANY,
        RECORDS,
        true,
    );
    let locks: Vec<String> = orders.iter().map(|o| format!("renewal:ns:{o}")).collect();
    assert_locks_free(mesh.store.as_ref(), &locks).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}

fn number_of(record: &Map<String, Value>, field: &str) -> f64 {
    number(record.get(field))
}

async fn each_expiring_order_raises_one_renewal_with_its_lines_under_every_failure(
    mesh: &TestMesh,
) {
    run_catalog(mesh).await;
    for kind in FailureKind::ALL {
        renewals_cell(mesh, kind).await;
    }
}
on_both_stores!(
    renewals,
    each_expiring_order_raises_one_renewal_with_its_lines_under_every_failure,
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

/// The order id written back to an opportunity.
fn written_back_order(mesh: &TestMesh, id: &str) -> Option<String> {
    text(opportunity(mesh, id).get("NetSuite_Id__c"))
}

on_both_stores!(
    permanent_refusal,
    only_a_permanent_refusal_is_dead_lettered_and_its_replay_makes_one_order,
    adjust
);

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
    for route in [PUT_CUSTOMER, PUT_ORDER] {
        assert!(
            fired(&mesh.sandbox, System::NetSuite, route) > 0,
            "{kind:?} {route}"
        );
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
    assert_locks_free(mesh.store.as_ref(), &locks).await;
    assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
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

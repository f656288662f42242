//! The fault matrix over the orders flows (issue 15): won opportunities → sales orders (clicks
//! run inline, a failed one becoming a job), a sales order's status → its opportunity (queued
//! events), and item fulfilments → `NetSuite_Fulfillment__c` and the opportunity's ship fields
//! (inline events). Each flow runs a batch of records once per kind of failure (before-commit
//! 503, dropped connection, lost answer) at 20 % on every route it writes, and proves on both
//! sandboxes: each record exactly once, counted by a field a duplicate would share (not the
//! unique external id), every link and write-back present, the queue drained with nothing dead,
//! no lock left, and the write calls per route exactly what the records and the faults that
//! fired explain. Renewals are in `faults_matrix_renewals.rs`; the clicks' harder cases (new
//! accounts, a permanent refusal, late answers) in `faults_matrix_clicks.rs`.

use isthmus_sandbox::System;
use isthmus_tests::fault_matrix::{
    adjust, assert_drained, assert_linked, assert_locks_free, assert_once_each, assert_write_calls,
    clear, click_all, fired, inject, opportunity, send_events, synced_account, whose, Delivery,
    COMPOSITE, PATCH_OPPORTUNITY, PUT_ORDER,
};
use isthmus_tests::faults::{assert_jobs_done, FailureKind};
use isthmus_tests::lead::{new_opportunity, object, priced, run_catalog};
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::json;

/// Records per cell of the matrix.
const RECORDS: usize = 20;

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
    assert_locks_free(mesh, &locks).await;

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
    assert_locks_free(mesh, &locks).await;

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
    assert_locks_free(mesh, &locks).await;
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

//! Lead to cash on the sandbox, asserted on both sides: account → customer, catalog → products
//! and prices, won opportunity → sales order, fulfilment → opportunity, renewals; plus the
//! failure cases and 50 concurrent clicks on one opportunity.

use isthmus_sandbox::seed;
use isthmus_tests::lead::{
    new_account, new_opportunity, number, object, priced, run_catalog, set_stage, standard_book,
};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY};
use serde_json::{json, Map, Value};

async fn click(mesh: &TestMesh, opportunity: &str, query: &str) -> (u16, Value) {
    mesh.post(
        &format!("/v1/salesforce/opportunities/{opportunity}/sync{query}"),
        Some(SF_KEY),
        None,
    )
    .await
}

async fn event(mesh: &TestMesh, record_type: &str, id: &str, event_type: &str) -> (u16, Value) {
    let body = json!({ "record_type": record_type, "id": id, "event_type": event_type });
    mesh.post("/v1/netsuite/events", Some(NS_KEY), Some(body))
        .await
}

fn orders_of(mesh: &TestMesh, opportunity: &str) -> Vec<Map<String, Value>> {
    mesh.ns_where("salesOrder", "externalId", opportunity)
}

fn lines_of(record: &Map<String, Value>) -> Vec<Value> {
    record["item"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn lead_to_cash_from_account_to_shipment(mesh: &TestMesh) {
    // An account created in Salesforce → button → customer.
    let account = new_account(mesh, "Lead To Cash Ltd");
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let customer = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customer.len(), 1);
    let customer_id = text(customer[0].get("id")).unwrap();
    mesh.sandbox.reset_calls();
    let (_, again) = mesh.sync_account(&account, false).await;
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);

    // Catalog run → every item a product with standard prices in every currency.
    let run = run_catalog(mesh).await;
    assert_eq!(run["seen"], seed::books::ITEMS.len() as u64, "{run}");
    for (_, code, _, prices) in seed::books::ITEMS {
        for (currency, price) in ["USD", "EUR", "GBP"].into_iter().zip(prices) {
            let (_, _, _, synced) = priced(mesh, code, currency);
            assert_eq!(synced, *price, "{code} in {currency}");
        }
    }

    // A won opportunity with three lines in euros → button → the sales order.
    let lines = [
        ("WIDGET-100", 10.0, 10.0),
        ("INSTALL", 2.0, 0.0),
        ("STARTER-KIT", 3.0, 0.0),
    ];
    let opportunity = new_opportunity(mesh, &account, "EUR", &lines, "Closed Won");
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    assert_eq!(body["flow"], "orders.opportunity_to_sales_order");

    let orders = orders_of(mesh, &opportunity);
    assert_eq!(orders.len(), 1, "one sales order per opportunity");
    let order = &orders[0];
    let order_id = text(order.get("id")).unwrap();
    assert_eq!(body["netsuite_id"], order_id.as_str());
    assert_eq!(
        text(order.get("entity")),
        Some(customer_id.clone()),
        "the account's customer"
    );
    assert_eq!(
        text(order.get("currency")).as_deref(),
        Some(seed::books::EUR_ID)
    );
    assert_eq!(text(order.get("tranDate")).as_deref(), Some("2026-11-20"));
    assert_eq!(text(order.get("otherRefNum")).as_deref(), Some("PO-7781"));
    assert_eq!(
        text(order["billingAddress"].get("city")).as_deref(),
        Some("Manchester")
    );
    assert_eq!(
        text(order["shippingAddress"].get("city")).as_deref(),
        Some("Liverpool")
    );
    let ns_lines = lines_of(order);
    assert_eq!(ns_lines.len(), 3);
    let mut expected_total = 0.0;
    for ((code, quantity, discount), line) in lines.iter().zip(&ns_lines) {
        let (item, _, _, price) = priced(mesh, code, "EUR");
        let rate = price * (1.0 - discount / 100.0);
        assert_eq!(text(line.get("item")), Some(item), "{code}");
        assert_eq!(number(line.get("quantity")), *quantity, "{code}");
        assert!(
            (number(line.get("rate")) - rate).abs() < 1e-6,
            "{code}: {line}"
        );
        expected_total += rate * quantity;
    }
    let sf_opportunity = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    let amount = number(sf_opportunity.get("Amount"));
    assert!(
        (amount - expected_total).abs() < 0.005,
        "{amount} vs {expected_total}"
    );
    assert!(
        (number(order.get("total")) - amount).abs() < 0.005,
        "order total = amount"
    );
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Id__c")),
        Some(order_id.clone())
    );
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Order_Number__c")),
        text(order.get("tranId"))
    );
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Order_Status__c")).as_deref(),
        Some("Pending Fulfillment")
    );
    // A never-linked opportunity costs NetSuite exactly two calls: the upsert by external id
    // (the idempotent create, no read before it) and the read-back of number and status. The
    // customer is linked and unchanged, so ensuring it costs NetSuite nothing.
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("PUT /services/rest/record/v1/salesOrder/eid:{externalId}"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls.get("GET /services/rest/record/v1/salesOrder/{id}"),
        1,
        "one read-back, by the id in the upsert's Location: {calls:?}"
    );
    assert_eq!(
        calls.get("GET /services/rest/record/v1/salesOrder/eid:{externalId}"),
        0,
        "no read before the upsert: {calls:?}"
    );
    assert_eq!(calls.netsuite_total(), 2, "{calls:?}");

    // Again: nothing new anywhere.
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "unchanged", "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.netsuite_total(),
        0,
        "an unchanged click costs NetSuite nothing: {calls:?}"
    );
    assert_eq!(calls.salesforce_writes(), 0, "{calls:?}");
    assert_eq!(orders_of(mesh, &opportunity).len(), 1);

    // A fulfilment in NetSuite (every line shipped) → the opportunity shows it, with tracking.
    let shipped: Vec<Value> = ns_lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            json!({ "item": { "id": text(line.get("item")) }, "quantity": line["quantity"],
                    "orderLine": n + 1 })
        })
        .collect();
    let fulfillment = mesh
        .sandbox
        .ns_insert(
            "itemFulfillment",
            object(json!({
                "createdFrom": { "id": order_id },
                "entity": { "id": customer_id },
                "tranDate": "2026-11-25",
                "shipStatus": { "id": "C" },
                "trackingNumbers": "1Z999AA10123456784<BR>1Z999AA10123456785",
                "item": { "items": shipped },
            })),
        )
        .expect("fulfilment inserted");
    mesh.sandbox.reset_calls();
    let (status, body) = event(mesh, "itemfulfillment", &fulfillment, "create").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let sf_opportunity = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Ship_Status__c")).as_deref(),
        Some("Shipped")
    );
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Tracking_Numbers__c")).as_deref(),
        Some("1Z999AA10123456784, 1Z999AA10123456785")
    );
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Ship_Date__c")).as_deref(),
        Some("2026-11-25")
    );
    let records: Vec<_> = mesh
        .sandbox
        .sf_records("NetSuite_Fulfillment__c")
        .into_iter()
        .filter(|r| text(r.get("NetSuite_Id__c")) == Some(fulfillment.clone()))
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        text(records[0].get("Opportunity__c")),
        Some(opportunity.clone())
    );
    assert_eq!(text(records[0].get("Account__c")), Some(account.clone()));
    assert_eq!(
        text(records[0].get("Ship_Status__c")).as_deref(),
        Some("Shipped")
    );
    assert_eq!(
        mesh.sandbox.calls().salesforce_writes(),
        1,
        "record and opportunity in one Composite call"
    );

    // The same event again writes nothing.
    mesh.sandbox.reset_calls();
    let (status, body) = event(mesh, "itemFulfillment", &fulfillment, "edit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "unchanged", "{body}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);

    // The order's status as NetSuite holds it reaches the opportunity.
    mesh.sandbox
        .ns_update(
            "salesOrder",
            &order_id,
            object(json!({ "orderStatus": { "id": "F" } })),
        )
        .expect("status set");
    let (status, body) = event(mesh, "salesOrder", &order_id, "edit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "updated", "{body}");
    let sf_opportunity = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Order_Status__c")).as_deref(),
        Some("Pending Billing")
    );
    let (_, body) = event(mesh, "salesOrder", &order_id, "edit").await;
    assert_eq!(body["outcome"], "unchanged", "{body}");

    // A delete event while NetSuite still has the fulfilment is refused, nothing changed.
    let (status, body) = event(mesh, "itemFulfillment", &fulfillment, "delete").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "UNPROCESSABLE", "{body}");
    assert!(mesh
        .sandbox
        .sf_records("NetSuite_Fulfillment__c")
        .iter()
        .any(|r| text(r.get("NetSuite_Id__c")) == Some(fulfillment.clone())));

    // The fulfilment deleted in NetSuite: its Salesforce record goes with it.
    mesh.ns_delete("itemFulfillment", &fulfillment).await;
    let (status, body) = event(mesh, "itemFulfillment", &fulfillment, "delete").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "updated", "{body}");
    assert!(mesh
        .sandbox
        .sf_records("NetSuite_Fulfillment__c")
        .iter()
        .all(|r| text(r.get("NetSuite_Id__c")) != Some(fulfillment.clone())));

    // The catalog run again: nothing to write.
    mesh.sandbox.reset_calls();
    run_catalog(mesh).await;
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
}

on_both_stores!(lead_to_cash, lead_to_cash_from_account_to_shipment);

async fn fifty_concurrent_clicks_make_one_sales_order(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Stampede Traders");
    let opportunity = new_opportunity(
        mesh,
        &account,
        "GBP",
        &[("GEAR-10", 4.0, 0.0), ("TRAINING-DAY", 1.0, 5.0)],
        "Closed Won",
    );
    let clicks = (0..50).map(|_| click(mesh, &opportunity, ""));
    let answers = futures::future::join_all(clicks).await;
    let mut jobs = Vec::new();
    for (status, body) in &answers {
        assert!(matches!(status, 200 | 202), "{status}: {body}");
        if *status == 202 {
            jobs.push(body["job_id"].as_str().unwrap().to_string());
        }
    }
    for job in jobs {
        let job = mesh.wait_job(&job).await;
        assert_eq!(job["state"], "done", "{job}");
    }
    let created = answers
        .iter()
        .filter(|(_, b)| b["outcome"] == "created")
        .count();
    assert!(
        created <= 1,
        "{created} clicks claim to have created the order"
    );
    assert_eq!(
        orders_of(mesh, &opportunity).len(),
        1,
        "exactly one sales order"
    );
    assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("PUT /services/rest/record/v1/salesOrder/eid:{externalId}"),
        1,
        "one order write for 50 clicks: {calls:?}"
    );
}

on_both_stores!(fifty_clicks, fifty_concurrent_clicks_make_one_sales_order);

/// An order that may exist in NetSuite without a link is read and compared before any write:
/// after a lost upsert answer (the write intent left in the store) the retry finds its own order
/// and writes nothing; with the ID map lost but the id written back on the Opportunity, a change
/// to an order whose fulfilment has begun is skipped, not upserted over it.
async fn an_order_that_may_exist_unlinked_is_read_first_and_never_written_blindly(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Cautious Couriers");
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("SUPPORT-ANNUAL", 2.0, 0.0)],
        "Closed Won",
    );
    let put_order = "PUT /services/rest/record/v1/salesOrder/eid:{externalId}";
    let read_by_eid = "GET /services/rest/record/v1/salesOrder/eid:{externalId}";

    // The upsert commits but its answer is lost: the click's retry (inline or as a job) reads
    // the order by external id (the write intent says a write may have landed) and finds it
    // as it would write it.
    mesh.sandbox.reset_calls();
    mesh.sandbox.inject_fault(
        isthmus_sandbox::System::NetSuite,
        isthmus_sandbox::Fault::lost_answer(put_order).times(1),
    );
    let (status, body) = click(mesh, &opportunity, "").await;
    assert!(matches!(status, 200 | 202), "{status}: {body}");
    if status == 202 {
        let job = mesh.wait_job(body["job_id"].as_str().unwrap()).await;
        assert_eq!(job["state"], "done", "{job}");
    }
    mesh.sandbox.clear_faults(isthmus_sandbox::System::NetSuite);
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(put_order), 1, "no second write: {calls:?}");
    assert_eq!(calls.get(read_by_eid), 1, "the retry read first: {calls:?}");
    let orders = orders_of(mesh, &opportunity);
    assert_eq!(orders.len(), 1);
    let order_id = text(orders[0].get("id")).unwrap();
    let link = mesh
        .store
        .link_by_salesforce("order", &opportunity)
        .await
        .unwrap()
        .expect("linked");
    assert_eq!(link.netsuite_id, order_id);
    assert_eq!(
        text(
            mesh.sandbox
                .sf_record("Opportunity", &opportunity)
                .unwrap()
                .get("NetSuite_Id__c")
        ),
        Some(order_id.clone())
    );

    // NetSuite moves the order to Pending Billing; the ID map is lost; the PO changes.
    mesh.sandbox
        .ns_update(
            "salesOrder",
            &order_id,
            object(json!({ "orderStatus": { "id": "F" } })),
        )
        .expect("status set");
    let lock = format!("order:sf:{opportunity}");
    let lease = mesh
        .store
        .acquire(&lock, std::time::Duration::from_secs(5))
        .await
        .unwrap()
        .expect("lock free");
    mesh.store
        .delete_link("order", &opportunity, &lease)
        .await
        .unwrap();
    mesh.store.release(&lease).await.unwrap();
    mesh.sandbox
        .sf_update(
            "Opportunity",
            &opportunity,
            object(json!({ "Purchase_Order__c": "PO-LATE-CHANGE" })),
        )
        .expect("PO set");
    let before = text(orders_of(mesh, &opportunity)[0].get("otherRefNum"));
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "skipped", "{body}");
    assert_eq!(body["matched_rule"], "external_id", "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get(put_order),
        0,
        "nothing upserted over it: {calls:?}"
    );
    assert_eq!(calls.get(read_by_eid), 1, "{calls:?}");
    assert_eq!(calls.netsuite_writes(), 0, "{calls:?}");
    assert_eq!(
        text(orders_of(mesh, &opportunity)[0].get("otherRefNum")),
        before
    );
    assert_eq!(orders_of(mesh, &opportunity).len(), 1);
}

on_both_stores!(
    unlinked_order,
    an_order_that_may_exist_unlinked_is_read_first_and_never_written_blindly
);

async fn what_cannot_become_an_order_is_refused_and_nothing_is_written(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Careful Buyers plc");
    let customers_before = mesh.sandbox.ns_records("customer").len();
    let store_before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();

    // A product NetSuite does not know.
    let product = mesh
        .sandbox
        .sf_insert(
            "Product2",
            object(json!({ "Name": "Hand-made Widget", "ProductCode": "HM-1", "IsActive": true })),
        )
        .unwrap();
    mesh.sandbox
        .sf_insert(
            "PricebookEntry",
            object(json!({
                "Pricebook2Id": standard_book(mesh), "Product2Id": product,
                "UnitPrice": 99.0, "CurrencyIsoCode": "USD", "IsActive": true,
            })),
        )
        .unwrap();
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("WIDGET-200", 1.0, 0.0)],
        "Closed Won",
    );
    let entry = mesh
        .sandbox
        .sf_records("PricebookEntry")
        .into_iter()
        .find(|e| text(e.get("Product2Id")) == Some(product.clone()))
        .and_then(|e| text(e.get("Id")))
        .unwrap();
    let line = mesh
        .sandbox
        .sf_insert(
            "OpportunityLineItem",
            object(json!({
                "OpportunityId": opportunity, "PricebookEntryId": entry,
                "Quantity": 2, "UnitPrice": 99.0,
            })),
        )
        .unwrap();
    let (status, body) = click(mesh, &opportunity, "").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "UNPROCESSABLE", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&product) && message.contains(&line),
        "{message}"
    );

    // Not won.
    let open = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("GEAR-10", 1.0, 0.0)],
        "Negotiation/Review",
    );
    let (status, body) = click(mesh, &open, "").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("not won"),
        "{body}"
    );

    // An account the customers service cannot sync (two customers match it).
    let ambiguous = mesh.account_id(seed::AMBIGUOUS_DOMAIN_ACCOUNT);
    let stuck = new_opportunity(
        mesh,
        &ambiguous,
        "USD",
        &[("GEAR-10", 1.0, 0.0)],
        "Closed Won",
    );
    let (status, body) = click(mesh, &stuck, "").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains(&ambiguous),
        "{body}"
    );

    // An opportunity that does not exist, and ids that are not opportunity ids.
    let (status, body) = click(mesh, "006000000000000", "").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "NOT_FOUND");
    for bad in ["not-an-id", "001000000000000", "006'%20OR%20'1'='1"] {
        let (status, body) = click(mesh, bad, "").await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "INVALID_ARGUMENT");
    }
    let (status, body) = click(mesh, &opportunity, "?mode=later").await;
    assert_eq!(status, 400, "{body}");

    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.netsuite_writes(),
        0,
        "nothing written to NetSuite: {calls:?}"
    );
    assert_eq!(
        calls.salesforce_writes(),
        0,
        "nothing written to Salesforce: {calls:?}"
    );
    assert_eq!(mesh.sandbox.ns_records("customer").len(), customers_before);
    assert_eq!(
        mesh.sandbox.ns_records("salesOrder").len(),
        seed_orders(mesh)
    );
    // The account's own sync ran and wrote nothing (it stopped on the ambiguous match): it is
    // counted in the statistics (`stats:`) and its lock drew fencing tokens (`fence`); nothing
    // else changed: no link, lock, job, idempotency record or audit entry.
    mesh.assert_nothing_written_but(&store_before, &["stats:", "fence"])
        .await;
}

fn seed_orders(mesh: &TestMesh) -> usize {
    mesh.sandbox
        .ns_records("salesOrder")
        .into_iter()
        .filter(|o| text(o.get("externalId")).is_none_or(|e| !e.starts_with("006")))
        .count()
}

on_both_stores!(
    refusals,
    what_cannot_become_an_order_is_refused_and_nothing_is_written
);

async fn a_dry_run_shows_the_order_and_async_queues_it(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Preview Partners");
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("CABLE-SET", 12.0, 0.0)],
        "Closed Won",
    );
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity, "?dry_run=true").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["outcome"], "created", "{body}");
    let changes = body["changes"].as_array().unwrap();
    let (item, _, _, price) = priced(mesh, "CABLE-SET", "USD");
    assert!(changes
        .iter()
        .any(|c| c["record"] == "netsuite.salesOrder.item[1]"
            && c["field"] == "item"
            && c["after"]["id"] == item.as_str()));
    assert!(changes
        .iter()
        .any(|c| c["field"] == "rate" && c["after"] == json!(price)));
    assert!(
        body["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("does not exist yet")),
        "the customer would be created first: {body}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.netsuite_writes() + calls.salesforce_writes(),
        0,
        "{calls:?}"
    );
    assert!(orders_of(mesh, &opportunity).is_empty());

    let (status, body) = click(mesh, &opportunity, "?mode=async").await;
    assert_eq!(status, 202, "{body}");
    let job = mesh.wait_job(body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["result"]["outcome"], "created", "{job}");
    assert_eq!(orders_of(mesh, &opportunity).len(), 1);
}

on_both_stores!(
    dry_run_and_async,
    a_dry_run_shows_the_order_and_async_queues_it
);

async fn an_expiring_order_raises_one_renewal_which_becomes_a_linked_order(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Renewing Industries");
    let original = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("SUPPORT-ANNUAL", 3.0, 0.0)],
        "Closed Won",
    );
    let (status, body) = click(mesh, &original, "").await;
    assert_eq!(status, 200, "{body}");
    let order_id = body["netsuite_id"].as_str().unwrap().to_string();
    let ends = (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string();
    mesh.sandbox
        .ns_update(
            "salesOrder",
            &order_id,
            object(json!({ "startDate": "2025-12-01", "endDate": ends })),
        )
        .unwrap();

    let (status, scan) = mesh
        .post(
            "/v1/renewals/scan",
            Some(ADMIN_KEY),
            Some(json!({ "within_days": 60 })),
        )
        .await;
    assert_eq!(status, 200, "{scan}");
    let results = scan["results"].as_array().unwrap();
    let ours: Vec<&Value> = results
        .iter()
        .filter(|r| r["netsuite_id"] == order_id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{scan}");
    assert_eq!(ours[0]["outcome"], "created", "{scan}");
    let renewal = ours[0]["salesforce_id"].as_str().unwrap().to_string();
    let opportunity = mesh.sandbox.sf_record("Opportunity", &renewal).unwrap();
    assert_eq!(
        text(opportunity.get("NetSuite_Renewal_Of__c")),
        Some(order_id.clone())
    );
    assert_eq!(
        text(opportunity.get("Renewal_Of__c")),
        Some(original.clone())
    );
    assert_eq!(text(opportunity.get("AccountId")), Some(account.clone()));
    assert_eq!(text(opportunity.get("CloseDate")), Some(ends.clone()));
    assert_eq!(
        text(opportunity.get("CurrencyIsoCode")).as_deref(),
        Some("USD")
    );
    let lines: Vec<_> = mesh
        .sandbox
        .sf_records("OpportunityLineItem")
        .into_iter()
        .filter(|l| text(l.get("OpportunityId")) == Some(renewal.clone()))
        .collect();
    assert_eq!(lines.len(), 1);
    let (_, product, _, price) = priced(mesh, "SUPPORT-ANNUAL", "USD");
    assert_eq!(text(lines[0].get("Product2Id")), Some(product));
    assert_eq!(number(lines[0].get("Quantity")), 3.0);
    assert_eq!(number(lines[0].get("UnitPrice")), price);

    // Once: a second scan raises nothing.
    let opportunities = mesh.sandbox.sf_records("Opportunity").len();
    mesh.sandbox.reset_calls();
    let (_, scan) = mesh
        .post(
            "/v1/renewals/scan",
            Some(ADMIN_KEY),
            Some(json!({ "within_days": 60 })),
        )
        .await;
    let again = scan["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["netsuite_id"] == order_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(again["outcome"], "unchanged", "{scan}");
    assert_eq!(mesh.sandbox.sf_records("Opportunity").len(), opportunities);
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);

    // The renewal won → button → a sales order linked to the one it renews.
    set_stage(mesh, &renewal, "Closed Won");
    let (status, body) = click(mesh, &renewal, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let renewal_orders = orders_of(mesh, &renewal);
    assert_eq!(renewal_orders.len(), 1);
    assert_eq!(
        text(renewal_orders[0].get("custbody_isthmus_renewal_of")),
        Some(order_id.clone())
    );
    assert_eq!(
        text(renewal_orders[0].get("entity")),
        text(mesh.ns_where("customer", "externalId", &account)[0].get("id"))
    );

    // Bad scan input.
    let (status, body) = mesh
        .post(
            "/v1/renewals/scan",
            Some(ADMIN_KEY),
            Some(json!({ "within_days": 0 })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = mesh
        .post("/v1/renewals/scan", Some(SF_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 403, "renewal scans take the admin scope");
}

on_both_stores!(
    renewals,
    an_expiring_order_raises_one_renewal_which_becomes_a_linked_order
);

async fn an_orders_job_dead_letters_on_the_orders_queue_and_replays_there(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Patient Buyers");
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("MANUAL-PRINT", 2.0, 0.0)],
        "Prospecting",
    );
    // Queued before anyone checked it: not won, so it fails for good and is dead-lettered.
    let (status, body) = click(mesh, &opportunity, "?mode=async").await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["job_id"].as_str().unwrap().to_string();
    let job = mesh.wait_job(&job_id).await;
    assert_eq!(job["state"], "dead", "{job}");
    assert!(job["error"].as_str().unwrap().contains("not won"), "{job}");

    let (status, letters) = mesh
        .get("/v1/dead-letters?service=orders", Some(ADMIN_KEY))
        .await;
    assert_eq!(status, 200, "{letters}");
    let ours: Vec<&Value> = letters
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["id"] == job_id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{letters}");
    assert_eq!(ours[0]["kind"], "orders.sync_opportunity");
    let (_, customers) = mesh.get("/v1/dead-letters", Some(ADMIN_KEY)).await;
    assert!(
        customers
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["id"] != job_id.as_str()),
        "the customers queue does not hold orders jobs: {customers}"
    );
    let (_, depth) = mesh.get("/v1/queue?service=orders", Some(ADMIN_KEY)).await;
    assert_eq!(depth["dead"], 1, "{depth}");
    let (status, _) = mesh.get("/v1/queue?service=billing", Some(ADMIN_KEY)).await;
    assert_eq!(status, 400);

    // The rep wins it; the replayed job runs on the orders queue and creates the order.
    set_stage(mesh, &opportunity, "Closed Won");
    let (status, body) = mesh
        .post(
            &format!("/v1/dead-letters/{job_id}/replay?service=orders"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let job = mesh.wait_job(&job_id).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(orders_of(mesh, &opportunity).len(), 1);
}

on_both_stores!(
    dead_letters,
    an_orders_job_dead_letters_on_the_orders_queue_and_replays_there
);

async fn a_checkbox_can_be_the_won_rule_and_a_key_makes_a_click_once(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Checkbox Traders");
    // Closed Won is not enough under this rule: the box must be ticked.
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("GEAR-10", 8.0, 0.0)],
        "Closed Won",
    );
    let (status, body) = click(mesh, &opportunity, "").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Sync_To_NetSuite__c"),
        "{body}"
    );
    mesh.sandbox
        .sf_update(
            "Opportunity",
            &opportunity,
            object(json!({ "Sync_To_NetSuite__c": true })),
        )
        .unwrap();

    let send = || {
        mesh.http
            .post(format!(
                "{}/v1/salesforce/opportunities/{opportunity}/sync",
                mesh.gateway
            ))
            .bearer_auth(SF_KEY)
            .header("Idempotency-Key", "click-7f3a")
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["outcome"], "created", "{first}");
    mesh.sandbox.reset_calls();
    let second = send().await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(second, first, "the first answer, replayed");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.netsuite_total() + calls.salesforce_total(),
        0,
        "{calls:?}"
    );
    let orders = orders_of(mesh, &opportunity);
    assert_eq!(orders.len(), 1);
    assert_eq!(
        text(orders[0].get("subsidiary")).as_deref(),
        Some(seed::books::US_SUBSIDIARY_ID),
        "the configured subsidiary"
    );
}

on_both_stores!(
    checkbox_and_idempotency,
    a_checkbox_can_be_the_won_rule_and_a_key_makes_a_click_once,
    |config: &mut isthmus::Config| {
        config.orders.won_rule = isthmus_engine::config::WonRule::Checkbox;
        config.orders.subsidiary = seed::books::US_SUBSIDIARY_ID.to_string();
    }
);

async fn the_service_scans_for_renewals_by_itself(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Scheduled Renewals Ltd");
    let original = new_opportunity(
        mesh,
        &account,
        "EUR",
        &[("SUPPORT-ANNUAL", 1.0, 0.0)],
        "Closed Won",
    );
    let (status, body) = click(mesh, &original, "").await;
    assert_eq!(status, 200, "{body}");
    let order_id = body["netsuite_id"].as_str().unwrap().to_string();
    let ends = (chrono::Utc::now().date_naive() + chrono::Days::new(10)).to_string();
    mesh.sandbox
        .ns_update("salesOrder", &order_id, object(json!({ "endDate": ends })))
        .unwrap();
    let renewals = || {
        mesh.sandbox
            .sf_records("Opportunity")
            .into_iter()
            .filter(|o| text(o.get("NetSuite_Renewal_Of__c")) == Some(order_id.clone()))
            .count()
    };
    let raised =
        isthmus_tests::faults::wait_until(std::time::Duration::from_secs(15), || renewals() == 1)
            .await;
    assert!(raised, "no renewal raised by the scheduled scan");
    // Later scans raise nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(renewals(), 1, "raised once");
}

on_both_stores!(
    scheduled_renewals,
    the_service_scans_for_renewals_by_itself,
    |config: &mut isthmus::Config| {
        config.orders.renewals.schedule = "* * * * * *".into(); // every second
    }
);

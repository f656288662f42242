//! Quotes on the sandbox, asserted on both sides: a Quote becomes a NetSuite estimate on its
//! "Sync to NetSuite" button (its id and status back on the Quote), a re-sync updates the one
//! estimate, a dry run writes nothing, fifty clicks make one estimate, a quote that cannot be
//! an estimate is refused before any write, and a won opportunity whose synced quote is an
//! estimate gets its sales order by the estimate → sales order transform.

use isthmus_tests::lead::transform;
use isthmus_tests::lead::{
    new_account, new_opportunity, number, object, priced, run_catalog, set_stage, standard_book,
};
use isthmus_tests::{on_both_stores, text, TestMesh, NS_KEY, SF_KEY};
use serde_json::{json, Map, Value};

const LINES: [(&str, f64, f64); 2] = [("WIDGET-100", 4.0, 10.0), ("INSTALL", 1.0, 0.0)];
const PUT_ESTIMATE: &str = "PUT /services/rest/record/v1/estimate/eid:{externalId}";
const TRANSFORM: &str = "POST /services/rest/record/v1/estimate/{id}/!transform/salesOrder";
const PUT_ORDER: &str = "PUT /services/rest/record/v1/salesOrder/eid:{externalId}";

async fn click(mesh: &TestMesh, quote: &str, query: &str) -> (u16, Value) {
    mesh.post(
        &format!("/v1/salesforce/quotes/{quote}/sync{query}"),
        Some(SF_KEY),
        None,
    )
    .await
}

/// A quote of `opportunity` with `lines` of (item code, quantity, discount %) at standard
/// prices in `currency`, as a sales rep builds it.
fn new_quote(
    mesh: &TestMesh,
    opportunity: &str,
    currency: &str,
    lines: &[(&str, f64, f64)],
) -> String {
    let quote = mesh
        .sandbox
        .sf_insert(
            "Quote",
            object(json!({
                "Name": "Proposal 2027",
                "OpportunityId": opportunity,
                "Pricebook2Id": standard_book(mesh),
                "ExpirationDate": "2027-01-31",
                "Status": "Presented",
            })),
        )
        .expect("quote inserted");
    for (code, quantity, discount) in lines {
        let (_, _, entry, price) = priced(mesh, code, currency);
        mesh.sandbox
            .sf_insert(
                "QuoteLineItem",
                object(json!({
                    "QuoteId": quote, "PricebookEntryId": entry, "Quantity": quantity,
                    "UnitPrice": price, "Discount": discount,
                })),
            )
            .expect("quote line inserted");
    }
    quote
}

fn estimates_of(mesh: &TestMesh, quote: &str) -> Vec<Map<String, Value>> {
    mesh.ns_where("estimate", "externalId", quote)
}

fn lines_of(record: &Map<String, Value>) -> Vec<Value> {
    record["item"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn quote_field(mesh: &TestMesh, quote: &str, field: &str) -> Option<String> {
    text(mesh.sandbox.sf_record("Quote", quote).unwrap().get(field))
}

fn orders_from_quotes(config: &mut isthmus::Config) {
    config.orders.orders_from_quotes = true;
}

async fn a_quote_becomes_an_estimate_and_the_won_opportunity_its_order(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Quote To Cash Ltd");
    let opportunity = new_opportunity(mesh, &account, "EUR", &LINES, "Proposal/Price Quote");
    let quote = new_quote(mesh, &opportunity, "EUR", &LINES);

    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &quote, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    assert_eq!(body["flow"], "orders.quote_to_estimate");
    let estimates = estimates_of(mesh, &quote);
    assert_eq!(estimates.len(), 1, "one estimate per quote");
    let estimate = &estimates[0];
    let estimate_id = text(estimate.get("id")).unwrap();
    assert_eq!(body["netsuite_id"], estimate_id.as_str());
    let customer = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customer.len(), 1, "the account's customer, made first");
    assert_eq!(text(estimate.get("entity")), text(customer[0].get("id")));
    assert_eq!(
        text(estimate.get("title")).as_deref(),
        Some("Proposal 2027")
    );
    assert_eq!(text(estimate.get("dueDate")).as_deref(), Some("2027-01-31"));
    assert_eq!(
        text(estimate.get("currency")).as_deref(),
        Some(isthmus_sandbox::seed::books::EUR_ID),
        "the quote's currency, its opportunity's"
    );
    let ns_lines = lines_of(estimate);
    assert_eq!(ns_lines.len(), 2);
    for ((code, quantity, discount), line) in LINES.iter().zip(&ns_lines) {
        let (item, _, _, price) = priced(mesh, code, "EUR");
        assert_eq!(text(line.get("item")), Some(item), "{code}");
        assert_eq!(number(line.get("quantity")), *quantity, "{code}");
        let rate = price * (1.0 - discount / 100.0);
        assert!(
            (number(line.get("rate")) - rate).abs() < 1e-6,
            "{code}: {line}"
        );
    }
    let sf_total = number(
        mesh.sandbox
            .sf_record("Quote", &quote)
            .unwrap()
            .get("TotalPrice"),
    );
    assert!(
        (number(estimate.get("total")) - sf_total).abs() < 0.005,
        "estimate total = quote total"
    );
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Id__c"),
        Some(estimate_id.clone())
    );
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Status__c").as_deref(),
        Some("Open")
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(PUT_ESTIMATE), 1, "{calls:?}");
    assert_eq!(
        calls.get("GET /services/rest/record/v1/estimate/eid:{externalId}"),
        0,
        "no read before a never-linked quote's upsert: {calls:?}"
    );

    // Again: nothing new anywhere.
    mesh.sandbox.reset_calls();
    let (_, body) = click(mesh, &quote, "").await;
    assert_eq!(body["outcome"], "unchanged", "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.netsuite_total(),
        0,
        "an unchanged click costs NetSuite nothing: {calls:?}"
    );
    assert_eq!(calls.salesforce_writes(), 0, "{calls:?}");

    // A changed quantity updates the one estimate. (Salesforce copies a synced quote's lines
    // onto the opportunity's products; the sandbox does not model that copy, so the rep's edit
    // is made on both, as the org would hold them.)
    let widget_line = |object: &str, parent: &str, id: &str| {
        mesh.sandbox
            .sf_records(object)
            .into_iter()
            .find(|l| text(l.get(parent)).as_deref() == Some(id))
            .and_then(|l| text(l.get("Id")))
            .unwrap()
    };
    let quote_line = widget_line("QuoteLineItem", "QuoteId", &quote);
    let opportunity_line = widget_line("OpportunityLineItem", "OpportunityId", &opportunity);
    mesh.sandbox
        .sf_update(
            "QuoteLineItem",
            &quote_line,
            object(json!({ "Quantity": 6 })),
        )
        .unwrap();
    mesh.sandbox
        .sf_update(
            "OpportunityLineItem",
            &opportunity_line,
            object(json!({ "Quantity": 6 })),
        )
        .unwrap();
    let (status, body) = click(mesh, &quote, "").await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("updated")),
        "{body}"
    );
    let estimates = estimates_of(mesh, &quote);
    assert_eq!(estimates.len(), 1, "updated, not duplicated");
    let quantities: Vec<f64> = lines_of(&estimates[0])
        .iter()
        .map(|l| number(l.get("quantity")))
        .collect();
    assert_eq!(quantities, [6.0, 1.0]);

    // The quote is synced to the opportunity, which is won: the order is the estimate's.
    mesh.sandbox
        .sf_update(
            "Opportunity",
            &opportunity,
            object(json!({ "SyncedQuoteId": quote })),
        )
        .unwrap();
    set_stage(mesh, &opportunity, "Closed Won");
    mesh.sandbox.reset_calls();
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/opportunities/{opportunity}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("created")),
        "{body}"
    );
    let orders = mesh.ns_where("salesOrder", "externalId", &opportunity);
    assert_eq!(
        orders.len(),
        1,
        "one order, by the opportunity's external id"
    );
    let order = &orders[0];
    assert_eq!(
        text(order.get("createdFrom")),
        Some(estimate_id.clone()),
        "linked to the estimate"
    );
    assert_eq!(text(order.get("entity")), text(customer[0].get("id")));
    let quantities: Vec<f64> = lines_of(order)
        .iter()
        .map(|l| number(l.get("quantity")))
        .collect();
    assert_eq!(quantities, [6.0, 1.0], "the synced quote's lines");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(TRANSFORM), calls.get(PUT_ORDER)),
        (1, 0),
        "{calls:?}"
    );
    let estimate = mesh
        .sandbox
        .ns_records("estimate")
        .into_iter()
        .find(|e| text(e.get("id")) == Some(estimate_id.clone()))
        .unwrap();
    assert_eq!(estimate["status"]["refName"], "Processed", "{estimate:?}");
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Status__c").as_deref(),
        Some("Processed")
    );
    let sf_opportunity = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert_eq!(
        text(sf_opportunity.get("NetSuite_Id__c")),
        text(order.get("id"))
    );

    // Both buttons again: nothing new; the processed estimate is left as it is.
    mesh.sandbox.reset_calls();
    let (_, body) = mesh
        .post(
            &format!("/v1/salesforce/opportunities/{opportunity}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(body["outcome"], "unchanged", "{body}");
    let (_, body) = click(mesh, &quote, "").await;
    assert_eq!(body["outcome"], "unchanged", "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.netsuite_writes() + calls.salesforce_writes(),
        0,
        "{calls:?}"
    );
    assert_eq!(
        mesh.ns_where("salesOrder", "externalId", &opportunity)
            .len(),
        1
    );
}

on_both_stores!(
    quote_to_order,
    a_quote_becomes_an_estimate_and_the_won_opportunity_its_order,
    orders_from_quotes
);

async fn a_won_opportunity_without_a_synced_quote_gets_its_order_as_before(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Plain Orders plc");
    let opportunity = new_opportunity(mesh, &account, "USD", &LINES, "Closed Won");
    mesh.sandbox.reset_calls();
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/opportunities/{opportunity}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("created")),
        "{body}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(PUT_ORDER), calls.get(TRANSFORM)),
        (1, 0),
        "{calls:?}"
    );
    let orders = mesh.ns_where("salesOrder", "externalId", &opportunity);
    assert_eq!(orders.len(), 1);
    assert!(text(orders[0].get("createdFrom")).is_none());
}

on_both_stores!(
    plain_order,
    a_won_opportunity_without_a_synced_quote_gets_its_order_as_before,
    orders_from_quotes
);

async fn a_dry_run_shows_the_estimate_and_writes_nothing(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Preview Quotes Ltd");
    let opportunity = new_opportunity(mesh, &account, "USD", &LINES, "Proposal/Price Quote");
    let quote = new_quote(mesh, &opportunity, "USD", &LINES);
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &quote, "?dry_run=true").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["dry_run"].clone(), body["outcome"].clone()),
        (json!(true), json!("created"))
    );
    let (item, _, _, _) = priced(mesh, "WIDGET-100", "USD");
    let changes = body["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["record"] == "netsuite.estimate.item[1]"
                && c["field"] == "item"
                && c["after"]["id"] == item.as_str()),
        "{body}"
    );
    assert!(estimates_of(mesh, &quote).is_empty());
    assert!(mesh.ns_where("customer", "externalId", &account).is_empty());
    assert_eq!(quote_field(mesh, &quote, "NetSuite_Id__c"), None);
    mesh.assert_nothing_written_but(&before, &["stats:", "fence"])
        .await;
}

on_both_stores!(dry_run, a_dry_run_shows_the_estimate_and_writes_nothing);

async fn fifty_concurrent_clicks_make_one_estimate(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Stampede Quotes");
    let opportunity = new_opportunity(mesh, &account, "USD", &LINES, "Proposal/Price Quote");
    let quote = new_quote(mesh, &opportunity, "USD", &LINES);
    mesh.sandbox.reset_calls();
    let clicks = (0..50).map(|_| click(mesh, &quote, ""));
    let answers = futures::future::join_all(clicks).await;
    for (status, body) in &answers {
        assert!(matches!(status, 200 | 202), "{status}: {body}");
        if *status == 202 {
            let job = mesh.wait_job(body["job_id"].as_str().unwrap()).await;
            assert_eq!(job["state"], "done", "{job}");
        }
    }
    let created = answers
        .iter()
        .filter(|(_, b)| b["outcome"] == "created")
        .count();
    assert!(
        created <= 1,
        "{created} clicks claim to have created the estimate"
    );
    assert_eq!(estimates_of(mesh, &quote).len(), 1, "exactly one estimate");
    assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get(PUT_ESTIMATE),
        1,
        "one estimate write for 50 clicks: {calls:?}"
    );
}

on_both_stores!(fifty_clicks, fifty_concurrent_clicks_make_one_estimate);

async fn what_cannot_become_an_estimate_is_refused_and_nothing_is_written(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Careful Quotes plc");
    let opportunity = new_opportunity(mesh, &account, "USD", &LINES, "Proposal/Price Quote");
    // A product NetSuite does not know, on the quote's second line.
    let product = mesh
        .sandbox
        .sf_insert(
            "Product2",
            object(json!({ "Name": "Hand-made Gadget", "ProductCode": "HM-2", "IsActive": true })),
        )
        .unwrap();
    let entry = mesh
        .sandbox
        .sf_insert(
            "PricebookEntry",
            object(json!({
                "Pricebook2Id": standard_book(mesh), "Product2Id": product,
                "UnitPrice": 99.0, "CurrencyIsoCode": "USD", "IsActive": true,
            })),
        )
        .unwrap();
    let quote = new_quote(mesh, &opportunity, "USD", &LINES[..1]);
    let unmapped = mesh
        .sandbox
        .sf_insert(
            "QuoteLineItem",
            object(json!({ "QuoteId": quote, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 99.0 })),
        )
        .unwrap();
    let empty_quote = mesh
        .sandbox
        .sf_insert(
            "Quote",
            object(json!({ "Name": "Empty", "OpportunityId": opportunity })),
        )
        .unwrap();
    let customers_before = mesh.sandbox.ns_records("customer").len();
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();

    let (status, body) = click(mesh, &quote, "").await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("UNPROCESSABLE")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&unmapped) && message.contains(&product),
        "names the line and its product: {body}"
    );
    let (status, body) = click(mesh, &empty_quote, "").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("no line items"),
        "{body}"
    );

    // A quote that does not exist, and ids that are not quote ids.
    let (status, body) = click(mesh, "0Q0000000000000", "").await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("NOT_FOUND")),
        "{body}"
    );
    for bad in ["not-an-id", opportunity.as_str(), "0Q0'%20OR%20'1'='1"] {
        let (status, body) = click(mesh, bad, "").await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!("INVALID_ARGUMENT")),
            "{bad}: {body}"
        );
    }

    assert!(mesh.sandbox.ns_records("estimate").is_empty());
    assert_eq!(mesh.sandbox.ns_records("customer").len(), customers_before);
    assert_eq!(quote_field(mesh, &quote, "NetSuite_Id__c"), None);
    mesh.assert_nothing_written_but(&before, &["stats:", "fence"])
        .await;
}

on_both_stores!(
    refusals,
    what_cannot_become_an_estimate_is_refused_and_nothing_is_written
);

async fn event(mesh: &TestMesh, record_type: &str, id: &str, event_type: &str) -> (u16, Value) {
    let body = json!({ "record_type": record_type, "id": id, "event_type": event_type });
    mesh.post("/v1/netsuite/events", Some(NS_KEY), Some(body))
        .await
}

/// A NetSuite user makes the sales order from the estimate ("Create Sales Order"): the User
/// Event script's estimate event brings the estimate's new status to the Quote, once.
async fn an_estimates_status_change_in_netsuite_reaches_its_quote(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Status Watchers Ltd");
    let opportunity = new_opportunity(mesh, &account, "USD", &LINES, "Proposal/Price Quote");
    let quote = new_quote(mesh, &opportunity, "USD", &LINES);
    let (status, body) = click(mesh, &quote, "").await;
    assert_eq!(status, 200, "{body}");
    let estimate = body["netsuite_id"].as_str().unwrap().to_string();
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Status__c").as_deref(),
        Some("Open")
    );

    // Unchanged: the event of our own write changes nothing.
    mesh.sandbox.reset_calls();
    let (status, body) = event(mesh, "estimate", &estimate, "edit").await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("unchanged")),
        "{body}"
    );
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);

    transform(mesh, "estimate", &estimate, "salesOrder", json!({})).await;
    mesh.sandbox.reset_calls();
    let (status, body) = event(mesh, "estimate", &estimate, "edit").await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("updated")),
        "{body}"
    );
    assert_eq!(body["salesforce_id"], quote.as_str());
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Status__c").as_deref(),
        Some("Processed")
    );
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Id__c"),
        Some(estimate.clone())
    );
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);
    mesh.sandbox.reset_calls();
    let (_, body) = event(mesh, "estimate", &estimate, "edit").await;
    assert_eq!(body["outcome"], "unchanged", "{body}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0, "told once");

    // An estimate made in NetSuite alone is not followed; a delete NetSuite denies is refused.
    let customer = text(mesh.ns_where("customer", "externalId", &account)[0].get("id")).unwrap();
    let (item, _, _, _) = priced(mesh, "WIDGET-100", "USD");
    let own = mesh
        .sandbox
        .ns_insert(
            "estimate",
            object(json!({ "entity": { "id": customer }, "item": { "items": [{ "item": { "id": item }, "quantity": 1 }] } })),
        )
        .expect("estimate inserted");
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, body) = event(mesh, "estimate", &own, "create").await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("skipped")),
        "{body}"
    );
    let (status, body) = event(mesh, "estimate", &estimate, "delete").await;
    assert_eq!(status, 422, "{body}");
    // Each event's signature is kept once used (the gateway's replay check); nothing else.
    mesh.assert_nothing_written_but(
        &before,
        &["stats:", "fence", "idem:netsuite-event-signature:"],
    )
    .await;
    assert_eq!(
        quote_field(mesh, &quote, "NetSuite_Status__c").as_deref(),
        Some("Processed")
    );
}

on_both_stores!(
    estimate_status,
    an_estimates_status_change_in_netsuite_reaches_its_quote
);

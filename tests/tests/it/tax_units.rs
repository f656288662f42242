//! Tax codes and units of measure on the whole mesh (issue 17, point 3): a won Opportunity's
//! lines reach the NetSuite sales order with the tax code `orders.tax` gives them (by product
//! code, else by the shipping country, else the default) and the unit of their product, NetSuite
//! computes the tax, and its tax total and total come back to the Opportunity in the write-back
//! the flow makes anyway. An unmapped tax code or unit is a 422 naming the line, with nothing
//! written anywhere; with both off an order costs exactly the calls it always did.

use std::sync::OnceLock;

use isthmus_sandbox::seed::books::ITEMS;
use isthmus_sandbox::{Sandbox, SandboxConfig};
use isthmus_tests::lead::{new_account, new_opportunity, number, object, run_catalog};
use isthmus_tests::{on_both_stores, text, TestMesh, SF_KEY};
use serde_json::{json, Map, Value};

/// The tax codes the tests create: (name, rate %). By product, by country, default.
const TAX_CODES: [(&str, f64); 3] = [("SVC 5%", 5.0), ("UK VAT 20%", 20.0), ("OTHER 8.25%", 8.25)];

/// The internal ids NetSuite gives [`TAX_CODES`] when they are the first records a test creates
/// in the seeded sandbox (the configuration names tax codes by internal id, and is made before
/// the mesh's sandbox exists): found once on a probe sandbox seeded alike, and checked by
/// [`create_tax_codes`] against the ids the mesh's sandbox hands out.
fn tax_code_ids() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let probe = Sandbox::new(SandboxConfig {
            seed: true,
            ..Default::default()
        })
        .expect("probe sandbox");
        TAX_CODES
            .iter()
            .map(|(name, rate)| {
                probe
                    .ns_insert("salesTaxItem", tax_code(name, *rate))
                    .unwrap()
            })
            .collect()
    })
}

fn tax_code(name: &str, rate: f64) -> Map<String, Value> {
    object(json!({ "itemId": name, "description": name, "rate": rate }))
}

fn create_tax_codes(mesh: &TestMesh) {
    for ((name, rate), expected) in TAX_CODES.iter().zip(tax_code_ids()) {
        let id = mesh
            .sandbox
            .ns_insert("salesTaxItem", tax_code(name, *rate))
            .unwrap();
        assert_eq!(
            &id, expected,
            "the tax code {name} has the id the config names"
        );
    }
}

/// `orders.tax`: INSTALL by product, the United Kingdom by country, the rest the default.
fn with_tax(config: &mut isthmus::Config) {
    let ids = tax_code_ids();
    let tax = &mut config.orders.tax;
    tax.by_product
        .insert("INSTALL".into(), ids[0].parse().unwrap());
    tax.by_country.insert("GB".into(), ids[1].parse().unwrap());
    tax.default = Some(ids[2].parse().unwrap());
}

/// `orders.tax` with a product rule only: any other line has no tax code.
fn with_product_tax_only(config: &mut isthmus::Config) {
    let ids = tax_code_ids();
    config
        .orders
        .tax
        .by_product
        .insert("INSTALL".into(), ids[0].parse().unwrap());
}

fn with_units(config: &mut isthmus::Config) {
    config.orders.units.enabled = true;
}

async fn click(mesh: &TestMesh, opportunity: &str) -> (u16, Value) {
    mesh.post(
        &format!("/v1/salesforce/opportunities/{opportunity}/sync"),
        Some(SF_KEY),
        None,
    )
    .await
}

/// The one sales order of `opportunity`, lines expanded.
fn order_of(mesh: &TestMesh, opportunity: &str) -> Map<String, Value> {
    let orders = mesh.ns_where("salesOrder", "externalId", opportunity);
    assert_eq!(orders.len(), 1, "one sales order per opportunity");
    orders.into_iter().next().unwrap()
}

fn lines_of(order: &Map<String, Value>) -> Vec<Value> {
    order["item"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn item_id(mesh: &TestMesh, code: &str) -> (&'static str, String) {
    let (record_type, ..) = ITEMS.iter().find(|(_, c, _, _)| *c == code).unwrap();
    let id = text(mesh.ns_where(record_type, "itemId", code)[0].get("id")).unwrap();
    (record_type, id)
}

/// An account whose shipping address is in `country` (as a rep types it).
fn account_shipping_to(mesh: &TestMesh, name: &str, country: &str) -> String {
    let account = new_account(mesh, name);
    mesh.sandbox
        .sf_update(
            "Account",
            &account,
            object(json!({ "ShippingCountry": country })),
        )
        .unwrap();
    account
}

/// The tax NetSuite charges on `lines` at the rate of each line's code.
fn expected_tax(lines: &[Value]) -> f64 {
    lines
        .iter()
        .map(|l| {
            let rate = text(l.get("taxCode"))
                .and_then(|code| tax_code_ids().iter().position(|id| *id == code))
                .map_or(0.0, |n| TAX_CODES[n].1);
            (number(l.get("amount")) * rate / 100.0 * 100.0).round() / 100.0
        })
        .sum()
}

async fn tax_codes_go_by_product_then_country_then_default_and_the_totals_come_back(
    mesh: &TestMesh,
) {
    create_tax_codes(mesh);
    run_catalog(mesh).await;
    let ids = tax_code_ids();

    // Shipping to the United Kingdom: INSTALL by its product rule, the widget by the country.
    let uk = account_shipping_to(mesh, "Tax UK Ltd", "United Kingdom");
    let lines = [("WIDGET-100", 4.0, 0.0), ("INSTALL", 1.0, 0.0)];
    let opportunity = new_opportunity(mesh, &uk, "GBP", &lines, "Closed Won");
    // The preview shows each line's tax code, and writes nothing.
    let (status, preview) = mesh
        .post(
            &format!("/v1/salesforce/opportunities/{opportunity}/sync?dry_run=true"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    let shown: Vec<(String, Value)> = preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "taxCode")
        .map(|c| {
            (
                c["record"].as_str().unwrap().to_string(),
                c["after"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("netsuite.salesOrder.item[1]".to_string(), json!(ids[1])),
            ("netsuite.salesOrder.item[2]".to_string(), json!(ids[0])),
        ]
    );
    assert!(mesh
        .ns_where("salesOrder", "externalId", &opportunity)
        .is_empty());
    let (status, body) = click(mesh, &opportunity).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let order = order_of(mesh, &opportunity);
    let ns_lines = lines_of(&order);
    let codes: Vec<Option<String>> = ns_lines.iter().map(|l| text(l.get("taxCode"))).collect();
    assert_eq!(codes, [Some(ids[1].clone()), Some(ids[0].clone())]);
    let tax = expected_tax(&ns_lines);
    assert!(tax > 0.0);
    assert!(
        (number(order.get("taxTotal")) - tax).abs() < 0.005,
        "{order:?}"
    );
    let subtotal = number(order.get("subtotal"));
    assert!((number(order.get("total")) - (subtotal + tax)).abs() < 0.005);
    // NetSuite's tax total and total on the Opportunity, in the one write-back of the sync.
    let sf = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert!(
        (number(sf.get("NetSuite_Tax__c")) - tax).abs() < 0.005,
        "{sf:?}"
    );
    assert!((number(sf.get("NetSuite_Total__c")) - number(order.get("total"))).abs() < 0.005);
    assert!((number(sf.get("NetSuite_Total__c")) - number(sf.get("Amount")) - tax).abs() < 0.005);

    // Shipping to France (no country rule): the widget takes the default.
    let fr = account_shipping_to(mesh, "Taxe France SARL", "France");
    let opportunity = new_opportunity(mesh, &fr, "EUR", &[("WIDGET-100", 2.0, 10.0)], "Closed Won");
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity).await;
    assert_eq!(status, 200, "{body}");
    let order = order_of(mesh, &opportunity);
    let ns_lines = lines_of(&order);
    assert_eq!(text(ns_lines[0].get("taxCode")), Some(ids[2].clone()));
    let tax = expected_tax(&ns_lines);
    assert!((number(order.get("taxTotal")) - tax).abs() < 0.005);
    // Tax costs no call: the upsert and the read-back, and one Opportunity update (the
    // write-back with the totals). The customer is created through the customers service.
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("PUT /services/rest/record/v1/salesOrder/eid:{externalId}"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls.get("GET /services/rest/record/v1/salesOrder/{id}"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/sobjects/Opportunity/{id}"),
        1,
        "{calls:?}"
    );
    let sf = mesh.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert!(
        (number(sf.get("NetSuite_Tax__c")) - tax).abs() < 0.005,
        "{sf:?}"
    );

    // Clicked again: unchanged, nothing written anywhere.
    mesh.sandbox.reset_calls();
    let (_, again) = click(mesh, &opportunity).await;
    assert_eq!(again["outcome"], "unchanged", "{again}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.netsuite_writes(), calls.salesforce_writes()),
        (0, 0),
        "{calls:?}"
    );
}

on_both_stores!(
    tax_codes_by_product_country_and_default,
    tax_codes_go_by_product_then_country_then_default_and_the_totals_come_back,
    with_tax
);

async fn a_line_without_a_tax_code_is_refused_naming_it_and_nothing_is_written(mesh: &TestMesh) {
    create_tax_codes(mesh);
    run_catalog(mesh).await;
    let account = account_shipping_to(mesh, "Untaxed GmbH", "Germany");
    let opportunity = new_opportunity(
        mesh,
        &account,
        "EUR",
        &[("INSTALL", 1.0, 0.0), ("WIDGET-100", 3.0, 0.0)],
        "Closed Won",
    );
    let widget_line = mesh
        .sandbox
        .sf_records("OpportunityLineItem")
        .into_iter()
        .filter(|l| text(l.get("OpportunityId")).as_deref() == Some(opportunity.as_str()))
        .find(|l| text(l.get("Name")).is_some_and(|n| n.contains("Widget")))
        .and_then(|l| text(l.get("Id")))
        .unwrap();
    let orders_before = mesh.sandbox.ns_records("salesOrder").len();
    let customers_before = mesh.sandbox.ns_records("customer").len();
    let store_before = mesh.store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "UNPROCESSABLE", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&widget_line) && message.contains("tax code") && message.contains("DE"),
        "{message}"
    );
    // The INSTALL line has its code: only the widget's line is named.
    assert_eq!(message.matches("line ").count(), 1, "{message}");
    assert_eq!(mesh.sandbox.ns_records("salesOrder").len(), orders_before);
    assert_eq!(mesh.sandbox.ns_records("customer").len(), customers_before);
    // The sync took the opportunity's lock (fencing tokens, `fence`) and counted the refusal
    // (`stats:`); nothing else changed in the store, and nothing was written to either side.
    mesh.assert_nothing_written_but(&store_before, &["stats:", "fence"])
        .await;
}

on_both_stores!(
    unmapped_tax_code,
    a_line_without_a_tax_code_is_refused_naming_it_and_nothing_is_written,
    with_product_tax_only
);

/// A "Count" units type (Each, the base; Box of 12) for WIDGET-100, sold by the box: the unit
/// ids (each, box).
fn widget_sold_by_the_box(mesh: &TestMesh) -> (String, String) {
    let units = mesh
        .sandbox
        .ns_insert(
            "unitsType",
            object(json!({ "name": "Count", "uom": { "items": [
                { "unitName": "Each", "pluralName": "Each", "abbreviation": "ea", "conversionRate": 1, "baseUnit": true },
                { "unitName": "Box of 12", "pluralName": "Boxes of 12", "abbreviation": "bx", "conversionRate": 12 } ] } })),
        )
        .unwrap();
    let record = mesh.sandbox.ns_record("unitsType", &units).unwrap();
    let uom = record["uom"]["items"].as_array().unwrap();
    let id = |n: usize| text(uom[n].get("internalId")).unwrap();
    let (each, boxed) = (id(0), id(1));
    let (record_type, widget) = item_id(mesh, "WIDGET-100");
    mesh.sandbox
        .ns_update(
            record_type,
            &widget,
            object(json!({ "unitsType": { "id": units }, "saleUnit": { "id": boxed } })),
        )
        .unwrap();
    (each, boxed)
}

async fn units_go_from_the_item_to_the_product_and_from_the_product_to_the_order_lines(
    mesh: &TestMesh,
) {
    let (each, boxed) = widget_sold_by_the_box(mesh);
    run_catalog(mesh).await;
    let product = |code: &str| {
        mesh.sandbox
            .sf_records("Product2")
            .into_iter()
            .find(|p| text(p.get("ProductCode")).as_deref() == Some(code))
            .unwrap()
    };
    // The item's sale unit is the product's unit; an item without units leaves it alone.
    assert_eq!(
        text(product("WIDGET-100").get("QuantityUnitOfMeasure")).as_deref(),
        Some("Box of 12")
    );
    assert_eq!(text(product("INSTALL").get("QuantityUnitOfMeasure")), None);

    let account = new_account(mesh, "Units Ltd");
    let (status, _) = mesh.sync_account(&account, false).await; // its customer, beforehand
    assert_eq!(status, 200);
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("WIDGET-100", 2.0, 0.0), ("INSTALL", 1.0, 0.0)],
        "Closed Won",
    );
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &opportunity).await;
    assert_eq!(status, 200, "{body}");
    let ns_lines = lines_of(&order_of(mesh, &opportunity));
    assert_eq!(text(ns_lines[0].get("units")), Some(boxed.clone()));
    assert_eq!(
        text(ns_lines[1].get("units")),
        None,
        "a service has no units"
    );
    // The items' units cost one SuiteQL query for the whole order, and nothing else more.
    assert_eq!(mesh.sandbox.calls().netsuite_total(), 3);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("POST /services/rest/query/v1/suiteql"),
        1,
        "{calls:?}"
    );

    // The rep sells the widget by the piece (the abbreviation will do) on a new deal.
    let widget = text(product("WIDGET-100").get("Id")).unwrap();
    mesh.sandbox
        .sf_update(
            "Product2",
            &widget,
            object(json!({ "QuantityUnitOfMeasure": "EA" })),
        )
        .unwrap();
    let by_piece = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("WIDGET-100", 30.0, 0.0)],
        "Closed Won",
    );
    let (status, body) = click(mesh, &by_piece).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        text(lines_of(&order_of(mesh, &by_piece))[0].get("units")),
        Some(each)
    );

    // A unit the item does not have: 422 naming the line, nothing written.
    mesh.sandbox
        .sf_update(
            "Product2",
            &widget,
            object(json!({ "QuantityUnitOfMeasure": "Pallet" })),
        )
        .unwrap();
    let pallets = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("WIDGET-100", 1.0, 0.0)],
        "Closed Won",
    );
    let line = mesh
        .sandbox
        .sf_records("OpportunityLineItem")
        .into_iter()
        .find(|l| text(l.get("OpportunityId")).as_deref() == Some(pallets.as_str()))
        .and_then(|l| text(l.get("Id")))
        .unwrap();
    let store_before = mesh.store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &pallets).await;
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&line) && message.contains("'Pallet'"),
        "{message}"
    );
    assert!(mesh
        .ns_where("salesOrder", "externalId", &pallets)
        .is_empty());
    mesh.assert_nothing_written_but(&store_before, &["stats:", "fence"])
        .await;
}

on_both_stores!(
    units_of_measure,
    units_go_from_the_item_to_the_product_and_from_the_product_to_the_order_lines,
    with_units
);

async fn with_tax_and_units_off_an_order_is_what_it_always_was(mesh: &TestMesh) {
    create_tax_codes(mesh);
    widget_sold_by_the_box(mesh);
    run_catalog(mesh).await;
    let account = new_account(mesh, "Plain Orders Ltd");
    let opportunity = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("WIDGET-100", 2.0, 0.0), ("INSTALL", 1.0, 0.0)],
        "Closed Won",
    );
    let (status, _) = click(mesh, &opportunity).await; // the customer, created once
    assert_eq!(status, 200);
    let second = new_opportunity(
        mesh,
        &account,
        "USD",
        &[("WIDGET-100", 2.0, 0.0)],
        "Closed Won",
    );
    mesh.sandbox.reset_calls();
    let (status, body) = click(mesh, &second).await;
    assert_eq!(status, 200, "{body}");
    let order = order_of(mesh, &second);
    // No tax code sent: no tax; the line sells in the item's sale unit, NetSuite's default.
    assert!(text(lines_of(&order)[0].get("taxCode")).is_none());
    assert_eq!(number(order.get("taxTotal")), 0.0);
    assert!((number(order.get("total")) - number(order.get("subtotal"))).abs() < 0.005);
    let sf = mesh.sandbox.sf_record("Opportunity", &second).unwrap();
    assert!(
        text(sf.get("NetSuite_Tax__c")).is_none() && text(sf.get("NetSuite_Total__c")).is_none()
    );
    // Exactly the calls of a never-linked order: upsert and read-back, no SuiteQL.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.netsuite_total(), 2, "{calls:?}");
    assert_eq!(
        calls.get("POST /services/rest/query/v1/suiteql"),
        0,
        "{calls:?}"
    );
    // Clicked again: unchanged (the sale unit NetSuite filled in is not a change).
    mesh.sandbox.reset_calls();
    let (_, again) = click(mesh, &second).await;
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(mesh.sandbox.calls().netsuite_total(), 0);
}

on_both_stores!(
    tax_and_units_off,
    with_tax_and_units_off_an_order_is_what_it_always_was
);

/// A quote of `opportunity` with `lines` of (item code, quantity) at standard prices.
fn new_quote(mesh: &TestMesh, opportunity: &str, currency: &str, lines: &[(&str, f64)]) -> String {
    let quote = mesh
        .sandbox
        .sf_insert(
            "Quote",
            object(json!({
                "Name": "Taxed proposal",
                "OpportunityId": opportunity,
                "Pricebook2Id": isthmus_tests::lead::standard_book(mesh),
            })),
        )
        .expect("quote inserted");
    for (code, quantity) in lines {
        let (_, _, entry, price) = isthmus_tests::lead::priced(mesh, code, currency);
        mesh.sandbox
            .sf_insert(
                "QuoteLineItem",
                object(json!({
                    "QuoteId": quote, "PricebookEntryId": entry, "Quantity": quantity,
                    "UnitPrice": price,
                })),
            )
            .expect("quote line inserted");
    }
    quote
}

/// Estimate lines take their tax codes by the same rules as order lines (product, then the
/// quote account's shipping country, then the default), NetSuite computes the estimate's tax,
/// and a quote line without a code is refused naming it, with no estimate written.
async fn a_quotes_estimate_lines_carry_tax_codes_by_the_same_rules(mesh: &TestMesh) {
    create_tax_codes(mesh);
    run_catalog(mesh).await;
    let ids = tax_code_ids();
    let uk = account_shipping_to(mesh, "Quoted UK Ltd", "United Kingdom");
    let opportunity = new_opportunity(mesh, &uk, "GBP", &[("WIDGET-100", 1.0, 0.0)], "Prospecting");
    let quote = new_quote(
        mesh,
        &opportunity,
        "GBP",
        &[("WIDGET-100", 2.0), ("INSTALL", 1.0)],
    );
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/quotes/{quote}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let estimates = mesh.ns_where("estimate", "externalId", &quote);
    assert_eq!(estimates.len(), 1, "{estimates:?}");
    let ns_lines = lines_of(&estimates[0]);
    let codes: Vec<Option<String>> = ns_lines.iter().map(|l| text(l.get("taxCode"))).collect();
    assert_eq!(codes, [Some(ids[1].clone()), Some(ids[0].clone())]);
    let tax = expected_tax(&ns_lines);
    assert!(tax > 0.0);
    assert!(
        (number(estimates[0].get("taxTotal")) - tax).abs() < 0.005,
        "{:?}",
        estimates[0]
    );
}

on_both_stores!(
    quote_tax_codes,
    a_quotes_estimate_lines_carry_tax_codes_by_the_same_rules,
    with_tax
);

async fn a_quote_line_without_a_tax_code_is_refused_and_no_estimate_written(mesh: &TestMesh) {
    create_tax_codes(mesh);
    run_catalog(mesh).await;
    let de = account_shipping_to(mesh, "Quoted GmbH", "Germany");
    let opportunity = new_opportunity(mesh, &de, "EUR", &[("WIDGET-100", 1.0, 0.0)], "Prospecting");
    let quote = new_quote(
        mesh,
        &opportunity,
        "EUR",
        &[("INSTALL", 1.0), ("WIDGET-100", 3.0)],
    );
    let store_before = mesh.store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/quotes/{quote}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("tax code") && message.contains("DE"),
        "{message}"
    );
    assert_eq!(
        message.matches("line ").count(),
        2,
        "the widget's line alone: {message}"
    );
    assert!(mesh.ns_where("estimate", "externalId", &quote).is_empty());
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.netsuite_writes(), calls.salesforce_writes()),
        (0, 0),
        "{calls:?}"
    );
    mesh.assert_nothing_written_but(&store_before, &["stats:", "fence"])
        .await;
}

on_both_stores!(
    quote_unmapped_tax_code,
    a_quote_line_without_a_tax_code_is_refused_and_no_estimate_written,
    with_product_tax_only
);

//! Existing products first: before the catalog creates a product for an unlinked item, it links
//! the unlinked Product2 whose `catalog.product_match_field` (ProductCode unless configured)
//! equals the item's `itemId`, and refuses to guess between several. Asserted on the sandbox's
//! Salesforce (same Product2 id, counts, entries), through Collections runs, a bulk (ingest job)
//! run, one item over gRPC (dry run and real) and the seeded demo catalog.

use isthmus_proto::catalog::v1::catalog_sync_client::CatalogSyncClient;
use isthmus_proto::catalog::v1::{ItemChange, SyncItemRequest};
use isthmus_proto::common::v1::{Outcome, SyncOptions};
use isthmus_proto::ErrorCode;
use isthmus_sandbox::seed::sales::{LICENSE_CODE, PARTNER_PRICE_BOOK_NAME};
use isthmus_sandbox::seed::{EUR_ID, GBP_ID, USD_ID};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, SF_KEY};
use serde_json::{json, Map, Value};

use crate::catalog::{
    book_id, counts, entries, item, product, run, standard_book, standard_prices, synced_products,
};
use crate::catalog_bulk::{assert_bulk_calls, bulk, Reads};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

/// A product someone created in Salesforce before Isthmus (no `NetSuite_Id__c`), with
/// `fields`, and a standard USD entry at `usd` when given; its id.
fn existing_product(mesh: &TestMesh, fields: Value, usd: Option<f64>) -> String {
    let mut record = object(json!({ "IsActive": true }));
    record.extend(object(fields));
    let id = mesh.sandbox.sf_insert("Product2", record).expect("product");
    if let Some(price) = usd {
        let entry = json!({
            "Pricebook2Id": standard_book(mesh), "Product2Id": id, "CurrencyIsoCode": "USD",
            "UnitPrice": price, "IsActive": true,
        });
        mesh.sandbox
            .sf_insert("PricebookEntry", object(entry))
            .expect("entry");
    }
    id
}

/// Products whose `field` is `value`.
fn products_with(mesh: &TestMesh, field: &str, value: &str) -> Vec<Map<String, Value>> {
    mesh.sandbox
        .sf_records("Product2")
        .into_iter()
        .filter(|p| text(p.get(field)).as_deref() == Some(value))
        .collect()
}

fn sync_request(item_id: &str, dry_run: bool) -> SyncItemRequest {
    SyncItemRequest {
        item_id: item_id.to_string(),
        change: ItemChange::Edit as i32,
        options: Some(SyncOptions {
            dry_run,
            ..Default::default()
        }),
    }
}

/// A second full run is all echoes: no Salesforce write.
async fn assert_rerun_writes_nothing(mesh: &TestMesh, seen: u64) {
    mesh.sandbox.reset_calls();
    let again = run(mesh, "full").await;
    assert_eq!(counts(&again), [seen, 0, 0, seen, 0, 0, 0], "{again}");
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes(), 0, "{calls:?}");
}

async fn an_existing_product_with_the_item_code_is_linked_not_duplicated(mesh: &TestMesh) {
    let existing = existing_product(
        mesh,
        json!({ "Name": "Widget (old name)", "ProductCode": "WIDGET-100" }),
        Some(99.0),
    );
    let (_, widget, name, prices) = item(mesh, "WIDGET-100");
    let products = mesh.sandbox.sf_records("Product2").len();

    // A dry run says which product it would link, and writes nothing.
    let mut client = CatalogSyncClient::new(mesh.admin_grpc(&mesh.catalog_grpc));
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let preview = client
        .sync_item(sync_request(&widget, true))
        .await
        .expect("dry run")
        .into_inner();
    assert_eq!(preview.outcome, Outcome::Updated as i32, "{preview:?}");
    assert_eq!(preview.matched_rule, "product_match", "{preview:?}");
    assert_eq!(preview.salesforce_id, existing, "{preview:?}");
    assert!(
        preview
            .warnings
            .iter()
            .any(|w| w.contains(&format!("link existing product {existing}"))),
        "{preview:?}"
    );
    assert!(
        preview
            .changes
            .iter()
            .any(|c| c.field == "NetSuite_Id__c" && c.record == "salesforce.Product2"),
        "{preview:?}"
    );
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
    mesh.assert_nothing_written(&before).await;

    mesh.sandbox.reset_calls();
    let done = run(mesh, "full").await;
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("GET /services/data/vXX.X/query"),
        4,
        "price books, the batch's products, its one match query, the sweep: {calls:?}"
    );
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/composite/sobjects"),
        2,
        "the link (Product2 by Id) and the reused entry's price: {calls:?}"
    );
    // WIDGET-100 updated (linked): its USD entry updated, EUR and GBP created; nine created.
    assert_eq!(counts(&done), [10, 9, 1, 0, 0, 0, 30], "{done}");
    assert_eq!(
        mesh.sandbox.sf_records("Product2").len(),
        products + 9,
        "no product for WIDGET-100"
    );
    let linked = product(mesh, &widget);
    assert_eq!(text(linked.get("Id")).as_deref(), Some(existing.as_str()));
    assert_eq!(text(linked.get("Name")).as_deref(), Some(name));
    assert_eq!(
        entries(mesh, &existing, &standard_book(mesh)),
        standard_prices(prices, true),
        "the USD entry reused, not duplicated"
    );
    let (status, link) = mesh
        .get(&format!("/v1/links/products/{widget}"), Some(SF_KEY))
        .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["product_id"].as_str(), Some(existing.as_str()));

    assert_rerun_writes_nothing(mesh, 10).await;
    assert_eq!(synced_products(mesh), 10);
}
on_both_stores!(
    linked_by_product_code,
    an_existing_product_with_the_item_code_is_linked_not_duplicated
);

async fn several_matching_products_fail_the_item_and_nothing_is_written_for_it(mesh: &TestMesh) {
    let first = existing_product(
        mesh,
        json!({ "Name": "Gear A", "ProductCode": "GEAR-10" }),
        Some(1.0),
    );
    let second = existing_product(
        mesh,
        json!({ "Name": "Gear B", "ProductCode": "gear-10" }),
        None,
    );
    let (_, gear, _, _) = item(mesh, "GEAR-10");
    let products = mesh.sandbox.sf_records("Product2").len();
    let entries_before = mesh.sandbox.sf_records("PricebookEntry").len();

    let done = run(mesh, "full").await;
    assert_eq!(counts(&done), [10, 9, 0, 0, 0, 1, 27], "{done}");
    let errors = done["errors"].to_string();
    assert!(
        errors.contains(&gear) && errors.contains("ambiguous match"),
        "{done}"
    );
    assert!(
        errors.contains(&first) && errors.contains(&second),
        "{done}"
    );
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products + 9);
    assert_eq!(
        mesh.sandbox.sf_records("PricebookEntry").len(),
        entries_before + 27
    );
    for id in [&first, &second] {
        let p = mesh.sandbox.sf_record("Product2", id).unwrap();
        assert_eq!(p.get("NetSuite_Id__c"), Some(&Value::Null), "{p:?}");
    }
    assert!(products_with(mesh, "NetSuite_Id__c", &gear).is_empty());
    let (status, _) = mesh
        .get(&format!("/v1/links/products/{gear}"), Some(ADMIN_KEY))
        .await;
    assert_eq!(status, 404);

    // One item over gRPC: the same refusal, nothing written.
    let mut client = CatalogSyncClient::new(mesh.admin_grpc(&mesh.catalog_grpc));
    mesh.sandbox.reset_calls();
    let err = client
        .sync_item(sync_request(&gear, false))
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::from_status(&err),
        ErrorCode::Unprocessable,
        "{err:?}"
    );
    assert!(err.message().contains("ambiguous match"), "{err:?}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products + 9);
}
on_both_stores!(
    ambiguous_match,
    several_matching_products_fail_the_item_and_nothing_is_written_for_it
);

async fn a_configured_field_matches_instead_of_the_product_code(mesh: &TestMesh) {
    let by_description = existing_product(
        mesh,
        json!({ "Name": "Cables", "ProductCode": "OLD-CABLES", "Description": "CABLE-SET" }),
        None,
    );
    let by_code = existing_product(
        mesh,
        json!({ "Name": "Gear", "ProductCode": "GEAR-10" }),
        None,
    );
    let (_, cables, _, _) = item(mesh, "CABLE-SET");
    let (_, gear, _, _) = item(mesh, "GEAR-10");
    let products = mesh.sandbox.sf_records("Product2").len();
    let done = run(mesh, "full").await;
    assert_eq!(counts(&done), [10, 9, 1, 0, 0, 0, 30], "{done}");
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products + 9);
    let linked = product(mesh, &cables);
    assert_eq!(text(linked.get("Id")), Some(by_description));
    assert_eq!(
        text(linked.get("ProductCode")).as_deref(),
        Some("CABLE-SET")
    );
    assert_ne!(text(product(mesh, &gear).get("Id")), Some(by_code.clone()));
    let untouched = mesh.sandbox.sf_record("Product2", &by_code).unwrap();
    assert_eq!(untouched.get("NetSuite_Id__c"), Some(&Value::Null));
    assert_rerun_writes_nothing(mesh, 10).await;
}
on_both_stores!(
    configured_match_field,
    a_configured_field_matches_instead_of_the_product_code,
    |c: &mut isthmus::Config| c.catalog.product_match_field = "Description".into()
);

async fn with_matching_off_every_unlinked_item_gets_a_new_product(mesh: &TestMesh) {
    let existing = existing_product(
        mesh,
        json!({ "Name": "Widget", "ProductCode": "WIDGET-100" }),
        None,
    );
    let (_, widget, _, _) = item(mesh, "WIDGET-100");
    let products = mesh.sandbox.sf_records("Product2").len();
    let done = run(mesh, "full").await;
    assert_eq!(counts(&done), [10, 10, 0, 0, 0, 0, 30], "{done}");
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products + 10);
    assert_ne!(
        text(product(mesh, &widget).get("Id")),
        Some(existing.clone())
    );
    assert_eq!(products_with(mesh, "ProductCode", "WIDGET-100").len(), 2);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("GET /services/data/vXX.X/query"),
        3,
        "price books, the batch's products, the sweep; no match query: {calls:?}"
    );
}
on_both_stores!(
    matching_off,
    with_matching_off_every_unlinked_item_gets_a_new_product,
    |c: &mut isthmus::Config| c.catalog.product_match_field = String::new()
);

/// Day one: the seeded org's licence product (priced in the standard and partner books, on the
/// demo opportunities) and a NetSuite item created with its code.
async fn the_seeded_catalog_is_linked_on_day_one(mesh: &TestMesh) {
    let seeded = products_with(mesh, "ProductCode", LICENSE_CODE);
    assert_eq!(seeded.len(), 1, "{seeded:?}");
    let seeded = text(seeded[0].get("Id")).unwrap();
    let item = object(json!({
        "itemId": LICENSE_CODE, "displayName": "Isthmus License", "description": "Isthmus License",
        "basePrice": 1200.0,
        "price": { "items": [
            { "priceLevel": { "id": "1" }, "currencyPage": { "id": USD_ID }, "price": 1200.0 },
            { "priceLevel": { "id": "1" }, "currencyPage": { "id": EUR_ID }, "price": 1100.0 },
            { "priceLevel": { "id": "1" }, "currencyPage": { "id": GBP_ID }, "price": 950.0 },
        ]},
    }));
    let item = mesh
        .sandbox
        .ns_insert("nonInventorySaleItem", item)
        .expect("item");
    let products = mesh.sandbox.sf_records("Product2").len();
    let entries_before = mesh.sandbox.sf_records("PricebookEntry").len();
    let line_items = mesh.sandbox.sf_records("OpportunityLineItem");
    assert!(
        line_items
            .iter()
            .any(|l| text(l.get("Product2Id")).as_deref() == Some(seeded.as_str())),
        "the demo opportunities sell the licence"
    );

    let done = run(mesh, "full").await;
    assert_eq!(done["failed"], 0, "{done}");
    assert_eq!(done["updated"], 1, "{done}");
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products + 10);
    assert_eq!(text(product(mesh, &item).get("Id")), Some(seeded.clone()));
    // Its standard entries are the seeded ones, updated in place; the partner book's, which
    // the catalog does not manage here, are untouched.
    assert_eq!(
        entries(mesh, &seeded, &standard_book(mesh)),
        standard_prices([1200.0, 1100.0, 950.0], true)
    );
    assert_eq!(
        mesh.sandbox.sf_records("PricebookEntry").len(),
        entries_before + 30,
        "ten new items' three prices each, none for the licence"
    );
    let partner = book_id(mesh, PARTNER_PRICE_BOOK_NAME);
    assert!(entries(mesh, &seeded, &partner).iter().all(|(_, _, a)| *a));
    assert_eq!(
        mesh.sandbox.sf_records("OpportunityLineItem"),
        line_items,
        "the demo opportunities are untouched"
    );
    assert_rerun_writes_nothing(mesh, 11).await;
}
on_both_stores!(seeded_day_one, the_seeded_catalog_is_linked_on_day_one);

/// Above the bulk threshold: the candidates come with the run's product query job (no SOQL
/// beyond the price books'), the link is an ingest job of its own, and several candidates
/// still fail the item.
async fn a_bulk_run_links_through_ingest_jobs_and_refuses_to_guess(mesh: &TestMesh) {
    let existing = existing_product(
        mesh,
        json!({ "Name": "Deluxe (old)", "ProductCode": "WIDGET-200" }),
        Some(1.0),
    );
    for name in ["Gear A", "Gear B"] {
        existing_product(
            mesh,
            json!({ "Name": name, "ProductCode": "GEAR-10" }),
            None,
        );
    }
    let (_, deluxe, _, prices) = item(mesh, "WIDGET-200");
    let (_, gear, _, _) = item(mesh, "GEAR-10");
    let products = mesh.sandbox.sf_records("Product2").len();
    mesh.sandbox.reset_calls();

    let done = run(mesh, "full").await;
    assert_eq!(counts(&done), [10, 8, 1, 0, 0, 1, 27], "{done}");
    assert!(
        done["errors"].to_string().contains("ambiguous match"),
        "{done}"
    );
    // New products (ids read back), the link, standard entries, the reused entry's update.
    let reads = Reads {
        new_ids: true,
        ..Reads::default()
    };
    assert_bulk_calls(&mesh.sandbox.calls(), 4, reads);
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products + 8);
    let linked = product(mesh, &deluxe);
    assert_eq!(text(linked.get("Id")), Some(existing.clone()));
    assert_eq!(
        entries(mesh, &existing, &standard_book(mesh)),
        standard_prices(prices, true)
    );
    assert!(products_with(mesh, "NetSuite_Id__c", &gear).is_empty());

    // Again: the gear is still ambiguous, the rest are echoes; nothing is written.
    mesh.sandbox.reset_calls();
    let again = run(mesh, "full").await;
    assert_eq!(counts(&again), [10, 0, 0, 9, 0, 1, 0], "{again}");
    assert_bulk_calls(&mesh.sandbox.calls(), 0, Reads::default());
}
on_both_stores!(
    bulk_link,
    a_bulk_run_links_through_ingest_jobs_and_refuses_to_guess,
    bulk
);

/// One item (an event's or a person's sync) links as a run does.
async fn one_item_links_its_existing_product(mesh: &TestMesh) {
    let existing = existing_product(
        mesh,
        json!({ "Name": "Gear", "ProductCode": "GEAR-10" }),
        Some(10.0),
    );
    let (_, gear, _, prices) = item(mesh, "GEAR-10");
    let products = mesh.sandbox.sf_records("Product2").len();
    let mut client = CatalogSyncClient::new(mesh.admin_grpc(&mesh.catalog_grpc));
    let synced = client
        .sync_item(sync_request(&gear, false))
        .await
        .expect("sync")
        .into_inner();
    assert_eq!(synced.outcome, Outcome::Updated as i32, "{synced:?}");
    assert_eq!(synced.matched_rule, "product_match", "{synced:?}");
    assert_eq!(synced.salesforce_id, existing, "{synced:?}");
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products);
    assert_eq!(text(product(mesh, &gear).get("Id")), Some(existing.clone()));
    assert_eq!(
        entries(mesh, &existing, &standard_book(mesh)),
        standard_prices(prices, true)
    );
    // Again: an echo, nothing written.
    mesh.sandbox.reset_calls();
    let again = client
        .sync_item(sync_request(&gear, false))
        .await
        .expect("sync")
        .into_inner();
    assert_eq!(again.outcome, Outcome::Unchanged as i32, "{again:?}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
}
on_both_stores!(single_item_link, one_item_links_its_existing_product);

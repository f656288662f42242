//! The catalog service on the whole mesh: NetSuite items become Salesforce products with price
//! book entries per currency and book, through runs (gateway), single items (gRPC and NetSuite
//! events) and `isthmus backfill catalog`, asserted on the sandbox's Salesforce and its call
//! counters. Runs above `salesforce.bulk_threshold` (Bulk API 2.0 jobs) are in `catalog_bulk.rs`.

use std::time::Duration;

use isthmus_proto::catalog::v1::catalog_sync_client::CatalogSyncClient;
use isthmus_proto::catalog::v1::{
    get_product_link_request, GetCatalogRunRequest, GetProductLinkRequest, ItemChange,
    StartCatalogRunRequest, SyncItemRequest,
};
use isthmus_proto::common::v1::{Outcome, SyncOptions};
use isthmus_proto::ErrorCode;
use isthmus_sandbox::seed::books::{self, ITEMS, ITEM_COUNT};
use isthmus_sandbox::System;
use isthmus_telemetry::TracedChannel;
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY};
use serde_json::{json, Map, Value};

const PRODUCT_UPSERT: &str =
    "PATCH /services/data/vXX.X/composite/sobjects/Product2/NetSuite_Id__c";
const COLLECTION_CREATE: &str = "POST /services/data/vXX.X/composite/sobjects";
const COLLECTION_UPDATE: &str = "PATCH /services/data/vXX.X/composite/sobjects";

/// A seeded item by its `itemId`: (record type, internal id, display name, [USD, EUR, GBP]).
pub(crate) fn item(
    mesh: &TestMesh,
    item_id: &str,
) -> (&'static str, String, &'static str, [f64; 3]) {
    let (record_type, _, name, prices) = ITEMS
        .iter()
        .find(|(_, code, _, _)| *code == item_id)
        .unwrap_or_else(|| panic!("no seeded item {item_id}"));
    let id = mesh
        .ns_where(record_type, "itemId", item_id)
        .first()
        .and_then(|r| text(r.get("id")))
        .unwrap_or_else(|| panic!("{item_id} is not in the sandbox"));
    (record_type, id, name, *prices)
}

/// The product whose `NetSuite_Id__c` is `item_id`; exactly one must exist.
pub(crate) fn product(mesh: &TestMesh, item_id: &str) -> Map<String, Value> {
    let found: Vec<_> = mesh
        .sandbox
        .sf_records("Product2")
        .into_iter()
        .filter(|p| text(p.get("NetSuite_Id__c")).as_deref() == Some(item_id))
        .collect();
    assert_eq!(found.len(), 1, "products of item {item_id}: {found:?}");
    found.into_iter().next().unwrap()
}

pub(crate) fn synced_products(mesh: &TestMesh) -> usize {
    mesh.sandbox
        .sf_records("Product2")
        .iter()
        .filter(|p| text(p.get("NetSuite_Id__c")).is_some())
        .count()
}

pub(crate) fn book_id(mesh: &TestMesh, name: &str) -> String {
    mesh.sandbox
        .sf_records("Pricebook2")
        .into_iter()
        .find(|b| b.get("Name").and_then(Value::as_str) == Some(name))
        .and_then(|b| text(b.get("Id")))
        .unwrap_or_else(|| panic!("no price book {name:?}"))
}

pub(crate) fn standard_book(mesh: &TestMesh) -> String {
    book_id(mesh, isthmus_sandbox::seed::sales::STANDARD_PRICE_BOOK_NAME)
}

/// A product's entries in a book: currency → (price, active).
pub(crate) fn entries(mesh: &TestMesh, product_id: &str, book: &str) -> Vec<(String, f64, bool)> {
    let mut found: Vec<(String, f64, bool)> = mesh
        .sandbox
        .sf_records("PricebookEntry")
        .into_iter()
        .filter(|e| {
            text(e.get("Product2Id")).as_deref() == Some(product_id)
                && text(e.get("Pricebook2Id")).as_deref() == Some(book)
        })
        .map(|e| {
            (
                text(e.get("CurrencyIsoCode")).unwrap_or_default(),
                e.get("UnitPrice").and_then(Value::as_f64).unwrap_or(-1.0),
                e.get("IsActive").and_then(Value::as_bool) == Some(true),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Standard prices as `entries` lists them (EUR, GBP, USD order).
pub(crate) fn standard_prices(prices: [f64; 3], active: bool) -> Vec<(String, f64, bool)> {
    vec![
        ("EUR".into(), prices[1], active),
        ("GBP".into(), prices[2], active),
        ("USD".into(), prices[0], active),
    ]
}

pub(crate) async fn start_run(mesh: &TestMesh, body: Value) -> Value {
    let (status, run) = mesh
        .post("/v1/catalog/runs", Some(ADMIN_KEY), Some(body))
        .await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["state"], "running", "{run}");
    run
}

pub(crate) async fn wait_run(mesh: &TestMesh, run: &Value) -> Value {
    let id = run["id"].as_str().expect("run id");
    for _ in 0..600 {
        let (status, run) = mesh
            .get(&format!("/v1/catalog/runs/{id}"), Some(ADMIN_KEY))
            .await;
        assert_eq!(status, 200, "{run}");
        if run["state"] != "running" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("catalog run {id} did not finish");
}

/// A run to its end; asserts it is done.
pub(crate) async fn run(mesh: &TestMesh, mode: &str) -> Value {
    let started = start_run(mesh, json!({ "mode": mode })).await;
    let done = wait_run(mesh, &started).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["mode"], mode, "{done}");
    done
}

pub(crate) fn counts(run: &Value) -> [u64; 7] {
    [
        "seen",
        "created",
        "updated",
        "unchanged",
        "deactivated",
        "failed",
        "prices_written",
    ]
    .map(|k| run[k].as_u64().unwrap_or(u64::MAX))
}

async fn grpc(mesh: &TestMesh) -> CatalogSyncClient<TracedChannel> {
    CatalogSyncClient::new(mesh.admin_grpc(&mesh.catalog_grpc))
}

/// Replaces an item's prices (Base Price level 1 unless given) over NetSuite's REST API.
pub(crate) async fn set_prices(mesh: &TestMesh, item_id: &str, prices: &[(&str, &str, f64)]) {
    let (record_type, id, _, _) = item(mesh, item_id);
    let lines: Vec<Value> = prices
        .iter()
        .map(|(level, currency, price)| {
            json!({ "priceLevel": { "id": level }, "currencyPage": { "id": currency }, "price": price })
        })
        .collect();
    mesh.ns_patch(
        record_type,
        &id,
        json!({ "price": { "items": lines } }),
        &["price"],
    )
    .await;
}

async fn a_full_run_brings_every_item_across_and_a_second_run_writes_nothing(mesh: &TestMesh) {
    let before = mesh.sandbox.sf_records("Product2").len();
    mesh.sandbox.reset_calls();
    let done = run(mesh, "full").await;
    assert_eq!(
        counts(&done),
        [10, 10, 0, 0, 0, 0, 30],
        "seen, created, updated, unchanged, deactivated, failed, prices: {done}"
    );
    assert_eq!(ITEMS.len(), ITEM_COUNT);
    assert_eq!(
        mesh.sandbox.sf_records("Product2").len(),
        before + ITEM_COUNT
    );
    let standard = standard_book(mesh);
    let families = [
        ("inventoryItem", "Hardware"),
        ("nonInventorySaleItem", "Hardware"),
        ("serviceSaleItem", "Services"),
        ("kitItem", "Hardware"),
    ];
    for (_, code, _, _) in ITEMS {
        let (record_type, id, name, prices) = item(mesh, code);
        let p = product(mesh, &id);
        assert_eq!(text(p.get("Name")).as_deref(), Some(name));
        assert_eq!(text(p.get("ProductCode")).as_deref(), Some(*code));
        assert_eq!(text(p.get("Description")).as_deref(), Some(name));
        assert_eq!(p.get("IsActive"), Some(&json!(true)), "{p:?}");
        let family = families.iter().find(|(t, _)| *t == record_type).unwrap().1;
        assert_eq!(text(p.get("Family")).as_deref(), Some(family), "{code}");
        let product_id = text(p.get("Id")).unwrap();
        assert_eq!(
            entries(mesh, &product_id, &standard),
            standard_prices(prices, true),
            "{code}"
        );
        // The link, both ways.
        let (status, link) = mesh
            .get(&format!("/v1/links/products/{id}"), Some(SF_KEY))
            .await;
        assert_eq!(status, 200, "{link}");
        assert_eq!(link["product_id"].as_str(), Some(product_id.as_str()));
        let (status, link) = mesh
            .get(&format!("/v1/links/products/{product_id}"), Some(NS_KEY))
            .await;
        assert_eq!((status, link["item_id"].as_str()), (200, Some(id.as_str())));
    }
    // Products in one upsert, entries in one create: collections, never a call per record.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(PRODUCT_UPSERT), 1, "{calls:?}");
    assert_eq!(calls.get(COLLECTION_CREATE), 1, "{calls:?}");
    assert_eq!(calls.salesforce_writes(), 2, "{calls:?}");

    mesh.sandbox.reset_calls();
    let again = run(mesh, "full").await;
    assert_eq!(counts(&again), [10, 0, 0, 10, 0, 0, 0], "{again}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.salesforce_writes(),
        0,
        "echoes write nothing: {calls:?}"
    );
    assert_eq!(synced_products(mesh), ITEM_COUNT);
}
on_both_stores!(
    full_run,
    a_full_run_brings_every_item_across_and_a_second_run_writes_nothing
);

async fn inactive_and_deleted_items_deactivate_their_products_which_stay(mesh: &TestMesh) {
    run(mesh, "full").await;
    let (record_type, inactive, _, prices) = item(mesh, "GEAR-10");
    mesh.ns_patch(record_type, &inactive, json!({ "isInactive": true }), &[])
        .await;
    let (record_type, deleted, _, _) = item(mesh, "CABLE-SET");
    mesh.ns_delete(record_type, &deleted).await;
    mesh.sandbox.reset_calls();

    let done = run(mesh, "full").await;
    assert_eq!(counts(&done), [9, 0, 0, 8, 2, 0, 6], "{done}");
    let standard = standard_book(mesh);
    for id in [&inactive, &deleted] {
        let p = product(mesh, id);
        assert_eq!(p.get("IsActive"), Some(&json!(false)), "{p:?}");
        let product_id = text(p.get("Id")).unwrap();
        assert!(
            entries(mesh, &product_id, &standard)
                .iter()
                .all(|(_, _, active)| !active),
            "entries deactivated too"
        );
    }
    let p = product(mesh, &inactive);
    assert_eq!(
        entries(mesh, &text(p.get("Id")).unwrap(), &standard),
        standard_prices(prices, false)
    );
    let calls = mesh.sandbox.calls();
    assert!(
        calls.salesforce.keys().all(|k| !k.starts_with("DELETE")),
        "nothing deleted: {calls:?}"
    );
    assert_eq!(synced_products(mesh), ITEM_COUNT, "products stay");

    // Settled: the next run writes nothing.
    mesh.sandbox.reset_calls();
    let again = run(mesh, "full").await;
    assert_eq!(counts(&again), [9, 0, 0, 9, 0, 0, 0], "{again}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
}
on_both_stores!(
    deactivation,
    inactive_and_deleted_items_deactivate_their_products_which_stay
);

async fn an_inactive_item_can_keep_its_product_active(mesh: &TestMesh) {
    run(mesh, "full").await;
    let (record_type, inactive, _, _) = item(mesh, "GEAR-10");
    mesh.ns_patch(record_type, &inactive, json!({ "isInactive": true }), &[])
        .await;
    mesh.sandbox.reset_calls();
    run(mesh, "full").await;
    let p = product(mesh, &inactive);
    assert_eq!(p.get("IsActive"), Some(&json!(true)), "{p:?}");
    let standard = standard_book(mesh);
    assert!(
        entries(mesh, &text(p.get("Id")).unwrap(), &standard)
            .iter()
            .all(|(_, _, active)| *active),
        "its prices stay active too"
    );
    assert_eq!(
        mesh.sandbox.calls().salesforce_writes(),
        0,
        "nothing changes for it"
    );
}
on_both_stores!(
    inactive_items_kept,
    an_inactive_item_can_keep_its_product_active,
    |c: &mut isthmus::Config| c.catalog.deactivate_inactive_items = false
);

async fn a_price_change_updates_only_that_entry(mesh: &TestMesh) {
    run(mesh, "full").await;
    let (_, id, _, [usd, _, gbp]) = item(mesh, "WIDGET-200");
    set_prices(
        mesh,
        "WIDGET-200",
        &[("1", "1", usd), ("1", "2", 43.25), ("1", "3", gbp)],
    )
    .await;
    mesh.sandbox.reset_calls();
    let done = run(mesh, "full").await;
    assert_eq!(counts(&done), [10, 0, 1, 9, 0, 0, 1], "{done}");
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(COLLECTION_UPDATE), 1, "{calls:?}");
    assert_eq!(calls.salesforce_writes(), 1, "no product write: {calls:?}");
    let p = product(mesh, &id);
    assert_eq!(
        entries(mesh, &text(p.get("Id")).unwrap(), &standard_book(mesh)),
        standard_prices([usd, 43.25, gbp], true)
    );
}
on_both_stores!(price_change, a_price_change_updates_only_that_entry);

async fn a_delta_run_reads_only_items_modified_since_the_last_run(mesh: &TestMesh) {
    let first = run(mesh, "delta").await;
    assert_eq!(first["created"], 10, "no cursor yet: every item: {first}");
    let (record_type, id, _, _) = item(mesh, "MANUAL-PRINT");
    mesh.ns_patch(
        record_type,
        &id,
        json!({ "displayName": "Printed Manual (2nd ed.)" }),
        &[],
    )
    .await;
    mesh.sandbox.reset_calls();
    let delta = run(mesh, "delta").await;
    assert_eq!(counts(&delta), [1, 0, 1, 0, 0, 0, 0], "{delta}");
    let p = product(mesh, &id);
    assert_eq!(
        text(p.get("Name")).as_deref(),
        Some("Printed Manual (2nd ed.)")
    );
    assert_eq!(mesh.sandbox.calls().get(PRODUCT_UPSERT), 1);
}
on_both_stores!(
    delta_run,
    a_delta_run_reads_only_items_modified_since_the_last_run
);

async fn a_configured_price_level_fills_its_price_book(mesh: &TestMesh) {
    let (_, id, _, [usd, eur, gbp]) = item(mesh, "SUPPORT-ANNUAL");
    set_prices(
        mesh,
        "SUPPORT-ANNUAL",
        &[
            ("1", "1", usd),
            ("1", "2", eur),
            ("1", "3", gbp),
            ("2", "1", 1020.0),
            ("2", "2", 935.0),
        ],
    )
    .await;
    let done = run(mesh, "full").await;
    assert_eq!(done["failed"], 0, "{done}");
    assert_eq!(done["prices_written"], 32, "30 standard, 2 partner: {done}");
    let product_id = text(product(mesh, &id).get("Id")).unwrap();
    let partner = book_id(mesh, isthmus_sandbox::seed::sales::PARTNER_PRICE_BOOK_NAME);
    assert_eq!(
        entries(mesh, &product_id, &partner),
        vec![("EUR".into(), 935.0, true), ("USD".into(), 1020.0, true)]
    );
    assert_eq!(
        entries(mesh, &product_id, &standard_book(mesh)),
        standard_prices([usd, eur, gbp], true)
    );
}
on_both_stores!(
    price_level,
    a_configured_price_level_fills_its_price_book,
    |config: &mut isthmus::Config| {
        config
            .catalog
            .price_books
            .insert("2".into(), "Partner Price Book".into());
    }
);

fn sync_request(item_id: &str, change: ItemChange, dry_run: bool) -> SyncItemRequest {
    SyncItemRequest {
        item_id: item_id.to_string(),
        change: change as i32,
        options: Some(SyncOptions {
            dry_run,
            ..Default::default()
        }),
    }
}

async fn one_item_syncs_over_grpc_and_from_a_netsuite_event(mesh: &TestMesh) {
    let mut client = grpc(mesh).await;
    let (_, gear, _, prices) = item(mesh, "GEAR-10");

    // A dry run shows every change and writes nothing, in the store either.
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let preview = client
        .sync_item(sync_request(&gear, ItemChange::Edit, true))
        .await
        .expect("dry run")
        .into_inner();
    assert!(preview.dry_run);
    assert_eq!(preview.outcome, Outcome::Created as i32, "{preview:?}");
    let changed: Vec<(String, String)> = preview
        .changes
        .iter()
        .map(|c| (c.record.clone(), c.field.clone()))
        .collect();
    for (record, field) in [
        ("salesforce.Product2", "Name"),
        ("salesforce.Product2", "ProductCode"),
        (
            "salesforce.PricebookEntry:Standard Price Book/USD",
            "UnitPrice",
        ),
        (
            "salesforce.PricebookEntry:Standard Price Book/EUR",
            "UnitPrice",
        ),
        (
            "salesforce.PricebookEntry:Standard Price Book/GBP",
            "UnitPrice",
        ),
    ] {
        assert!(
            changed.contains(&(record.to_string(), field.to_string())),
            "{record}.{field} in {changed:?}"
        );
    }
    mesh.assert_nothing_written(&before).await;
    let (status, _) = mesh
        .get(&format!("/v1/links/products/{gear}"), Some(ADMIN_KEY))
        .await;
    assert_eq!(status, 404);

    // For real, over gRPC.
    let created = client
        .sync_item(sync_request(&gear, ItemChange::Create, false))
        .await
        .expect("sync")
        .into_inner();
    assert_eq!(created.outcome, Outcome::Created as i32, "{created:?}");
    assert_eq!(created.flow, "catalog.item_to_product");
    assert!(created.salesforce_id.starts_with("01t"), "{created:?}");
    assert_eq!(
        entries(mesh, &created.salesforce_id, &standard_book(mesh)),
        standard_prices(prices, true)
    );
    let link = client
        .get_product_link(GetProductLinkRequest {
            key: Some(get_product_link_request::Key::ItemId(gear.clone())),
        })
        .await
        .expect("link")
        .into_inner();
    assert_eq!(link.product_id, created.salesforce_id);
    let again = client
        .sync_item(sync_request(&gear, ItemChange::Edit, false))
        .await
        .expect("sync")
        .into_inner();
    assert_eq!(again.outcome, Outcome::Unchanged as i32, "{again:?}");

    // Asked to run in the background: queued on the catalog's own queue, run by its worker.
    let (_, training, _, _) = item(mesh, "TRAINING-DAY");
    let mut queued = sync_request(&training, ItemChange::Edit, false);
    queued.options = Some(SyncOptions {
        delivery: isthmus_proto::common::v1::Delivery::Async as i32,
        ..Default::default()
    });
    let queued = client.sync_item(queued).await.expect("queued").into_inner();
    assert_eq!(queued.outcome, Outcome::Queued as i32, "{queued:?}");
    let job = mesh.wait_job(&queued.job_id).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["result"]["outcome"], "created", "{job}");
    assert_eq!(product(mesh, &training).get("IsActive"), Some(&json!(true)));

    // A NetSuite User Event through the gateway.
    let (record_type, widget, name, _) = item(mesh, "WIDGET-100");
    let event = json!({ "record_type": record_type, "id": widget, "event_type": "create" });
    let (status, result) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(event))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["outcome"], "created", "{result}");
    assert_eq!(
        text(product(mesh, &widget).get("Name")).as_deref(),
        Some(name)
    );

    // A delete event while NetSuite still has the item is refused; the product stays active.
    let deleted = json!({ "record_type": record_type, "id": widget, "event_type": "delete" });
    let (status, result) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(deleted))
        .await;
    assert_eq!(
        (status, result["code"].as_str()),
        (422, Some("UNPROCESSABLE")),
        "{result}"
    );
    assert_eq!(product(mesh, &widget).get("IsActive"), Some(&json!(true)));

    // An item no transaction uses, synced, then deleted in NetSuite: its product is
    // deactivated, never deleted. (The seeded items are on transactions: NetSuite keeps them.)
    let reference = |id: &str| json!({ "id": id });
    let prices: Vec<Value> = [books::USD_ID, books::EUR_ID, books::GBP_ID]
        .iter()
        .map(|currency| {
            json!({ "priceLevel": reference(books::BASE_PRICE_LEVEL_ID),
                    "currencyPage": reference(currency), "price": 12.0 })
        })
        .collect();
    let fresh = json!({
        "itemId": "WIDGET-RETIRED", "displayName": "Retired widget",
        "description": "Retired widget", "basePrice": 12.0, "price": { "items": prices },
    });
    let retired = mesh
        .sandbox
        .ns_insert(record_type, fresh.as_object().cloned().unwrap())
        .unwrap();
    let created = json!({ "record_type": record_type, "id": retired, "event_type": "create" });
    let (status, result) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(created))
        .await;
    assert_eq!(
        (status, result["outcome"].as_str()),
        (200, Some("created")),
        "{result}"
    );
    mesh.ns_delete(record_type, &retired).await;
    let deleted = json!({ "record_type": record_type, "id": retired, "event_type": "delete" });
    let (status, result) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(deleted))
        .await;
    assert_eq!(
        (status, result["outcome"].as_str()),
        (200, Some("updated")),
        "{result}"
    );
    assert_eq!(product(mesh, &retired).get("IsActive"), Some(&json!(false)));
}
on_both_stores!(
    single_item,
    one_item_syncs_over_grpc_and_from_a_netsuite_event
);

fn code_of(status: &tonic::Status) -> ErrorCode {
    ErrorCode::from_status(status)
}

async fn bad_input_gets_stable_codes_and_writes_nothing(mesh: &TestMesh) {
    let mut client = grpc(mesh).await;
    let before = mesh.settled_store_snapshot().await;
    let products = mesh.sandbox.sf_records("Product2").len();
    mesh.sandbox.reset_calls();

    for bad in ["", "12a", "1 OR 1=1", "123456789012345678901", "-1"] {
        let err = client
            .sync_item(sync_request(bad, ItemChange::Edit, false))
            .await
            .unwrap_err();
        assert_eq!(
            code_of(&err),
            ErrorCode::InvalidArgument,
            "{bad:?}: {err:?}"
        );
    }
    let mut unknown_change = sync_request("42", ItemChange::Edit, false);
    unknown_change.change = 42;
    let err = client.sync_item(unknown_change).await.unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidArgument, "{err:?}");
    let err = client
        .start_catalog_run(StartCatalogRunRequest { mode: 7, limit: 0 })
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidArgument, "{err:?}");
    let err = client
        .get_catalog_run(GetCatalogRunRequest { id: "../x".into() })
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidArgument, "{err:?}");
    let err = client
        .get_catalog_run(GetCatalogRunRequest {
            id: "0123456789abcdef0123456789abcdef".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::NotFound, "{err:?}");
    let account = isthmus_sandbox::seed::demo_account_id(&mesh.sandbox).expect("demo account");
    let err = client
        .get_product_link(GetProductLinkRequest {
            key: Some(get_product_link_request::Key::ProductId(account.clone())),
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidArgument, "{err:?}");
    let err = client
        .get_product_link(GetProductLinkRequest { key: None })
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidArgument, "{err:?}");

    // Through the gateway.
    for (body, why) in [
        (json!({ "mode": "weekly" }), "unknown mode"),
        (json!({ "mode": "full", "extra": 1 }), "unknown field"),
        (json!({ "mode": "full", "limit": -3 }), "negative limit"),
        (json!([1, 2]), "not an object"),
    ] {
        let (status, answer) = mesh
            .post("/v1/catalog/runs", Some(ADMIN_KEY), Some(body))
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{why}: {answer}"
        );
    }
    let (status, answer) = mesh
        .post(
            "/v1/catalog/runs",
            Some(SF_KEY),
            Some(json!({ "mode": "full" })),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{answer}"
    );
    let (status, answer) = mesh
        .get("/v1/catalog/runs/NOT-A-RUN", Some(ADMIN_KEY))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("INVALID_ARGUMENT")),
        "{answer}"
    );
    for id in [account.as_str(), "01t-not-an-id", "1%27%20OR%201%3D1"] {
        let (status, answer) = mesh
            .get(&format!("/v1/links/products/{id}"), Some(ADMIN_KEY))
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{id}: {answer}"
        );
    }
    let (status, answer) = mesh.get("/v1/links/products/987654", Some(ADMIN_KEY)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{answer}"
    );

    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_total(), 0, "not even a read: {calls:?}");
    assert_eq!(calls.netsuite_total(), 0, "{calls:?}");
    mesh.assert_store_unchanged(&before).await;

    // An item NetSuite does not have: NOT_FOUND, and nothing written.
    let err = client
        .sync_item(sync_request("987654", ItemChange::Edit, false))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::NotFound, "{err:?}");
    let event = json!({ "record_type": "inventoryItem", "id": "987654", "event_type": "edit" });
    let (status, answer) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(event))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{answer}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes(), 0, "{calls:?}");
    assert_eq!(mesh.sandbox.sf_records("Product2").len(), products);
}
on_both_stores!(bad_input, bad_input_gets_stable_codes_and_writes_nothing);

async fn one_run_at_a_time(mesh: &TestMesh) {
    mesh.sandbox
        .set_latency(System::Salesforce, Duration::from_millis(150));
    let first = start_run(mesh, json!({ "mode": "full" })).await;
    let (status, answer) = mesh
        .post(
            "/v1/catalog/runs",
            Some(ADMIN_KEY),
            Some(json!({ "mode": "delta" })),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("LOCKED")),
        "{answer}"
    );
    let done = wait_run(mesh, &first).await;
    assert_eq!(done["created"], 10, "{done}");
    mesh.sandbox.set_latency(System::Salesforce, Duration::ZERO);
    // Once it is done, the next may start.
    let next = start_run(mesh, json!({ "mode": "full", "limit": 3 })).await;
    let next = wait_run(mesh, &next).await;
    // A run cut short by its limit deactivates nothing it did not read.
    assert_eq!(counts(&next), [3, 0, 0, 3, 0, 0, 0], "{next}");
    assert!(mesh
        .sandbox
        .sf_records("Product2")
        .iter()
        .filter(|p| text(p.get("NetSuite_Id__c")).is_some())
        .all(|p| p.get("IsActive") == Some(&json!(true))));
}
on_both_stores!(one_at_a_time, one_run_at_a_time);

/// `isthmus backfill catalog <args> --json` against the mesh's sandbox and Redis; its report.
/// It logs at `debug` so that its stdout is shown to hold the report alone (logs go to stderr).
async fn backfill_catalog(mesh: &mut TestMesh, args: &[&str]) -> Value {
    let binary = isthmus_tests::isthmus_binary().await;
    let urls = mesh.sandbox_urls.clone();
    let redis = mesh.redis_server().expect("a Redis mesh");
    let output = tokio::process::Command::new(binary)
        .args(["backfill", "catalog", "--json"])
        .args(args)
        .env_clear()
        .env("RUST_LOG", "debug")
        .envs(isthmus_tests::process_env(&urls, redis))
        .kill_on_drop(true)
        .output()
        .await
        .expect("isthmus runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "isthmus backfill catalog {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.stderr.is_empty(),
        "the command logged nothing at debug"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backfill_command_runs_the_catalog_in_its_own_process() {
    let mut mesh = TestMesh::start(isthmus_tests::StoreKind::Redis).await;
    let report = backfill_catalog(&mut mesh, &["--full"]).await;
    assert_eq!(report["mode"], "full", "{report}");
    assert_eq!(report["progress"]["created"], 10, "{report}");
    assert_eq!(report["progress"]["prices_written"], 30, "{report}");
    assert_eq!(report["cursor_saved"], true, "{report}");
    let (_, id, _, prices) = item(&mesh, "STARTER-KIT");
    let product_id = text(product(&mesh, &id).get("Id")).unwrap();
    assert_eq!(
        entries(&mesh, &product_id, &standard_book(&mesh)),
        standard_prices(prices, true)
    );
    // The links it wrote are the service's: the gateway shows them.
    let (status, link) = mesh
        .get(&format!("/v1/links/products/{id}"), Some(ADMIN_KEY))
        .await;
    assert_eq!(
        (status, link["product_id"].as_str()),
        (200, Some(product_id.as_str()))
    );

    // Cut short by a limit: echoes only, and the delta cursor stays where it was.
    mesh.sandbox.reset_calls();
    let limited = backfill_catalog(&mut mesh, &["--full", "--limit", "3"]).await;
    assert_eq!(limited["progress"]["seen"], 3, "{limited}");
    assert_eq!(limited["progress"]["unchanged"], 3, "{limited}");
    assert_eq!(limited["cursor_saved"], false, "{limited}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
    mesh.shutdown().await;
}

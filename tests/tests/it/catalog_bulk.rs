//! Catalog full runs above `salesforce.bulk_threshold` go through Bulk API 2.0: two query jobs
//! read the products and their entries, and ingest jobs write products, standard entries,
//! custom book entries and entry updates, a job a step for the whole run. The far side must be
//! exactly what the REST path (a SOQL query and sObject Collections a batch) leaves for the same
//! catalog: both are run, on two sandboxes, and compared record by record.

use std::collections::BTreeMap;

use isthmus_sandbox::seed::books::{self, ITEM_COUNT};
use isthmus_sandbox::seed::sales::PARTNER_PRICE_BOOK_NAME;
use isthmus_sandbox::{BulkLimits, CallCounts};
use isthmus_tests::{on_both_stores, text, StoreKind, TestMesh, NS_KEY};
use serde_json::{json, Value};

use crate::catalog::{counts, entries, item, product, run, set_prices, standard_book};

/// Below the seeded catalog's ten items: the bulk path.
const BULK_THRESHOLD: u64 = 5;
/// NetSuite's price level whose prices go to the partner book in these tests.
const PARTNER_LEVEL: &str = "2";

pub(crate) fn bulk(config: &mut isthmus::Config) {
    config.salesforce.bulk_threshold = BULK_THRESHOLD;
}

fn partner_book(config: &mut isthmus::Config) {
    config
        .catalog
        .price_books
        .insert(PARTNER_LEVEL.into(), PARTNER_PRICE_BOOK_NAME.into());
}

/// A Bulk API 2.0 route's count.
fn job(calls: &CallCounts, method: &str, path: &str) -> u64 {
    calls.get(&format!("{method} /services/data/vXX.X/jobs/{path}"))
}

/// Calls to sObject Collections, any method.
fn collections(calls: &CallCounts) -> u64 {
    calls
        .salesforce
        .iter()
        .filter(|(route, _)| route.contains("/composite/sobjects"))
        .map(|(_, n)| n)
        .sum()
}

/// What one bulk run's ingest jobs cost beyond their create, upload and `UploadComplete`.
#[derive(Default)]
pub(crate) struct Reads {
    /// `successfulResults` read for the ids of new products.
    pub new_ids: bool,
    /// Jobs whose refused rows were read.
    pub refused: u64,
    /// Jobs whose unprocessed rows were read.
    pub unprocessed: u64,
}

/// Asserts the calls of one bulk run: its two query jobs, `ingests` ingest jobs with `reads` of
/// their results, no Collections, and SOQL only for the price books.
pub(crate) fn assert_bulk_calls(calls: &CallCounts, ingests: u64, reads: Reads) {
    assert_eq!(job(calls, "POST", "query"), 2, "{calls:?}");
    assert_eq!(job(calls, "GET", "query/{jobId}/results"), 2, "{calls:?}");
    assert_eq!(calls.get("GET /services/data/vXX.X/query"), 1, "{calls:?}");
    assert_eq!(collections(calls), 0, "no Collections: {calls:?}");
    assert_eq!(job(calls, "POST", "ingest"), ingests, "{calls:?}");
    assert_eq!(
        job(calls, "PUT", "ingest/{jobId}/batches"),
        ingests,
        "{calls:?}"
    );
    assert_eq!(job(calls, "PATCH", "ingest/{jobId}"), ingests, "{calls:?}");
    assert_eq!(
        job(calls, "GET", "ingest/{jobId}/successfulResults"),
        u64::from(reads.new_ids),
        "{calls:?}"
    );
    assert_eq!(
        job(calls, "GET", "ingest/{jobId}/failedResults"),
        reads.refused,
        "{calls:?}"
    );
    assert_eq!(
        job(calls, "GET", "ingest/{jobId}/unprocessedrecords"),
        reads.unprocessed,
        "{calls:?}"
    );
    assert_eq!(calls.salesforce_writes(), 3 * ingests, "{calls:?}");
    let polls = job(calls, "GET", "ingest/{jobId}");
    assert!(
        (ingests..=3 * ingests).contains(&polls),
        "an ingest job is polled a few times: {calls:?}"
    );
}

/// The synced products and their entries as the sandbox's Salesforce holds them, without ids
/// and times: `NetSuite_Id__c` → the product's catalog fields and its entries (book name,
/// currency, price, active) in that order; and the org's Product2 and PricebookEntry counts.
fn far_side(mesh: &TestMesh) -> (BTreeMap<String, Value>, [usize; 2]) {
    let books: BTreeMap<String, String> = mesh
        .sandbox
        .sf_records("Pricebook2")
        .iter()
        .filter_map(|b| Some((text(b.get("Id"))?, text(b.get("Name"))?)))
        .collect();
    let products = mesh.sandbox.sf_records("Product2");
    let all_entries = mesh.sandbox.sf_records("PricebookEntry");
    let mut side = BTreeMap::new();
    for p in &products {
        let Some(item) = text(p.get("NetSuite_Id__c")) else {
            continue;
        };
        let id = text(p.get("Id"));
        let mut prices: Vec<Value> = all_entries
            .iter()
            .filter(|e| text(e.get("Product2Id")) == id)
            .map(|e| {
                json!([
                    books.get(&text(e.get("Pricebook2Id")).unwrap_or_default()),
                    e["CurrencyIsoCode"],
                    e["UnitPrice"],
                    e["IsActive"],
                ])
            })
            .collect();
        prices.sort_by_key(Value::to_string);
        let fields = ["Name", "ProductCode", "Description", "IsActive", "Family"]
            .map(|f| (f, p.get(f).cloned().unwrap_or(Value::Null)));
        let record = json!({ "fields": BTreeMap::from(fields), "entries": prices });
        assert!(
            side.insert(item.clone(), record).is_none(),
            "item {item} has two products"
        );
    }
    (side, [products.len(), all_entries.len()])
}

/// One catalog, three full runs (everything new; a price change, a partner price changed and
/// one dropped, an inactive item, a deleted item; nothing), on `transport`'s mesh: each run's
/// counts and the far side after it, with the calls asserted for the bulk path.
async fn three_runs(
    kind: StoreKind,
    transport: &str,
) -> Vec<(Value, (BTreeMap<String, Value>, [usize; 2]))> {
    let is_bulk = transport == "bulk";
    let mesh = TestMesh::start_with(kind, |config| {
        partner_book(config);
        if is_bulk {
            bulk(config);
        }
    })
    .await;
    let (_, _, _, [usd, eur, gbp]) = item(&mesh, "WIDGET-100");
    let base = |currency: &'static str, price: f64| ("1", currency, price);
    let partner = |currency: &'static str, price: f64| (PARTNER_LEVEL, currency, price);
    set_prices(
        &mesh,
        "WIDGET-100",
        &[
            base(books::USD_ID, usd),
            base(books::EUR_ID, eur),
            base(books::GBP_ID, gbp),
            partner(books::USD_ID, 21.25),
            partner(books::EUR_ID, 19.5),
        ],
    )
    .await;
    let mut steps = Vec::new();

    mesh.sandbox.reset_calls();
    let first = run(&mesh, "full").await;
    assert_eq!(
        counts(&first),
        [10, 10, 0, 0, 0, 0, 32],
        "seen, created, updated, unchanged, deactivated, failed, prices: {first}"
    );
    if is_bulk {
        // Products (new: their ids read back), standard entries, then partner entries.
        let reads = Reads {
            new_ids: true,
            ..Reads::default()
        };
        assert_bulk_calls(&mesh.sandbox.calls(), 3, reads);
    }
    let widget = product(&mesh, &item(&mesh, "WIDGET-100").1);
    let (status, link) = mesh
        .get(
            &format!("/v1/links/products/{}", item(&mesh, "WIDGET-100").1),
            Some(NS_KEY),
        )
        .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(
        link["product_id"], widget["Id"],
        "the link names the new product"
    );
    steps.push((first, far_side(&mesh)));

    let (_, _, _, [usd2, _, gbp2]) = item(&mesh, "WIDGET-200");
    set_prices(
        &mesh,
        "WIDGET-200",
        &[
            base(books::USD_ID, usd2),
            base(books::EUR_ID, 43.25),
            base(books::GBP_ID, gbp2),
        ],
    )
    .await;
    set_prices(
        &mesh,
        "WIDGET-100",
        &[
            base(books::USD_ID, usd),
            base(books::EUR_ID, eur),
            base(books::GBP_ID, gbp),
            partner(books::USD_ID, 22.0),
        ],
    )
    .await;
    let (record_type, gear, _, _) = item(&mesh, "GEAR-10");
    mesh.ns_patch(record_type, &gear, json!({ "isInactive": true }), &[])
        .await;
    let (record_type, cables, _, _) = item(&mesh, "CABLE-SET");
    mesh.ns_delete(record_type, &cables).await;
    mesh.sandbox.reset_calls();
    let second = run(&mesh, "full").await;
    // Updated: both widgets; deactivated: the gear and the cables; prices: one standard,
    // two partner entries, three of each deactivated product.
    assert_eq!(counts(&second), [9, 0, 2, 6, 2, 0, 9], "{second}");
    if is_bulk {
        // The two deactivated products (known: no ids read), then every entry update, the
        // sweep's with the changed items'.
        assert_bulk_calls(&mesh.sandbox.calls(), 2, Reads::default());
    }
    steps.push((second, far_side(&mesh)));

    mesh.sandbox.reset_calls();
    let third = run(&mesh, "full").await;
    assert_eq!(counts(&third), [9, 0, 0, 9, 0, 0, 0], "{third}");
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes(), 0, "settled: {calls:?}");
    assert_eq!(job(&calls, "POST", "ingest"), 0, "{calls:?}");
    steps.push((third, far_side(&mesh)));
    mesh.shutdown().await;
    steps
}

async fn a_bulk_full_run_writes_through_ingest_jobs_exactly_what_rest_writes(kind: StoreKind) {
    let rest = three_runs(kind, "rest").await;
    let bulk = three_runs(kind, "bulk").await;
    for (step, ((rest_run, rest_side), (bulk_run, bulk_side))) in rest.iter().zip(&bulk).enumerate()
    {
        assert_eq!(counts(rest_run), counts(bulk_run), "run {}", step + 1);
        assert_eq!(
            rest_side.1,
            bulk_side.1,
            "record counts after run {}",
            step + 1
        );
        assert_eq!(rest_side.0.len(), ITEM_COUNT, "run {}", step + 1);
        for (item, record) in &rest_side.0 {
            assert_eq!(
                Some(record),
                bulk_side.0.get(item),
                "item {item} after run {}",
                step + 1
            );
        }
    }
    // The comparison compared something: the partner book's entries and the deactivations.
    let after = &rest.last().unwrap().1 .0;
    let partner_entries = after
        .values()
        .flat_map(|r| r["entries"].as_array().unwrap().clone())
        .filter(|e| e[0] == PARTNER_PRICE_BOOK_NAME)
        .collect::<Vec<_>>();
    assert_eq!(partner_entries.len(), 2, "{partner_entries:?}");
    assert_eq!(
        after
            .values()
            .filter(|r| r["fields"]["IsActive"] == json!(false))
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_as_rest_on_redis() {
    a_bulk_full_run_writes_through_ingest_jobs_exactly_what_rest_writes(StoreKind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_as_rest_on_memory() {
    a_bulk_full_run_writes_through_ingest_jobs_exactly_what_rest_writes(StoreKind::Memory).await;
}

/// A NetSuite currency the org does not have: mapped in `[currencies]` as JPY, which the org's
/// restricted `CurrencyIsoCode` picklist refuses. Its id is the next of NetSuite's setup
/// records (subsidiaries 1 to 4, currencies 1 to 3 and customer statuses 6 to 16 share the
/// sequence), checked when it is made.
const YEN_ID: &str = "17";

fn with_yen(config: &mut isthmus::Config) {
    config.currencies.insert("JPY".into(), YEN_ID.into());
}

/// An entry the org refuses, inside the standard entries' write: the item is that run's
/// failure, with why; its other records are written once; the next run, once NetSuite no
/// longer prices it in yen, links it without writing anything twice.
async fn a_refused_entry_fails_its_item_and_the_next_run_settles_it(
    mesh: &TestMesh,
    is_bulk: bool,
) {
    let yen = mesh
        .sandbox
        .ns_insert(
            "currency",
            isthmus_tests::lead::object(json!({ "name": "Yen", "symbol": "JPY" })),
        )
        .unwrap();
    assert_eq!(yen, YEN_ID, "the configured currency id");
    let (_, widget, _, [usd, eur, gbp]) = item(mesh, "WIDGET-100");
    let prices = [
        ("1", books::USD_ID, usd),
        ("1", books::EUR_ID, eur),
        ("1", books::GBP_ID, gbp),
    ];
    let mut with_yen_price = prices.to_vec();
    with_yen_price.push(("1", YEN_ID, 3900.0));
    set_prices(mesh, "WIDGET-100", &with_yen_price).await;
    mesh.sandbox.reset_calls();

    let first = run(mesh, "full").await;
    assert_eq!(counts(&first), [10, 9, 0, 0, 0, 1, 30], "{first}");
    let errors = first["errors"].to_string();
    assert!(
        errors.contains(&widget)
            && errors.contains("PricebookEntry JPY")
            && errors.contains("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        "the item's failure says why: {first}"
    );
    if is_bulk {
        let reads = Reads {
            new_ids: true,
            refused: 1,
            ..Reads::default()
        };
        assert_bulk_calls(&mesh.sandbox.calls(), 2, reads);
    }
    let (status, _) = mesh
        .get(&format!("/v1/links/products/{widget}"), Some(NS_KEY))
        .await;
    assert_eq!(status, 404, "a failed item is not linked");
    let product_id = text(product(mesh, &widget).get("Id")).unwrap();
    let standard = standard_book(mesh);
    let saved = crate::catalog::standard_prices([usd, eur, gbp], true);
    assert_eq!(entries(mesh, &product_id, &standard), saved);

    set_prices(mesh, "WIDGET-100", &prices).await;
    mesh.sandbox.reset_calls();
    let second = run(mesh, "full").await;
    assert_eq!(counts(&second), [10, 0, 0, 10, 0, 0, 0], "{second}");
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes(), 0, "nothing twice: {calls:?}");
    let (status, link) = mesh
        .get(&format!("/v1/links/products/{widget}"), Some(NS_KEY))
        .await;
    assert_eq!(
        (status, link["product_id"].as_str()),
        (200, Some(product_id.as_str())),
        "{link}"
    );
    assert_eq!(product(mesh, &widget)["Id"], json!(product_id));
    assert_eq!(entries(mesh, &product_id, &standard), saved);
    assert_eq!(
        mesh.sandbox
            .sf_records("Product2")
            .iter()
            .filter(|p| text(p.get("NetSuite_Id__c")).is_some())
            .count(),
        ITEM_COUNT
    );
}
async fn through_ingest(mesh: &TestMesh) {
    a_refused_entry_fails_its_item_and_the_next_run_settles_it(mesh, true).await;
}
async fn through_collections(mesh: &TestMesh) {
    a_refused_entry_fails_its_item_and_the_next_run_settles_it(mesh, false).await;
}
on_both_stores!(
    bulk_refused_entry,
    through_ingest,
    |c: &mut isthmus::Config| {
        with_yen(c);
        bulk(c);
    }
);
on_both_stores!(rest_refused_entry, through_collections, with_yen);

/// An ingest job Salesforce stops part way (here: the org's daily Bulk API record limit, lowered
/// to 20 records, is met inside the standard entries' job): the rows it never processed fail
/// their items, the rows it did are kept, and the next run writes only what is missing.
async fn rows_an_ingest_job_never_processed_fail_their_items_and_the_next_run_completes_them(
    mesh: &TestMesh,
) {
    mesh.sandbox.salesforce_org().set_bulk_limits(BulkLimits {
        records_per_day: 20,
        batch_records: 10,
        ..BulkLimits::default()
    });
    mesh.sandbox.reset_calls();
    let first = run(mesh, "full").await;
    // Ten products, then ten of the thirty entries: three items whole, a fourth with one price.
    assert_eq!(counts(&first), [10, 3, 0, 0, 0, 7, 10], "{first}");
    let errors = first["errors"].as_array().expect("errors").clone();
    assert_eq!(errors.len(), 7, "{first}");
    assert!(
        errors
            .iter()
            .all(|e| e.to_string().contains("NOT_PROCESSED")),
        "{first}"
    );
    let reads = Reads {
        new_ids: true,
        unprocessed: 1,
        ..Reads::default()
    };
    assert_bulk_calls(&mesh.sandbox.calls(), 2, reads);
    let (side, _) = far_side(mesh);
    let written: usize = side
        .values()
        .map(|r| r["entries"].as_array().unwrap().len())
        .sum();
    assert_eq!((side.len(), written), (ITEM_COUNT, 10), "{side:?}");

    mesh.sandbox
        .salesforce_org()
        .set_bulk_limits(BulkLimits::default());
    mesh.sandbox.reset_calls();
    let second = run(mesh, "full").await;
    assert_eq!(counts(&second), [10, 0, 7, 3, 0, 0, 20], "{second}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        job(&calls, "POST", "ingest"),
        1,
        "the missing entries only: {calls:?}"
    );
    let standard = standard_book(mesh);
    for (_, code, _, prices) in books::ITEMS {
        let p = product(mesh, &item(mesh, code).1);
        assert_eq!(
            entries(mesh, &text(p.get("Id")).unwrap(), &standard),
            crate::catalog::standard_prices(*prices, true),
            "{code}: each price once"
        );
    }
}
on_both_stores!(
    bulk_unprocessed_rows,
    rows_an_ingest_job_never_processed_fail_their_items_and_the_next_run_completes_them,
    bulk
);

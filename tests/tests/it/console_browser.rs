//! The console in real Chromium, on the sandbox: sign in; a sync dead-letters under an injected
//! NetSuite fault, shows on the overview and the dead-letter page, is replayed and is gone with
//! the customer in NetSuite; a parked conflict is resolved and both sides hold the chosen
//! value; a planted drift is found and repaired; a record's trail shows before → after. Each
//! page is kept as a screenshot under `target/console-screenshots/`.

use std::time::Duration;

use isthmus_engine::config::Ownership;
use isthmus_sandbox::{seed, Fault, System};
use isthmus_tests::browser::Browser;
use isthmus_tests::faults::PUT_CUSTOMER;
use isthmus_tests::{text, StoreKind, TestMesh, ADMIN_KEY, SF_KEY, VIEWER_KEY};
use serde_json::{json, Map, Value};

const WAIT: Duration = Duration::from_secs(15);

fn one(field: &str, value: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(field.into(), Value::String(value.into()));
    fields
}

async fn sign_in(browser: &Browser, mesh: &TestMesh) {
    browser
        .goto(&format!("{}/console/login", mesh.gateway))
        .await
        .unwrap();
    browser.screenshot("sign-in").await.unwrap();
    browser.fill("#key", ADMIN_KEY).await.unwrap();
    browser.submit("form").await.unwrap();
    browser
        .wait_for_text("header .who", "test-admin", WAIT)
        .await
        .unwrap();
    let cookies = browser.cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name == "isthmus_console")
        .expect("a session cookie");
    assert_eq!(
        (session.http_only, session.same_site.as_deref()),
        (true, Some("Strict"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_repairs_what_went_wrong_from_the_console() {
    let mesh = TestMesh::start_with(StoreKind::Redis, |config| {
        config
            .customers
            .ownership
            .insert("phone".into(), Ownership::Manual);
    })
    .await;
    let browser = Browser::start().await.unwrap();
    let console = |path: &str| format!("{}/console{path}", mesh.gateway);
    sign_in(&browser, &mesh).await;

    // 1. NetSuite refuses the customer: the sync dead-letters.
    mesh.sandbox.inject_fault(
        System::NetSuite,
        Fault::error_with(PUT_CUSTOMER, 400, Some(json!({"title": "Bad Request", "status": 400,
            "o:errorDetails": [{"detail": "Please enter a value for Sales Rep.", "o:errorCode": "USER_ERROR"}]}))),
    );
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, body) = mesh
        .post(
            &format!("/v1/salesforce/accounts/{account}/sync?mode=async"),
            Some(SF_KEY),
            None,
        )
        .await;
    let job = body["job_id"].as_str().unwrap().to_string();
    assert_eq!(mesh.wait_job(&job).await["state"], "dead");

    browser.goto(&console("")).await.unwrap();
    browser
        .wait_for_text("#live-cards", "Dead letters", WAIT)
        .await
        .unwrap();
    let cards = browser.text("#live-cards").await.unwrap();
    assert!(
        cards.starts_with('1') || cards.contains("\n1\n") || cards.contains("1\nDead letters"),
        "{cards}"
    );
    browser
        .wait_for_text("#flows", "customers.account_to_customer", WAIT)
        .await
        .unwrap();
    assert!(
        browser.text("#flows").await.unwrap().contains("Sales Rep"),
        "the flow's last error"
    );
    browser.screenshot("overview").await.unwrap();

    browser.goto(&console("/dead-letters")).await.unwrap();
    browser
        .wait_for(&format!("#letters tr[data-id='{job}']"), WAIT)
        .await
        .unwrap();
    assert!(browser
        .text("#letters")
        .await
        .unwrap()
        .contains("Sales Rep"));
    browser.screenshot("dead-letters").await.unwrap();
    browser
        .click(&format!("#letters tr[data-id='{job}'] a"))
        .await
        .unwrap();
    browser
        .wait_for_text("#attempts", "Sales Rep", WAIT)
        .await
        .unwrap();
    browser.screenshot("dead-letter").await.unwrap();

    // Fixed in NetSuite: replay it from the console.
    mesh.sandbox.clear_faults(System::NetSuite);
    browser
        .submit("form[action='/console/dead-letters/replay']")
        .await
        .unwrap();
    browser
        .wait_for_text(".flash", "Replayed 1", WAIT)
        .await
        .unwrap();
    assert_eq!(mesh.wait_job(&job).await["state"], "done");
    browser.goto(&console("/dead-letters")).await.unwrap();
    browser
        .wait_for_text("#letters", "No dead letter matches", WAIT)
        .await
        .unwrap();
    let customers = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customers.len(), 1, "the customer is in NetSuite, once");
    let customer = text(customers[0].get("id")).unwrap();

    // 2. The phone changed on both sides under the manual policy: the record parks.
    mesh.sandbox
        .sf_update("Account", &account, one("Phone", "+1 555 0100"))
        .unwrap();
    mesh.sandbox
        .ns_update("customer", &customer, one("phone", "+1 555 0199"))
        .unwrap();
    let (_, synced) = mesh.sync_account(&account, false).await;
    assert_eq!(synced["outcome"], "conflict", "{synced}");
    browser.goto(&console("/conflicts")).await.unwrap();
    browser
        .wait_for_text("#conflicts", "+1 555 0199", WAIT)
        .await
        .unwrap();
    assert_eq!(
        browser.text("#total").await.unwrap(),
        "1",
        "one parked conflict"
    );
    browser.screenshot("conflicts").await.unwrap();
    browser
        .click("#conflicts button[value='netsuite']")
        .await
        .unwrap();
    browser
        .wait_for_text(".flash", "both sides now hold +1 555 0199", WAIT)
        .await
        .unwrap();
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    let ns = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(
        (
            text(sf.get("Phone")).as_deref(),
            text(ns.get("phone")).as_deref()
        ),
        (Some("+1 555 0199"), Some("+1 555 0199"))
    );

    // 3. A drift planted in NetSuite: found, repaired, gone.
    mesh.ns_patch(
        "customer",
        &customer,
        json!({ "companyName": "Renamed in NetSuite" }),
        &[],
    )
    .await;
    browser.goto(&console("/reconcile")).await.unwrap();
    browser
        .submit("form[action='/console/reconcile/run']")
        .await
        .unwrap();
    // The run goes on in the background; the page follows it and shows its drifts.
    browser
        .wait_for_text(".flash", "started", WAIT)
        .await
        .unwrap();
    browser
        .wait_for_text("#drifts", "field_differs", Duration::from_secs(60))
        .await
        .unwrap();
    let drifts = browser.text("#drifts").await.unwrap();
    assert!(
        drifts.contains("Renamed in NetSuite"),
        "both sides' values: {drifts}"
    );
    browser.screenshot("reconcile").await.unwrap();
    browser.click("#drifts form button").await.unwrap();
    browser
        .wait_for_text(".flash", "Repaired: 1", WAIT)
        .await
        .unwrap();
    browser
        .submit("form[action='/console/reconcile/run']")
        .await
        .unwrap();
    browser
        .wait_for_text("#drifts", "No drift", Duration::from_secs(60))
        .await
        .unwrap();
    let history = browser.find_all("#history tbody tr").await.unwrap();
    assert_eq!(history.len(), 2, "both runs in the history");
    let renamed = text(
        mesh.sandbox
            .sf_record("Account", &account)
            .unwrap()
            .get("Name"),
    );
    assert_eq!(
        renamed.as_deref(),
        Some("Renamed in NetSuite"),
        "the repair carried the name over"
    );

    // 4. The record's trail: every write with its changes before → after.
    browser.goto(&console("/records")).await.unwrap();
    browser.fill("#q", &account).await.unwrap();
    browser.submit("#search").await.unwrap();
    browser.wait_for_text("#history", "→", WAIT).await.unwrap();
    let history = browser.text("#history").await.unwrap();
    assert!(history.contains("Renamed in NetSuite"), "{history}");
    assert!(
        history.contains("replayed") && history.contains("test-admin"),
        "who replayed: {history}"
    );
    assert!(browser
        .text("table.link")
        .await
        .unwrap()
        .contains(&customer));
    browser.screenshot("record").await.unwrap();

    // 5. A full catalog run started from the console: followed live until done, and the
    //    items are products in Salesforce.
    let linked_products = |mesh: &TestMesh| {
        mesh.sandbox
            .sf_records("Product2")
            .iter()
            .filter(|p| text(p.get("NetSuite_Id__c")).is_some())
            .count()
    };
    assert_eq!(linked_products(&mesh), 0);
    browser.goto(&console("/runs")).await.unwrap();
    browser
        .select("#start-catalog select[name='mode']", "full")
        .await
        .unwrap();
    browser.submit("#start-catalog").await.unwrap();
    if let Err(e) = browser
        .wait_for_text(".flash", "Catalog run started", WAIT)
        .await
    {
        panic!("{e}\n{}", browser.text("main").await.unwrap_or_default());
    }
    browser
        .wait_for_text("#live-runs", "done", Duration::from_secs(60))
        .await
        .unwrap();
    let items = mesh.sandbox.ns_records("inventoryItem").len();
    assert!(
        linked_products(&mesh) >= items.max(1),
        "every item became a product"
    );
    assert!(browser
        .text("#catalog-counts")
        .await
        .unwrap()
        .contains("created"));
    browser.screenshot("runs").await.unwrap();

    // The remaining page renders.
    for (path, name) in [("/mappings", "mappings")] {
        browser.goto(&console(path)).await.unwrap();
        browser.wait_for("main h1", WAIT).await.unwrap();
        browser.screenshot(name).await.unwrap();
    }
    assert!(browser.text("main").await.unwrap().contains("companyName"));
    // 6. A viewer sees the same pages and no action; a POST forged from its session is 403
    //    and starts nothing.
    browser.submit("header form").await.unwrap();
    browser.wait_for("#key", WAIT).await.unwrap();
    browser.fill("#key", VIEWER_KEY).await.unwrap();
    browser.submit("form").await.unwrap();
    browser
        .wait_for_text("header .who", "viewer (read only)", WAIT)
        .await
        .unwrap();
    browser.goto(&console("/runs")).await.unwrap();
    browser.wait_for("main h1", WAIT).await.unwrap();
    assert!(
        browser
            .find_all("#start-backfill")
            .await
            .unwrap()
            .is_empty(),
        "no start form"
    );
    browser.screenshot("runs-viewer").await.unwrap();
    let csrf = browser
        .execute("return document.querySelector('input[name=csrf]').value")
        .await
        .unwrap();
    let forged = format!(
        "return fetch('/console/runs/start', {{method: 'POST', headers: {{'Content-Type': \
         'application/x-www-form-urlencoded'}}, body: 'kind=backfill&csrf={}'}}).then(r => r.status)",
        csrf.as_str().unwrap()
    );
    let status = browser.execute(&forged).await.unwrap();
    assert_eq!(status, 403);
    let (status, _) = mesh.get("/v1/backfills/latest", Some(ADMIN_KEY)).await;
    assert_eq!(status, 404, "no backfill started");

    drop(browser);
    mesh.shutdown().await;
}

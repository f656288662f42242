//! Financial reporting in Salesforce: NetSuite's receivables aging per customer and currency and
//! the GL balances by period of the configured accounts reach `NetSuite_Aging__c` and
//! `NetSuite_GL_Balance__c`, in one SuiteQL query and one Collections upsert a page, and a run
//! that finds nothing changed writes nothing.

use isthmus_tests::lead::{new_account, number, object};
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::{json, Map, Value};

const SUITEQL: &str = "POST /services/rest/query/v1/suiteql";
const AGING_UPSERT: &str =
    "PATCH /services/data/vXX.X/composite/sobjects/NetSuite_Aging__c/NetSuite_Key__c";
const GL_UPSERT: &str =
    "PATCH /services/data/vXX.X/composite/sobjects/NetSuite_GL_Balance__c/NetSuite_Key__c";

/// A new account synced to NetSuite: (account id, customer id).
async fn linked_customer(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = body["netsuite_id"].as_str().unwrap().to_string();
    (account, customer)
}

fn any_item(mesh: &TestMesh) -> String {
    text(mesh.sandbox.ns_records("serviceSaleItem")[0].get("id")).unwrap()
}

/// An invoice of one line of `amount` in `currency` (NetSuite id), dated `date`, due `due`.
fn invoice(
    mesh: &TestMesh,
    customer: &str,
    currency: &str,
    amount: f64,
    date: &str,
    due: &str,
) -> String {
    mesh.sandbox
        .ns_insert(
            "invoice",
            object(json!({
                "entity": { "id": customer }, "currency": { "id": currency },
                "tranDate": date, "dueDate": due,
                "item": { "items": [ { "item": { "id": any_item(mesh) }, "quantity": 1, "rate": amount } ] },
            })),
        )
        .expect("invoice inserted")
}

fn pay(mesh: &TestMesh, customer: &str, currency: &str, invoice: &str, amount: f64, date: &str) {
    mesh.sandbox
        .ns_insert(
            "customerPayment",
            object(json!({
                "customer": { "id": customer }, "currency": { "id": currency }, "tranDate": date,
                "apply": { "items": [ { "doc": { "id": invoice }, "amount": amount } ] },
            })),
        )
        .expect("payment inserted");
}

fn by_key(mesh: &TestMesh, sobject: &str, key: &str) -> Map<String, Value> {
    let mut found: Vec<_> = mesh
        .sandbox
        .sf_records(sobject)
        .into_iter()
        .filter(|r| text(r.get("NetSuite_Key__c")).as_deref() == Some(key))
        .collect();
    assert_eq!(found.len(), 1, "one {sobject} {key}");
    found.remove(0)
}

fn flows(mesh: &TestMesh) -> isthmus_engine::finance::FinanceFlows {
    let (config, secrets) = mesh.sandbox_config();
    isthmus::wiring::finance::finance_flows(&config, &secrets, mesh.store.clone()).unwrap()
}

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

async fn aging_buckets_reach_salesforce_per_account_and_currency(mesh: &TestMesh) {
    let (account, customer) = linked_customer(mesh, "Aging Buckets Ltd").await;
    let (_, other) = linked_customer(mesh, "Aging Other plc").await;
    let today = day(0);
    // USD: not yet due, 5, 45, 75 and 120 days overdue; EUR: 10 days overdue.
    for (amount, due) in [
        (100.0, 10),
        (200.0, -5),
        (300.0, -45),
        (400.0, -75),
        (500.0, -120),
    ] {
        invoice(mesh, &customer, "1", amount, &day(due - 30), &day(due));
    }
    invoice(mesh, &customer, "1", 30.0, &day(-31), &day(-30));
    let euro = invoice(mesh, &customer, "2", 50.0, &day(-40), &day(-10));
    invoice(mesh, &other, "1", 70.0, &today, &day(-1));
    let flows = flows(mesh);
    mesh.sandbox.reset_calls();

    let run = flows.sync_aging().await.unwrap();
    assert_eq!((run.written, run.failed), (3, 0), "{run:?}");
    // One query for the page of customers, one Collections upsert for its rows.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(SUITEQL), 1, "{calls:?}");
    assert_eq!(calls.netsuite_total(), 1, "{calls:?}");
    assert_eq!(calls.get(AGING_UPSERT), 1, "{calls:?}");
    assert_eq!(calls.salesforce_writes(), 1, "{calls:?}");

    let usd = by_key(mesh, "NetSuite_Aging__c", &format!("{customer}-USD"));
    let amounts: Vec<f64> = [
        "Current__c",
        "Days_1_30__c",
        "Days_31_60__c",
        "Days_61_90__c",
        "Days_90_Plus__c",
        "Total__c",
    ]
    .iter()
    .map(|f| number(usd.get(*f)))
    .collect();
    assert_eq!(
        amounts,
        vec![100.0, 230.0, 300.0, 400.0, 500.0, 1530.0],
        "{usd:?}"
    );
    assert_eq!(text(usd.get("Account__c")), Some(account.clone()));
    assert_eq!(text(usd.get("CurrencyIsoCode")).as_deref(), Some("USD"));
    assert_eq!(text(usd.get("As_Of__c")), Some(today.clone()));
    let eur = by_key(mesh, "NetSuite_Aging__c", &format!("{customer}-EUR"));
    assert_eq!(
        (number(eur.get("Days_1_30__c")), number(eur.get("Total__c"))),
        (50.0, 50.0)
    );
    assert_eq!(text(eur.get("CurrencyIsoCode")).as_deref(), Some("EUR"));
    // Reports and page layouts reach the rows from the account.
    let soql = format!(
        "SELECT Name, (SELECT Currency__c, Total__c FROM NetSuite_Agings__r ORDER BY Currency__c) \
         FROM Account WHERE Id = '{account}'"
    );
    let (config, secrets) = mesh.sandbox_config();
    let salesforce = isthmus::wiring::salesforce(&config, &secrets).unwrap();
    let found = salesforce.query(&soql).await.unwrap();
    let rows = found[0]["NetSuite_Agings__r"]["records"]
        .as_array()
        .unwrap();
    let totals: Vec<(Option<String>, f64)> = rows
        .iter()
        .map(|r| (text(r.get("Currency__c")), number(r.get("Total__c"))))
        .collect();
    assert_eq!(
        totals,
        vec![(Some("EUR".into()), 50.0), (Some("USD".into()), 1530.0)]
    );
    let theirs = by_key(mesh, "NetSuite_Aging__c", &format!("{other}-USD"));
    assert_eq!(number(theirs.get("Days_1_30__c")), 70.0);

    // Nothing changed: the same query, nothing written.
    mesh.sandbox.reset_calls();
    let again = flows.sync_aging().await.unwrap();
    assert_eq!((again.written, again.unchanged), (0, 3), "{again:?}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(SUITEQL), calls.salesforce_writes()),
        (1, 0),
        "{calls:?}"
    );

    // The euro invoice is paid: its row goes to zero (not left showing the debt), once.
    pay(mesh, &customer, "2", &euro, 50.0, &today);
    let paid = flows.sync_aging().await.unwrap();
    assert_eq!((paid.written, paid.unchanged), (1, 2), "{paid:?}");
    let eur = by_key(mesh, "NetSuite_Aging__c", &format!("{customer}-EUR"));
    assert_eq!(
        (number(eur.get("Days_1_30__c")), number(eur.get("Total__c"))),
        (0.0, 0.0)
    );
    let settled = flows.sync_aging().await.unwrap();
    assert_eq!((settled.written, settled.unchanged), (0, 3), "{settled:?}");
    assert_eq!(mesh.sandbox.sf_records("NetSuite_Aging__c").len(), 3);
}
on_both_stores!(
    aging_by_currency,
    aging_buckets_reach_salesforce_per_account_and_currency
);

/// The rate NetSuite's sandbox books from `foreign` into `base` in 2027 (ISO codes).
fn rate_2027(base: &str) -> (&'static str, &'static str, f64) {
    match base {
        "USD" => ("2", "EUR", 1.08),
        "EUR" => ("1", "USD", 0.91),
        _ => ("1", "USD", 0.80),
    }
}

async fn gl_balances_by_period_reach_salesforce_in_the_base_currency(mesh: &TestMesh) {
    let (_, customer) = linked_customer(mesh, "Ledger Lines Ltd").await;
    let ns_customer = mesh.sandbox.ns_record("customer", &customer).unwrap();
    let subsidiary = text(ns_customer["subsidiary"].get("id")).unwrap();
    let base_currency =
        text(mesh.sandbox.ns_record("subsidiary", &subsidiary).unwrap()["currency"].get("id"))
            .unwrap();
    let base = text(
        mesh.sandbox
            .ns_record("currency", &base_currency)
            .unwrap()
            .get("symbol"),
    )
    .unwrap();
    let (foreign, _, rate) = rate_2027(&base);
    // February 2027: 100 in a foreign currency; March: 40 in the base currency, paid.
    let february = invoice(mesh, &customer, foreign, 100.0, "2027-02-10", "2027-03-12");
    let march = invoice(
        mesh,
        &customer,
        &base_currency,
        40.0,
        "2027-03-05",
        "2027-04-04",
    );
    pay(mesh, &customer, &base_currency, &march, 40.0, "2027-03-20");
    let flows = flows(mesh);
    mesh.sandbox.reset_calls();

    let run = flows.sync_gl_balances().await.unwrap();
    let rows = mesh.sandbox.sf_records("NetSuite_GL_Balance__c");
    assert_eq!((run.written, run.failed), (rows.len() as u64, 0), "{run:?}");
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(SUITEQL), 1, "{calls:?}");
    assert_eq!(calls.netsuite_total(), 1, "{calls:?}");
    assert_eq!(
        calls.get(GL_UPSERT) as usize,
        rows.len().div_ceil(200),
        "{calls:?}"
    );

    let row = |period: &str, account: &str| {
        let period = rows
            .iter()
            .find(|r| {
                text(r.get("Period__c")).as_deref() == Some(period)
                    && text(r.get("Account_Number__c")).as_deref() == Some(account)
                    && text(r.get("Subsidiary_Id__c")) == Some(subsidiary.clone())
            })
            .unwrap_or_else(|| panic!("{period} {account}: {rows:?}"));
        period.clone()
    };
    let feb_ar = row("Feb 2027", "1100");
    let converted = (100.0 * rate * 100.0_f64).round() / 100.0;
    assert_eq!(number(feb_ar.get("Debit__c")), converted, "{feb_ar:?}");
    assert_eq!(number(feb_ar.get("Amount__c")), converted);
    assert_eq!(
        text(feb_ar.get("Period_Start__c")).as_deref(),
        Some("2027-02-01")
    );
    assert_eq!(
        text(feb_ar.get("Period_End__c")).as_deref(),
        Some("2027-02-28")
    );
    assert_eq!(
        text(feb_ar.get("Account_Name__c")).as_deref(),
        Some("Accounts Receivable")
    );
    assert_eq!(text(feb_ar.get("CurrencyIsoCode")), Some(base.clone()));
    let feb_sales = row("Feb 2027", "4000");
    assert_eq!(number(feb_sales.get("Amount__c")), -converted);
    // March: the invoice and its payment cancel out on receivables; sales grow by 40.
    let mar_ar = row("Mar 2027", "1100");
    assert_eq!(
        (
            number(mar_ar.get("Debit__c")),
            number(mar_ar.get("Credit__c")),
            number(mar_ar.get("Amount__c"))
        ),
        (40.0, 40.0, 0.0)
    );
    assert_eq!(
        number(mar_ar.get("Closing_Balance__c")),
        number(feb_ar.get("Closing_Balance__c"))
    );
    let mar_sales = row("Mar 2027", "4000");
    assert_eq!(number(mar_sales.get("Amount__c")), -40.0);
    let closing =
        number(mar_sales.get("Closing_Balance__c")) - number(feb_sales.get("Closing_Balance__c"));
    assert!((closing + 40.0).abs() < 0.005, "{closing}");
    // Undeposited funds is not a configured account; deferred revenue has no postings.
    assert!(rows.iter().all(|r| {
        let account = text(r.get("Account_Number__c")).unwrap_or_default();
        account == "1100" || account == "4000"
    }));

    // Nothing changed: the same query, nothing written.
    mesh.sandbox.reset_calls();
    let again = flows.sync_gl_balances().await.unwrap();
    assert_eq!(
        (again.written, again.unchanged),
        (0, rows.len() as u64),
        "{again:?}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(SUITEQL), calls.salesforce_writes()),
        (1, 0),
        "{calls:?}"
    );

    // The February invoice is deleted: February's rows show no activity (not the old one), and
    // the closing balances from February on drop by its amount.
    mesh.ns_delete("invoice", &february).await;
    let after = flows.sync_gl_balances().await.unwrap();
    assert_eq!(after.failed, 0, "{after:?}");
    assert!(after.written >= 4, "{after:?}");
    let key = |r: &Map<String, Value>| text(r.get("NetSuite_Key__c")).unwrap();
    let now = |old: &Map<String, Value>| by_key(mesh, "NetSuite_GL_Balance__c", &key(old));
    for (old, sign) in [(&feb_ar, 1.0), (&feb_sales, -1.0)] {
        let emptied = now(old);
        let activity = ["Debit__c", "Credit__c", "Amount__c"].map(|f| number(emptied.get(f)));
        assert_eq!(activity, [0.0, 0.0, 0.0], "{emptied:?}");
        let closing = number(old.get("Closing_Balance__c")) - sign * converted;
        let now_closing = number(emptied.get("Closing_Balance__c"));
        assert!((now_closing - closing).abs() < 0.005, "{emptied:?}");
    }
    let mar = now(&mar_ar);
    let closing = number(mar_ar.get("Closing_Balance__c")) - converted;
    let now_closing = number(mar.get("Closing_Balance__c"));
    assert!((now_closing - closing).abs() < 0.005, "{mar:?}");
    assert_eq!(number(mar.get("Amount__c")), 0.0);
    let settled = flows.sync_gl_balances().await.unwrap();
    assert_eq!(settled.written, 0, "{settled:?}");
}
on_both_stores!(
    gl_balances,
    gl_balances_by_period_reach_salesforce_in_the_base_currency
);

#[test]
fn gl_accounts_that_are_not_account_numbers_are_refused_at_load() {
    for (value, says) in [
        ("4000' OR '1'='1", "is not an account number"),
        ("", "is not an account number"),
        ("4000,4000", "twice"),
    ] {
        let list: Vec<String> = value.split(',').map(|v| format!("{v:?}")).collect();
        let env = vec![(
            "ISTHMUS_FINANCE__GL_ACCOUNTS".to_string(),
            format!("[{}]", list.join(", ")),
        )];
        let err = isthmus::Config::load_from(None, env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{value:?}: {err}");
    }
}

async fn the_account_summary_totals_in_the_base_currency_and_keeps_each_currency(mesh: &TestMesh) {
    let (account, customer) = linked_customer(mesh, "Two Currencies Ltd").await;
    let ns_customer = mesh.sandbox.ns_record("customer", &customer).unwrap();
    let subsidiary = text(ns_customer["subsidiary"].get("id")).unwrap();
    assert_eq!(subsidiary, "1", "the default subsidiary, in US dollars");
    // 100 EUR booked at NetSuite's rate of its date (1.08), overdue; 30 USD not yet due.
    invoice(mesh, &customer, "2", 100.0, "2026-08-03", &day(-10));
    invoice(mesh, &customer, "1", 30.0, &day(-1), &day(10));

    let path = format!("/v1/salesforce/accounts/{account}/financial-summary");
    let (status, body) = mesh.post(&path, Some(isthmus_tests::SF_KEY), None).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(number(sf.get("Balance__c")), 138.0, "{sf:?}");
    assert_eq!(number(sf.get("Overdue_Balance__c")), 108.0, "{sf:?}");
    assert_eq!(text(sf.get("Summary_Currency__c")).as_deref(), Some("USD"));
    assert_eq!(
        text(sf.get("Balance_By_Currency__c")).as_deref(),
        Some("EUR 100.00 (overdue 100.00); USD 30.00 (overdue 0.00)")
    );

    // The page read and the RESTlet find the very same summary: nothing to write.
    let flows = flows(mesh);
    let (config, secrets) = mesh.sandbox_config();
    let log = isthmus::wiring::sync_log(&config, &secrets, mesh.store.clone());
    mesh.sandbox.reset_calls();
    let run = flows.sync_all_summaries(&log).await.unwrap();
    assert_eq!((run.updated, run.failed), (0, 0), "{run:?}");
    let mut restlet_config = config.clone();
    restlet_config.finance.summary_source = isthmus_engine::config::SummarySource::Restlet;
    let through_restlet =
        isthmus::wiring::finance::finance_flows(&restlet_config, &secrets, mesh.store.clone())
            .unwrap();
    let id = through_restlet.customer_of_account(&account).await.unwrap();
    assert_eq!(id.as_str(), customer);
    let result = through_restlet
        .sync_account_summary(&id, false, "t")
        .await
        .unwrap();
    assert_eq!(
        result.outcome,
        isthmus_engine::Outcome::Unchanged,
        "{result:?}"
    );
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
}
on_both_stores!(
    summary_in_base_currency,
    the_account_summary_totals_in_the_base_currency_and_keeps_each_currency
);

/// Customers linked in the ID map beyond one page (200) of the aging walk: `n` links to NetSuite
/// customers without invoices (ids that hold nothing), written as a sync would.
async fn more_links(mesh: &TestMesh, n: usize) {
    let lease = mesh
        .store
        .acquire("test:more-links", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    for i in 0..n {
        let link = isthmus_store::Link {
            kind: "customer".into(),
            salesforce_id: format!("001{:012}AAA", 900_000 + i),
            netsuite_id: format!("{}", 900_000 + i),
            salesforce_hash: String::new(),
            netsuite_hash: String::new(),
            salesforce_modstamp: String::new(),
            netsuite_modstamp: String::new(),
            synced_at_ms: 0,
            fields: Default::default(),
            parked: Vec::new(),
        };
        mesh.store.put_link(&link, &lease).await.unwrap();
    }
}

async fn the_aging_costs_one_query_a_page_of_customers(mesh: &TestMesh) {
    let (account, customer) = linked_customer(mesh, "Paged Aging Ltd").await;
    invoice(mesh, &customer, "1", 80.0, &day(-40), &day(-35));
    more_links(mesh, 250).await;
    let linked = mesh
        .store
        .links_page("customer", None, 1000)
        .await
        .unwrap()
        .len();
    assert!((201..=400).contains(&linked), "two pages: {linked}");
    let flows = flows(mesh);
    mesh.sandbox.reset_calls();
    let run = flows.sync_aging().await.unwrap();
    assert_eq!((run.written, run.failed), (1, 0), "{run:?}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get(SUITEQL),
        2,
        "one query for each of two pages: {calls:?}"
    );
    assert_eq!(calls.get(AGING_UPSERT), 1, "{calls:?}");
    let usd = by_key(mesh, "NetSuite_Aging__c", &format!("{customer}-USD"));
    assert_eq!(number(usd.get("Days_31_60__c")), 80.0);
    assert_eq!(text(usd.get("Account__c")), Some(account));
}
on_both_stores!(
    aging_in_pages,
    the_aging_costs_one_query_a_page_of_customers
);

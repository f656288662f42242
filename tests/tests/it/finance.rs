//! Finance to Salesforce on the sandbox: an order's invoice, a partial and a full payment and a
//! credit memo appear on the Salesforce side, and the opportunity's billing state follows them.

use isthmus_tests::lead::{new_account, number, run_catalog, transform, won_order};
use isthmus_tests::{on_both_stores, text, TestMesh, NS_KEY, SF_KEY};
use serde_json::{json, Map, Value};

async fn event(mesh: &TestMesh, record_type: &str, id: &str) -> (u16, Value) {
    let body = json!({ "record_type": record_type, "id": id, "event_type": "create" });
    mesh.post("/v1/netsuite/events", Some(NS_KEY), Some(body))
        .await
}

fn by_netsuite_id(mesh: &TestMesh, sobject: &str, id: &str) -> Vec<Map<String, Value>> {
    mesh.sandbox
        .sf_records(sobject)
        .into_iter()
        .filter(|r| text(r.get("NetSuite_Id__c")).as_deref() == Some(id))
        .collect()
}

fn billing(mesh: &TestMesh, opportunity: &str) -> Option<String> {
    text(
        mesh.sandbox
            .sf_record("Opportunity", opportunity)
            .unwrap()
            .get("NetSuite_Billing_Status__c"),
    )
}

async fn invoices_and_payments_reach_salesforce_and_the_billing_state_follows(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Paying Customers plc");
    let (opportunity, body) = won_order(
        mesh,
        &account,
        "EUR",
        &[("WIDGET-200", 10.0, 0.0), ("INSTALL", 1.0, 0.0)],
    )
    .await;
    let order = body["netsuite_id"].as_str().unwrap().to_string();

    // Billed: the invoice appears, linked to the account and the opportunity.
    let invoice = transform(mesh, "salesOrder", &order, "invoice", json!({})).await;
    let total = number(
        mesh.sandbox
            .ns_record("invoice", &invoice)
            .unwrap()
            .get("total"),
    );
    let (status, body) = event(mesh, "invoice", &invoice).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let records = by_netsuite_id(mesh, "NetSuite_Invoice__c", &invoice);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let invoice_sf = text(record.get("Id")).unwrap();
    assert_eq!(text(record.get("Account__c")), Some(account.clone()));
    assert_eq!(
        text(record.get("Opportunity__c")),
        Some(opportunity.clone())
    );
    assert_eq!(number(record.get("Total__c")), total);
    assert_eq!(number(record.get("Amount_Remaining__c")), total);
    assert_eq!(text(record.get("Status__c")).as_deref(), Some("Open"));
    assert_eq!(text(record.get("CurrencyIsoCode")).as_deref(), Some("EUR"));
    assert_eq!(billing(mesh, &opportunity).as_deref(), Some("Billed"));
    mesh.sandbox.reset_calls();
    let (_, again) = event(mesh, "invoice", &invoice).await;
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);

    // A partial payment: the payment record, the invoice's amount remaining, Partly Paid.
    let payment = transform(
        mesh,
        "invoice",
        &invoice,
        "customerPayment",
        json!({ "payment": 100.0, "apply": { "items": [
            { "doc": { "id": invoice }, "apply": true, "amount": 100.0 } ] } }),
    )
    .await;
    let (status, body) = event(mesh, "customerPayment", &payment).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let paid = by_netsuite_id(mesh, "NetSuite_Payment__c", &payment);
    assert_eq!(paid.len(), 1);
    assert_eq!(number(paid[0].get("Amount__c")), 100.0);
    assert_eq!(text(paid[0].get("Invoice__c")), Some(invoice_sf.clone()));
    assert_eq!(
        text(paid[0].get("Opportunity__c")),
        Some(opportunity.clone())
    );
    assert_eq!(text(paid[0].get("Account__c")), Some(account.clone()));
    let record = &by_netsuite_id(mesh, "NetSuite_Invoice__c", &invoice)[0];
    assert!((number(record.get("Amount_Remaining__c")) - (total - 100.0)).abs() < 0.005);
    assert_eq!(billing(mesh, &opportunity).as_deref(), Some("Partly Paid"));

    // The rest: paid in full.
    let rest = transform(mesh, "invoice", &invoice, "customerPayment", json!({})).await;
    let (_, body) = event(mesh, "customerpayment", &rest).await;
    assert_eq!(body["outcome"], "created", "{body}");
    let record = &by_netsuite_id(mesh, "NetSuite_Invoice__c", &invoice)[0];
    assert_eq!(number(record.get("Amount_Remaining__c")), 0.0);
    assert_eq!(
        text(record.get("Status__c")).as_deref(),
        Some("Paid In Full")
    );
    assert_eq!(billing(mesh, &opportunity).as_deref(), Some("Paid"));
    assert_eq!(by_netsuite_id(mesh, "NetSuite_Payment__c", &rest).len(), 1);
}

on_both_stores!(
    invoices_and_payments,
    invoices_and_payments_reach_salesforce_and_the_billing_state_follows
);

async fn a_credit_memo_counts_against_the_invoice_it_credits(mesh: &TestMesh) {
    run_catalog(mesh).await;
    let account = new_account(mesh, "Returning Goods Ltd");
    let (opportunity, body) = won_order(mesh, &account, "USD", &[("CABLE-SET", 4.0, 0.0)]).await;
    let order = body["netsuite_id"].as_str().unwrap().to_string();
    let invoice = transform(mesh, "salesOrder", &order, "invoice", json!({})).await;
    let total = number(
        mesh.sandbox
            .ns_record("invoice", &invoice)
            .unwrap()
            .get("total"),
    );
    let memo = transform(mesh, "invoice", &invoice, "creditMemo", json!({})).await;
    let (status, body) = event(mesh, "creditMemo", &memo).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let credit = &by_netsuite_id(mesh, "NetSuite_Invoice__c", &memo)[0];
    assert_eq!(number(credit.get("Total__c")), -total, "money owed back");
    assert_eq!(text(credit.get("Account__c")), Some(account.clone()));
    // The credited invoice came along, settled by the credit.
    let credited = &by_netsuite_id(mesh, "NetSuite_Invoice__c", &invoice)[0];
    assert_eq!(number(credited.get("Amount_Remaining__c")), 0.0);
    assert_eq!(billing(mesh, &opportunity).as_deref(), Some("Paid"));

    // A delete event while NetSuite still has the credit memo is refused, its mirror kept.
    let body = json!({ "record_type": "creditMemo", "id": memo, "event_type": "delete" });
    let (status, answer) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(body.clone()))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("UNPROCESSABLE")),
        "{answer}"
    );
    assert_eq!(by_netsuite_id(mesh, "NetSuite_Invoice__c", &memo).len(), 1);

    // The credit memo deleted in NetSuite: its mirror goes, and a second delete finds nothing.
    mesh.ns_delete("creditMemo", &memo).await;
    let (status, answer) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(body.clone()))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "updated", "{answer}");
    assert!(by_netsuite_id(mesh, "NetSuite_Invoice__c", &memo).is_empty());
    assert_eq!(
        by_netsuite_id(mesh, "NetSuite_Invoice__c", &invoice).len(),
        1
    );
    let (_, answer) = mesh
        .post("/v1/netsuite/events", Some(NS_KEY), Some(body))
        .await;
    assert_eq!(answer["outcome"], "skipped", "{answer}");

    // Bad input changes nothing.
    mesh.sandbox.reset_calls();
    let (status, body) = event(mesh, "invoice", "12a").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = event(mesh, "invoice", "999999").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
}

on_both_stores!(
    credit_memos,
    a_credit_memo_counts_against_the_invoice_it_credits
);

async fn the_financial_summary_matches_netsuites_numbers(mesh: &TestMesh) {
    use isthmus_sandbox::seed::books;
    let today = chrono::Utc::now().date_naive();
    let due = chrono::NaiveDate::from_ymd_opt(2025, 11, 14).unwrap();
    for (name, balance, overdue, days, last_payment) in [
        (
            books::OVERDUE_CUSTOMER,
            books::OVERDUE_AMOUNT,
            books::OVERDUE_AMOUNT,
            (today - due).num_days(),
            Some(("2025-11-20", 150.0)),
        ),
        (
            books::PAID_CUSTOMER,
            0.0,
            0.0,
            0,
            Some(("2025-12-20", books::PAID_AMOUNT)),
        ),
    ] {
        let account = mesh.account_id(name);
        let path = format!("/v1/salesforce/accounts/{account}/financial-summary");
        let (status, body) = mesh.post(&path, Some(SF_KEY), None).await;
        assert_eq!(status, 404, "not linked yet: {body}");
        let (status, body) = mesh.sync_account(&account, false).await;
        assert_eq!(status, 200, "{body}");

        let (status, body) = mesh
            .post(&format!("{path}?dry_run=true"), Some(SF_KEY), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            text(
                mesh.sandbox
                    .sf_record("Account", &account)
                    .unwrap()
                    .get("Balance__c")
            )
            .is_none()
                || balance == 0.0,
            "a dry run writes nothing"
        );
        let (status, body) = mesh.post(&path, Some(SF_KEY), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["outcome"], "updated", "{name}: {body}");
        let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
        assert!(
            (number(sf.get("Balance__c")) - balance).abs() < 0.005,
            "{name}: {sf:?}"
        );
        assert!(
            (number(sf.get("Overdue_Balance__c")) - overdue).abs() < 0.005,
            "{name}"
        );
        assert_eq!(number(sf.get("Days_Overdue__c")) as i64, days, "{name}");
        match last_payment {
            Some((date, amount)) => {
                assert_eq!(text(sf.get("Last_Payment_Date__c")).as_deref(), Some(date));
                assert_eq!(number(sf.get("Last_Payment_Amount__c")), amount);
            }
            None => assert!(text(sf.get("Last_Payment_Date__c")).is_none(), "{name}"),
        }
        mesh.sandbox.reset_calls();
        let (_, again) = mesh.post(&path, Some(SF_KEY), None).await;
        assert_eq!(again["outcome"], "unchanged", "{again}");
        assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
    }
    // A NetSuite-only customer: its event creates the account, then the summary follows.
    let cyberdyne = mesh.ns_where("customer", "companyName", books::OPEN_INVOICE_CUSTOMER);
    let customer = text(cyberdyne[0].get("id")).unwrap();
    let (status, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(status, 200, "{body}");
    let account = mesh.account_id(books::OPEN_INVOICE_CUSTOMER);
    let path = format!("/v1/salesforce/accounts/{account}/financial-summary");
    let (status, body) = mesh.post(&path, Some(SF_KEY), None).await;
    assert_eq!(status, 200, "{body}");
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert!(
        (number(sf.get("Balance__c")) - books::OPEN_BALANCE).abs() < 0.005,
        "{sf:?}"
    );
    assert_eq!(number(sf.get("Overdue_Balance__c")), 0.0);
    assert_eq!(number(sf.get("Days_Overdue__c")), 0.0);

    let (status, _) = mesh
        .post(
            "/v1/salesforce/accounts/006000000000000/financial-summary",
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 400, "an opportunity id is not an account id");
}

on_both_stores!(summaries, the_financial_summary_matches_netsuites_numbers);

async fn subsidiaries_reach_salesforce_with_their_parents(mesh: &TestMesh) {
    use isthmus_sandbox::seed::books;
    let (status, body) = mesh
        .post(
            "/v1/subsidiaries/sync?dry_run=true",
            Some(isthmus_tests::ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(mesh
        .sandbox
        .sf_records("Subsidiary__c")
        .iter()
        .all(|r| text(r.get("NetSuite_Id__c")).is_none()));

    let (status, body) = mesh
        .post(
            "/v1/subsidiaries/sync",
            Some(isthmus_tests::ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let subsidiaries = mesh.sandbox.ns_records("subsidiary");
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        subsidiaries.len()
    );
    let parent = &by_netsuite_id(mesh, "Subsidiary__c", books::PARENT_SUBSIDIARY_ID)[0];
    let parent_sf = text(parent.get("Id")).unwrap();
    for child in [
        books::EU_SUBSIDIARY_ID,
        books::US_SUBSIDIARY_ID,
        books::UK_SUBSIDIARY_ID,
    ] {
        let records = by_netsuite_id(mesh, "Subsidiary__c", child);
        assert_eq!(records.len(), 1, "subsidiary {child}");
        assert_eq!(
            text(records[0].get("Parent__c")),
            Some(parent_sf.clone()),
            "{child}"
        );
        let ns = mesh.sandbox.ns_record("subsidiary", child).unwrap();
        assert_eq!(text(records[0].get("Name")), text(ns.get("name")));
    }
    let eu = &by_netsuite_id(mesh, "Subsidiary__c", books::EU_SUBSIDIARY_ID)[0];
    assert_eq!(text(eu.get("CurrencyIsoCode")).as_deref(), Some("EUR"));
    // Every subsidiary written is in the audit log, as any write.
    let (_, audit) = mesh
        .get("/v1/audit?limit=1000", Some(isthmus_tests::ADMIN_KEY))
        .await;
    let audited = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["flow"] == "finance.subsidiaries" && e["outcome"] == "created")
        .count();
    assert_eq!(audited, subsidiaries.len(), "{audit}");

    mesh.sandbox.reset_calls();
    let (_, again) = mesh
        .post(
            "/v1/subsidiaries/sync",
            Some(isthmus_tests::ADMIN_KEY),
            None,
        )
        .await;
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "unchanged"),
        "{again}"
    );
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
    let (status, _) = mesh.post("/v1/subsidiaries/sync", Some(SF_KEY), None).await;
    assert_eq!(status, 403, "admin scope");
}

on_both_stores!(
    subsidiaries,
    subsidiaries_reach_salesforce_with_their_parents
);

async fn the_summary_read_through_the_restlet_matches_too(mesh: &TestMesh) {
    the_financial_summary_matches_netsuites_numbers(mesh).await;
    // One RESTlet call and no SuiteQL per summary.
    let account = mesh.account_id(isthmus_sandbox::seed::books::OVERDUE_CUSTOMER);
    let path = format!("/v1/salesforce/accounts/{account}/financial-summary");
    mesh.sandbox.reset_calls();
    let (status, body) = mesh.post(&path, Some(SF_KEY), None).await;
    assert_eq!(status, 200, "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get("GET /app/site/hosting/restlet.nl"), 1);
    assert_eq!(calls.get("POST /services/rest/query/v1/suiteql"), 0);
}

on_both_stores!(
    summaries_through_the_restlet,
    the_summary_read_through_the_restlet_matches_too,
    |c: &mut isthmus::Config| {
        c.finance.summary_source = isthmus_engine::config::SummarySource::Restlet;
    }
);

/// New accounts with no transactions, linked by the button, beside the seeded ones.
const PLAIN_ACCOUNTS: usize = 4;
const COLLECTION_UPDATE: &str = "PATCH /services/data/vXX.X/composite/sobjects";
const ACCOUNT_UPDATE: &str = "PATCH /services/data/vXX.X/sobjects/Account/{id}";

/// An account's expected summary: (account, balance, overdue, days overdue, last payment).
type Expected = (String, f64, f64, i64, Option<(&'static str, f64)>);

/// Links the seeded customers with transactions and [`PLAIN_ACCOUNTS`] new accounts; returns
/// their expected summaries, the finance flows (on the default configuration as `adjust` leaves
/// it) and sync log of the scheduled run, and how many customers are linked in all (one page).
async fn linked_page(
    mesh: &TestMesh,
    adjust: impl FnOnce(&mut isthmus::Config),
) -> (
    Vec<Expected>,
    isthmus_engine::finance::FinanceFlows,
    isthmus_engine::audit::SyncLog,
    u64,
) {
    use isthmus_sandbox::seed::books;
    let today = chrono::Utc::now().date_naive();
    let due = chrono::NaiveDate::from_ymd_opt(2025, 11, 14).unwrap();
    let mut expected: Vec<Expected> = Vec::new();
    for (name, balance, overdue, days, paid) in [
        (
            books::OVERDUE_CUSTOMER,
            books::OVERDUE_AMOUNT,
            books::OVERDUE_AMOUNT,
            (today - due).num_days(),
            Some(("2025-11-20", 150.0)),
        ),
        (
            books::PAID_CUSTOMER,
            0.0,
            0.0,
            0,
            Some(("2025-12-20", books::PAID_AMOUNT)),
        ),
    ] {
        let account = mesh.account_id(name);
        let (status, body) = mesh.sync_account(&account, false).await;
        assert_eq!(status, 200, "{body}");
        expected.push((account, balance, overdue, days, paid));
    }
    let cyberdyne = mesh.ns_where("customer", "companyName", books::OPEN_INVOICE_CUSTOMER);
    let customer = text(cyberdyne[0].get("id")).unwrap();
    let (status, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(status, 200, "{body}");
    let account = mesh.account_id(books::OPEN_INVOICE_CUSTOMER);
    expected.push((account, books::OPEN_BALANCE, 0.0, 0, None));
    for i in 0..PLAIN_ACCOUNTS {
        let account = new_account(mesh, &format!("Summary Page {i} Ltd"));
        let (status, body) = mesh.sync_account(&account, false).await;
        assert_eq!(status, 200, "{body}");
        expected.push((account, 0.0, 0.0, 0, None));
    }
    let (mut config, secrets) = mesh.sandbox_config();
    adjust(&mut config);
    let flows =
        isthmus::wiring::finance::finance_flows(&config, &secrets, mesh.store.clone()).unwrap();
    let log = isthmus::wiring::sync_log(&config, &secrets, mesh.store.clone());
    let linked = mesh
        .store
        .links_page("customer", None, 1000)
        .await
        .unwrap()
        .len();
    assert!(
        linked >= expected.len() && linked <= 200,
        "one page of links: {linked}"
    );
    (expected, flows, log, linked as u64)
}

/// The account in the sandbox's Salesforce shows the expected summary.
fn assert_summary_on_account(mesh: &TestMesh, expected: &Expected) {
    let (account, balance, overdue, days, paid) = expected;
    let sf = mesh.sandbox.sf_record("Account", account).unwrap();
    assert!(
        (number(sf.get("Balance__c")) - balance).abs() < 0.005,
        "{sf:?}"
    );
    assert!(
        (number(sf.get("Overdue_Balance__c")) - overdue).abs() < 0.005,
        "{sf:?}"
    );
    assert_eq!(number(sf.get("Days_Overdue__c")) as i64, *days, "{sf:?}");
    match paid {
        Some((date, amount)) => {
            assert_eq!(text(sf.get("Last_Payment_Date__c")).as_deref(), Some(*date));
            assert_eq!(number(sf.get("Last_Payment_Amount__c")), *amount);
        }
        None => assert!(text(sf.get("Last_Payment_Date__c")).is_none(), "{sf:?}"),
    }
}

async fn scheduled_summaries_cost_two_queries_and_one_collections_update_a_page(mesh: &TestMesh) {
    let (expected, flows, log, linked) = linked_page(mesh, |_| {}).await;
    mesh.sandbox.reset_calls();

    let run = flows.sync_all_summaries(&log).await.unwrap();
    assert_eq!(
        (run.failed, run.updated, run.unchanged),
        (0, linked, 0),
        "{run:?}"
    );
    // Two queries for the page (credit limits, receivables), not two a customer; one
    // Collections update for the page's accounts, no account updated on its own.
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("POST /services/rest/query/v1/suiteql"),
        2,
        "{calls:?}"
    );
    assert_eq!(calls.netsuite_total(), 2, "{calls:?}");
    assert_eq!(calls.get(COLLECTION_UPDATE), 1, "{calls:?}");
    assert_eq!(calls.get(ACCOUNT_UPDATE), 0, "{calls:?}");
    assert_eq!(calls.salesforce_writes(), 1, "{calls:?}");
    for expected in &expected {
        assert_summary_on_account(mesh, expected);
    }

    // Nothing changed since: the next firing reads the page and writes nothing.
    mesh.sandbox.reset_calls();
    let again = flows.sync_all_summaries(&log).await.unwrap();
    assert_eq!(
        (again.failed, again.updated, again.unchanged),
        (0, 0, linked),
        "{again:?}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes(), 0, "{calls:?}");
    assert_eq!(calls.netsuite_total(), 2, "{calls:?}");

    for (account, ..) in &expected {
        // The per-customer read (two queries of its own) finds the very figures written.
        let path = format!("/v1/salesforce/accounts/{account}/financial-summary");
        let (status, again) = mesh.post(&path, Some(SF_KEY), None).await;
        assert_eq!(
            (status, again["outcome"].as_str()),
            (200, Some("unchanged")),
            "{again}"
        );
    }
}
on_both_stores!(
    summaries_in_pages,
    scheduled_summaries_cost_two_queries_and_one_collections_update_a_page
);

async fn accounts_refused_or_locked_elsewhere_fail_alone_and_are_tried_again(mesh: &TestMesh) {
    let (expected, flows, log, linked) = linked_page(mesh, |c| c.finance.lock_wait_ms = 200).await;
    let customer_of = |account: String| async move {
        mesh.store
            .link_by_salesforce("customer", &account)
            .await
            .unwrap()
            .unwrap()
            .netsuite_id
    };
    // The last account is deleted in Salesforce; the first one's summary lock is held by
    // another sync for the whole run.
    let (gone, ..) = expected.last().unwrap().clone();
    let gone_customer = customer_of(gone.clone()).await;
    mesh.sf_delete("Account", &gone, chrono::Duration::zero())
        .await;
    let (busy, ..) = expected[0].clone();
    let busy_customer = customer_of(busy.clone()).await;
    let held = mesh
        .store
        .acquire(
            &format!("summary:ns:{busy_customer}"),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    mesh.sandbox.reset_calls();

    let run = flows.sync_all_summaries(&log).await.unwrap();
    assert_eq!(
        (run.failed, run.updated, run.unchanged),
        (2, linked - 2, 0),
        "{run:?}"
    );
    // The deleted account's row was refused inside the one Collections call; the locked one
    // was not sent; the others hold their summaries and their links the new hash.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(COLLECTION_UPDATE), 1, "{calls:?}");
    assert_eq!(calls.salesforce_writes(), 1, "{calls:?}");
    for expected in &expected[1..expected.len() - 1] {
        assert_summary_on_account(mesh, expected);
        let link = mesh
            .store
            .link_by_salesforce(isthmus_engine::finance::SUMMARY_LINK_KIND, &expected.0)
            .await
            .unwrap();
        assert!(link.is_some_and(|l| !l.netsuite_hash.is_empty()));
    }
    // Nothing written or recorded for the two that failed …
    let busy_account = mesh.sandbox.sf_record("Account", &busy).unwrap();
    assert!(
        busy_account.get("Balance__c").is_none_or(Value::is_null),
        "{busy_account:?}"
    );
    for customer in [&gone_customer, &busy_customer] {
        let link = mesh
            .store
            .link_by_netsuite(isthmus_engine::finance::SUMMARY_LINK_KIND, customer)
            .await
            .unwrap();
        assert!(link.is_none(), "{link:?}");
    }

    // … so the next firing tries both again (in one call), and writes nothing else.
    mesh.store.release(&held).await.unwrap();
    mesh.sandbox.reset_calls();
    let again = flows.sync_all_summaries(&log).await.unwrap();
    assert_eq!(
        (again.failed, again.updated, again.unchanged),
        (1, 1, linked - 2),
        "{again:?}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(COLLECTION_UPDATE), 1, "{calls:?}");
    assert_eq!(calls.salesforce_writes(), 1, "{calls:?}");
    assert_summary_on_account(mesh, &expected[0]);
}
on_both_stores!(
    summaries_refused_row,
    accounts_refused_or_locked_elsewhere_fail_alone_and_are_tried_again
);

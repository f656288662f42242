//! What a real NetSuite account enforces that a lenient one would not, met through the whole
//! mesh: a mapping to a field the record lacks fails loudly (the connector sends
//! `X-NetSuite-PropertyNameValidation: Error`), the backfill walks more customers than SuiteQL's
//! offset cap by keyset, and the delta reads an account whose time zone is not UTC.

use std::time::Duration;

use isthmus_sandbox::seed;
use isthmus_tests::faults::run_backfill;
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::{json, Map, Value};

async fn a_mapping_to_a_field_netsuite_lacks_fails_loudly_and_writes_nothing(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let name = text(
        mesh.sandbox
            .sf_record("Account", &account)
            .unwrap()
            .get("Name"),
    )
    .unwrap();
    let named = |mesh: &TestMesh| {
        mesh.sandbox
            .ns_records("customer")
            .into_iter()
            .filter(|c| text(c.get("companyName")).as_deref() == Some(name.as_str()))
            .count()
    };
    let customers = mesh.sandbox.ns_records("customer").len();
    assert_eq!(named(mesh), 0);

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 422, "{body}");
    let message = body.to_string();
    assert!(
        message.contains("phoneNumber") && message.contains("NONEXISTENT_FIELD"),
        "the failure names the field and NetSuite's code: {body}"
    );
    // NetSuite refused the whole write: no customer under the account's name, no contact, no
    // id written back.
    assert_eq!(named(mesh), 0);
    assert_eq!(mesh.sandbox.ns_records("customer").len(), customers);
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(sf.get("NetSuite_Id__c")), None);
    assert!(mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .is_none());
    // One upsert, refused by NetSuite and not retried: the error is permanent.
    assert_eq!(
        mesh.sandbox
            .calls()
            .get("PUT /services/rest/record/v1/customer/eid:{externalId}"),
        1,
        "{:?}",
        mesh.sandbox.calls()
    );
}

on_both_stores!(
    a_mapping_to_a_field_netsuite_lacks,
    a_mapping_to_a_field_netsuite_lacks_fails_loudly_and_writes_nothing,
    |config: &mut isthmus::Config| {
        config
            .customers
            .fields
            .get_mut("phone")
            .expect("phone is mapped by default")
            .netsuite = "phoneNumber".into();
    }
);

/// SuiteQL rows reachable by offset in the backfill test (NetSuite: 100,000).
const ROW_CAP: usize = 25;
/// Customers that already exist for accounts the backfill has never linked: more than the cap.
const EXISTING: usize = 60;

fn customers_named(mesh: &TestMesh, name: &str) -> Vec<Map<String, Value>> {
    mesh.sandbox
        .ns_records("customer")
        .into_iter()
        .filter(|c| text(c.get("companyName")).as_deref() == Some(name))
        .collect()
}

async fn a_backfill_matches_every_existing_customer_past_the_suiteql_row_cap(mesh: &TestMesh) {
    mesh.sandbox.set_suiteql_row_cap(ROW_CAP);
    let mut pairs = Vec::new();
    for i in 0..EXISTING {
        let name = format!("Keyset Holdings {i:03}");
        let customer = json!({"companyName": name, "subsidiary": {"id": "1"}});
        let customer = mesh
            .sandbox
            .ns_insert("customer", customer.as_object().unwrap().clone())
            .unwrap();
        let account = json!({"Name": name, "BillingCountry": "Portugal"});
        let account = mesh
            .sandbox
            .sf_insert("Account", account.as_object().unwrap().clone())
            .unwrap();
        pairs.push((name, customer, account));
    }
    assert!(mesh.sandbox.ns_records("customer").len() > ROW_CAP);

    let done = run_backfill(mesh, Duration::from_secs(30)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["failed"], 0, "{done}");

    // Every account found the customer that was already there, past the cap too: none was
    // created a second time under its name.
    for (name, customer, account) in &pairs {
        let named = customers_named(mesh, name);
        assert_eq!(named.len(), 1, "{name}: {named:?}");
        assert_eq!(text(named[0].get("id")).as_deref(), Some(customer.as_str()));
        let sf = mesh.sandbox.sf_record("Account", account).unwrap();
        assert_eq!(
            text(sf.get("NetSuite_Id__c")).as_deref(),
            Some(customer.as_str()),
            "{name}"
        );
    }
}

on_both_stores!(
    a_backfill_past_the_suiteql_row_cap,
    a_backfill_matches_every_existing_customer_past_the_suiteql_row_cap
);

/// The account's time zone in the time-zone test: it turns its clocks back from 02:00 PDT to
/// 01:00 PST on 1 November 2026 (09:00 UTC), so 01:00–01:59 happens twice.
const ACCOUNT_ZONE: chrono_tz::Tz = chrono_tz::Tz::America__Los_Angeles;
/// Customers changed every 8 minutes from 07:30 UTC: before, in both occurrences of the
/// repeated hour, and after.
const DST_CUSTOMERS: i64 = 24;

async fn the_customer_delta_reads_a_non_utc_account_across_a_dst_change_once_each(mesh: &TestMesh) {
    use chrono::{TimeZone, Utc};
    use isthmus_engine::customers::delta::{DeltaOptions, CUSTOMERS_CURSOR};
    use isthmus_engine::governance::SalesforceAllocation;
    use isthmus_engine::schedule::{Cursor, CursorPos};

    mesh.sandbox.set_netsuite_time_zone(ACCOUNT_ZONE);
    let (mut config, secrets) = mesh.sandbox_config();
    config.netsuite.time_zone = ACCOUNT_ZONE.name().into();
    let (flows, _) =
        isthmus::wiring::customer_flows(&config, &secrets, mesh.store.clone()).unwrap();
    let log = isthmus::wiring::sync_log(&config, &secrets, mesh.store.clone());

    let start = Utc.with_ymd_and_hms(2026, 11, 1, 7, 0, 0).unwrap();
    Cursor::new(CUSTOMERS_CURSOR, Duration::ZERO)
        .unwrap()
        .save(&mesh.store, &CursorPos::new(start, ""))
        .await
        .unwrap();
    let mut names = Vec::new();
    for i in 0..DST_CUSTOMERS {
        let at = start + chrono::Duration::minutes(30 + 8 * i);
        let name = format!("Clock Change {i:02}");
        let fields = json!({"companyName": name, "subsidiary": {"id": "1"}});
        mesh.sandbox
            .ns_insert_at("customer", fields.as_object().unwrap().clone(), at)
            .unwrap();
        names.push(name);
    }
    // Both occurrences of 01:xx hold customers.
    let repeated = |hour: u32| {
        (0..DST_CUSTOMERS)
            .map(|i| start + chrono::Duration::minutes(30 + 8 * i))
            .filter(|at| chrono::Timelike::hour(at) == hour)
            .count()
    };
    assert!(repeated(8) >= 3 && repeated(9) >= 3);

    let options = DeltaOptions {
        page_size: 3,
        overlap: Duration::ZERO,
        concurrency: 4,
        allocation: SalesforceAllocation::new(
            mesh.store.clone(),
            config.salesforce.batch_share,
            Duration::from_millis(100),
        ),
    };
    let report = flows
        .delta_customers(&options, &log, "trace")
        .await
        .unwrap();
    assert_eq!(report.queued, 0, "{report:?}");
    assert!(report.read >= DST_CUSTOMERS as u64, "{report:?}");

    // No customer skipped, none made into a second account: one account per name.
    let accounts = mesh.sandbox.sf_records("Account");
    for name in &names {
        let named = accounts
            .iter()
            .filter(|a| text(a.get("Name")).as_deref() == Some(name.as_str()))
            .count();
        assert_eq!(named, 1, "{name}: {report:?}");
    }
    // The cursor stands past the last change, read back as the instant it was.
    let saved = Cursor::new(CUSTOMERS_CURSOR, Duration::ZERO)
        .unwrap()
        .load(&mesh.store)
        .await
        .unwrap()
        .unwrap();
    let last = start + chrono::Duration::minutes(30 + 8 * (DST_CUSTOMERS - 1));
    assert!(saved.modified_at >= last, "{saved:?} < {last}");

    // A second run reads nothing old again into a new account.
    flows
        .delta_customers(&options, &log, "trace")
        .await
        .unwrap();
    let accounts = mesh.sandbox.sf_records("Account");
    for name in &names {
        let named = accounts
            .iter()
            .filter(|a| text(a.get("Name")).as_deref() == Some(name.as_str()))
            .count();
        assert_eq!(named, 1, "{name} after a second run");
    }
}

on_both_stores!(
    a_customer_delta_across_a_dst_change,
    the_customer_delta_reads_a_non_utc_account_across_a_dst_change_once_each
);

//! Scheduled delta sync on the sandbox: every record is read however many share one timestamp
//! and wherever the page boundaries fall; deleted accounts inactivate their customers (or not,
//! as configured); the mesh runs the delta on its schedule; accounts follow their subsidiaries.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use isthmus::wiring;
use isthmus_engine::audit::SyncLog;
use isthmus_engine::config::AccountDeleted;
use isthmus_engine::customers::delta::{
    parse_modstamp, DeltaOptions, ACCOUNTS_CURSOR, CUSTOMERS_CURSOR, DELETES_CURSOR,
};
use isthmus_engine::customers::{CustomerFlows, LINK_KIND};
use isthmus_engine::governance::SalesforceAllocation;
use isthmus_engine::schedule::{Cursor, CursorPos};
use isthmus_salesforce::CompositeSubrequest;
use isthmus_tests::faults::{assert_each_account_synced_once, assert_each_once, PUT_CUSTOMER};
use isthmus_tests::lead::{new_account, object};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, SF_KEY};
use serde_json::{json, Value};

/// Accounts created in one Salesforce request: they share one `SystemModstamp`.
const SAME_SECOND: usize = 400;
const PAGE: usize = 50;
/// Salesforce's Composite call: one per customer → account sync.
const COMPOSITE: &str = "POST /services/data/vXX.X/composite";

fn flows(mesh: &TestMesh, adjust: impl FnOnce(&mut isthmus::Config)) -> (CustomerFlows, SyncLog) {
    let (mut config, secrets) = mesh.sandbox_config();
    adjust(&mut config);
    let (flows, _) = wiring::customer_flows(&config, &secrets, mesh.store.clone()).unwrap();
    let log = wiring::sync_log(&config, &secrets, mesh.store.clone());
    (flows, log)
}

fn options(mesh: &TestMesh, overlap: Duration) -> DeltaOptions {
    let (config, _) = mesh.sandbox_config();
    DeltaOptions {
        page_size: PAGE,
        overlap,
        concurrency: 8,
        // The configured batch share, the allocation re-read every 100 ms while paused.
        allocation: SalesforceAllocation::new(
            mesh.store.clone(),
            config.salesforce.batch_share,
            Duration::from_millis(100),
        ),
    }
}

/// Starts a cursor just before now, so a run with no overlap reads what follows.
async fn cursor_at_now(mesh: &TestMesh, flow: &str) {
    let start = Utc::now() - chrono::Duration::seconds(2);
    Cursor::new(flow, Duration::ZERO)
        .unwrap()
        .save(&mesh.store, &CursorPos::new(start, ""))
        .await
        .unwrap();
}

/// `SAME_SECOND` accounts in one Composite request of two sObject Collections (one transaction,
/// one timestamp); their ids.
async fn accounts_in_one_request(mesh: &TestMesh, tag: &str) -> Vec<String> {
    let (config, secrets) = mesh.sandbox_config();
    let salesforce = wiring::salesforce(&config, &secrets).unwrap();
    let batch = |from: usize| {
        let records: Vec<Value> = (from..from + 200)
            .map(|i| {
                json!({
                    "attributes": { "type": "Account" },
                    "Name": format!("{tag} {i:04}"),
                    "Phone": format!("+1 555 01{i:04}"),
                })
            })
            .collect();
        json!({ "allOrNone": true, "records": records })
    };
    let requests = (0..SAME_SECOND / 200)
        .map(|b| {
            CompositeSubrequest::new("POST", "composite/sobjects", format!("batch{b}"))
                .with_body(batch(b * 200))
        })
        .collect();
    let answers = salesforce.composite(requests, true).await.unwrap();
    let ids: Vec<String> = answers
        .iter()
        .flat_map(|a| {
            a.body
                .as_array()
                .unwrap_or_else(|| panic!("collection refused: {:?}", a.body))
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids.len(), SAME_SECOND);
    ids
}

async fn every_account_on_one_timestamp_is_read_across_pages(mesh: &TestMesh) {
    let (flows, log) = flows(mesh, |c| {
        c.customers.delta_accounts = isthmus_engine::config::DeltaAccounts::All;
    });
    cursor_at_now(mesh, ACCOUNTS_CURSOR).await;
    cursor_at_now(mesh, CUSTOMERS_CURSOR).await;
    let ids = accounts_in_one_request(mesh, "Timestamp Tie").await;
    mesh.sandbox.reset_calls();

    // The premise: hundreds of accounts share one SystemModstamp, so every page boundary of
    // the read (every 50th) falls inside that one timestamp.
    let stamps: BTreeSet<String> = mesh
        .sandbox
        .sf_records("Account")
        .into_iter()
        .filter(|a| ids.contains(&text(a.get("Id")).unwrap()))
        .map(|a| text(a.get("SystemModstamp")).unwrap())
        .collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");

    let report = flows
        .delta_accounts(&options(mesh, Duration::ZERO), &log, "trace")
        .await
        .unwrap();
    assert!(report.read >= SAME_SECOND as u64, "{report:?}");
    assert!(report.pages > (SAME_SECOND / PAGE) as u64, "{report:?}");
    assert_eq!(report.queued, 0, "{report:?}");

    // Every account reached NetSuite once, linked, its id written back.
    let links = mesh
        .store
        .links_by_salesforce_many(LINK_KIND, &ids)
        .await
        .unwrap();
    assert!(
        links.iter().all(Option::is_some),
        "some accounts were skipped"
    );
    // Counted by name, which a second customer of one account would share, not through a set.
    assert_each_account_synced_once(&mesh.sandbox, &ids);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get(PUT_CUSTOMER),
        SAME_SECOND as u64,
        "one upsert per account: {calls:?}"
    );

    // The cursor stands on the last key of the read, and a second run (the write-backs moved
    // every SystemModstamp) finds only echoes: not one NetSuite write.
    let saved = Cursor::new(ACCOUNTS_CURSOR, Duration::ZERO)
        .unwrap()
        .load(&mesh.store)
        .await
        .unwrap()
        .unwrap();
    assert!(saved.modified_at > Utc.timestamp_opt(0, 0).unwrap());
    mesh.sandbox.reset_calls();
    let again = flows
        .delta_accounts(&options(mesh, Duration::ZERO), &log, "trace")
        .await
        .unwrap();
    assert_eq!(again.created + again.updated, 0, "{again:?}");
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);
}

on_both_stores!(
    accounts_sharing_a_timestamp,
    every_account_on_one_timestamp_is_read_across_pages
);

async fn every_customer_changed_is_read_across_pages(mesh: &TestMesh) {
    let (flows, log) = flows(mesh, |_| {});
    cursor_at_now(mesh, CUSTOMERS_CURSOR).await;
    let mut created = Vec::new();
    let names: Vec<String> = (0..120).map(|i| format!("Delta Customer {i:03}")).collect();
    for name in &names {
        let id = mesh
            .sandbox
            .ns_insert(
                "customer",
                object(json!({ "companyName": name, "subsidiary": { "id": "1" } })),
            )
            .unwrap();
        created.push(id);
    }
    mesh.sandbox.reset_calls();
    // Many customers share each whole-second lastModifiedDate.
    let stamps: BTreeSet<String> = created
        .iter()
        .map(|id| {
            text(
                mesh.sandbox
                    .ns_record("customer", id)
                    .unwrap()
                    .get("lastModifiedDate"),
            )
            .unwrap()
        })
        .collect();
    assert!(stamps.len() < created.len() / 4, "{stamps:?}");

    let report = flows
        .delta_customers(&options(mesh, Duration::ZERO), &log, "trace")
        .await
        .unwrap();
    assert!(report.read >= created.len() as u64, "{report:?}");
    assert_eq!(report.queued, 0, "{report:?}");
    // Exactly one account per customer, by its NetSuite id and by its name (which a second
    // account made under another key would share), not through a set that merges duplicates.
    let accounts = mesh.sandbox.sf_records("Account");
    assert_each_once(&accounts, "NetSuite_Id__c", &created);
    assert_each_once(&accounts, "Name", &names);
    assert_eq!(
        mesh.sandbox.calls().get(COMPOSITE),
        created.len() as u64,
        "one Composite call per customer"
    );
    let saved = Cursor::new(CUSTOMERS_CURSOR, Duration::ZERO)
        .unwrap()
        .load(&mesh.store)
        .await
        .unwrap()
        .unwrap();
    let newest = stamps
        .iter()
        .filter_map(|s| parse_modstamp(s))
        .max()
        .unwrap();
    assert!(saved.modified_at >= newest, "{saved:?} < {newest}");
}

on_both_stores!(
    customers_sharing_timestamps,
    every_customer_changed_is_read_across_pages
);

/// Links an account through the button; its customer id.
async fn linked(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    (account, body["netsuite_id"].as_str().unwrap().to_string())
}

/// Deletes an account 90 seconds ago on the org's clock: Salesforce drops the seconds of a
/// deleted-log window's end, so a deletion within the current minute is read by the next run,
/// not this one.
async fn delete_account(mesh: &TestMesh, id: &str) {
    mesh.sf_delete("Account", id, chrono::Duration::seconds(90))
        .await;
}

async fn a_deleted_account_inactivates_its_customer(mesh: &TestMesh) {
    let (flows, log) = flows(mesh, |_| {});
    let (account, customer) = linked(mesh, "Soon Gone Ltd").await;
    let (kept, kept_customer) = linked(mesh, "Still Here Ltd").await;
    delete_account(mesh, &account).await;

    let (deleted, inactivated) = flows
        .propagate_account_deletes(&options(mesh, Duration::from_secs(120)), &log, "trace")
        .await
        .unwrap();
    assert!(deleted >= 1);
    assert_eq!(inactivated, 1);
    let record = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(record.get("isInactive"), Some(&json!(true)), "{record:?}");
    assert!(flows.link_by_salesforce(&account).await.unwrap().is_none());
    let other = mesh.sandbox.ns_record("customer", &kept_customer).unwrap();
    assert_eq!(other.get("isInactive"), Some(&json!(false)));
    assert!(flows.link_by_salesforce(&kept).await.unwrap().is_some());

    // The log is read from where it stopped: the same deletion is not propagated twice.
    let cursor = Cursor::new(DELETES_CURSOR, Duration::ZERO).unwrap();
    assert!(cursor.load(&mesh.store).await.unwrap().is_some());
    mesh.sandbox.reset_calls();
    let (_, again) = flows
        .propagate_account_deletes(&options(mesh, Duration::ZERO), &log, "trace")
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);
}

on_both_stores!(deleted_accounts, a_deleted_account_inactivates_its_customer);

async fn deletes_can_be_left_alone(mesh: &TestMesh) {
    let (flows, log) = flows(mesh, |c| {
        c.customers.account_deleted = AccountDeleted::Ignore
    });
    let (account, customer) = linked(mesh, "Ignored Deletion Ltd").await;
    delete_account(mesh, &account).await;
    mesh.sandbox.reset_calls();
    let (deleted, inactivated) = flows
        .propagate_account_deletes(&options(mesh, Duration::from_secs(120)), &log, "trace")
        .await
        .unwrap();
    assert!(deleted >= 1);
    assert_eq!(inactivated, 0);
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);
    let record = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(record.get("isInactive"), Some(&json!(false)));
    assert!(flows.link_by_salesforce(&account).await.unwrap().is_some());
}

on_both_stores!(ignored_deletes, deletes_can_be_left_alone);

async fn the_delta_pauses_while_the_allocation_is_past_the_batch_share(mesh: &TestMesh) {
    let (mut config, secrets) = mesh.sandbox_config();
    config.customers.delta_accounts = isthmus_engine::config::DeltaAccounts::All;
    let (flows, salesforce) =
        wiring::customer_flows(&config, &secrets, mesh.store.clone()).unwrap();
    let log = wiring::sync_log(&config, &secrets, mesh.store.clone());
    cursor_at_now(mesh, ACCOUNTS_CURSOR).await;
    let account = new_account(mesh, "Waits For Its Share Ltd");
    let org = mesh.sandbox.salesforce_org();
    org.set_api_allocation(1000, 900); // 90 % used: past the 80 % batch share
    salesforce.limits().await.unwrap(); // the client learns it

    let options = options(mesh, Duration::ZERO);
    let run = tokio::spawn(async move { flows.delta_accounts(&options, &log, "trace").await });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!run.is_finished(), "the delta waits");
    assert!(mesh.ns_where("customer", "externalId", &account).is_empty());

    org.set_api_allocation(1000, 0); // a new day
    let report = run.await.unwrap().unwrap();
    assert!(report.created >= 1, "{report:?}");
    assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
}

on_both_stores!(
    allocation,
    the_delta_pauses_while_the_allocation_is_past_the_batch_share
);

async fn the_mesh_runs_the_delta_on_its_schedule(mesh: &TestMesh) {
    let (account, customer) = linked(mesh, "Scheduled Edits GmbH").await;
    mesh.sandbox
        .sf_update(
            "Account",
            &account,
            object(json!({ "Phone": "+49 30 1234 5678" })),
        )
        .unwrap();
    let mut phone = None;
    for _ in 0..200 {
        phone = text(
            mesh.sandbox
                .ns_record("customer", &customer)
                .unwrap()
                .get("phone"),
        );
        if phone.as_deref() == Some("+49 30 1234 5678") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(phone.as_deref(), Some("+49 30 1234 5678"));
    let (status, body) = mesh.get("/v1/schedules", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{body}");
    let delta = body["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "customers.delta")
        .unwrap();
    assert!(delta["last_run"]["started_at"].is_string(), "{body}");
    let (status, _) = mesh.get("/v1/schedules", Some(SF_KEY)).await;
    assert_eq!(status, 403, "admin scope");
}

on_both_stores!(
    scheduled,
    the_mesh_runs_the_delta_on_its_schedule,
    |c: &mut isthmus::Config| {
        // Every second (6 fields, seconds first); overlap covers the account created just now.
        c.schedules.customers_delta = "* * * * * *".into();
    }
);

async fn accounts_follow_their_subsidiaries(mesh: &TestMesh) {
    let (status, body) = mesh
        .post("/v1/subsidiaries/sync", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let subsidiary_of = |ns: &str| {
        mesh.sandbox
            .sf_records("Subsidiary__c")
            .into_iter()
            .find(|s| text(s.get("NetSuite_Id__c")).as_deref() == Some(ns))
            .and_then(|s| text(s.get("Id")))
            .unwrap_or_else(|| panic!("no Subsidiary__c for {ns}"))
    };
    let subsidiaries = mesh.sandbox.ns_records("subsidiary");
    let other = subsidiaries
        .iter()
        .filter_map(|s| text(s.get("id")))
        .find(|id| id != "1")
        .expect("the seed has a second subsidiary");

    // NetSuite → Salesforce: the new account points at its customer's subsidiary.
    let customer = mesh
        .sandbox
        .ns_insert(
            "customer",
            object(json!({ "companyName": "Branch Office SA", "subsidiary": { "id": other } })),
        )
        .unwrap();
    let (status, body) = mesh.customer_event(&customer, "create").await;
    assert_eq!(status, 200, "{body}");
    let account = body["salesforce_id"].as_str().unwrap().to_string();
    let record = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(
        text(record.get("Subsidiary__c")),
        Some(subsidiary_of(&other))
    );

    // Salesforce → NetSuite: a new customer is created in the account's subsidiary.
    let account = new_account(mesh, "Subsidiary Chooser Ltd");
    mesh.sandbox
        .sf_update(
            "Account",
            &account,
            object(json!({ "Subsidiary__c": subsidiary_of(&other) })),
        )
        .unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = mesh
        .sandbox
        .ns_record("customer", body["netsuite_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        text(customer.get("subsidiary")),
        Some(other.clone()),
        "{customer:?}"
    );
}

on_both_stores!(subsidiaries, accounts_follow_their_subsidiaries);

const SUITEQL: &str = "POST /services/rest/query/v1/suiteql";
const GET_CUSTOMER: &str = "GET /services/rest/record/v1/customer/{id}";
const PATCH_CUSTOMER: &str = "PATCH /services/rest/record/v1/customer/{id}";
/// New accounts of the page beyond the one of each rule.
const MORE_NEW: usize = 20;

fn ns_customer(mesh: &TestMesh, fields: Value) -> String {
    let mut fields = object(fields);
    fields.insert("subsidiary".into(), json!({ "id": "1" }));
    mesh.sandbox.ns_insert("customer", fields).unwrap()
}

fn sf_account(mesh: &TestMesh, fields: Value) -> String {
    mesh.sandbox.sf_insert("Account", object(fields)).unwrap()
}

async fn a_page_is_matched_in_one_query_whatever_rules_fire(mesh: &TestMesh) {
    let (flows, log) = flows(mesh, |c| {
        c.customers.delta_accounts = isthmus_engine::config::DeltaAccounts::All;
    });
    cursor_at_now(mesh, ACCOUNTS_CURSOR).await;
    // One account a rule: its external id already on a customer, its web domain on a
    // customer's e-mail, its name on a customer's under other case and legal form; one new;
    // one whose domain two customers share.
    let by_eid = sf_account(mesh, json!({ "Name": "Quillfeather Bulk Eid" }));
    let eid_customer = ns_customer(
        mesh,
        json!({ "companyName": "Old Quillfeather Name", "externalId": by_eid }),
    );
    let by_domain = sf_account(
        mesh,
        json!({ "Name": "Marrowgate Bulk Holdings", "Website": "https://www.marrowgate-bulk.example/about" }),
    );
    let domain_customer = ns_customer(
        mesh,
        json!({ "companyName": "MG Trading", "email": "ap@marrowgate-bulk.example" }),
    );
    let by_name = sf_account(mesh, json!({ "Name": "Thistlewood Bulk Corp" }));
    let name_customer = ns_customer(mesh, json!({ "companyName": "THISTLEWOOD BULK, Inc." }));
    let new = sf_account(mesh, json!({ "Name": "Brandnew Bulk Trading" }));
    let ambiguous = sf_account(
        mesh,
        json!({ "Name": "Twinpeaks Bulk Group", "Website": "twinpeaks-bulk.example" }),
    );
    let twins = [
        ns_customer(
            mesh,
            json!({ "companyName": "Twinpeaks Pharma", "email": "ar@twinpeaks-bulk.example" }),
        ),
        ns_customer(
            mesh,
            json!({ "companyName": "Twinpeaks Freight", "url": "https://twinpeaks-bulk.example" }),
        ),
    ];
    let more_new = isthmus_tests::faults::add_accounts(&mesh.sandbox, "Bulkpage", MORE_NEW);
    let customers_before = mesh.sandbox.ns_records("customer").len();
    mesh.sandbox.reset_calls();

    let report = flows
        .delta_accounts(&options(mesh, Duration::ZERO), &log, "trace")
        .await
        .unwrap();
    assert_eq!(report.pages, 1, "{report:?}");
    assert_eq!(report.read, 5 + MORE_NEW as u64, "{report:?}");
    assert_eq!(
        (
            report.created,
            report.updated,
            report.conflicts,
            report.queued
        ),
        (1 + MORE_NEW as u64, 3, 1, 0),
        "{report:?}"
    );

    // Each match as the per-account rules make it: the customer keyed by the account now,
    // linked, its id written back to the account.
    for (account, customer) in [
        (&by_eid, &eid_customer),
        (&by_domain, &domain_customer),
        (&by_name, &name_customer),
    ] {
        let record = mesh.sandbox.ns_record("customer", customer).unwrap();
        assert_eq!(
            text(record.get("externalId")).as_deref(),
            Some(account.as_str())
        );
        let link = flows.link_by_salesforce(account).await.unwrap().unwrap();
        assert_eq!(&link.netsuite_id, customer);
        let sf = mesh.sandbox.sf_record("Account", account).unwrap();
        assert_eq!(text(sf.get("NetSuite_Id__c")).as_ref(), Some(customer));
    }
    // New accounts: one customer each, keyed by the account.
    for account in more_new.iter().chain([&new]) {
        let made = mesh.ns_where("customer", "externalId", account);
        assert_eq!(made.len(), 1, "{account}");
        let sf = mesh.sandbox.sf_record("Account", account).unwrap();
        assert_eq!(text(sf.get("NetSuite_Id__c")), text(made[0].get("id")));
    }
    assert_eq!(
        mesh.sandbox.ns_records("customer").len(),
        customers_before + 1 + MORE_NEW
    );
    // The ambiguous account: a conflict, nothing linked or written on either side.
    assert!(flows
        .link_by_salesforce(&ambiguous)
        .await
        .unwrap()
        .is_none());
    let sf = mesh.sandbox.sf_record("Account", &ambiguous).unwrap();
    assert_eq!(text(sf.get("NetSuite_Id__c")), None);
    for twin in &twins {
        let record = mesh.sandbox.ns_record("customer", twin).unwrap();
        assert_eq!(text(record.get("externalId")), None);
    }

    // NetSuite calls: one matching query for the whole page (it was three an unlinked account:
    // an external-id read and two SuiteQL queries), then one upsert a new account; a matched
    // account adds its customer's read, its contacts' SuiteQL read and its update.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(SUITEQL), 1 + 3, "{calls:?}");
    assert_eq!(calls.get(PUT_CUSTOMER), 1 + MORE_NEW as u64, "{calls:?}");
    assert_eq!(calls.get(GET_CUSTOMER), 3, "{calls:?}");
    assert_eq!(calls.get(PATCH_CUSTOMER), 3, "{calls:?}");
    assert_eq!(
        calls.netsuite_total(),
        4 + 3 + 3 + 1 + MORE_NEW as u64,
        "{calls:?}"
    );
}
on_both_stores!(
    bulk_matching,
    a_page_is_matched_in_one_query_whatever_rules_fire
);

//! Account backfills through the gateway, and API governance, asserted on the sandbox.

use std::time::Duration;

use isthmus_sandbox::System;
use isthmus_tests::faults::{assert_each_account_synced_once, PUT_CUSTOMER};
use isthmus_tests::{on_both_stores, TestMesh, ADMIN_KEY, SF_KEY};
use serde_json::{json, Map, Value};

/// Adds `n` accounts without a NetSuite counterpart; returns their ids.
fn add_accounts(mesh: &TestMesh, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut account = Map::new();
            account.insert("Name".into(), json!(format!("Backfill Test {i:04}")));
            account.insert("BillingCity".into(), json!("Lisbon"));
            account.insert("BillingCountry".into(), json!("Portugal"));
            mesh.sandbox.sf_insert("Account", account).unwrap()
        })
        .collect()
}

async fn start_backfill(mesh: &TestMesh) -> Value {
    let (status, job) = mesh
        .post("/v1/backfills/accounts", Some(ADMIN_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["state"], "running");
    job
}

async fn wait_done(mesh: &TestMesh, id: &str) -> Value {
    for _ in 0..600 {
        let (status, job) = mesh
            .get(&format!("/v1/backfills/{id}"), Some(ADMIN_KEY))
            .await;
        assert_eq!(status, 200, "{job}");
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("backfill {id} did not finish");
}

async fn a_backfill_creates_every_unlinked_account_once_and_writes_ids_back_in_batches(
    mesh: &TestMesh,
) {
    let added = add_accounts(mesh, 230);
    let customers_before = mesh.sandbox.ns_records("customer").len();
    mesh.sandbox.reset_calls();

    let job = start_backfill(mesh).await;
    let done = wait_done(mesh, job["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");

    // Every added account has exactly one customer (by external id and by name) and carries
    // its id.
    assert_each_account_synced_once(&mesh.sandbox, &added);
    let created = done["created"].as_u64().unwrap() as usize;
    assert_eq!(
        mesh.sandbox.calls().get(PUT_CUSTOMER),
        created as u64,
        "one upsert per customer created"
    );
    assert_eq!(
        mesh.sandbox.ns_records("customer").len(),
        customers_before + created
    );
    assert!(created >= added.len(), "{done}");
    assert!(
        done["conflicts"].as_u64().unwrap() >= 1,
        "the seeded ambiguous account is reported: {done}"
    );

    // Ids went back 200 at a time, never one account per call.
    let calls = mesh.sandbox.calls();
    let collections = calls.get("PATCH /services/data/vXX.X/composite/sobjects");
    let linked = done["written_back"].as_u64().unwrap();
    assert_eq!(collections, linked.div_ceil(200), "{calls:?}");
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/sobjects/Account/{id}"),
        0,
        "{calls:?}"
    );
    assert!(calls.salesforce_total() <= 2 + collections + 2, "{calls:?}");

    // A second run finds nothing new to create.
    let again = wait_done(mesh, start_backfill(mesh).await["id"].as_str().unwrap()).await;
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(mesh.ns_where("customer", "externalId", &added[0]).len(), 1);
}
on_both_stores!(
    backfill,
    a_backfill_creates_every_unlinked_account_once_and_writes_ids_back_in_batches
);

async fn netsuite_concurrency_never_exceeds_the_limit(mesh: &TestMesh) {
    add_accounts(mesh, 60);
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(20));
    let job = start_backfill(mesh).await;
    let done = wait_done(mesh, job["id"].as_str().unwrap()).await;
    assert_eq!(done["failed"], 0, "{done}");
    let counters = mesh.sandbox.counters();
    assert!(counters.netsuite.peak_in_flight <= 2, "{counters:?}");
    assert_eq!(counters.netsuite.rejected_over_limit, 0, "{counters:?}");
    let (status, governance) = mesh.get("/v1/governance", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{governance}");
    assert_eq!(governance["netsuite"]["concurrency_limit"], 2);
    assert_eq!(
        governance["netsuite"]["slots_in_use"], 0,
        "every slot given back"
    );
    assert!(
        governance["salesforce"]["max"]
            .as_u64()
            .is_some_and(|m| m > 0),
        "{governance}"
    );
}
on_both_stores!(
    concurrency,
    netsuite_concurrency_never_exceeds_the_limit,
    |config: &mut isthmus::Config| {
        config.netsuite.concurrency_limit = 2;
        config.customers.backfill_concurrency = 8;
    }
);

async fn batch_work_pauses_at_the_allocation_share_while_a_click_still_works(mesh: &TestMesh) {
    let added = add_accounts(mesh, 20);
    let org = mesh.sandbox.salesforce_org();
    org.set_api_allocation(1000, 900); // 90 % used: past the 80 % batch share

    // Salesforce must have answered once for Isthmus to know the allocation.
    let demo = isthmus_sandbox::seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, click) = mesh.sync_account(&demo, false).await;
    assert_eq!(
        (status, click["outcome"].as_str()),
        (200, Some("created")),
        "{click}"
    );

    let job = start_backfill(mesh).await;
    let id = job["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, paused) = mesh
        .get(&format!("/v1/backfills/{id}"), Some(ADMIN_KEY))
        .await;
    assert_eq!(paused["state"], "running", "{paused}");
    assert_eq!(
        paused["created"], 0,
        "nothing written while paused: {paused}"
    );
    assert!(mesh
        .ns_where("customer", "externalId", &added[0])
        .is_empty());

    // A button click still works from the reserve.
    let other = mesh.account_id(isthmus_sandbox::seed::QUOTED_ACCOUNT_NAME);
    let (status, click) = mesh
        .post(
            &format!("/v1/salesforce/accounts/{other}/sync"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{click}");

    // The allocation returns (a new day): the backfill resumes and finishes.
    org.set_api_allocation(1000, 0);
    let done = wait_done(mesh, &id).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(mesh.ns_where("customer", "externalId", &added[0]).len(), 1);
}
on_both_stores!(
    allocation,
    batch_work_pauses_at_the_allocation_share_while_a_click_still_works,
    |config: &mut isthmus::Config| {
        config.salesforce.allocation_poll_ms = 100;
    }
);

async fn only_one_backfill_runs_at_a_time_and_bad_ids_are_refused(mesh: &TestMesh) {
    add_accounts(mesh, 50);
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(10));
    let first = start_backfill(mesh).await;
    let (status, second) = mesh
        .post("/v1/backfills/accounts", Some(ADMIN_KEY), Some(json!({})))
        .await;
    assert_eq!(
        (status, second["code"].as_str()),
        (409, Some("LOCKED")),
        "{second}"
    );
    let (status, bad) = mesh.get("/v1/backfills/not-a-job", Some(ADMIN_KEY)).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    let (status, _) = mesh
        .get(
            &format!("/v1/backfills/{}", "0".repeat(32)),
            Some(ADMIN_KEY),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = mesh
        .post("/v1/backfills/accounts", Some(SF_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 403, "a Salesforce key may not start backfills");
    let (status, bad) = mesh
        .post(
            "/v1/backfills/accounts",
            Some(ADMIN_KEY),
            Some(json!({"everything": true})),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    wait_done(mesh, first["id"].as_str().unwrap()).await;
}
on_both_stores!(
    one_at_a_time,
    only_one_backfill_runs_at_a_time_and_bad_ids_are_refused
);

async fn accounts_that_fail_in_a_backfill_are_retried_on_the_batch_lane(mesh: &TestMesh) {
    let added = add_accounts(mesh, 40);
    mesh.sandbox.reset_calls();
    mesh.sandbox.inject_fault(
        System::NetSuite,
        isthmus_sandbox::Fault::error(PUT_CUSTOMER).times(5),
    );
    let job = start_backfill(mesh).await;
    let done = wait_done(mesh, job["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["queued"], 5, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    // The batch lane finishes them.
    let mut depth = Value::Null;
    for _ in 0..1_200 {
        depth = mesh.get("/v1/queue", Some(ADMIN_KEY)).await.1;
        let waiting = ["interactive", "batch", "delayed", "pending"]
            .iter()
            .map(|k| depth[k].as_u64().unwrap())
            .sum::<u64>();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ["interactive", "batch", "delayed", "pending", "dead"].map(|k| depth[k].as_u64()),
        [Some(0); 5],
        "the batch lane finished the five: {depth}"
    );
    assert_each_account_synced_once(&mesh.sandbox, &added);
    // The backfill's own creates, the 5 refused upserts, and the 5 creates of their jobs; one
    // Collections call for the backfill's write-backs, one PATCH for each job's.
    let created = done["created"].as_u64().unwrap();
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.get(PUT_CUSTOMER), created + 5 + 5, "{done} {calls:?}");
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/composite/sobjects"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/sobjects/Account/{id}"),
        5,
        "{calls:?}"
    );
}
// The call counts are exact, so no delivery may be reclaimed and run twice: on a loaded
// machine a job can sit past the harness's 2-second reclaim (waiting for a NetSuite slot), and
// the reclaimed run's upsert, harmless to the records, would count twice.
on_both_stores!(
    requeued,
    accounts_that_fail_in_a_backfill_are_retried_on_the_batch_lane,
    |config: &mut isthmus::Config| config.queue.reclaim_idle_ms = 120_000
);

async fn an_account_whose_write_back_salesforce_refuses_is_retried_then_dead_lettered_with_why(
    mesh: &TestMesh,
) {
    // A customer already named by another account's NetSuite_Id__c (a unique external id):
    // the backfill links the new account to it by company name, and Salesforce refuses that
    // one row of the write-back batch with DUPLICATE_VALUE.
    let customer = mesh
        .sandbox
        .ns_insert(
            "customer",
            isthmus_tests::lead::object(
                json!({ "companyName": "Refused Twin Holdings", "subsidiary": { "id": "1" } }),
            ),
        )
        .unwrap();
    let mut holder = Map::new();
    holder.insert("Name".into(), json!("Holder Of The Id Ltd"));
    holder.insert("NetSuite_Id__c".into(), json!(customer));
    mesh.sandbox.sf_insert("Account", holder).unwrap();
    let mut twin = Map::new();
    twin.insert("Name".into(), json!("Refused Twin Holdings"));
    let twin = mesh.sandbox.sf_insert("Account", twin).unwrap();
    let added = add_accounts(mesh, 20);

    let job = start_backfill(mesh).await;
    let done = wait_done(mesh, job["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        done["queued"].as_u64().unwrap() >= 1,
        "the refused row is queued: {done}"
    );
    let dead = mesh.wait_dead_account(&twin).await;
    assert!(
        dead["error"]
            .as_str()
            .is_some_and(|e| e.contains("DUPLICATE_VALUE") || e.contains("duplicate value")),
        "a person sees the refused write-back and why: {dead}"
    );
    // The others went back in the batch, untouched by the one refused row.
    assert_each_account_synced_once(&mesh.sandbox, &added);
}
on_both_stores!(
    refused_write_back,
    an_account_whose_write_back_salesforce_refuses_is_retried_then_dead_lettered_with_why
);

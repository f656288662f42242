//! Issue 16, item 5, for scheduled work: the customers delta is mid-run when the Salesforce
//! org's daily allocation runs out (another integration spends it while the run writes its
//! second page back). The run ends `held`, not failed: `/v1/schedules`, `/v1/governance` and
//! `/metrics` say so, its cursor stays after the last page it finished, and nothing is queued
//! or dead-lettered for the page it could not finish. Once the allocation is restored, the
//! next firing finishes the work, and every account ends with exactly one NetSuite customer,
//! its id written back.

use std::time::Duration;

use isthmus_engine::customers::delta::{parse_modstamp, ACCOUNTS_CURSOR};
use isthmus_engine::schedule::{Cursor, CursorPos};
use isthmus_sandbox::System;
use isthmus_tests::faults::{add_accounts, assert_each_account_synced_once, PUT_CUSTOMER};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY};
use serde_json::Value;

const SCHEDULE: &str = "customers.delta";
const PAGE: usize = 10;
const PAGES: usize = 3;
/// One sObject Collections call writes a delta page's ids back.
const WRITE_BACK: &str = "PATCH /services/data/vXX.X/composite/sobjects";

fn adjust(config: &mut isthmus::Config) {
    // Fires only when asked to (`POST /v1/schedules/{name}/run`): 03:00 on 1 January.
    config.schedules.customers_delta = "0 0 3 1 1 *".into();
    config.schedules.delta_page_size = PAGE;
    config.schedules.delta_overlap_s = 0;
    config.customers.delta_accounts = isthmus_engine::config::DeltaAccounts::All;
    config.queue.hold_pause_ms = 300;
    // The spent allocation's last answer says so: the next run re-reads it (`GET limits`)
    // before its first page, after this pause.
    config.salesforce.allocation_poll_ms = 200;
}

/// The `(SystemModstamp, Id)` key of every account, in the delta's read order.
fn account_keys(mesh: &TestMesh) -> Vec<CursorPos> {
    let mut keys: Vec<CursorPos> = mesh
        .sandbox
        .sf_records("Account")
        .iter()
        .map(|a| {
            let stamp = text(a.get("SystemModstamp")).expect("a modstamp");
            CursorPos::new(parse_modstamp(&stamp).unwrap(), text(a.get("Id")).unwrap())
        })
        .collect();
    keys.sort();
    keys
}

/// Asks for a run of the delta now and waits until it has ended; its status.
async fn run_delta_now(mesh: &TestMesh) -> Value {
    let (status, asked) = mesh
        .post(
            &format!("/v1/schedules/{SCHEDULE}/run"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{asked}");
    let requested = asked["requested_at_ms"].as_i64().unwrap();
    let mut last = Value::Null;
    for _ in 0..600 {
        let (status, body) = mesh.get("/v1/schedules", Some(ADMIN_KEY)).await;
        assert_eq!(status, 200, "{body}");
        let run = body["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == SCHEDULE)
            .expect("the delta is listed")["last_run"]
            .clone();
        let fired_ms = run["fire_at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.timestamp_millis());
        if fired_ms == Some(requested) && run["outcome"] != "running" {
            return run;
        }
        last = run;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the requested run of {SCHEDULE} (at {requested} ms) did not end: {last}; calls {:?}",
        mesh.sandbox.calls()
    );
}

async fn jobs_waiting(mesh: &TestMesh) -> isthmus_store::QueueDepth {
    let queue = mesh.store.queue("customers").await.unwrap();
    queue.queue_depth().await.unwrap()
}

async fn a_delta_held_mid_run_by_the_allocation_resumes_and_syncs_each_account_once(
    mesh: &TestMesh,
) {
    // The delta starts after every account there is, so it reads exactly the ones added next.
    let before = account_keys(mesh);
    let start = before.last().cloned().expect("the sandbox has accounts");
    Cursor::new(ACCOUNTS_CURSOR, Duration::ZERO)
        .unwrap()
        .save(&mesh.store, &start)
        .await
        .unwrap();
    let accounts = add_accounts(&mesh.sandbox, "Held Delta ", PAGE * PAGES);
    let keys: Vec<CursorPos> = account_keys(mesh)
        .into_iter()
        .filter(|k| *k > start)
        .collect();
    assert_eq!(keys.len(), accounts.len(), "the delta reads these accounts");
    let page = |n: usize| -> Vec<String> {
        keys[n * PAGE..(n + 1) * PAGE]
            .iter()
            .map(|k| k.id.clone())
            .collect()
    };

    // Another integration spends the org's last calls while the delta writes its second page
    // back: that write-back is refused `REQUEST_LIMIT_EXCEEDED`.
    let org = mesh.sandbox.salesforce_org();
    let (max, _) = org.api_allocation();
    mesh.sandbox.reset_calls();
    mesh.sandbox
        .set_latency(System::Salesforce, Duration::from_millis(300));
    let spend = {
        let sandbox = mesh.sandbox.clone();
        tokio::spawn(async move {
            while sandbox.calls().get(WRITE_BACK) < 2 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            sandbox.salesforce_org().set_api_allocation(max, max);
        })
    };
    let held = run_delta_now(mesh).await;
    spend.await.unwrap();
    mesh.sandbox.set_latency(System::Salesforce, Duration::ZERO);
    assert_eq!(held["outcome"], "held", "{held}");
    assert!(
        held["error"]
            .as_str()
            .unwrap_or("")
            .contains("REQUEST_LIMIT_EXCEEDED"),
        "{held}"
    );
    assert_eq!(mesh.sandbox.calls().get(WRITE_BACK), 2, "pages 1 and 2");

    // The cursor stands after page 1, the last page finished, not past page 2.
    let cursor = Cursor::new(ACCOUNTS_CURSOR, Duration::ZERO)
        .unwrap()
        .load(&mesh.store)
        .await
        .unwrap()
        .expect("a cursor");
    assert_eq!(cursor, keys[PAGE - 1], "the cursor after page 1");
    // Page 1 is done, ids written back; page 2 reached NetSuite but not its write-back; page 3
    // was never read.
    let written_back = |id: &String| {
        text(
            mesh.sandbox
                .sf_record("Account", id)
                .unwrap()
                .get("NetSuite_Id__c"),
        )
    };
    assert!(page(0).iter().all(|a| written_back(a).is_some()));
    assert!(page(1).iter().all(|a| written_back(a).is_none()));
    for account in page(1) {
        assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
    }
    for account in page(2) {
        assert!(mesh.ns_where("customer", "externalId", &account).is_empty());
    }
    assert_eq!(mesh.sandbox.calls().get(PUT_CUSTOMER), (2 * PAGE) as u64);
    // Nothing handed to the queue for page 2, nothing dead-lettered.
    let depth = jobs_waiting(mesh).await;
    assert_eq!(
        (depth.batch, depth.delayed, depth.pending, depth.dead),
        (0, 0, 0, 0),
        "{depth:?}"
    );

    // Governance and the metrics show the hold.
    let (status, governance) = mesh.get("/v1/governance", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{governance}");
    let hold = &governance["salesforce_hold"];
    assert_eq!(hold["holds"], 1, "{governance}");
    assert!(hold["retry_after_s"].as_u64().unwrap() >= 1, "{governance}");
    let text_metrics = mesh.metrics().await;
    assert!(
        text_metrics.contains("isthmus_salesforce_allocation_exhausted 1"),
        "{text_metrics}"
    );

    // A new day: the next firing resumes after page 1 and finishes the work.
    org.set_api_allocation(max, 0);
    mesh.sandbox.reset_calls();
    let resumed = run_delta_now(mesh).await;
    assert_eq!(resumed["outcome"], "succeeded", "{resumed}");
    assert!(resumed["error"].is_null(), "{resumed}");

    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    let calls = mesh.sandbox.calls();
    // Page 3's customers are created; page 2's, already there, are not written again.
    assert_eq!(calls.get(PUT_CUSTOMER), PAGE as u64, "{calls:?}");
    let depth = jobs_waiting(mesh).await;
    assert_eq!(depth.dead, 0, "{depth:?}");
    let (_, governance) = mesh.get("/v1/governance", Some(ADMIN_KEY)).await;
    assert!(governance["salesforce_hold"].is_null(), "{governance}");
    let text_metrics = mesh.metrics().await;
    assert!(
        text_metrics.contains("isthmus_salesforce_allocation_exhausted 0"),
        "{text_metrics}"
    );
}

on_both_stores!(
    scheduled_delta_held,
    a_delta_held_mid_run_by_the_allocation_resumes_and_syncs_each_account_once,
    adjust
);

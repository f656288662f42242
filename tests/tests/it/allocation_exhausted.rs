//! Issue 16, item 5: a spent Salesforce allocation is a wait, not a failure. The sandbox's org
//! runs out of API calls mid-run (`REQUEST_LIMIT_EXCEEDED` on every call): a click answers
//! `503 SALESFORCE_ALLOCATION_EXHAUSTED` with `Retry-After` and writes nothing; queued jobs are
//! held (put back again and again, never dead-lettered, no attempt burnt, with only two
//! attempts allowed), which `/v1/governance` and `/metrics` show; once the allocation is
//! restored every job completes once, proved on NetSuite (one customer each) and in the ID map.

use std::time::Duration;

use isthmus_engine::work::{JobRecord, JobState};
use isthmus_tests::lead::new_account;
use isthmus_tests::{on_both_stores, TestMesh, ADMIN_KEY, SF_KEY};

/// Jobs queued while the allocation is spent.
const JOBS: usize = 4;

fn adjust(config: &mut isthmus::Config) {
    // Two attempts in all: a job that burnt attempts on the spent allocation would die.
    config.queue.retryable_attempts = 2;
    config.queue.backoff_base_ms = 50;
    config.queue.backoff_max_ms = 200;
    config.queue.hold_pause_ms = 300;
}

/// Polls the job records until each of `jobs` has been held at least `holds` times.
async fn wait_held(mesh: &TestMesh, jobs: &[String], holds: u32) -> Vec<JobRecord> {
    for _ in 0..400 {
        let mut records = Vec::new();
        for job in jobs {
            if let Some(record) = JobRecord::load(mesh.store.as_ref(), job).await.unwrap() {
                records.push(record);
            }
        }
        if records.len() == jobs.len() && records.iter().all(|r| r.held >= holds) {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the jobs were not held {holds} times");
}

async fn queued_and_clicked_work_waits_for_the_allocation_and_completes_once(mesh: &TestMesh) {
    let org = mesh.sandbox.salesforce_org();
    let (max, _) = org.api_allocation();
    let accounts: Vec<String> = (0..JOBS)
        .map(|i| new_account(mesh, &format!("Allocation Waiters {i} Ltd")))
        .collect();
    let clicked = new_account(mesh, "Allocation Clicker Ltd");

    // The day's allocation is spent.
    org.set_api_allocation(max, max);
    mesh.sandbox.reset_calls();
    let mut jobs = Vec::new();
    for account in &accounts {
        let (status, body) = mesh
            .post(
                &format!("/v1/salesforce/accounts/{account}/sync?mode=async"),
                Some(SF_KEY),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        jobs.push(body["job_id"].as_str().expect("a job id").to_string());
    }

    // Held, again and again, though two attempts are all a failing job gets.
    let records = wait_held(mesh, &jobs, 3).await;
    for record in &records {
        assert!(
            matches!(record.state, JobState::Held | JobState::Running),
            "{record:?}"
        );
        assert!(record.errors.is_empty(), "no failed attempt: {record:?}");
    }
    let depth = mesh
        .store
        .queue("customers")
        .await
        .unwrap()
        .queue_depth()
        .await
        .unwrap();
    assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");

    // A click meanwhile: 503, the stable code, Retry-After, and nothing written.
    let answer = mesh
        .http
        .post(format!(
            "{}/v1/salesforce/accounts/{clicked}/sync",
            mesh.gateway
        ))
        .bearer_auth(SF_KEY)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(answer.status().as_u16(), 503);
    let retry_after: u64 = answer
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds");
    assert_eq!(retry_after, 1, "the 300 ms hold pause, in whole seconds");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "SALESFORCE_ALLOCATION_EXHAUSTED", "{body}");

    // Governance and metrics show the hold.
    let (status, governance) = mesh.get("/v1/governance", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{governance}");
    let hold = &governance["salesforce_hold"];
    // Holds noted at once by concurrent workers may count as one (last writer wins).
    assert!(hold["holds"].as_u64().unwrap_or(0) >= 3, "{governance}");
    assert!(
        hold["since_ms"].as_i64().unwrap() <= hold["next_check_ms"].as_i64().unwrap(),
        "{governance}"
    );
    assert!(
        hold["retry_after_s"].as_u64().unwrap_or(0) >= 1,
        "{governance}"
    );
    let metrics = mesh.metrics().await;
    assert!(
        metrics.contains("isthmus_salesforce_allocation_exhausted 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("isthmus_jobs_held_total{flow=\"customers.account_to_customer\"}"),
        "{metrics}"
    );

    // Nothing reached NetSuite while Salesforce could not be read.
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.netsuite_writes(), 0, "{calls:?}");
    for account in accounts.iter().chain([&clicked]) {
        assert!(mesh.ns_where("customer", "externalId", account).is_empty());
    }

    // A new day: every held job completes, once.
    org.set_api_allocation(max, 0);
    for job in &jobs {
        let settled = mesh.wait_job(job).await;
        assert_eq!(settled["state"], "done", "{settled}");
        assert_eq!(settled["result"]["outcome"], "created", "{settled}");
    }
    for (account, job) in accounts.iter().zip(&jobs) {
        let customers = mesh.ns_where("customer", "externalId", account);
        assert_eq!(customers.len(), 1, "one customer for {account}");
        let customer = isthmus_tests::text(customers[0].get("id")).unwrap();
        let link = mesh
            .store
            .link_by_salesforce("customer", account)
            .await
            .unwrap()
            .expect("linked");
        assert_eq!(link.netsuite_id, customer);
        let record = JobRecord::load(mesh.store.as_ref(), job)
            .await
            .unwrap()
            .unwrap();
        assert!(record.held >= 3 && record.errors.is_empty(), "{record:?}");
    }
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get("PUT /services/rest/record/v1/customer/eid:{externalId}"),
        JOBS as u64,
        "one customer write per job: {calls:?}"
    );
    let (_, governance) = mesh.get("/v1/governance", Some(ADMIN_KEY)).await;
    assert!(governance["salesforce_hold"].is_null(), "{governance}");

    // The click goes through again.
    let (status, body) = mesh.sync_account(&clicked, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mesh.ns_where("customer", "externalId", &clicked).len(), 1);
}

on_both_stores!(
    allocation_exhausted,
    queued_and_clicked_work_waits_for_the_allocation_and_completes_once,
    adjust
);

//! The API allocation, the documented limits and the lifespan of finished jobs.

use isthmus_sandbox::BulkLimits;
use reqwest::Method;
use serde_json::json;

use super::{account_names, Bulk};
use crate::harness::empty;

#[tokio::test]
async fn every_bulk_request_spends_one_unit_of_the_allocation() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let org = h.sandbox.salesforce_org();
    org.set_api_allocation(1000, 0);
    let id = bulk
        .create_ingest(json!({"object": "Account", "operation": "insert"}))
        .await;
    let rows: String = (0..1000).map(|i| format!("Account {i}\n")).collect();
    let upload = bulk
        .request(Method::PUT, &format!("ingest/{id}/batches"))
        .header("content-type", "text/csv")
        .body(format!("Name\n{rows}"))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
    assert_eq!(upload.headers()["sforce-limit-info"], "api-usage=2/1000");
    bulk.set_state("ingest", &id, "UploadComplete").await;
    assert_eq!(org.api_allocation(), (1000, 3));
    let info = bulk.wait("ingest", &id).await;
    assert_eq!(info["numberRecordsProcessed"], 1000);
    assert_eq!(h.sandbox.sf_records("Account").len(), 1000);
    org.set_api_allocation(1000, 1000);
    let (status, error) = bulk
        .json(
            Method::POST,
            "ingest",
            json!({"object": "Account", "operation": "insert"}),
        )
        .await;
    assert_eq!(
        (status, error[0]["errorCode"].clone()),
        (403, json!("REQUEST_LIMIT_EXCEEDED"))
    );
}

#[tokio::test]
async fn uploads_and_query_jobs_over_the_documented_limits_are_refused() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let org = h.sandbox.salesforce_org();
    org.set_bulk_limits(BulkLimits {
        upload_base64_bytes: 40,
        query_jobs_per_day: 1,
        ..BulkLimits::default()
    });
    let id = bulk
        .create_ingest(json!({"object": "Account", "operation": "insert"}))
        .await;
    // 31 bytes are 44 bytes of base64.
    assert_eq!(
        bulk.upload(&id, "Name\nAaaaaaaaaaa\nBbbbbbbbbbbbb\n").await,
        413
    );
    assert_eq!(bulk.upload(&id, "Name\nA\nB\nC\n").await, 201);
    let query = json!({"operation": "query", "query": "SELECT Name FROM Account"});
    assert_eq!(bulk.json(Method::POST, "query", query.clone()).await.0, 200);
    let (status, error) = bulk.json(Method::POST, "query", query).await;
    assert_eq!(
        (status, error[0]["errorCode"].clone()),
        (400, json!("EXCEEDED_QUOTA"))
    );
    let (_, limits) = bulk.json(Method::GET, "../limits", json!({})).await;
    assert_eq!(
        limits["DailyBulkV2QueryJobs"],
        json!({"Max": 1, "Remaining": 0})
    );
    assert_eq!(
        limits["DailyBulkApiBatches"],
        json!({"Max": 15000, "Remaining": 15000})
    );
    assert!(h.sandbox.sf_records("Account").is_empty());
}

#[tokio::test]
async fn past_the_daily_records_limit_a_job_fails_and_leaves_the_rest_unprocessed() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    h.sandbox.salesforce_org().set_bulk_limits(BulkLimits {
        records_per_day: 5,
        batch_records: 2,
        ..BulkLimits::default()
    });
    let (id, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            "Name\nA\nB\nC\nD\nE\nF\nG\n",
        )
        .await;
    // Batches of 2: A B, C D pass (4 records); E F would make 6.
    assert_eq!(info["state"], "Failed");
    assert!(info["errorMessage"]
        .as_str()
        .unwrap()
        .contains("records processed in 24 hours"));
    assert_eq!(info["numberRecordsProcessed"], 4);
    assert_eq!(account_names(&h), ["A", "B", "C", "D"]);
    let unprocessed = bulk.text(&format!("ingest/{id}/unprocessedrecords")).await;
    assert_eq!(unprocessed, "\"Name\"\n\"E\"\n\"F\"\n\"G\"\n");
    let (_, limits) = bulk.json(Method::GET, "../limits", json!({})).await;
    // The parent batch and two batches of records.
    assert_eq!(limits["DailyBulkApiBatches"]["Remaining"], 15000 - 3);
}

#[tokio::test]
async fn a_finished_job_is_gone_after_seven_days() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let (id, _) = bulk
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            "Name\nA\n",
        )
        .await;
    let org = h.sandbox.salesforce_org();
    org.shift_clock(chrono::Duration::days(6));
    assert_eq!(bulk.get(&format!("ingest/{id}")).await.status(), 200);
    org.shift_clock(chrono::Duration::days(2));
    assert_eq!(bulk.get(&format!("ingest/{id}")).await.status(), 404);
    org.reset_clock();
}

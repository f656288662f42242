//! Ingest jobs: writes, results, failures, the state machine, abort.

use std::time::Duration;

use isthmus_sandbox::BulkLimits;
use reqwest::Method;
use serde_json::{json, Value};

use super::{account_names, Bulk};
use crate::harness::empty;

#[tokio::test]
async fn an_insert_job_writes_the_valid_rows_and_reports_every_row() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    h.sandbox.reset_calls();
    let csv = "Name,Industry,BillingCity\nAcme,Retail,\"Lyon, FR\"\n,Energy,Paris\nGlobex,,\n";
    let (id, info) = bulk
        .ingest(json!({"object": "Account", "operation": "insert"}), csv)
        .await;
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(bulk.upload(&id, "Name\nLate\n").await, 400);
    assert_eq!(info["numberRecordsProcessed"], 3);
    assert_eq!(info["numberRecordsFailed"], 1);
    assert_eq!(account_names(&h), ["Acme", "Globex"]);
    let acme = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .find(|a| a["Name"] == "Acme")
        .unwrap();
    assert_eq!(acme["BillingCity"], "Lyon, FR");
    assert_eq!(
        acme["CreatedById"],
        h.sandbox.salesforce_org().integration_user_id
    );
    assert_eq!(acme["SystemModstamp"], acme["CreatedDate"]);

    let successful = bulk.text(&format!("ingest/{id}/successfulResults/")).await;
    let lines: Vec<&str> = successful.lines().collect();
    assert_eq!(
        lines[0],
        r#""sf__Id","sf__Created","Name","Industry","BillingCity""#
    );
    assert_eq!(
        lines[1],
        format!(
            r#""{}","true","Acme","Retail","Lyon, FR""#,
            acme["Id"].as_str().unwrap()
        )
    );
    assert_eq!(lines.len(), 3);
    let failed = bulk.text(&format!("ingest/{id}/failedResults/")).await;
    let lines: Vec<&str> = failed.lines().collect();
    assert_eq!(
        lines[0],
        r#""sf__Id","sf__Error","Name","Industry","BillingCity""#
    );
    assert!(
        lines[1].starts_with(r#""","REQUIRED_FIELD_MISSING:"#),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(r#":Name --","","Energy","Paris""#),
        "{}",
        lines[1]
    );
    let calls = h.sandbox.calls();
    assert_eq!(calls.get("POST /services/data/vXX.X/jobs/ingest"), 1);
    assert_eq!(
        calls.get("PUT /services/data/vXX.X/jobs/ingest/{jobId}/batches"),
        2
    );
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/jobs/ingest/{jobId}"),
        1
    );
    assert_eq!(
        calls.get("GET /services/data/vXX.X/jobs/ingest/{jobId}/successfulResults"),
        1
    );
    assert_eq!(calls.get("POST /services/data/vXX.X/composite/sobjects"), 0);
}

#[tokio::test]
async fn an_upsert_job_matches_by_external_id_and_fails_repeated_keys() {
    let h = empty().await;
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Old Name"));
    fields.insert("NetSuite_Id__c".into(), json!("NS-1"));
    let existing = h.sandbox.sf_insert("Account", fields).unwrap();
    let bulk = Bulk::new(&h).await;
    let csv = "NetSuite_Id__c,Name\nNS-1,New Name\nNS-2,Second\nNS-3,Third A\nNS-3,Third B\n";
    let (id, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "NetSuite_Id__c", "lineEnding": "LF", "columnDelimiter": "COMMA"}),
            csv,
        )
        .await;
    assert_eq!(info["externalIdFieldName"], "NetSuite_Id__c");
    assert_eq!(info["numberRecordsProcessed"], 4);
    assert_eq!(info["numberRecordsFailed"], 2);
    assert_eq!(account_names(&h), ["New Name", "Second"]);
    let successful = bulk.text(&format!("ingest/{id}/successfulResults")).await;
    assert!(successful.contains(&format!(r#""{existing}","false","NS-1","New Name""#)));
    assert!(successful.contains(r#""true","NS-2","Second""#));
    let failed = bulk.text(&format!("ingest/{id}/failedResults")).await;
    assert_eq!(
        failed
            .matches("DUPLICATE_VALUE:Duplicate external id specified: NS-3")
            .count(),
        2
    );
}

#[tokio::test]
async fn update_and_delete_jobs_change_and_remove_the_named_records() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let (id, _) = bulk
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            "Name\nA\nB\nC\n",
        )
        .await;
    let ids: Vec<String> = bulk
        .text(&format!("ingest/{id}/successfulResults"))
        .await
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().trim_matches('"').to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    let csv = format!(
        "Id|Name\n{}|A2\n{}|B2\n001000000000000AAA|Ghost\n",
        ids[0], ids[1]
    );
    let (_, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "update", "columnDelimiter": "PIPE"}),
            &csv,
        )
        .await;
    assert_eq!(info["numberRecordsFailed"], 1);
    assert_eq!(account_names(&h), ["A2", "B2", "C"]);
    let (del, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "delete", "lineEnding": "CRLF"}),
            &format!("Id\r\n{}\r\n{}\r\n", ids[0], ids[2]),
        )
        .await;
    assert_eq!(info["numberRecordsProcessed"], 2);
    assert_eq!(info["numberRecordsFailed"], 0);
    assert_eq!(account_names(&h), ["B2"]);
    let successful = bulk.text(&format!("ingest/{del}/successfulResults")).await;
    assert!(successful.starts_with("\"sf__Id\",\"sf__Created\",\"Id\"\r\n"));
}

#[tokio::test]
async fn a_job_with_an_unknown_column_or_bad_csv_fails_and_writes_nothing() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let (id, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            "Name,Colour__c\nA,red\n",
        )
        .await;
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "InvalidBatch : Field name not found : Colour__c"
    );
    assert_eq!(info["numberRecordsProcessed"], 0);
    let (_, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            "Name\n\"Unterminated\n",
        )
        .await;
    assert_eq!(info["state"], "Failed");
    let (_, info) = bulk
        .ingest(
            json!({"object": "Account", "operation": "insert"}),
            "Name\r\nA\r\n",
        )
        .await;
    assert_eq!(info["state"], "Failed");
    assert!(info["errorMessage"]
        .as_str()
        .unwrap()
        .contains("LineEnding"));
    assert!(h.sandbox.sf_records("Account").is_empty());
    let failed = bulk.text(&format!("ingest/{id}/failedResults")).await;
    assert_eq!(failed.lines().count(), 1);
}

#[tokio::test]
async fn the_state_machine_refuses_out_of_order_requests_and_abort_keeps_the_rows() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let id = bulk
        .create_ingest(json!({"object": "Account", "operation": "insert"}))
        .await;
    let wrong_type = bulk
        .request(Method::PUT, &format!("ingest/{id}/batches"))
        .header("content-type", "application/json")
        .body("Name\nA\n")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    let (status, body) = bulk
        .json(
            Method::GET,
            &format!("ingest/{id}/failedResults"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body[0]["errorCode"].clone()),
        (400, json!("INVALIDJOBSTATE"))
    );
    assert_eq!(bulk.upload(&id, "Name\nA\nB\n").await, 201);
    assert_eq!(bulk.upload(&id, "Name\nC\n").await, 400);
    let (status, info) = bulk.set_state("ingest", &id, "Aborted").await;
    assert_eq!((status, info["state"].clone()), (200, json!("Aborted")));
    let (status, body) = bulk.set_state("ingest", &id, "UploadComplete").await;
    assert_eq!(
        (status, body[0]["errorCode"].clone()),
        (400, json!("INVALIDJOBSTATE"))
    );
    assert_eq!(bulk.upload(&id, "Name\nC\n").await, 400);
    let unprocessed = bulk.text(&format!("ingest/{id}/unprocessedrecords/")).await;
    assert_eq!(unprocessed, "\"Name\"\n\"A\"\n\"B\"\n");
    assert!(h.sandbox.sf_records("Account").is_empty());
    let delete = bulk
        .request(Method::DELETE, &format!("ingest/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    assert_eq!(bulk.get(&format!("ingest/{id}")).await.status(), 404);
}

#[tokio::test]
async fn a_bulk_insert_saves_what_the_same_rest_insert_saves() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let rest = h
        .sf(
            Method::POST,
            "sobjects/Opportunity",
            Some(json!({"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2026-12-31"})),
        )
        .await;
    assert_eq!(rest.status(), 201);
    let rest_id = rest.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (id, info) = bulk
        .ingest(
            json!({"object": "Opportunity", "operation": "insert"}),
            "Name,StageName,CloseDate\nDeal,Closed Won,2026-12-31\n",
        )
        .await;
    assert_eq!(info["numberRecordsFailed"], 0);
    let successful = bulk.text(&format!("ingest/{id}/successfulResults")).await;
    let bulk_id = successful
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let by_rest = h.sandbox.sf_record("Opportunity", &rest_id).unwrap();
    let by_bulk = h
        .sandbox
        .sf_record("Opportunity", bulk_id.trim_matches('"'))
        .unwrap();
    assert_eq!(by_bulk["IsWon"], json!(true));
    for (field, value) in &by_rest {
        if !["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"].contains(&field.as_str()) {
            assert_eq!(&by_bulk[field], value, "{field}");
        }
    }
}

#[tokio::test]
async fn an_abort_while_processing_leaves_every_row_written_or_unprocessed() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    h.sandbox.salesforce_org().set_bulk_limits(BulkLimits {
        chunk_records: 1,
        ..BulkLimits::default()
    });
    let id = bulk
        .create_ingest(json!({"object": "Account", "operation": "insert"}))
        .await;
    let rows: String = (0..2000).map(|i| format!("Row {i}\n")).collect();
    assert_eq!(bulk.upload(&id, &format!("Name\n{rows}")).await, 201);
    bulk.set_state("ingest", &id, "UploadComplete").await;
    let (status, info) = bulk.set_state("ingest", &id, "Aborted").await;
    assert_eq!((status, info["state"].clone()), (200, json!("Aborted")));
    // The task sees the abort before its next chunk at the latest, then leaves the rest.
    let (mut processed, mut unprocessed_rows) = (0, 0);
    for _ in 0..250 {
        let info: Value = bulk
            .get(&format!("ingest/{id}"))
            .await
            .json()
            .await
            .unwrap();
        processed = info["numberRecordsProcessed"].as_u64().unwrap();
        let unprocessed = bulk.text(&format!("ingest/{id}/unprocessedrecords")).await;
        unprocessed_rows = unprocessed.lines().count().saturating_sub(1) as u64;
        if processed + unprocessed_rows == 2000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        processed + unprocessed_rows,
        2000,
        "{processed} + {unprocessed_rows}"
    );
    assert!(processed < 2000, "the abort came after every chunk");
    assert_eq!(h.sandbox.sf_records("Account").len() as u64, processed);
    let successful = bulk.text(&format!("ingest/{id}/successfulResults")).await;
    assert_eq!(successful.lines().count() as u64, processed + 1);
}

#[tokio::test]
async fn each_job_list_holds_the_jobs_of_its_own_kind() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let ingest = bulk
        .create_ingest(json!({"object": "Account", "operation": "insert"}))
        .await;
    let (status, query) = bulk
        .json(
            Method::POST,
            "query",
            json!({"operation": "query", "query": "SELECT Id FROM Account"}),
        )
        .await;
    assert_eq!(status, 200, "{query}");
    for (kind, id) in [
        ("ingest", ingest.as_str()),
        ("query", query["id"].as_str().unwrap()),
    ] {
        let list: Value = bulk.get(kind).await.json().await.unwrap();
        assert_eq!(list["done"], true, "{list}");
        assert_eq!(list["nextRecordsUrl"], Value::Null, "{list}");
        let ids: Vec<&str> = list["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [id], "GET jobs/{kind} lists its own kind only: {list}");
    }
}

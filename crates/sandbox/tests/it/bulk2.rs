//! Bulk API 2.0: ingest jobs (create, CSV upload, `UploadComplete`, background processing,
//! result files), query jobs (CSV pages behind `Sforce-Locator`), the state machine, the limits,
//! and the API allocation each request spends. The proof is the org's records and the call counts.

use std::time::Duration;

use isthmus_sandbox::BulkLimits;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

const JOBS: &str = "/services/data/v61.0/jobs";

/// A Bulk API 2.0 client over one session.
struct Bulk<'a> {
    h: &'a Harness,
    token: String,
}

impl<'a> Bulk<'a> {
    async fn new(h: &'a Harness) -> Self {
        let token = h.sf_token().await;
        Self { h, token }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.h
            .http
            .request(method, format!("{}{JOBS}/{path}", self.h.sf))
            .bearer_auth(&self.token)
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let response = self.request(method, path).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    async fn create_ingest(&self, body: Value) -> String {
        let (status, info) = self.json(Method::POST, "ingest", body).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["state"], "Open");
        info["id"].as_str().unwrap().to_owned()
    }

    async fn upload(&self, id: &str, csv: &str) -> u16 {
        self.request(Method::PUT, &format!("ingest/{id}/batches"))
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn set_state(&self, kind: &str, id: &str, state: &str) -> (u16, Value) {
        self.json(
            Method::PATCH,
            &format!("{kind}/{id}"),
            json!({ "state": state }),
        )
        .await
    }

    /// Polls the job until it has an outcome; returns its info.
    async fn wait(&self, kind: &str, id: &str) -> Value {
        for _ in 0..500 {
            let info: Value = self
                .get(&format!("{kind}/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if ["JobComplete", "Failed", "Aborted"].contains(&info["state"].as_str().unwrap()) {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {id} did not finish");
    }

    /// Creates, uploads, closes and waits for an ingest job.
    async fn ingest(&self, job: Value, csv: &str) -> (String, Value) {
        let id = self.create_ingest(job).await;
        assert_eq!(self.upload(&id, csv).await, 201);
        let (status, info) = self.set_state("ingest", &id, "UploadComplete").await;
        assert_eq!(status, 200, "{info}");
        let info = self.wait("ingest", &id).await;
        (id, info)
    }

    async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

fn account_names(h: &Harness) -> Vec<String> {
    let mut names: Vec<String> = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .map(|a| a["Name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

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
        1
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
async fn job_definitions_salesforce_refuses_are_refused() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    for body in [
        json!({"object": "Nope__c", "operation": "insert"}),
        json!({"object": "Account", "operation": "merge"}),
        json!({"object": "Account", "operation": "upsert"}),
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}),
        json!({"object": "Account", "operation": "insert", "contentType": "JSON"}),
        json!({"object": "Account", "operation": "insert", "columnDelimiter": "STAR"}),
    ] {
        let (status, error) = bulk.json(Method::POST, "ingest", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error[0]["errorCode"], "INVALIDJOB", "{body}");
    }
    for query in [
        "SELECT COUNT() FROM Account",
        "SELECT Name FROM Account LIMIT 5 OFFSET 2",
        "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
        "SELECT Nope FROM Account",
    ] {
        let (status, error) = bulk
            .json(
                Method::POST,
                "query",
                json!({"operation": "query", "query": query}),
            )
            .await;
        assert_eq!(status, 400, "{query}: {error}");
    }
    let (_, listed) = bulk.json(Method::GET, "ingest", json!({})).await;
    assert_eq!(listed["records"], json!([]));
}

#[tokio::test]
async fn a_query_job_pages_csv_with_locators_and_dotted_parent_fields() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Parent \"Co\""));
    let parent = h.sandbox.sf_insert("Account", fields).unwrap();
    for i in 0..5 {
        let mut contact = serde_json::Map::new();
        contact.insert("LastName".into(), json!(format!("L{i}")));
        if i < 4 {
            contact.insert("AccountId".into(), json!(parent));
        }
        h.sandbox.sf_insert("Contact", contact).unwrap();
    }
    h.sandbox.reset_calls();
    let (status, info) = bulk
        .json(
            Method::POST,
            "query",
            json!({"operation": "query", "query": "SELECT LastName, Account.Name FROM Contact ORDER BY LastName"}),
        )
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["state"], "UploadComplete");
    assert_eq!(info["object"], "Contact");
    let id = info["id"].as_str().unwrap().to_owned();
    let info = bulk.wait("query", &id).await;
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["numberRecordsProcessed"], 5);
    let mut locator = String::new();
    let mut pages = Vec::new();
    loop {
        let mut path = format!("query/{id}/results?maxRecords=2");
        if !locator.is_empty() {
            path.push_str(&format!("&locator={locator}"));
        }
        let response = bulk.get(&path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv");
        let count = response.headers()["sforce-numberofrecords"]
            .to_str()
            .unwrap()
            .to_owned();
        locator = response.headers()["sforce-locator"]
            .to_str()
            .unwrap()
            .to_owned();
        pages.push((count, response.text().await.unwrap()));
        if locator == "null" {
            break;
        }
    }
    let counts: Vec<&str> = pages.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(counts, ["2", "2", "1"]);
    assert_eq!(
        pages[0].1,
        "\"LastName\",\"Account.Name\"\n\"L0\",\"Parent \"\"Co\"\"\"\n\"L1\",\"Parent \"\"Co\"\"\"\n"
    );
    assert_eq!(pages[2].1, "\"LastName\",\"Account.Name\"\n\"L4\",\"\"\n");
    let calls = h.sandbox.calls();
    assert_eq!(calls.get("POST /services/data/vXX.X/jobs/query"), 1);
    assert_eq!(
        calls.get("GET /services/data/vXX.X/jobs/query/{jobId}/results"),
        3
    );
    let (status, error) = bulk
        .json(
            Method::GET,
            &format!("query/{id}/results?locator=bogus"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error[0]["errorCode"].clone()),
        (400, json!("INVALIDLOCATOR"))
    );
}

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
        records_per_day: 3,
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
    assert_eq!(bulk.upload(&id, "Name\nA\nB\nC\nD\n").await, 400);
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
    assert!(h.sandbox.sf_records("Account").is_empty());
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

//! Query jobs and job definitions Salesforce refuses.

use reqwest::Method;
use serde_json::json;

use super::Bulk;
use crate::harness::empty;

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
async fn a_query_job_selecting_id_and_typed_fields_writes_them_as_text() {
    let h = empty().await;
    let bulk = Bulk::new(&h).await;
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Typed"));
    fields.insert("Balance__c".into(), json!(1250.5));
    fields.insert("Last_Payment_Date__c".into(), json!("2026-11-02"));
    let id = h.sandbox.sf_insert("Account", fields).unwrap();
    let (status, info) = bulk
        .json(
            Method::POST,
            "query",
            json!({"operation": "query", "query": "SELECT Id, Name, Balance__c, Last_Payment_Date__c, Phone FROM Account", "columnDelimiter": "TAB"}),
        )
        .await;
    assert_eq!(status, 200, "{info}");
    let job = info["id"].as_str().unwrap().to_owned();
    assert_eq!(bulk.wait("query", &job).await["state"], "JobComplete");
    let csv = bulk.text(&format!("query/{job}/results")).await;
    assert_eq!(
        csv,
        format!("\"Id\"\t\"Name\"\t\"Balance__c\"\t\"Last_Payment_Date__c\"\t\"Phone\"\n\"{id}\"\t\"Typed\"\t\"1250.5\"\t\"2026-11-02\"\t\"\"\n")
    );
}

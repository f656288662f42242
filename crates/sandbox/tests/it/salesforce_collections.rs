//! sObject Collections: many records in one API call, per-record results in request order, and
//! `allOrNone` rolling everything back.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::empty;

fn account(name: &str) -> Value {
    json!({"attributes": {"type": "Account"}, "Name": name})
}

async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn create_reports_each_record_in_order_and_keeps_the_valid_ones() {
    let h = empty().await;
    h.sandbox.reset_calls();
    let (status, results) = body(
        h.sf(
            Method::POST,
            "composite/sobjects",
            Some(json!({"allOrNone": false, "records": [
                account("Alpha"),
                {"attributes": {"type": "Contact"}, "FirstName": "No", "Email": "no@x.example"},
                account("Gamma"),
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(results[0]["success"], true);
    assert!(results[0]["id"].as_str().unwrap().starts_with("001"));
    assert_eq!(results[1]["success"], false);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[1]["errors"][0]["fields"], json!(["LastName"]));
    assert_eq!(results[2]["success"], true);
    let names: Vec<Value> = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .map(|a| a["Name"].clone())
        .collect();
    assert_eq!(names, [json!("Alpha"), json!("Gamma")]);
    assert_eq!(
        h.sandbox
            .calls()
            .get("POST /services/data/vXX.X/composite/sobjects"),
        1
    );
}

#[tokio::test]
async fn all_or_none_rolls_back_every_record_when_one_fails() {
    let h = empty().await;
    let (status, results) = body(
        h.sf(
            Method::POST,
            "composite/sobjects",
            Some(json!({"allOrNone": true, "records": [
                account("Alpha"),
                {"attributes": {"type": "Account"}, "Phone": "555"},
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        results[0],
        json!({"success": false, "errors": [{
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
            "fields": []
        }]})
    );
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert!(h.sandbox.sf_records("Account").is_empty());
}

#[tokio::test]
async fn more_than_200_records_is_refused_whole() {
    let h = empty().await;
    let records: Vec<Value> = (0..201).map(|i| account(&format!("A{i}"))).collect();
    let (status, error) = body(
        h.sf(
            Method::POST,
            "composite/sobjects",
            Some(json!({"records": records})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error[0]["errorCode"], "EXCEEDED_ID_LIMIT");
    assert!(h.sandbox.sf_records("Account").is_empty());
}

#[tokio::test]
async fn update_upsert_retrieve_and_delete_many_records() {
    let h = empty().await;
    let (_, created) = body(
        h.sf(
            Method::POST,
            "composite/sobjects",
            Some(json!({"records": [account("Alpha"), account("Beta")]})),
        )
        .await,
    )
    .await;
    let alpha = created[0]["id"].as_str().unwrap().to_owned();
    let beta = created[1]["id"].as_str().unwrap().to_owned();

    let (status, updated) = body(
        h.sf(
            Method::PATCH,
            "composite/sobjects",
            Some(json!({"records": [
                {"attributes": {"type": "Account"}, "id": alpha, "Phone": "111"},
                {"attributes": {"type": "Account"}, "Phone": "222"},
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        updated[0],
        json!({"id": alpha, "success": true, "errors": []})
    );
    assert_eq!(updated[1]["errors"][0]["statusCode"], "MISSING_ARGUMENT");

    // One external id twice in one call is a DUPLICATE_VALUE per row (see below); in two calls,
    // the second updates what the first created.
    let mut upserted = Vec::new();
    for name in ["Delta", "Delta Two"] {
        let (_, results) = body(
            h.sf(
                Method::PATCH,
                "composite/sobjects/Account/NetSuite_Id__c",
                Some(json!({"records": [
                    {"attributes": {"type": "Account"}, "NetSuite_Id__c": "NS-1", "Name": name},
                ]})),
            )
            .await,
        )
        .await;
        upserted.push(results[0].clone());
    }
    assert_eq!(upserted[0]["created"], true);
    assert_eq!(upserted[1]["created"], false);
    assert_eq!(upserted[0]["id"], upserted[1]["id"]);

    let (status, retrieved) = body(
        h.sf(
            Method::GET,
            &format!("composite/sobjects/Account?ids={alpha},{beta}&fields=Name,Phone"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(retrieved[0]["Phone"], "111");
    assert_eq!(retrieved[1]["Name"], "Beta");
    assert_eq!(retrieved[0]["attributes"]["type"], "Account");

    let (status, deleted) = body(
        h.sf(
            Method::DELETE,
            &format!("composite/sobjects?ids={alpha},{beta}&allOrNone=false"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        deleted[0],
        json!({"id": alpha, "success": true, "errors": []})
    );
    assert_eq!(deleted[1]["success"], true);
    let (_, again) = body(
        h.sf(
            Method::DELETE,
            &format!("composite/sobjects?ids={alpha}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(again[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    let remaining: Vec<Value> = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .map(|a| a["Name"].clone())
        .collect();
    assert_eq!(remaining, [json!("Delta Two")]);
}

#[tokio::test]
async fn retrieve_answers_null_for_records_that_do_not_exist() {
    let h = empty().await;
    let id = h
        .sandbox
        .sf_insert(
            "Account",
            json!({"Name": "Only"}).as_object().unwrap().clone(),
        )
        .unwrap();
    h.sf(Method::DELETE, &format!("sobjects/Account/{id}"), None)
        .await;
    let (_, retrieved) = body(
        h.sf(
            Method::GET,
            &format!("composite/sobjects/Account?ids={id}&fields=Name"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(retrieved, json!([null]));
}

#[tokio::test]
async fn an_upsert_naming_one_external_id_twice_fails_those_rows_and_saves_the_rest() {
    let h = empty().await;
    let upsert = |name: &str, ext: &str| json!({"attributes": {"type": "Account"}, "Name": name, "NetSuite_Id__c": ext});
    let (status, results) = body(
        h.sf(
            Method::PATCH,
            "composite/sobjects/Account/NetSuite_Id__c",
            Some(json!({"allOrNone": false, "records": [
                upsert("One", "101"), upsert("Two", "102"), upsert("Uno", "101"),
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{results}");
    for row in [0, 2] {
        assert_eq!(results[row]["success"], false, "{results}");
        let error = &results[row]["errors"][0];
        assert_eq!(error["statusCode"], "DUPLICATE_VALUE", "{results}");
        assert_eq!(error["fields"], json!(["NetSuite_Id__c"]), "{results}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("Duplicate external id specified: 101"),
            "{results}"
        );
    }
    assert_eq!(results[1]["success"], true, "{results}");
    assert_eq!(results[1]["created"], true, "{results}");
    // Neither duplicate was merged nor saved: only "Two" exists.
    let names: Vec<Value> = h
        .sandbox
        .sf_records("Account")
        .into_iter()
        .map(|a| a["Name"].clone())
        .collect();
    assert_eq!(names, [json!("Two")]);
}

#[tokio::test]
async fn an_update_naming_one_id_twice_fails_both_rows_in_either_id_form() {
    let h = empty().await;
    let id = h
        .sandbox
        .sf_insert(
            "Account",
            json!({"Name": "Before"}).as_object().unwrap().clone(),
        )
        .unwrap();
    let other = h
        .sandbox
        .sf_insert(
            "Account",
            json!({"Name": "Other"}).as_object().unwrap().clone(),
        )
        .unwrap();
    let row =
        |id: &str, name: &str| json!({"attributes": {"type": "Account"}, "Id": id, "Name": name});
    let (status, results) = body(
        h.sf(
            Method::PATCH,
            "composite/sobjects",
            Some(json!({"allOrNone": false, "records": [
                row(&id, "First"), row(&other, "Other renamed"), row(&id[..15], "Second"),
            ]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{results}");
    for row in [0, 2] {
        assert_eq!(results[row]["success"], false, "{results}");
        assert_eq!(
            results[row]["errors"][0]["statusCode"], "DUPLICATE_VALUE",
            "{results}"
        );
        assert_eq!(results[row]["id"], json!(id), "{results}");
    }
    assert_eq!(results[1]["success"], true, "{results}");
    let account = h.sandbox.sf_record("Account", &id).unwrap();
    assert_eq!(account["Name"], "Before", "neither row was saved");
    let other = h.sandbox.sf_record("Account", &other).unwrap();
    assert_eq!(other["Name"], "Other renamed");
}

//! Composite: up to 25 subrequests in one API call, chained by `@{refId.path}` references.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, seeded};

async fn composite(h: &crate::harness::Harness, request: Value) -> (u16, Value) {
    let response = h.sf(Method::POST, "composite", Some(request)).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn subrequests_chain_through_references_in_one_api_call() {
    let h = empty().await;
    h.sandbox.reset_calls();
    let (status, body) = composite(
        &h,
        json!({"allOrNone": true, "collateSubrequests": false, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Account", "referenceId": "refAccount",
             "body": {"Name": "Chained Inc"}},
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Contact", "referenceId": "refContact",
             "body": {"LastName": "Link", "AccountId": "@{refAccount.id}"}},
            {"method": "GET", "url": "/services/data/v61.0/query?q=SELECT+Id,Name+FROM+Account+WHERE+Id='@{refAccount.id}'",
             "referenceId": "refQuery"},
            {"method": "GET", "url": "/services/data/v61.0/sobjects/Account/@{refQuery.records[0].Id}?fields=Name",
             "referenceId": "refRead"},
            {"method": "PATCH", "url": "/services/data/v61.0/sobjects/Contact/@{refContact.id}", "referenceId": "refUpdate",
             "body": {"Title": "Mr @{refRead.Name}"}},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let responses = body["compositeResponse"].as_array().unwrap();
    let statuses: Vec<u64> = responses
        .iter()
        .map(|r| r["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 200, 200, 204]);
    let account_id = responses[0]["body"]["id"].as_str().unwrap();
    assert_eq!(
        responses[0]["httpHeaders"]["Location"],
        format!("/services/data/v61.0/sobjects/Account/{account_id}")
    );
    assert_eq!(responses[0]["referenceId"], "refAccount");
    assert_eq!(responses[2]["body"]["totalSize"], 1);
    assert_eq!(responses[3]["body"]["Name"], "Chained Inc");
    assert_eq!(responses[4]["body"], Value::Null);
    let contact = &h.sandbox.sf_records("Contact")[0];
    assert_eq!(contact["AccountId"], account_id);
    assert_eq!(contact["Title"], "Mr Chained Inc");
    let calls = h.sandbox.calls();
    assert_eq!(calls.get("POST /services/data/vXX.X/composite"), 1);
    assert_eq!(
        calls.salesforce_total(),
        2,
        "one token call and one API call"
    );
}

#[tokio::test]
async fn all_or_none_rolls_back_everything_and_halts_the_rest() {
    let h = empty().await;
    let (status, body) = composite(
        &h,
        json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Account", "referenceId": "first",
             "body": {"Name": "Kept?"}},
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Contact", "referenceId": "bad",
             "body": {"FirstName": "No last name"}},
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Account", "referenceId": "never",
             "body": {"Name": "Never"}},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let responses = body["compositeResponse"].as_array().unwrap();
    assert_eq!(responses[1]["httpStatusCode"], 400);
    assert_eq!(
        responses[1]["body"][0]["errorCode"],
        "REQUIRED_FIELD_MISSING"
    );
    for halted in [&responses[0], &responses[2]] {
        assert_eq!(halted["httpStatusCode"], 400);
        assert_eq!(halted["body"][0]["errorCode"], "PROCESSING_HALTED");
    }
    assert!(h.sandbox.sf_records("Account").is_empty());
}

#[tokio::test]
async fn without_all_or_none_only_dependents_of_a_failure_are_halted() {
    let h = empty().await;
    let (_, body) = composite(
        &h,
        json!({"allOrNone": false, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Account", "referenceId": "bad",
             "body": {"Phone": "no name"}},
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Contact", "referenceId": "dependent",
             "body": {"LastName": "Orphan", "AccountId": "@{bad.id}"}},
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Account", "referenceId": "independent",
             "body": {"Name": "Standalone"}},
        ]}),
    )
    .await;
    let responses = body["compositeResponse"].as_array().unwrap();
    assert_eq!(
        responses[0]["body"][0]["errorCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(responses[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(responses[2]["httpStatusCode"], 201);
    assert_eq!(h.sandbox.sf_records("Account").len(), 1);
    assert!(h.sandbox.sf_records("Contact").is_empty());
}

#[tokio::test]
async fn collections_inside_an_all_or_none_composite_become_all_or_none() {
    let h = empty().await;
    let (_, body) = composite(
        &h,
        json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v61.0/composite/sobjects", "referenceId": "accounts",
             "body": {"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "Good"},
                {"attributes": {"type": "Account"}, "Phone": "bad"}
             ]}},
        ]}),
    )
    .await;
    let results = &body["compositeResponse"][0]["body"];
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert!(h.sandbox.sf_records("Account").is_empty());
}

#[tokio::test]
async fn more_than_25_subrequests_or_5_queries_are_refused_before_running() {
    let h = seeded().await;
    let creates: Vec<Value> = (0..26)
        .map(|i| {
            json!({"method": "POST", "url": "/services/data/v61.0/sobjects/Account",
                        "referenceId": format!("a{i}"), "body": {"Name": format!("N{i}")}})
        })
        .collect();
    let before = h.sandbox.sf_records("Account").len();
    let (status, body) = composite(&h, json!({"compositeRequest": creates})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["compositeResponse"][0]["body"][0]["errorCode"],
        "LIMIT_EXCEEDED"
    );
    let queries: Vec<Value> = (0..6)
        .map(|i| {
            json!({"method": "GET", "url": "/services/data/v61.0/query?q=SELECT+Id+FROM+Account",
                        "referenceId": format!("q{i}")})
        })
        .collect();
    let (status, _) = composite(&h, json!({"compositeRequest": queries})).await;
    assert_eq!(status, 400);
    assert_eq!(h.sandbox.sf_records("Account").len(), before);
}

#[tokio::test]
async fn queries_and_collections_count_together_against_the_limit_of_five() {
    let h = empty().await;
    let query = |i: usize| {
        json!({"method": "GET", "url": "/services/data/v61.0/query?q=SELECT+Id+FROM+Account",
               "referenceId": format!("q{i}")})
    };
    let collection = |i: usize| {
        json!({"method": "POST", "url": "/services/data/v61.0/composite/sobjects",
               "referenceId": format!("c{i}"),
               "body": {"records": [{"attributes": {"type": "Account"}, "Name": format!("C{i}")}]}})
    };
    let single = |i: usize| {
        json!({"method": "POST", "url": "/services/data/v61.0/sobjects/Account",
               "referenceId": format!("s{i}"), "body": {"Name": format!("S{i}")}})
    };
    // Three queries and three collections: six of the kind, refused, nothing written.
    let over: Vec<Value> = (0..3).map(query).chain((0..3).map(collection)).collect();
    let (status, body) = composite(&h, json!({"compositeRequest": over})).await;
    assert_eq!(status, 400, "{body}");
    let error = &body["compositeResponse"][0]["body"][0];
    assert_eq!(error["errorCode"], "LIMIT_EXCEEDED", "{body}");
    assert!(h.sandbox.sf_records("Account").is_empty());
    // The next batch of a query counts as a query too.
    let more: Vec<Value> = (0..5)
        .map(collection)
        .chain([
            json!({"method": "GET", "url": "/services/data/v61.0/query/01gD0000002HU6KIAW-2000",
                       "referenceId": "more"}),
        ])
        .collect();
    let (status, body) = composite(&h, json!({"compositeRequest": more})).await;
    assert_eq!(status, 400, "{body}");
    assert!(h.sandbox.sf_records("Account").is_empty());
    // Two queries, three collections and twenty single-record calls: at the limits, all run.
    let full: Vec<Value> = (0..2)
        .map(query)
        .chain((0..3).map(collection))
        .chain((0..20).map(single))
        .collect();
    let (status, body) = composite(&h, json!({"compositeRequest": full})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.sandbox.sf_records("Account").len(), 23);
}

#[tokio::test]
async fn malformed_subrequests_refuse_the_whole_request() {
    let h = empty().await;
    let (status, body) = composite(
        &h,
        json!({"compositeRequest": [
            {"method": "POST", "url": "/services/data/v61.0/sobjects/Account", "body": {"Name": "No ref"}},
        ]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_INPUT");
    assert!(h.sandbox.sf_records("Account").is_empty());
}

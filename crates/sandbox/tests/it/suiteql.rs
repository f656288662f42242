use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, seeded};
use crate::signer::{authorization, Options};

#[tokio::test]
async fn suiteql_pages_with_limit_and_offset() {
    let h = seeded().await;
    let q = json!({"q": "SELECT id, companyname, isinactive FROM customer ORDER BY id"});
    let first: Value = h
        .ns(
            Method::POST,
            "query/v1/suiteql?limit=5&offset=0",
            Some(q.clone()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["count"], 5);
    assert_eq!(first["hasMore"], true);
    assert_eq!(first["totalResults"], isthmus_sandbox::seed::CUSTOMER_COUNT);
    assert_eq!(first["offset"], 0);
    assert_eq!(
        first["items"][0],
        json!({"links": [], "id": "101", "companyname": "ACME Corp.", "isinactive": "F"})
    );
    let next = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next.ends_with("limit=5&offset=5"));
    let last: Value = h
        .ns(
            Method::POST,
            "query/v1/suiteql?limit=5&offset=10",
            Some(q.clone()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["count"], 2);
    assert_eq!(last["hasMore"], false);
    let misaligned = h
        .ns(Method::POST, "query/v1/suiteql?limit=5&offset=3", Some(q))
        .await;
    assert_eq!(misaligned.status(), 400);
    let body: Value = misaligned.json().await.unwrap();
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        "INVALID_PARAMETER"
    );
}

#[tokio::test]
async fn suiteql_handles_quoted_literals_joins_and_omits_nulls() {
    let h = seeded().await;
    let q = json!({"q": "SELECT c.companyname, c.url, a.city FROM customer c JOIN customeraddressbook b ON b.entity = c.id JOIN customeraddressbookentityaddress a ON a.nkey = b.addressbookaddress WHERE c.companyname IN ('ACME Corp.', 'Initech, Inc.') ORDER BY c.companyname"});
    let body: Value = h
        .ns(Method::POST, "query/v1/suiteql", Some(q))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"][0]["city"], "San Francisco");
    assert!(body["items"][1].get("url").is_none());
    let id = h
        .sandbox
        .ns_insert(
            "customer",
            json!({"companyName": "O'Brien \\ Sons Ltd"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
    let q = json!({"q": "SELECT id FROM customer WHERE companyname = 'O''Brien \\ Sons Ltd'"});
    let body: Value = h
        .ns(Method::POST, "query/v1/suiteql", Some(q))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"][0]["id"], id);
}

#[tokio::test]
async fn suiteql_requires_prefer_transient_and_valid_select() {
    let h = empty().await;
    let url = format!("{}/services/rest/query/v1/suiteql", h.ns);
    let without_prefer = h
        .http
        .post(&url)
        .header(
            "authorization",
            authorization("POST", &url, &Options::default()),
        )
        .json(&json!({"q": "SELECT id FROM customer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(without_prefer.status(), 400);
    for q in [
        "SELEC id FROM customer",
        "DELETE FROM customer",
        "SELECT nope FROM customer",
    ] {
        let response = h
            .ns(Method::POST, "query/v1/suiteql", Some(json!({ "q": q })))
            .await;
        assert_eq!(response.status(), 400, "{q}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["o:errorDetails"][0]["o:errorCode"],
            "INVALID_PARAMETER"
        );
        assert!(body["o:errorDetails"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid search query"));
    }
}

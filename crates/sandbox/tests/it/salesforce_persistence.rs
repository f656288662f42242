//! `SandboxConfig::persist_path` keeps the Salesforce org too, in `<path>.salesforce`: records
//! written over HTTP survive a restart, the seed is loaded only into a new file, and new ids
//! continue after the highest in use. Sessions do not survive a restart.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{start, Harness, PersistPath};
use isthmus_sandbox::seed;

/// The case-safe suffix of a 15-character Salesforce id, computed as Salesforce documents it.
fn checksum(base: &str) -> String {
    const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    base.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0, |acc, (i, _)| acc | (1 << i));
            SUFFIX[bits] as char
        })
        .collect()
}

async fn create(h: &Harness, sobject: &str, body: Value) -> String {
    let response = h
        .sf(Method::POST, &format!("sobjects/{sobject}"), Some(body))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let json: Value = response.json().await.unwrap();
    json["id"].as_str().unwrap().to_owned()
}

async fn rows(h: &Harness, soql: &str) -> Vec<Value> {
    let response = h.soql(soql).await;
    assert_eq!(response.status(), StatusCode::OK, "{soql}");
    let body: Value = response.json().await.unwrap();
    body["records"].as_array().unwrap().clone()
}

#[tokio::test]
async fn records_written_over_http_survive_a_restart_but_sessions_do_not() {
    let path = PersistPath::new("restart");
    let before = start(path.config(false)).await;
    let account = create(
        &before,
        "Account",
        json!({ "Name": "Persisted Corp", "Industry": "Energy" }),
    )
    .await;
    create(
        &before,
        "Contact",
        json!({ "LastName": "Lovelace", "AccountId": account }),
    )
    .await;
    let customer = before
        .ns(
            Method::POST,
            "record/v1/customer",
            Some(json!({ "companyName": "Persisted Corp" })),
        )
        .await;
    assert_eq!(customer.status(), StatusCode::NO_CONTENT);
    let customer_url = customer.headers()["location"].to_str().unwrap().to_owned();
    let customer_id = customer_url.rsplit('/').next().unwrap().to_owned();
    let old_token = before.sf_token().await;
    drop(before);

    let after = start(path.config(false)).await;
    let accounts = rows(
        &after,
        "SELECT Id, Name, Industry, (SELECT LastName FROM Contacts) FROM Account",
    )
    .await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["Id"], account);
    assert_eq!(accounts[0]["Industry"], "Energy");
    assert_eq!(
        accounts[0]["Contacts"]["records"][0]["LastName"],
        "Lovelace"
    );
    let customer = after
        .ns(
            Method::GET,
            &format!("record/v1/customer/{customer_id}"),
            None,
        )
        .await;
    assert_eq!(customer.status(), StatusCode::OK);
    let customer: Value = customer.json().await.unwrap();
    assert_eq!(customer["companyName"], "Persisted Corp");
    // Tokens live in memory: a client signs in again after a restart.
    let stale = after
        .http
        .get(format!(
            "{}/services/data/v61.0/sobjects/Account/{account}",
            after.sf
        ))
        .bearer_auth(old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_persisted_org_is_seeded_only_when_its_file_is_new() {
    let path = PersistPath::new("seed-once");
    let first = start(path.config(true)).await;
    assert_eq!(
        first.sandbox.sf_records("Account").len(),
        seed::ACCOUNT_COUNT
    );
    let demo = seed::demo_account_id(&first.sandbox).unwrap();
    let deleted = first
        .sf(Method::DELETE, &format!("sobjects/Account/{demo}"), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let added = create(&first, "Account", json!({ "Name": "After Seed Ltd" })).await;
    let pricebooks = first.sandbox.sf_records("Pricebook2");
    drop(first);

    let second = start(path.config(true)).await;
    let accounts = second.sandbox.sf_records("Account");
    assert_eq!(accounts.len(), seed::ACCOUNT_COUNT);
    assert!(accounts.iter().all(|a| a["Id"] != demo.as_str()));
    assert!(accounts.iter().any(|a| a["Id"] == added.as_str()));
    // The org's own records are not made again either.
    assert_eq!(second.sandbox.sf_records("User").len(), 2);
    assert_eq!(second.sandbox.sf_records("Pricebook2"), pricebooks);
    // The deleted account stays in the recycle bin.
    let all = second
        .sf(
            Method::GET,
            &format!(
                "queryAll?q={}",
                crate::harness::urlencode(&format!(
                    "SELECT Id, IsDeleted FROM Account WHERE Id = '{demo}'"
                ))
            ),
            None,
        )
        .await;
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["records"][0]["IsDeleted"], true);
}

#[tokio::test]
async fn new_ids_continue_after_the_highest_in_use_with_a_valid_checksum() {
    let path = PersistPath::new("ids");
    let first = start(path.config(false)).await;
    let mut before = Vec::new();
    for name in ["One", "Two", "Three"] {
        before.push(create(&first, "Account", json!({ "Name": name })).await);
    }
    // The highest id is only in the recycle bin now: it must not be handed out again.
    let highest = before.last().unwrap().clone();
    let deleted = first
        .sf(Method::DELETE, &format!("sobjects/Account/{highest}"), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    drop(first);

    let second = start(path.config(false)).await;
    let next = create(&second, "Account", json!({ "Name": "Four" })).await;
    assert_eq!(next.len(), 18);
    assert_eq!(&next[..3], "001");
    assert_eq!(next[15..], checksum(&next[..15]));
    // Base-62 digits in ASCII order: a later id sorts after every earlier one.
    assert!(before.iter().all(|id| id[..15] < next[..15]), "{next}");
    let rows = rows(
        &second,
        &format!("SELECT Name FROM Account WHERE Id = '{next}'"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Name"], "Four");
}

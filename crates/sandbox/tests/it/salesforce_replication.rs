//! Replication endpoints: `sobjects/{Object}/updated` and `sobjects/{Object}/deleted`.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, urlencode};

fn window(days_back: i64) -> String {
    let start = (Utc::now() - Duration::days(days_back)).to_rfc3339();
    let end = (Utc::now() + Duration::minutes(1)).to_rfc3339();
    format!("start={}&end={}", urlencode(&start), urlencode(&end))
}

#[tokio::test]
async fn updated_and_deleted_list_the_changes_in_the_window() {
    let h = empty().await;
    let kept = h
        .sandbox
        .sf_insert(
            "Account",
            json!({"Name": "Kept"}).as_object().unwrap().clone(),
        )
        .unwrap();
    let gone = h
        .sandbox
        .sf_insert(
            "Account",
            json!({"Name": "Gone"}).as_object().unwrap().clone(),
        )
        .unwrap();
    h.sf(Method::DELETE, &format!("sobjects/Account/{gone}"), None)
        .await;

    let updated: Value = h
        .sf(
            Method::GET,
            &format!("sobjects/Account/updated/?{}", window(1)),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["ids"], json!([kept]));
    assert!(updated["latestDateCovered"]
        .as_str()
        .unwrap()
        .ends_with(":00.000+0000"));

    let deleted: Value = h
        .sf(
            Method::GET,
            &format!("sobjects/Account/deleted/?{}", window(1)),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["deletedRecords"][0]["id"], gone);
    assert!(deleted["earliestDateAvailable"].is_string());
}

#[tokio::test]
async fn a_window_starting_more_than_30_days_back_is_refused() {
    let h = empty().await;
    let response = h
        .sf(
            Method::GET,
            &format!("sobjects/Account/updated/?{}", window(31)),
            None,
        )
        .await;
    assert_eq!(response.status(), 400);
}

use isthmus_netsuite::suiteql;
use serde_json::json;

use crate::{account, fields, SUITEQL};

#[tokio::test]
async fn suiteql_follows_pages_until_has_more_is_false() {
    let account = account().await;
    for n in 0..2100 {
        account
            .sandbox
            .ns_insert(
                "customer",
                fields(json!({ "companyName": format!("Customer {n:04}") })),
            )
            .unwrap();
    }

    let rows = account
        .client
        .suiteql("SELECT id, companyname FROM customer ORDER BY id")
        .await
        .unwrap();

    assert_eq!(rows.len(), 2100);
    assert_eq!(rows[0]["companyname"], "Customer 0000");
    assert_eq!(rows[2099]["companyname"], "Customer 2099");
    assert_eq!(account.sandbox.calls().get(SUITEQL), 3);
}

#[tokio::test]
async fn suiteql_literal_matches_a_name_with_quotes() {
    let account = account().await;
    for name in ["O'Brien & Sons", "O"] {
        account
            .sandbox
            .ns_insert("customer", fields(json!({ "companyName": name })))
            .unwrap();
    }

    let query = format!(
        "SELECT companyname FROM customer WHERE companyname = {}",
        suiteql::literal("O'Brien & Sons")
    );
    let rows = account.client.suiteql(&query).await.unwrap();

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["companyname"], "O'Brien & Sons");
}

#[tokio::test]
async fn empty_suiteql_result_is_one_call() {
    let account = account().await;
    let rows = account
        .client
        .suiteql("SELECT id FROM customer")
        .await
        .unwrap();
    assert!(rows.is_empty());
    assert_eq!(account.sandbox.calls().get(SUITEQL), 1);
}

#[tokio::test]
async fn bad_suiteql_is_a_400() {
    let account = account().await;
    let err = account
        .client
        .suiteql("SELEKT id FROM customer")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
}

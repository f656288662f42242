use isthmus_salesforce::{ErrorClass, SalesforceError, COLLECTION_LIMIT};
use serde_json::{json, Map, Value};

use crate::{fields, org, COLLECTIONS};

fn accounts(n: usize, prefix: &str) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|i| fields(json!({ "Name": format!("{prefix} {i:03}") })))
        .collect()
}

#[tokio::test]
async fn create_many_chunks_by_200_and_answers_in_input_order() {
    let org = org().await;
    org.sandbox.reset_calls();

    let results = org
        .client
        .create_many("Account", &accounts(250, "Bulk"), false)
        .await
        .unwrap();

    assert_eq!(results.len(), 250);
    assert_eq!(org.sandbox.calls().get(COLLECTIONS), 2);
    for (i, result) in results.iter().enumerate() {
        assert!(result.success, "{result:?}");
        let id = result.id.as_deref().unwrap();
        let stored = org.sandbox.sf_record("Account", id).unwrap();
        assert_eq!(stored["Name"], format!("Bulk {i:03}"));
    }
}

#[tokio::test]
async fn failures_are_reported_per_record_without_failing_the_call() {
    let org = org().await;
    let mut records = accounts(3, "Partly");
    records[1].remove("Name");

    let results = org
        .client
        .create_many("Account", &records, false)
        .await
        .unwrap();

    assert!(results[0].success && results[2].success);
    assert!(!results[1].success);
    assert_eq!(results[1].id, None);
    assert_eq!(results[1].errors[0].error_code, "REQUIRED_FIELD_MISSING");
}

#[tokio::test]
async fn all_or_none_rolls_the_chunk_back() {
    let org = org().await;
    let mut records = accounts(3, "Atomic");
    records[2].remove("Name");

    let results = org
        .client
        .create_many("Account", &records, true)
        .await
        .unwrap();

    assert!(results.iter().all(|r| !r.success), "{results:?}");
    assert!(org.sandbox.sf_records("Account").is_empty());
}

#[tokio::test]
async fn update_many_and_upsert_many_report_each_record() {
    let org = org().await;
    let created = org
        .client
        .create_many("Account", &accounts(2, "Upd"), false)
        .await
        .unwrap();
    let updates: Vec<_> = created
        .iter()
        .map(|r| fields(json!({ "id": r.id, "Phone": "555-0142" })))
        .collect();

    let updated = org
        .client
        .update_many("Account", &updates, false)
        .await
        .unwrap();
    assert!(updated.iter().all(|r| r.success), "{updated:?}");
    for r in &created {
        let stored = org
            .sandbox
            .sf_record("Account", r.id.as_deref().unwrap())
            .unwrap();
        assert_eq!(stored["Phone"], "555-0142");
    }

    let upserts = vec![
        fields(json!({ "NetSuite_Id__c": "NS-1", "Name": "Up One" })),
        fields(json!({ "NetSuite_Id__c": "NS-2", "Name": "Up Two" })),
    ];
    let first = org
        .client
        .upsert_many("Account", "NetSuite_Id__c", &upserts, false)
        .await
        .unwrap();
    assert!(
        first.iter().all(|r| r.success && r.created == Some(true)),
        "{first:?}"
    );
    let again = org
        .client
        .upsert_many("Account", "NetSuite_Id__c", &upserts, false)
        .await
        .unwrap();
    assert!(
        again.iter().all(|r| r.success && r.created == Some(false)),
        "{again:?}"
    );
    assert_eq!(first[0].id, again[0].id);
}

#[tokio::test]
async fn records_without_their_key_are_refused_before_sending() {
    let org = org().await;
    org.sandbox.reset_calls();

    let err = org
        .client
        .update_many("Account", &accounts(1, "NoId"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, SalesforceError::InvalidRequest(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let err = org
        .client
        .upsert_many("Account", "NetSuite_Id__c", &accounts(1, "NoKey"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, SalesforceError::InvalidRequest(_)), "{err:?}");
    assert_eq!(org.sandbox.calls().salesforce_total(), 0);
    assert_eq!(COLLECTION_LIMIT, 200);
}

#[tokio::test]
async fn an_upsert_naming_one_external_id_twice_sends_it_once_with_the_last_values() {
    let org = org().await;
    org.sandbox.reset_calls();
    let upserts = vec![
        fields(json!({ "NetSuite_Id__c": "N-1", "Name": "Twice Ltd", "Phone": "111" })),
        fields(json!({ "NetSuite_Id__c": "N-2", "Name": "Once plc" })),
        fields(json!({ "NetSuite_Id__c": "N-1", "Name": "Twice Ltd (renamed)" })),
    ];

    let results = org
        .client
        .upsert_many("Account", "NetSuite_Id__c", &upserts, true)
        .await
        .unwrap();

    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r.success), "{results:?}");
    assert_eq!(results[0].id, results[2].id, "one record for both inputs");
    assert_eq!(results[0].created, Some(true));
    let twice: Vec<_> = org
        .sandbox
        .sf_records("Account")
        .into_iter()
        .filter(|a| a["Name"].as_str().unwrap_or_default().starts_with("Twice"))
        .collect();
    assert_eq!(twice.len(), 1, "{twice:?}");
    assert_eq!(
        twice[0]["Name"], "Twice Ltd (renamed)",
        "the last value wins"
    );
    assert_eq!(twice[0]["Phone"], "111", "earlier fields are kept");
    let calls = org.sandbox.calls();
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/composite/sobjects/Account/NetSuite_Id__c"),
        1,
        "{calls:?}"
    );
}

#[tokio::test]
async fn an_update_naming_one_record_twice_sends_it_once_with_the_last_values() {
    let org = org().await;
    let created = org
        .client
        .create_many("Account", &accounts(2, "Dup"), true)
        .await
        .unwrap();
    let (first, second) = (
        created[0].id.clone().unwrap(),
        created[1].id.clone().unwrap(),
    );
    org.sandbox.reset_calls();
    let updates = vec![
        fields(json!({ "Id": first, "Phone": "222" })),
        fields(json!({ "Id": second, "Name": "Dup second renamed" })),
        // The 15-character form of the same record.
        fields(json!({ "Id": &first[..15], "Name": "Dup first renamed" })),
    ];

    let results = org
        .client
        .update_many("Account", &updates, false)
        .await
        .unwrap();

    assert!(results.iter().all(|r| r.success), "{results:?}");
    let stored = org.sandbox.sf_record("Account", &first).unwrap();
    assert_eq!(stored["Name"], "Dup first renamed");
    assert_eq!(stored["Phone"], "222");
    let stored = org.sandbox.sf_record("Account", &second).unwrap();
    assert_eq!(stored["Name"], "Dup second renamed");
    let renamed = org
        .sandbox
        .sf_records("Account")
        .into_iter()
        .filter(|a| a["Name"].as_str().unwrap_or_default().starts_with("Dup"))
        .count();
    assert_eq!(renamed, 2, "no record created or lost");
    let calls = org.sandbox.calls();
    assert_eq!(
        calls.get("PATCH /services/data/vXX.X/composite/sobjects"),
        1,
        "{calls:?}"
    );
}

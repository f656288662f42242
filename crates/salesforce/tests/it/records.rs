use isthmus_salesforce::UpsertOutcome;
use isthmus_sandbox::credentials::SF_CLIENT_SECRET;
use isthmus_sandbox::SandboxConfig;
use serde_json::json;

use crate::{fields, org, org_with};

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let org = org().await;

    let id = org
        .client
        .create(
            "Account",
            &fields(json!({ "Name": "Acme", "Phone": "555-0100" })),
        )
        .await
        .unwrap();
    assert_eq!(id.len(), 18);
    assert_eq!(
        org.sandbox.sf_record("Account", &id).unwrap()["Name"],
        "Acme"
    );

    let record = org
        .client
        .get("Account", &id, &["Name", "Phone"])
        .await
        .unwrap();
    assert_eq!(record["Name"], "Acme");
    assert_eq!(record["Phone"], "555-0100");

    org.client
        .update("Account", &id, &fields(json!({ "Phone": "555-0199" })))
        .await
        .unwrap();
    let stored = org.sandbox.sf_record("Account", &id).unwrap();
    assert_eq!(stored["Phone"], "555-0199");
    assert_eq!(stored["Name"], "Acme");

    org.client.delete("Account", &id).await.unwrap();
    assert!(org.sandbox.sf_record("Account", &id).is_none());
    let err = org.client.get("Account", &id, &[]).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn upsert_creates_then_updates_by_external_id() {
    let org = org().await;

    let created = org
        .client
        .upsert(
            "Account",
            "NetSuite_Id__c",
            "647",
            &fields(json!({ "Name": "Acme" })),
        )
        .await
        .unwrap();
    assert!(created.created);

    let updated = org
        .client
        .upsert(
            "Account",
            "NetSuite_Id__c",
            "647",
            &fields(json!({ "Name": "Acme Corp" })),
        )
        .await
        .unwrap();
    assert_eq!(
        updated,
        UpsertOutcome {
            id: created.id.clone(),
            created: false
        }
    );
    let stored = org.sandbox.sf_record("Account", &created.id).unwrap();
    assert_eq!(stored["Name"], "Acme Corp");
    assert_eq!(stored["NetSuite_Id__c"], "647");
}

#[tokio::test]
async fn upsert_value_is_percent_encoded_in_the_path() {
    let org = org().await;
    let outcome = org
        .client
        .upsert(
            "Account",
            "NetSuite_Id__c",
            "A/B 1?x",
            &fields(json!({ "Name": "Slashy" })),
        )
        .await
        .unwrap();
    let stored = org.sandbox.sf_record("Account", &outcome.id).unwrap();
    assert_eq!(stored["NetSuite_Id__c"], "A/B 1?x");
}

#[tokio::test]
async fn upsert_on_an_api_version_without_update_bodies_looks_the_id_up() {
    let org = org_with(SandboxConfig::default(), "45.0", SF_CLIENT_SECRET).await;
    let id = org
        .sandbox
        .sf_insert(
            "Account",
            fields(json!({ "Name": "Old", "NetSuite_Id__c": "900" })),
        )
        .unwrap();

    let outcome = org
        .client
        .upsert(
            "Account",
            "NetSuite_Id__c",
            "900",
            &fields(json!({ "Name": "New" })),
        )
        .await
        .unwrap();

    assert_eq!(
        outcome,
        UpsertOutcome {
            id: id.clone(),
            created: false
        }
    );
    assert_eq!(
        org.sandbox.sf_record("Account", &id).unwrap()["Name"],
        "New"
    );
    let counts = org.sandbox.calls();
    assert_eq!(
        counts.get("GET /services/data/vXX.X/sobjects/Account/NetSuite_Id__c/{value}"),
        1
    );
}

#[tokio::test]
async fn upsert_matching_several_records_is_a_300_error() {
    let org = org().await;
    for name in ["One", "Two"] {
        org.sandbox
            .sf_insert(
                "Account",
                fields(json!({ "Name": name, "Legacy_Id__c": "L-1" })),
            )
            .unwrap();
    }

    let err = org
        .client
        .upsert(
            "Account",
            "Legacy_Id__c",
            "L-1",
            &fields(json!({ "Name": "Three" })),
        )
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(300));
    assert_eq!(err.error_code(), Some("MULTIPLE_CHOICES"));
    assert_eq!(org.sandbox.sf_records("Account").len(), 2);
}

#[tokio::test]
async fn missing_required_field_is_reported_with_its_name() {
    let org = org().await;
    let err = org
        .client
        .create("Account", &fields(json!({ "Phone": "555-0100" })))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), Some("REQUIRED_FIELD_MISSING"));
    let isthmus_salesforce::SalesforceError::Api { errors, .. } = &err else {
        panic!("expected an API error, got {err:?}");
    };
    assert_eq!(errors[0].fields, vec!["Name".to_owned()]);
}

#[tokio::test]
async fn unknown_field_is_invalid_field() {
    let org = org().await;
    let id = org
        .sandbox
        .sf_insert("Account", fields(json!({ "Name": "Acme" })))
        .unwrap();
    let err = org
        .client
        .get("Account", &id, &["NoSuchField__c"])
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_FIELD"));
}

use isthmus_netsuite::{GetOptions, NetSuiteError};
use serde_json::json;

use crate::{account, account_with_token_secret, fields};

#[tokio::test]
async fn create_returns_the_internal_id_from_location() {
    let account = account().await;

    let id = account
        .client
        .create(
            "customer",
            &fields(json!({ "companyName": "Acme", "email": "ap@acme.example" })),
        )
        .await
        .unwrap();

    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    let stored = account.sandbox.ns_record("customer", &id).unwrap();
    assert_eq!(stored["companyName"], "Acme");
}

#[tokio::test]
async fn get_reads_the_record_and_fields_narrow_it() {
    let account = account().await;
    let id = account
        .sandbox
        .ns_insert(
            "customer",
            fields(json!({ "companyName": "Acme", "email": "ap@acme.example" })),
        )
        .unwrap();

    let full = account
        .client
        .get("customer", &id, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(full["companyName"], "Acme");
    assert_eq!(full["email"], "ap@acme.example");

    let narrow = account
        .client
        .get(
            "customer",
            &id,
            &GetOptions {
                fields: vec!["email".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(narrow["email"], "ap@acme.example");
    assert!(!narrow.contains_key("companyName"), "{narrow:?}");
}

#[tokio::test]
async fn update_changes_only_the_given_fields() {
    let account = account().await;
    let id = account
        .sandbox
        .ns_insert(
            "customer",
            fields(json!({ "companyName": "Acme", "email": "ap@acme.example" })),
        )
        .unwrap();

    account
        .client
        .update(
            "customer",
            &id,
            &fields(json!({ "email": "billing@acme.example" })),
            &[],
        )
        .await
        .unwrap();

    let stored = account.sandbox.ns_record("customer", &id).unwrap();
    assert_eq!(stored["email"], "billing@acme.example");
    assert_eq!(stored["companyName"], "Acme");
}

#[tokio::test]
async fn update_adds_sublist_lines_unless_the_sublist_is_replaced() {
    let account = account().await;
    let line = |city: &str| json!({ "label": city, "addressBookAddress": { "city": city } });
    let id = account
        .sandbox
        .ns_insert(
            "customer",
            fields(json!({ "companyName": "Acme", "addressBook": { "items": [line("Oslo")] } })),
        )
        .unwrap();
    let cities = |account: &crate::Account| -> Vec<String> {
        let stored = account.sandbox.ns_record("customer", &id).unwrap();
        let mut cities: Vec<String> = stored["addressBook"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                item["addressBookAddress"]["city"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        cities.sort();
        cities
    };

    let add = fields(json!({ "addressBook": { "items": [line("Bergen")] } }));
    account
        .client
        .update("customer", &id, &add, &[])
        .await
        .unwrap();
    assert_eq!(cities(&account), ["Bergen", "Oslo"]);

    let replace = fields(json!({ "addressBook": { "items": [line("Trondheim")] } }));
    account
        .client
        .update("customer", &id, &replace, &["addressBook"])
        .await
        .unwrap();
    assert_eq!(cities(&account), ["Trondheim"]);
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates_one_record() {
    let account = account().await;

    let first = account
        .client
        .upsert(
            "customer",
            "SF-001D000000IqhSLIAZ",
            &fields(json!({ "companyName": "Acme" })),
            &[],
        )
        .await
        .unwrap();
    account
        .client
        .upsert(
            "customer",
            "SF-001D000000IqhSLIAZ",
            &fields(json!({ "companyName": "Acme Corp" })),
            &[],
        )
        .await
        .unwrap();

    let customers = account.sandbox.ns_records("customer");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["companyName"], "Acme Corp");
    assert_eq!(customers[0]["externalId"], "SF-001D000000IqhSLIAZ");
    let id = first.expect("the upsert answered with a Location");
    assert_eq!(
        customers[0]["id"],
        json!(id),
        "the id from Location is the record's"
    );
    let counts = account.sandbox.calls();
    assert_eq!(
        counts.get("PUT /services/rest/record/v1/customer/eid:{externalId}"),
        2
    );

    let by_eid = account
        .client
        .get(
            "customer",
            "eid:SF-001D000000IqhSLIAZ",
            &GetOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_eid["companyName"], "Acme Corp");
}

#[tokio::test]
async fn invalid_external_id_is_rejected_before_any_request() {
    let account = account().await;

    let err = account
        .client
        .upsert(
            "customer",
            "SF 1/2",
            &fields(json!({ "companyName": "Acme" })),
            &[],
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, NetSuiteError::InvalidExternalId(ref eid) if eid == "SF 1/2"),
        "{err:?}"
    );
    let err = account
        .client
        .get("customer", "eid:a.b", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetSuiteError::InvalidExternalId(_)),
        "{err:?}"
    );
    assert_eq!(account.sandbox.calls().netsuite_total(), 0);
}

#[tokio::test]
async fn delete_removes_the_record_and_a_later_get_is_not_found() {
    let account = account().await;
    let id = account
        .sandbox
        .ns_insert("customer", fields(json!({ "companyName": "Acme" })))
        .unwrap();

    account.client.delete("customer", &id).await.unwrap();

    assert!(account.sandbox.ns_record("customer", &id).is_none());
    let err = account
        .client
        .get("customer", &id, &GetOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.error_code(), Some("NONEXISTENT_ID"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn wrong_token_secret_fails_the_signature_check() {
    let account = account_with_token_secret("not-the-token-secret").await;

    let err = account
        .client
        .get("customer", "1", &GetOptions::default())
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(401));
    assert_eq!(err.error_code(), Some("INVALID_LOGIN"));
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("not-the-token-secret"));
}

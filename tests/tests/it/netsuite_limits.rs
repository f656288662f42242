//! What a real NetSuite account enforces that a lenient one would not, met through the whole
//! mesh: a mapping to a field the record lacks fails loudly (the connector sends
//! `X-NetSuite-PropertyNameValidation: Error`), the backfill walks more customers than SuiteQL's
//! offset cap by keyset, and the delta reads an account whose time zone is not UTC.

use isthmus_sandbox::seed;
use isthmus_tests::{on_both_stores, text, TestMesh};

async fn a_mapping_to_a_field_netsuite_lacks_fails_loudly_and_writes_nothing(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let name = text(mesh.sandbox.sf_record("Account", &account).unwrap().get("Name")).unwrap();
    let named = |mesh: &TestMesh| {
        mesh.sandbox
            .ns_records("customer")
            .into_iter()
            .filter(|c| text(c.get("companyName")).as_deref() == Some(name.as_str()))
            .count()
    };
    let customers = mesh.sandbox.ns_records("customer").len();
    assert_eq!(named(mesh), 0);

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 422, "{body}");
    let message = body.to_string();
    assert!(
        message.contains("phoneNumber") && message.contains("NONEXISTENT_FIELD"),
        "the failure names the field and NetSuite's code: {body}"
    );
    // NetSuite refused the whole write: no customer under the account's name, no contact, no
    // id written back.
    assert_eq!(named(mesh), 0);
    assert_eq!(mesh.sandbox.ns_records("customer").len(), customers);
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(sf.get("NetSuite_Id__c")), None);
    assert!(mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .is_none());
    // One upsert, refused by NetSuite and not retried: the error is permanent.
    assert_eq!(
        mesh.sandbox
            .calls()
            .get("PUT /services/rest/record/v1/customer/eid:{externalId}"),
        1,
        "{:?}",
        mesh.sandbox.calls()
    );
}

on_both_stores!(
    a_mapping_to_a_field_netsuite_lacks,
    a_mapping_to_a_field_netsuite_lacks_fails_loudly_and_writes_nothing,
    |config: &mut isthmus::Config| {
        config
            .customers
            .fields
            .get_mut("phone")
            .expect("phone is mapped by default")
            .netsuite = "phoneNumber".into();
    }
);

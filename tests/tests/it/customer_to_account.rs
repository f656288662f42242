//! NetSuite customer events through the gateway, asserted on the sandbox's Salesforce.

use isthmus_sandbox::seed;
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::Value;

async fn a_netsuite_edit_updates_the_linked_account_and_its_echo_writes_nothing(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, synced) = mesh.sync_account(&account, false).await;
    let customer_id = synced["netsuite_id"].as_str().unwrap().to_string();

    // The echo of our own write: NetSuite's User Event fires after Isthmus created the customer.
    mesh.sandbox.reset_calls();
    let (status, echo) = mesh.customer_event(&customer_id, "create").await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["outcome"], "unchanged", "{echo}");
    assert_eq!(
        mesh.sandbox.calls().salesforce_total(),
        0,
        "an echo costs no Salesforce call"
    );

    // A person edits the customer in NetSuite.
    let mut edit = serde_json::Map::new();
    edit.insert(
        "companyName".into(),
        Value::String("Renamed in NetSuite".into()),
    );
    edit.insert("phone".into(), Value::String("+44 20 7946 0000".into()));
    mesh.sandbox
        .ns_update("customer", &customer_id, edit)
        .unwrap();
    let (status, body) = mesh.customer_event(&customer_id, "edit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "updated", "{body}");
    assert_eq!(body["salesforce_id"], account.as_str());
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(sf.get("Name")).as_deref(), Some("Renamed in NetSuite"));
    assert_eq!(text(sf.get("Phone")).as_deref(), Some("+44 20 7946 0000"));

    // Both echoes are now silent: the event again, and the button in Salesforce.
    mesh.sandbox.reset_calls();
    let (_, again) = mesh.customer_event(&customer_id, "edit").await;
    assert_eq!(again["outcome"], "unchanged", "{again}");
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_eq!(click["outcome"], "unchanged", "{click}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
}
on_both_stores!(
    netsuite_edit,
    a_netsuite_edit_updates_the_linked_account_and_its_echo_writes_nothing
);

async fn a_netsuite_only_customer_becomes_an_account_with_its_contacts(mesh: &TestMesh) {
    let customer = mesh.ns_where("customer", "companyName", seed::NETSUITE_ONLY_CUSTOMERS[0]);
    let customer_id = text(customer[0].get("id")).unwrap();
    let ns_contacts = mesh.ns_where("contact", "company", &customer_id);
    assert!(!ns_contacts.is_empty(), "the seeded customer has contacts");
    mesh.sandbox.reset_calls();

    let (status, body) = mesh.customer_event(&customer_id, "create").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.salesforce_writes(),
        1,
        "account and contacts in one Composite call: {calls:?}"
    );
    assert_eq!(
        calls.get("POST /services/data/vXX.X/composite"),
        1,
        "{calls:?}"
    );
    let account_id = body["salesforce_id"].as_str().unwrap().to_string();
    let accounts: Vec<_> = mesh
        .sandbox
        .sf_records("Account")
        .into_iter()
        .filter(|a| text(a.get("NetSuite_Id__c")).as_deref() == Some(customer_id.as_str()))
        .collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        text(accounts[0].get("Id")).as_deref(),
        Some(account_id.as_str())
    );
    assert_eq!(
        text(accounts[0].get("Name")).as_deref(),
        Some(seed::NETSUITE_ONLY_CUSTOMERS[0])
    );
    let sf_contacts: Vec<_> = mesh
        .sandbox
        .sf_records("Contact")
        .into_iter()
        .filter(|c| text(c.get("AccountId")).as_deref() == Some(account_id.as_str()))
        .collect();
    assert_eq!(sf_contacts.len(), ns_contacts.len());

    // Replaying the event (NetSuite retries) creates nothing new.
    let (_, again) = mesh.customer_event(&customer_id, "edit").await;
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(
        mesh.sandbox
            .sf_records("Account")
            .iter()
            .filter(|a| text(a.get("NetSuite_Id__c")).as_deref() == Some(customer_id.as_str()))
            .count(),
        1
    );
}
on_both_stores!(
    netsuite_only,
    a_netsuite_only_customer_becomes_an_account_with_its_contacts
);

async fn a_netsuite_delete_unlinks_the_account_and_keeps_it(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, synced) = mesh.sync_account(&account, false).await;
    let customer_id = synced["netsuite_id"].as_str().unwrap().to_string();

    mesh.ns_delete("customer", &customer_id).await;
    let (status, body) = mesh.customer_event(&customer_id, "delete").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "updated", "{body}");
    let sf = mesh
        .sandbox
        .sf_record("Account", &account)
        .expect("the account stays");
    assert!(
        text(sf.get("NetSuite_Id__c")).is_none(),
        "the NetSuite id is cleared"
    );
    assert!(mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .is_none());
    assert!(mesh
        .store
        .link_by_netsuite("customer", &customer_id)
        .await
        .unwrap()
        .is_none());
}
on_both_stores!(
    netsuite_delete,
    a_netsuite_delete_unlinks_the_account_and_keeps_it
);

async fn a_delete_event_for_a_customer_netsuite_still_has_changes_nothing(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, synced) = mesh.sync_account(&account, false).await;
    let customer_id = synced["netsuite_id"].as_str().unwrap().to_string();
    let link_keys = || async {
        let mut keys = mesh.redis_keys("link:*").await;
        if let Some(keys) = keys.as_mut() {
            keys.sort();
        }
        keys
    };
    let keys = link_keys().await;
    mesh.sandbox.reset_calls();

    for dry_run in ["?dry_run=true", ""] {
        let body = serde_json::json!({ "record_type": "customer", "id": customer_id, "event_type": "delete" });
        let (status, body) = mesh
            .post(
                &format!("/v1/netsuite/events{dry_run}"),
                Some(isthmus_tests::NS_KEY),
                Some(body),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "UNPROCESSABLE", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("still exists"),
            "{body}"
        );
    }
    // NetSuite was asked; nothing was written anywhere.
    let calls = mesh.sandbox.calls();
    assert!(
        calls.get("GET /services/rest/record/v1/customer/{id}") >= 1,
        "{calls:?}"
    );
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(sf.get("NetSuite_Id__c")), Some(customer_id.clone()));
    let link = mesh
        .store
        .link_by_netsuite("customer", &customer_id)
        .await
        .unwrap();
    assert_eq!(link.map(|l| l.salesforce_id), Some(account.clone()));
    assert_eq!(link_keys().await, keys, "the ID map is untouched");
}
on_both_stores!(
    stale_delete,
    a_delete_event_for_a_customer_netsuite_still_has_changes_nothing
);

async fn a_dry_run_event_shows_the_diff_and_writes_nothing(mesh: &TestMesh) {
    let customer = mesh.ns_where("customer", "companyName", seed::NETSUITE_ONLY_CUSTOMERS[0]);
    let customer_id = text(customer[0].get("id")).unwrap();
    let accounts = mesh.sandbox.sf_records("Account").len();
    let body = serde_json::json!({ "record_type": "customer", "id": customer_id.parse::<u64>().unwrap(), "event_type": "edit" });
    let (status, body) = mesh
        .post(
            "/v1/netsuite/events?dry_run=true",
            Some(isthmus_tests::NS_KEY),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["outcome"].as_str(), body["dry_run"].as_bool()),
        (Some("created"), Some(true))
    );
    assert!(body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "Name"));
    assert_eq!(mesh.sandbox.sf_records("Account").len(), accounts);
    assert_eq!(mesh.sandbox.calls().salesforce_writes(), 0);
}
on_both_stores!(
    dry_run_event,
    a_dry_run_event_shows_the_diff_and_writes_nothing
);

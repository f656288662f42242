//! "Sync to NetSuite" on a Salesforce account, through the gateway, asserted on the sandbox.

use isthmus_engine::config::MatchRule;
use isthmus_sandbox::seed;
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::Value;

fn contacts_of(mesh: &TestMesh, account_id: &str) -> Vec<serde_json::Map<String, Value>> {
    mesh.sandbox
        .sf_records("Contact")
        .into_iter()
        .filter(|c| text(c.get("AccountId")).as_deref() == Some(account_id))
        .collect()
}

async fn first_click_creates_one_customer_with_contacts_and_writes_the_id_back(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let before = mesh.sandbox.ns_records("customer").len();

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");
    assert_eq!(body["matched_rule"], "none");
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 32);

    let customers = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(
        customers.len(),
        1,
        "exactly one customer carries the account id"
    );
    assert_eq!(mesh.sandbox.ns_records("customer").len(), before + 1);
    let customer = &customers[0];
    let customer_id = text(customer.get("id")).unwrap();
    assert_eq!(body["netsuite_id"], customer_id.as_str());

    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(customer.get("companyName")), text(sf.get("Name")));
    assert_eq!(text(customer.get("phone")), text(sf.get("Phone")));
    assert_eq!(
        text(sf.get("NetSuite_Id__c")).as_deref(),
        Some(customer_id.as_str()),
        "id written back"
    );

    let addresses = customer["addressBook"]["items"]
        .as_array()
        .expect("address book");
    let billing = addresses
        .iter()
        .find(|a| a["defaultBilling"] == true)
        .expect("billing address");
    assert_eq!(
        text(billing["addressBookAddress"].get("city")),
        text(sf.get("BillingCity"))
    );

    let sf_contacts = contacts_of(mesh, &account);
    assert!(!sf_contacts.is_empty(), "the demo account has contacts");
    let ns_contacts = mesh.ns_where("contact", "company", &customer_id);
    assert_eq!(ns_contacts.len(), sf_contacts.len());
    for contact in &sf_contacts {
        let id = text(contact.get("Id")).unwrap();
        let twin = ns_contacts
            .iter()
            .find(|c| text(c.get("externalId")).as_deref() == Some(id.as_str()));
        let twin = twin.unwrap_or_else(|| panic!("contact {id} reached NetSuite"));
        assert_eq!(
            text(twin.get("email")),
            text(contact.get("Email")).map(|e| e.to_lowercase())
        );
        assert_eq!(text(twin.get("lastName")), text(contact.get("LastName")));
    }
    let link = mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .expect("link recorded");
    assert_eq!(link.netsuite_id, customer_id);
}
on_both_stores!(
    first_click,
    first_click_creates_one_customer_with_contacts_and_writes_the_id_back
);

async fn second_click_on_an_unchanged_account_writes_nothing_anywhere(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, first) = mesh.sync_account(&account, false).await;
    assert_eq!((status, first["outcome"].as_str()), (200, Some("created")));
    mesh.sandbox.reset_calls();

    let (status, second) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200);
    assert_eq!(second["outcome"], "unchanged", "{second}");
    assert_eq!(second["netsuite_id"], first["netsuite_id"]);
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes(), 0, "{calls:?}");
    assert_eq!(calls.netsuite_writes(), 0, "{calls:?}");
    assert_eq!(
        calls.netsuite_total(),
        0,
        "an unchanged account is settled by its hash alone: {calls:?}"
    );
    assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
}
on_both_stores!(
    second_click,
    second_click_on_an_unchanged_account_writes_nothing_anywhere
);

async fn an_edit_in_salesforce_updates_the_same_customer(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, first) = mesh.sync_account(&account, false).await;
    let mut edit = serde_json::Map::new();
    edit.insert("Phone".into(), Value::String("+1 415 555 0199".into()));
    edit.insert("BillingCity".into(), Value::String("Oakland".into()));
    mesh.sandbox.sf_update("Account", &account, edit).unwrap();

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200);
    assert_eq!(body["outcome"], "updated", "{body}");
    assert_eq!(body["matched_rule"], "id_map");
    let fields: Vec<&str> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"phone") && fields.contains(&"addressBook[billing].city"),
        "{fields:?}"
    );

    let customers = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customers.len(), 1, "still one customer");
    assert_eq!(
        text(customers[0].get("id")),
        first["netsuite_id"].as_str().map(str::to_string)
    );
    assert_eq!(
        text(customers[0].get("phone")).as_deref(),
        Some("+1 415 555 0199")
    );
    let items = customers[0]["addressBook"]["items"].as_array().unwrap();
    let billing = items.iter().find(|a| a["defaultBilling"] == true).unwrap();
    assert_eq!(
        text(billing["addressBookAddress"].get("city")).as_deref(),
        Some("Oakland")
    );
}
on_both_stores!(
    salesforce_edit,
    an_edit_in_salesforce_updates_the_same_customer
);

async fn a_dry_run_shows_the_diff_and_the_rule_and_writes_nothing(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let customers_before = mesh.sandbox.ns_records("customer").len();
    let before = mesh.store_snapshot().await;

    let (status, body) = mesh.sync_account(&account, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["outcome"], "created");
    assert_eq!(body["matched_rule"], "none");
    let name = text(
        mesh.sandbox
            .sf_record("Account", &account)
            .unwrap()
            .get("Name"),
    )
    .unwrap();
    let change = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "companyName")
        .expect("companyName in the diff");
    assert_eq!(change["after"], name.as_str());
    assert!(change["before"].is_null());

    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    assert_eq!(mesh.sandbox.ns_records("customer").len(), customers_before);
    assert!(text(
        mesh.sandbox
            .sf_record("Account", &account)
            .unwrap()
            .get("NetSuite_Id__c")
    )
    .is_none());
    assert!(mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .is_none());
    // A dry run leaves nothing in the store either.
    mesh.assert_store_unchanged(&before).await;
}
on_both_stores!(
    dry_run,
    a_dry_run_shows_the_diff_and_the_rule_and_writes_nothing
);

async fn an_account_already_in_netsuite_under_a_near_duplicate_name_is_matched_not_duplicated(
    mesh: &TestMesh,
) {
    let (sf_name, ns_name) = seed::NEAR_DUPLICATE_NAMES[0];
    let account = mesh.account_id(sf_name);
    let existing = mesh.ns_where("customer", "companyName", ns_name);
    assert_eq!(existing.len(), 1, "seeded NetSuite twin");
    let twin_id = text(existing[0].get("id")).unwrap();
    let before = mesh.sandbox.ns_records("customer").len();

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched_rule"], "company_name", "{body}");
    assert_eq!(body["netsuite_id"], twin_id.as_str());
    assert_eq!(
        mesh.sandbox.ns_records("customer").len(),
        before,
        "no second customer"
    );
    let twin = mesh.sandbox.ns_record("customer", &twin_id).unwrap();
    assert_eq!(
        text(twin.get("externalId")).as_deref(),
        Some(account.as_str()),
        "keyed by the account id now"
    );
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(sf.get("NetSuite_Id__c")), Some(twin_id));
}
// Name matching alone (the seeded near-duplicates also share a domain, which matches first).
on_both_stores!(
    name_match,
    an_account_already_in_netsuite_under_a_near_duplicate_name_is_matched_not_duplicated,
    |config: &mut isthmus::Config| {
        config.customers.matching = vec![MatchRule::ExternalId, MatchRule::CompanyName];
    }
);

async fn an_account_is_matched_by_its_email_domain(mesh: &TestMesh) {
    let (sf_name, ns_name) = seed::DOMAIN_MATCH;
    let account = mesh.account_id(sf_name);
    let twin_id = text(mesh.ns_where("customer", "companyName", ns_name)[0].get("id")).unwrap();
    let before = mesh.sandbox.ns_records("customer").len();

    let (status, body) = mesh.sync_account(&account, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched_rule"], "email_domain", "{body}");
    assert_eq!(body["netsuite_id"], twin_id.as_str());
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(
        (status, body["netsuite_id"].as_str()),
        (200, Some(twin_id.as_str()))
    );
    assert_eq!(mesh.sandbox.ns_records("customer").len(), before);
}
on_both_stores!(domain_match, an_account_is_matched_by_its_email_domain);

async fn an_ambiguous_match_is_a_conflict_that_writes_nothing(mesh: &TestMesh) {
    let account = mesh.account_id(seed::AMBIGUOUS_DOMAIN_ACCOUNT);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "conflict", "{body}");
    assert!(
        body["warnings"][0].as_str().unwrap().contains("match"),
        "{body}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    assert!(mesh
        .store
        .link_by_salesforce("customer", &account)
        .await
        .unwrap()
        .is_none());
}
on_both_stores!(
    ambiguous,
    an_ambiguous_match_is_a_conflict_that_writes_nothing
);

async fn quotes_and_backslashes_in_record_data_sync_verbatim(mesh: &TestMesh) {
    let account = mesh.account_id(seed::QUOTED_ACCOUNT_NAME);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = mesh
        .sandbox
        .ns_record("customer", body["netsuite_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        text(customer.get("companyName")).as_deref(),
        Some(seed::QUOTED_ACCOUNT_NAME)
    );
    let (_, again) = mesh.sync_account(&account, false).await;
    assert_eq!(again["outcome"], "unchanged");
}
on_both_stores!(
    quoted_names,
    quotes_and_backslashes_in_record_data_sync_verbatim
);

async fn the_first_click_works_with_jwt_bearer_and_netsuite_oauth2(mesh: &TestMesh) {
    first_click_creates_one_customer_with_contacts_and_writes_the_id_back(mesh).await;
    let calls = mesh.sandbox.calls();
    assert!(
        calls.get("POST /services/rest/auth/oauth2/v1/token") >= 1,
        "{calls:?}"
    );
    assert!(calls.get("POST /services/oauth2/token") >= 1, "{calls:?}");
}
on_both_stores!(
    other_sign_ins,
    the_first_click_works_with_jwt_bearer_and_netsuite_oauth2,
    |config: &mut isthmus::Config| {
        config.salesforce.auth = isthmus_engine::config::SalesforceAuthKind::JwtBearer;
        config.netsuite.auth = isthmus_engine::config::NetSuiteAuthKind::Oauth2;
        config.netsuite.algorithm = "ES256".into();
    }
);

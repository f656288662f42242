//! Field ownership and conflicts (issue 4, fault test 7): after a first sync, the same field is
//! edited in Salesforce and in NetSuite, then a sync runs; each policy's documented outcome is
//! asserted on both sides and in the conflict log. `manual` parks the record until a person
//! resolves the conflict through the gateway.

use std::time::Duration;

use isthmus::Config;
use isthmus_engine::config::Ownership;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::customers::v1::{
    ConflictChoice, ConflictState, GetConflictRequest, ListConflictsRequest, ResolveConflictRequest,
};
use isthmus_proto::ErrorCode;
use isthmus_sandbox::seed;
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, SF_KEY};
use serde_json::{json, Map, Value};

/// Links the demo account to a new customer; returns (account id, customer id).
async fn first_sync(mesh: &TestMesh) -> (String, String) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("created")),
        "{body}"
    );
    (account, body["netsuite_id"].as_str().unwrap().to_string())
}

fn one(field: &str, value: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(field.into(), Value::String(value.into()));
    fields
}

/// A person renames the account in Salesforce.
fn rename_in_salesforce(mesh: &TestMesh, account: &str, name: &str) {
    mesh.sandbox
        .sf_update("Account", account, one("Name", name))
        .unwrap();
}

/// A person renames the customer in NetSuite.
fn rename_in_netsuite(mesh: &TestMesh, customer: &str, name: &str) {
    mesh.sandbox
        .ns_update("customer", customer, one("companyName", name))
        .unwrap();
}

/// (Salesforce Name, NetSuite companyName) now.
fn names(mesh: &TestMesh, account: &str, customer: &str) -> (String, String) {
    let sf = mesh.sandbox.sf_record("Account", account).unwrap();
    let ns = mesh.sandbox.ns_record("customer", customer).unwrap();
    (
        text(sf.get("Name")).unwrap_or_default(),
        text(ns.get("companyName")).unwrap_or_default(),
    )
}

async fn conflict_log(mesh: &TestMesh, state: &str) -> Vec<Value> {
    let (status, body) = mesh
        .get(&format!("/v1/conflicts?state={state}"), Some(ADMIN_KEY))
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn owned(field: &'static str, policy: Ownership) -> impl Fn(&mut Config) {
    move |config: &mut Config| {
        config.customers.ownership.insert(field.into(), policy);
    }
}

/// Asserts the log holds exactly one conflict on `name`, resolved by `policy` for `winner`.
async fn assert_logged(mesh: &TestMesh, policy: &str, winner: &str, sf: &str, ns: &str) {
    let log = conflict_log(mesh, "all").await;
    assert_eq!(log.len(), 1, "{log:?}");
    let c = &log[0];
    assert_eq!(c["field"], "name");
    assert_eq!(c["policy"], policy);
    assert_eq!(c["state"], "resolved");
    assert_eq!(c["winner"], winner);
    assert_eq!(c["resolved_by"], "policy");
    assert_eq!(
        (c["salesforce_value"].as_str(), c["netsuite_value"].as_str()),
        (Some(sf), Some(ns))
    );
    assert_eq!(c["last_synced_value"], seed::DEMO_ACCOUNT_NAME);
    assert_eq!(c["trace_id"].as_str().map(str::len), Some(32));
}

async fn a_salesforce_owned_field_edited_on_both_sides_takes_the_salesforce_value(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    rename_in_salesforce(mesh, &account, "Name from Salesforce");
    rename_in_netsuite(mesh, &customer, "Name from NetSuite");

    let (status, body) = mesh.sync_account(&account, false).await;

    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let warnings = body["warnings"].to_string();
    assert!(warnings.contains("salesforce's value wins"), "{warnings}");
    let both = "Name from Salesforce".to_string();
    assert_eq!(names(mesh, &account, &customer), (both.clone(), both));
    assert_logged(
        mesh,
        "salesforce",
        "salesforce",
        "Name from Salesforce",
        "Name from NetSuite",
    )
    .await;
}
on_both_stores!(
    salesforce_owned_conflict,
    a_salesforce_owned_field_edited_on_both_sides_takes_the_salesforce_value,
    owned("name", Ownership::Salesforce)
);

async fn a_netsuite_owned_field_edited_on_both_sides_takes_the_netsuite_value(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    rename_in_salesforce(mesh, &account, "Name from Salesforce");
    rename_in_netsuite(mesh, &customer, "Name from NetSuite");

    let (status, body) = mesh.customer_event(&customer, "edit").await;

    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let both = "Name from NetSuite".to_string();
    assert_eq!(names(mesh, &account, &customer), (both.clone(), both));
    assert_logged(
        mesh,
        "netsuite",
        "netsuite",
        "Name from Salesforce",
        "Name from NetSuite",
    )
    .await;
    // The button in Salesforce now finds nothing to do.
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_eq!(click["outcome"], "unchanged", "{click}");
}
on_both_stores!(
    netsuite_owned_conflict,
    a_netsuite_owned_field_edited_on_both_sides_takes_the_netsuite_value,
    owned("name", Ownership::Netsuite)
);

async fn latest_gives_a_conflict_to_the_side_edited_last_and_the_loser_catches_up(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    rename_in_salesforce(mesh, &account, "Name from Salesforce");
    // NetSuite keeps whole seconds: edit it in a later second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    rename_in_netsuite(mesh, &customer, "Name from NetSuite");

    // The Salesforce button runs first: NetSuite's newer name is kept, not overwritten.
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(mesh, &account, &customer),
        ("Name from Salesforce".into(), "Name from NetSuite".into())
    );
    assert_logged(
        mesh,
        "latest",
        "netsuite",
        "Name from Salesforce",
        "Name from NetSuite",
    )
    .await;

    // NetSuite's event then carries the winner to Salesforce, without a second conflict.
    let (status, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let both = "Name from NetSuite".to_string();
    assert_eq!(names(mesh, &account, &customer), (both.clone(), both));
    assert_eq!(conflict_log(mesh, "all").await.len(), 1);
}
on_both_stores!(
    latest_conflict,
    latest_gives_a_conflict_to_the_side_edited_last_and_the_loser_catches_up
);

async fn a_manual_conflict_parks_the_record_until_a_person_resolves_it(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    rename_in_salesforce(mesh, &account, "Name from Salesforce");
    rename_in_netsuite(mesh, &customer, "Name from NetSuite");
    let apart = (
        "Name from Salesforce".to_string(),
        "Name from NetSuite".to_string(),
    );
    mesh.sandbox.reset_calls();

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("conflict")),
        "{body}"
    );
    assert!(body["warnings"].to_string().contains("parked"), "{body}");
    let (_, event) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(
        event["outcome"], "conflict",
        "a parked record stays parked: {event}"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );
    assert_eq!(names(mesh, &account, &customer), apart);

    let parked = conflict_log(mesh, "parked").await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0]["state"], "parked");
    assert_eq!(parked[0]["salesforce_value"], "Name from Salesforce");
    assert_eq!(parked[0]["netsuite_value"], "Name from NetSuite");
    let id = parked[0]["id"].as_str().unwrap().to_string();
    let (status, shown) = mesh
        .get(&format!("/v1/conflicts/{id}"), Some(ADMIN_KEY))
        .await;
    assert_eq!((status, &shown["id"]), (200, &parked[0]["id"]), "{shown}");

    // Bad requests write nothing and leave the conflict parked.
    let resolve = format!("/v1/conflicts/{id}/resolve");
    for (path, body) in [
        (resolve.as_str(), json!({ "choose": "both" })),
        (resolve.as_str(), json!({ "choose": "value" })),
        (
            resolve.as_str(),
            json!({ "choose": "salesforce", "value": "x" }),
        ),
        (resolve.as_str(), json!({ "choose": "value", "value": 7 })),
        (
            "/v1/conflicts/not-an-id/resolve",
            json!({ "choose": "salesforce" }),
        ),
    ] {
        let (status, answer) = mesh.post(path, Some(ADMIN_KEY), Some(body)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{answer}"
        );
    }
    let unknown = format!("/v1/conflicts/{}/resolve", "0".repeat(32));
    let (status, answer) = mesh
        .post(
            &unknown,
            Some(ADMIN_KEY),
            Some(json!({ "choose": "netsuite" })),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{answer}"
    );
    let (status, _) = mesh.get("/v1/conflicts", Some(SF_KEY)).await;
    assert_eq!(status, 403, "conflicts need the admin scope");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );

    // A person settles it: both sides take the chosen value.
    let choice = json!({ "choose": "value", "value": "Agreed Name" });
    let (status, resolved) = mesh
        .post(&resolve, Some(ADMIN_KEY), Some(choice.clone()))
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(
        (
            resolved["winner"].as_str(),
            resolved["resolved_by"].as_str()
        ),
        (Some("value"), Some("person"))
    );
    let agreed = "Agreed Name".to_string();
    assert_eq!(
        names(mesh, &account, &customer),
        (agreed.clone(), agreed.clone())
    );
    assert!(conflict_log(mesh, "parked").await.is_empty());
    let (status, again) = mesh.post(&resolve, Some(ADMIN_KEY), Some(choice)).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (422, Some("UNPROCESSABLE")),
        "{again}"
    );

    // Unparked: later syncs run normally and find both sides agreeing.
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_ne!(click["outcome"], "conflict", "{click}");
    rename_in_salesforce(mesh, &account, "Renamed Later");
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_eq!(click["outcome"], "updated", "{click}");
    let later = "Renamed Later".to_string();
    assert_eq!(names(mesh, &account, &customer), (later.clone(), later));
}
on_both_stores!(
    manual_conflict,
    a_manual_conflict_parks_the_record_until_a_person_resolves_it,
    owned("name", Ownership::Manual)
);

async fn a_netsuite_owned_field_edited_in_salesforce_is_not_pushed_to_netsuite(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    let mut edit = one("Name", "Renamed in Salesforce");
    edit.insert("Phone".into(), Value::String("+1 555 0199".into()));
    mesh.sandbox.sf_update("Account", &account, edit).unwrap();

    let (status, body) = mesh.sync_account(&account, false).await;

    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let ns = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(
        text(ns.get("companyName")).as_deref(),
        Some(seed::DEMO_ACCOUNT_NAME),
        "NetSuite owns the name"
    );
    assert_eq!(
        text(ns.get("phone")).as_deref(),
        Some("+1 555 0199"),
        "the rest still syncs"
    );
    assert!(
        conflict_log(mesh, "all").await.is_empty(),
        "no conflict: one side changed"
    );
    // NetSuite's next event puts its name back on the account.
    let (_, event) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(event["outcome"], "updated", "{event}");
    let name = seed::DEMO_ACCOUNT_NAME.to_string();
    assert_eq!(names(mesh, &account, &customer), (name.clone(), name));
}
on_both_stores!(
    ownership_without_conflict,
    a_netsuite_owned_field_edited_in_salesforce_is_not_pushed_to_netsuite,
    owned("name", Ownership::Netsuite)
);

async fn a_parked_conflict_is_listed_and_resolved_over_grpc(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    rename_in_salesforce(mesh, &account, "Name from Salesforce");
    rename_in_netsuite(mesh, &customer, "Name from NetSuite");
    let (_, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(body["outcome"], "conflict", "{body}");
    let mut client = CustomerSyncClient::new(mesh.admin_grpc(&mesh.customers_grpc));

    let parked = client
        .list_conflicts(ListConflictsRequest {
            state: ConflictState::Parked as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conflicts;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].flow, "customers.customer_to_account");
    let id = parked[0].id.clone();
    for (choose, value) in [
        (ConflictChoice::Unspecified, None),
        (ConflictChoice::Netsuite, Some("x".to_string())),
    ] {
        let request = ResolveConflictRequest {
            id: id.clone(),
            choose: choose as i32,
            value,
            actor: String::new(),
        };
        let err = client.resolve_conflict(request).await.unwrap_err();
        assert_eq!(ErrorCode::from_status(&err), ErrorCode::InvalidArgument);
    }
    let request = GetConflictRequest { id: "0".repeat(32) };
    let err = client.get_conflict(request).await.unwrap_err();
    assert_eq!(ErrorCode::from_status(&err), ErrorCode::NotFound);

    let request = ResolveConflictRequest {
        id: id.clone(),
        choose: ConflictChoice::Netsuite as i32,
        value: None,
        actor: "grpc-operator".into(),
    };
    let resolved = client.resolve_conflict(request).await.unwrap().into_inner();

    assert_eq!(
        (resolved.state.as_str(), resolved.winner.as_str()),
        ("resolved", "netsuite")
    );
    let both = "Name from NetSuite".to_string();
    assert_eq!(names(mesh, &account, &customer), (both.clone(), both));
    let (_, event) = mesh.customer_event(&customer, "edit").await;
    assert_ne!(event["outcome"], "conflict", "unparked: {event}");
}
on_both_stores!(
    manual_conflict_over_grpc,
    a_parked_conflict_is_listed_and_resolved_over_grpc,
    owned("name", Ownership::Manual)
);

/// The city of the customer's default billing or shipping address.
fn ns_city(mesh: &TestMesh, customer: &str, default: &str) -> Option<String> {
    let ns = mesh.sandbox.ns_record("customer", customer).unwrap();
    let items = ns["addressBook"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .find(|item| item[default] == true)
        .and_then(|item| text(item["addressBookAddress"].get("city")))
}

async fn a_netsuite_owned_address_keeps_its_city_while_the_other_address_syncs(mesh: &TestMesh) {
    let (account, customer) = first_sync(mesh).await;
    let billing_before = ns_city(mesh, &customer, "defaultBilling");
    let mut edit = one("BillingCity", "Tacoma");
    edit.insert("ShippingCity".into(), Value::String("Bellevue".into()));
    mesh.sandbox.sf_update("Account", &account, edit).unwrap();

    let (status, body) = mesh.sync_account(&account, false).await;

    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    assert_eq!(ns_city(mesh, &customer, "defaultBilling"), billing_before);
    assert_eq!(
        ns_city(mesh, &customer, "defaultShipping").as_deref(),
        Some("Bellevue")
    );
}
on_both_stores!(
    address_ownership,
    a_netsuite_owned_address_keeps_its_city_while_the_other_address_syncs,
    owned("billing", Ownership::Netsuite)
);

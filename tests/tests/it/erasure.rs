//! Erasure of a person (`POST /v1/erasures`), asserted on both sandboxes and in the store:
//! anonymise keeps both records linked with placeholders, delete removes both and a later sync
//! does not bring the person back, the store keeps no trace of the person's name or e-mail,
//! the audit entry names only ids, a legal hold refuses with 409 and changes nothing, bad input
//! is refused before anything is read, a second request writes nothing, a dry run writes nothing.

use isthmus_engine::config::ErasureMode;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::customers::v1::{erase_person_request, ErasePersonRequest};
use isthmus_proto::ErrorCode;
use isthmus_sandbox::seed;
use isthmus_tests::{
    grpc_channel, on_both_stores, text, TestMesh, ADMIN_KEY, GRPC_VIEWER_TOKEN, SF_KEY,
};
use serde_json::{json, Map, Value};

/// A person as the demo account's first contact holds them before the erasure.
struct Person {
    account: String,
    contact: String,
    twin: String,
    full_name: String,
    email: String,
}

fn sf_contacts(mesh: &TestMesh, account: &str) -> Vec<Map<String, Value>> {
    mesh.sandbox
        .sf_records("Contact")
        .into_iter()
        .filter(|c| text(c.get("AccountId")).as_deref() == Some(account))
        .collect()
}

/// The demo account synced twice (the second time after an edit of its first contact, so the
/// audit log holds the person's values as a change, before → after).
async fn synced_person(mesh: &TestMesh) -> Person {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let first = sf_contacts(mesh, &account)[0].clone();
    let contact = text(first.get("Id")).unwrap();
    let edit =
        json!({ "Title": "Head of Erasure Tests", "MailingStreet": "742 Evergreen Terrace" });
    mesh.sandbox
        .sf_update("Contact", &contact, edit.as_object().unwrap().clone())
        .unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let twins = mesh.ns_where("contact", "externalId", &contact);
    assert_eq!(twins.len(), 1);
    let first_name = text(first.get("FirstName")).unwrap();
    let last_name = text(first.get("LastName")).unwrap();
    let email = text(first.get("Email")).unwrap();
    Person {
        account,
        contact,
        twin: text(twins[0].get("id")).unwrap(),
        full_name: format!("{first_name} {last_name}"),
        email,
    }
}

/// Asserts that neither the store nor the audit log holds the person's name or e-mail.
async fn assert_no_trace(mesh: &TestMesh, person: &Person) {
    let snapshot = format!("{:?}", mesh.settled_store_snapshot().await);
    for value in [
        &person.full_name,
        &person.email,
        &person.email.to_lowercase(),
    ] {
        assert!(
            !snapshot.contains(value.as_str()),
            "{value} left in the store: {snapshot}"
        );
    }
}

async fn erase(mesh: &TestMesh, query: &str, body: Value) -> (u16, Value) {
    mesh.post(&format!("/v1/erasures{query}"), Some(ADMIN_KEY), Some(body))
        .await
}

async fn anonymise_keeps_both_records_linked_with_placeholders(mesh: &TestMesh) {
    let person = synced_person(mesh).await;
    // A click with an idempotency key: the answer kept for its retries names the person.
    mesh.sandbox
        .sf_update(
            "Contact",
            &person.contact,
            json!({ "Title": "Kept In An Answer" })
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
    let click = || {
        mesh.http
            .post(format!(
                "{}/v1/salesforce/accounts/{}/sync",
                mesh.gateway, person.account
            ))
            .bearer_auth(SF_KEY)
            .header("Idempotency-Key", "erasure-click")
            .send()
    };
    let kept = click().await.unwrap().text().await.unwrap();
    assert!(kept.contains(&person.full_name), "{kept}");
    let before = format!("{:?}", mesh.settled_store_snapshot().await);
    assert!(
        before.contains(&person.full_name),
        "the audit names the contact before"
    );

    let (status, body) = erase(mesh, "", json!({ "salesforce_contact_id": person.contact })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["salesforce"], "anonymised", "{body}");
    assert_eq!(body["netsuite"], "anonymised", "{body}");
    assert_eq!(body["netsuite_contact_id"], person.twin.as_str());
    assert_eq!(body["salesforce_account_id"], person.account.as_str());
    assert!(
        body["audit_entries_redacted"].as_u64().unwrap() > 0,
        "{body}"
    );

    let sf = mesh.sandbox.sf_record("Contact", &person.contact).unwrap();
    assert_eq!(
        (&sf["FirstName"], &sf["LastName"]),
        (&json!("Erased"), &json!("Person"))
    );
    for field in ["Email", "Phone", "Title", "MailingStreet"] {
        assert_eq!(sf[field], Value::Null, "{field}");
    }
    assert_eq!(
        (&sf["HasOptedOutOfEmail"], &sf["DoNotCall"]),
        (&json!(true), &json!(true))
    );
    let ns = mesh.sandbox.ns_record("contact", &person.twin).unwrap();
    assert_eq!(
        (&ns["firstName"], &ns["lastName"]),
        (&json!("Erased"), &json!("Person"))
    );
    assert_eq!(ns["entityId"], format!("Erased Person {}", person.twin));
    for field in ["email", "phone", "title"] {
        assert!(text(ns.get(field)).is_none(), "{field}: {ns:?}");
    }
    assert_eq!(
        text(ns["globalSubscriptionStatus"].get("id")).as_deref(),
        Some("2")
    );
    assert_eq!(ns["custentity_isthmus_do_not_call"], true);
    // The link (the NetSuite contact's externalId is the Salesforce Contact id) stays.
    assert_eq!(
        text(ns.get("externalId")),
        Some(person.contact.clone()),
        "link kept"
    );

    assert_no_trace(mesh, &person).await;
    // The kept answer is still replayed, without the person.
    let replayed = click().await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    let replayed = replayed.text().await.unwrap();
    assert!(!replayed.contains(&person.full_name), "{replayed}");
    // The erasure's own entry: ids and modes only.
    let (_, audit) = mesh.get("/v1/audit?limit=500", Some(ADMIN_KEY)).await;
    let entries = audit.as_array().cloned().unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| e["flow"] == "customers.erasure")
        .unwrap_or_else(|| panic!("an erasure entry: {audit}"));
    assert_eq!(entry["salesforce_id"], person.contact.as_str());
    assert_eq!(entry["netsuite_id"], person.twin.as_str());
    let shown = entry.to_string();
    assert!(shown.contains("anonymise"), "{shown}");
    assert!(
        !shown.contains(&person.full_name) && !shown.contains(&person.email),
        "{shown}"
    );

    // A second request writes nothing and says so.
    let settled = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, again) = erase(mesh, "", json!({ "netsuite_contact_id": person.twin })).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["salesforce"].as_str(), again["netsuite"].as_str()),
        (Some("already_anonymised"), Some("already_anonymised")),
        "{again}"
    );
    assert_eq!(again["audit_entries_redacted"], 0);
    mesh.assert_nothing_written(&settled).await;

    // The next sync of the account carries placeholders, never the person.
    let (status, synced) = mesh.sync_account(&person.account, false).await;
    assert_eq!(status, 200, "{synced}");
    let sf = mesh.sandbox.sf_record("Contact", &person.contact).unwrap();
    assert_eq!(sf["LastName"], "Person");
    assert!(mesh
        .ns_where("contact", "email", &person.email.to_lowercase())
        .is_empty());
    assert_eq!(
        mesh.ns_where("contact", "externalId", &person.contact)
            .len(),
        1
    );
}
on_both_stores!(
    anonymise,
    anonymise_keeps_both_records_linked_with_placeholders
);

async fn delete_removes_both_records_and_no_sync_brings_the_person_back(mesh: &TestMesh) {
    let person = synced_person(mesh).await;
    let contacts_before = sf_contacts(mesh, &person.account).len();

    let (status, body) = erase(mesh, "", json!({ "netsuite_contact_id": person.twin })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["salesforce"].as_str(), body["netsuite"].as_str()),
        (Some("deleted"), Some("deleted")),
        "{body}"
    );
    assert!(mesh.sandbox.sf_record("Contact", &person.contact).is_none());
    assert!(mesh.sandbox.ns_record("contact", &person.twin).is_none());
    assert_no_trace(mesh, &person).await;

    let (status, synced) = mesh.sync_account(&person.account, false).await;
    assert_eq!(status, 200, "{synced}");
    assert!(mesh
        .ns_where("contact", "externalId", &person.contact)
        .is_empty());
    assert!(mesh
        .ns_where("contact", "email", &person.email.to_lowercase())
        .is_empty());
    assert_eq!(
        sf_contacts(mesh, &person.account).len(),
        contacts_before - 1
    );

    // Deleted on both sides: nobody left to erase.
    let (status, again) = erase(mesh, "", json!({ "salesforce_contact_id": person.contact })).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{again}"
    );
}
on_both_stores!(
    delete,
    delete_removes_both_records_and_no_sync_brings_the_person_back,
    |config: &mut isthmus::Config| {
        config.customers.privacy.erasure.salesforce = ErasureMode::Delete;
        config.customers.privacy.erasure.netsuite = ErasureMode::Delete;
    }
);

async fn a_mixed_mode_never_brings_the_person_back(mesh: &TestMesh) {
    let person = synced_person(mesh).await;
    let (status, body) = erase(mesh, "", json!({ "salesforce_contact_id": person.contact })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["salesforce"].as_str(), body["netsuite"].as_str()),
        (Some("deleted"), Some("anonymised")),
        "{body}"
    );
    assert!(mesh.sandbox.sf_record("Contact", &person.contact).is_none());
    let customer = body["netsuite_customer_id"].as_str().unwrap().to_string();

    // Both flows run again: at most the placeholder travels, never the person.
    let (status, event) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(status, 200, "{event}");
    let (status, synced) = mesh.sync_account(&person.account, false).await;
    assert_eq!(status, 200, "{synced}");
    let sf = format!("{:?}", mesh.sandbox.sf_records("Contact"));
    let ns = format!("{:?}", mesh.sandbox.ns_records("contact"));
    for value in [&person.full_name, &person.email] {
        assert!(
            !sf.contains(value.as_str()) && !ns.contains(value.as_str()),
            "{value}"
        );
    }
    assert_no_trace(mesh, &person).await;
}
on_both_stores!(
    mixed,
    a_mixed_mode_never_brings_the_person_back,
    |config: &mut isthmus::Config| {
        config.customers.privacy.erasure.salesforce = ErasureMode::Delete;
    }
);

async fn a_legal_hold_refuses_with_409_and_changes_nothing(mesh: &TestMesh) {
    let person = synced_person(mesh).await;
    let hold = json!({ "Legal_Hold__c": true });
    for (sobject, id) in [("Contact", &person.contact), ("Account", &person.account)] {
        mesh.sandbox
            .sf_update(sobject, id, hold.as_object().unwrap().clone())
            .unwrap();
        let before = mesh.settled_store_snapshot().await;
        mesh.sandbox.reset_calls();
        let (status, body) =
            erase(mesh, "", json!({ "salesforce_contact_id": person.contact })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("LEGAL_HOLD")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(sobject), "{message}");
        assert!(!message.contains(&person.full_name), "{message}");
        mesh.assert_nothing_written(&before).await;
        let sf = mesh.sandbox.sf_record("Contact", &person.contact).unwrap();
        assert_eq!(text(sf.get("Email")), Some(person.email.clone()));
        let release = json!({ "Legal_Hold__c": false });
        mesh.sandbox
            .sf_update(sobject, id, release.as_object().unwrap().clone())
            .unwrap();
    }
}

/// The schema doctor checks the configured hold checkboxes: present in the sandbox, then one
/// renamed away and reported under its key.
async fn the_doctor_checks_the_hold_fields(mesh: &TestMesh) {
    let (mut config, secrets) = mesh.sandbox_config();
    config.customers.privacy.legal_hold.salesforce_contact_field = "Legal_Hold__c".into();
    let salesforce = isthmus::wiring::salesforce(&config, &secrets).unwrap();
    let netsuite = isthmus::wiring::netsuite(&config, &secrets, mesh.store.clone()).unwrap();
    let hold_key = "customers.privacy.legal_hold.salesforce_contact_field";
    let report = isthmus_engine::doctor::run(&config, &salesforce, &netsuite)
        .await
        .unwrap();
    assert!(
        report.problems.iter().all(|p| p.config_key != hold_key),
        "{report:?}"
    );
    mesh.sandbox
        .sf_rename_field("Contact", "Legal_Hold__c", None);
    let report = isthmus_engine::doctor::run(&config, &salesforce, &netsuite)
        .await
        .unwrap();
    assert!(
        report.problems.iter().any(|p| p.config_key == hold_key),
        "{report:?}"
    );
}

async fn legal_holds(mesh: &TestMesh) {
    a_legal_hold_refuses_with_409_and_changes_nothing(mesh).await;
    the_doctor_checks_the_hold_fields(mesh).await;
}

on_both_stores!(legal_hold, legal_holds, |config: &mut isthmus::Config| {
    let hold = &mut config.customers.privacy.legal_hold;
    hold.salesforce_contact_field = "Legal_Hold__c".into();
    hold.salesforce_account_field = "Legal_Hold__c".into();
});

async fn bad_input_and_unknown_people_are_refused_and_a_dry_run_writes_nothing(mesh: &TestMesh) {
    let person = synced_person(mesh).await;
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let account = person.account.as_str();
    for body in [
        json!({ "salesforce_contact_id": "003-not-an-id" }),
        json!({ "salesforce_contact_id": account }),
        json!({ "netsuite_contact_id": "12x" }),
        json!({ "salesforce_contact_id": person.contact, "netsuite_contact_id": person.twin }),
        json!({}),
        json!({ "email": person.email }),
    ] {
        let (status, answer) = erase(mesh, "", body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{body}: {answer}"
        );
    }
    let (status, _) = erase(
        mesh,
        "?dry_run=maybe",
        json!({ "netsuite_contact_id": "1" }),
    )
    .await;
    assert_eq!(status, 400);
    let calls = mesh.sandbox.calls();
    assert_eq!(calls.salesforce_writes() + calls.netsuite_writes(), 0);

    for body in [
        json!({ "salesforce_contact_id": "0030000000000AB" }),
        json!({ "netsuite_contact_id": "987654" }),
    ] {
        let (status, answer) = erase(mesh, "", body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{answer}"
        );
    }
    let (status, answer) = mesh
        .post(
            "/v1/erasures",
            Some(SF_KEY),
            Some(json!({ "salesforce_contact_id": person.contact })),
        )
        .await;
    assert_eq!(status, 403, "{answer}");

    let (status, preview) = erase(
        mesh,
        "?dry_run=true",
        json!({ "salesforce_contact_id": person.contact }),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["dry_run"], true);
    assert_eq!(
        (preview["salesforce"].as_str(), preview["netsuite"].as_str()),
        (Some("anonymised"), Some("anonymised")),
        "{preview}"
    );
    mesh.assert_nothing_written(&before).await;
    let sf = mesh.sandbox.sf_record("Contact", &person.contact).unwrap();
    assert_eq!(text(sf.get("Email")), Some(person.email.clone()));

    // The gRPC contract: admin only, the id checked, the dry run answered.
    let request = |raw: &str, dry_run: bool| ErasePersonRequest {
        person: Some(erase_person_request::Person::SalesforceContactId(
            raw.to_string(),
        )),
        dry_run,
        actor: "grpc-test".into(),
    };
    let mut viewer =
        CustomerSyncClient::new(grpc_channel(&mesh.customers_grpc, Some(GRPC_VIEWER_TOKEN)));
    let denied = viewer
        .erase_person(request(&person.contact, true))
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::from_status(&denied),
        ErrorCode::PermissionDenied,
        "{denied:?}"
    );
    let mut admin = CustomerSyncClient::new(mesh.admin_grpc(&mesh.customers_grpc));
    let bad = admin
        .erase_person(request(account, true))
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::from_status(&bad),
        ErrorCode::InvalidArgument,
        "{bad:?}"
    );
    let preview = admin
        .erase_person(request(&person.contact, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (preview.salesforce.as_str(), preview.dry_run),
        ("anonymised", true)
    );
    mesh.assert_nothing_written(&before).await;
}
on_both_stores!(
    bad_input,
    bad_input_and_unknown_people_are_refused_and_a_dry_run_writes_nothing
);

/// Every customer id the sandbox can hand out is held: the seeded NetSuite contact (never
/// synced, so Salesforce has no twin) is refused by its customer's hold.
async fn a_held_netsuite_customer_refuses_its_contacts_erasure(mesh: &TestMesh) {
    let contacts = mesh.ns_where("contact", "lastName", "Coyote");
    assert_eq!(contacts.len(), 1, "the seeded contact");
    let id = text(contacts[0].get("id")).unwrap();
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();
    let (status, body) = erase(mesh, "", json!({ "netsuite_contact_id": id })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("LEGAL_HOLD")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("NetSuite customer"),
        "{body}"
    );
    assert!(
        !body["message"].as_str().unwrap().contains("Coyote"),
        "{body}"
    );
    mesh.assert_nothing_written(&before).await;
    let contact = mesh.sandbox.ns_record("contact", &id).unwrap();
    assert_eq!(contact["lastName"], "Coyote");
}
on_both_stores!(
    netsuite_hold,
    a_held_netsuite_customer_refuses_its_contacts_erasure,
    |config: &mut isthmus::Config| {
        let ids: Vec<String> = (1..=2000).map(|id| id.to_string()).collect();
        config.customers.privacy.legal_hold.netsuite_customers =
            serde_json::from_value(json!(ids)).unwrap();
    }
);

/// The console's form: admin only (with its CSRF token), the dry run first, then for real.
async fn the_console_erases_with_a_dry_run_first(mesh: &TestMesh) {
    use crate::console_access::{page, post_form, sign_in};
    let person = synced_person(mesh).await;
    let before = mesh.settled_store_snapshot().await;
    mesh.sandbox.reset_calls();

    let (viewer, viewer_csrf) = sign_in(mesh, isthmus_tests::VIEWER_KEY).await;
    let (status, html) = page(mesh, &viewer, "/console/erasures").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        !html.contains("id=\"erase\""),
        "no form for a viewer: {html}"
    );
    let form = [
        ("csrf", viewer_csrf.as_str()),
        ("side", "salesforce"),
        ("id", person.contact.as_str()),
    ];
    let (status, _) = post_form(mesh, &viewer, "/console/erasures", &form).await;
    assert_eq!(status, 403);

    let (admin, csrf) = sign_in(mesh, ADMIN_KEY).await;
    let (status, html) = page(mesh, &admin, "/console/erasures").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"erase\""), "{html}");
    let forged = [
        ("csrf", "forged"),
        ("side", "salesforce"),
        ("id", person.contact.as_str()),
    ];
    let (status, _) = post_form(mesh, &admin, "/console/erasures", &forged).await;
    assert_eq!(status, 403);
    let dry = [
        ("csrf", csrf.as_str()),
        ("side", "salesforce"),
        ("id", person.contact.as_str()),
        ("dry_run", "true"),
    ];
    let (status, _) = post_form(mesh, &admin, "/console/erasures", &dry).await;
    assert_eq!(status, 303);
    mesh.assert_nothing_written(&before).await;

    let (status, html) = post_form(
        mesh,
        &admin,
        "/console/erasures",
        &[("csrf", csrf.as_str()), ("side", "netsuite"), ("id", "12x")],
    )
    .await;
    assert_eq!(status, 400, "{html}");

    let real = [
        ("csrf", csrf.as_str()),
        ("side", "salesforce"),
        ("id", person.contact.as_str()),
    ];
    let (status, _) = post_form(mesh, &admin, "/console/erasures", &real).await;
    assert_eq!(status, 303);
    let sf = mesh.sandbox.sf_record("Contact", &person.contact).unwrap();
    assert_eq!(sf["LastName"], "Person");
    assert_no_trace(mesh, &person).await;
}
on_both_stores!(console, the_console_erases_with_a_dry_run_first);

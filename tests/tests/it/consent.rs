//! Contact consent travels with contacts, both ways, asserted on both sandboxes: Salesforce's
//! `HasOptedOutOfEmail` ⇄ NetSuite's `globalSubscriptionStatus` (a confirmed status neither
//! downgraded nor, for a Confirmed Opt-Out, overwritten), `DoNotCall` ⇄ the configured
//! checkbox, and the ownership rules of `customers.ownership`.

use isthmus_engine::config::Ownership;
use isthmus_sandbox::seed;
use isthmus_tests::{on_both_stores, text, TestMesh};
use serde_json::{json, Map, Value};

const DO_NOT_CALL: &str = "custentity_isthmus_do_not_call";

fn fields(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// The demo account's contacts in Salesforce, by creation.
fn sf_contacts(mesh: &TestMesh, account: &str) -> Vec<Map<String, Value>> {
    mesh.sandbox
        .sf_records("Contact")
        .into_iter()
        .filter(|c| text(c.get("AccountId")).as_deref() == Some(account))
        .collect()
}

/// The NetSuite twin of a Salesforce contact (its `externalId`).
fn ns_twin(mesh: &TestMesh, sf_contact: &str) -> Map<String, Value> {
    let twins = mesh.ns_where("contact", "externalId", sf_contact);
    assert_eq!(twins.len(), 1, "one NetSuite contact for {sf_contact}");
    twins.into_iter().next().unwrap()
}

fn status(contact: &Map<String, Value>) -> String {
    text(contact["globalSubscriptionStatus"].get("id")).unwrap_or_default()
}

/// Synced once; the first contact's Salesforce id and its NetSuite twin's id.
async fn synced_account(mesh: &TestMesh) -> (String, String, String, String) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = body["netsuite_id"].as_str().unwrap().to_string();
    let contact = text(sf_contacts(mesh, &account)[0].get("Id")).unwrap();
    let twin = text(ns_twin(mesh, &contact).get("id")).unwrap();
    (account, customer, contact, twin)
}

async fn salesforce_opt_outs_reach_netsuite_and_an_opt_in_follows(mesh: &TestMesh) {
    let (account, _, contact, _) = synced_account(mesh).await;
    let twin = ns_twin(mesh, &contact);
    assert_eq!(status(&twin), "1", "opted in: Soft Opt-In");
    assert_eq!(twin[DO_NOT_CALL], false);

    let opt_out = json!({ "HasOptedOutOfEmail": true, "DoNotCall": true });
    mesh.sandbox
        .sf_update("Contact", &contact, fields(opt_out))
        .unwrap();
    // A dry run shows the status change and writes nothing.
    mesh.sandbox.reset_calls();
    let (code, preview) = mesh.sync_account(&account, true).await;
    assert_eq!(code, 200, "{preview}");
    assert!(
        preview["changes"].as_array().unwrap().iter().any(|c| {
            c["field"] == "globalSubscriptionStatus" && c["before"] == "1" && c["after"] == "2"
        }),
        "{preview}"
    );
    assert_eq!(mesh.sandbox.calls().netsuite_writes(), 0);
    assert_eq!(status(&ns_twin(mesh, &contact)), "1");
    let (code, body) = mesh.sync_account(&account, false).await;
    assert_eq!(
        (code, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let changes = body["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["field"] == "globalSubscriptionStatus" && c["after"] == "2"),
        "{body}"
    );
    let twin = ns_twin(mesh, &contact);
    assert_eq!(status(&twin), "2", "opted out: Soft Opt-Out");
    assert_eq!(twin[DO_NOT_CALL], true);
    // The other contacts keep their consent.
    for other in sf_contacts(mesh, &account).iter().skip(1) {
        let twin = ns_twin(mesh, &text(other.get("Id")).unwrap());
        assert_eq!(
            (status(&twin).as_str(), &twin[DO_NOT_CALL]),
            ("1", &json!(false))
        );
    }

    let opt_in = json!({ "HasOptedOutOfEmail": false, "DoNotCall": false });
    mesh.sandbox
        .sf_update("Contact", &contact, fields(opt_in))
        .unwrap();
    let (_, body) = mesh.sync_account(&account, false).await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let twin = ns_twin(mesh, &contact);
    assert_eq!(
        (status(&twin).as_str(), &twin[DO_NOT_CALL]),
        ("1", &json!(false))
    );
}
on_both_stores!(
    salesforce_to_netsuite,
    salesforce_opt_outs_reach_netsuite_and_an_opt_in_follows
);

async fn netsuite_consent_reaches_salesforce(mesh: &TestMesh) {
    let (account, customer, contact, twin) = synced_account(mesh).await;
    let edit = json!({ "globalSubscriptionStatus": { "id": "2" }, DO_NOT_CALL: true });
    mesh.sandbox
        .ns_update("contact", &twin, fields(edit))
        .unwrap();
    let (code, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(
        (code, body["outcome"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let sf = mesh.sandbox.sf_record("Contact", &contact).unwrap();
    assert_eq!(sf["HasOptedOutOfEmail"], true);
    assert_eq!(sf["DoNotCall"], true);

    // Both echoes are silent now.
    mesh.sandbox.reset_calls();
    let (_, echo) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(echo["outcome"], "unchanged", "{echo}");
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_eq!(click["outcome"], "unchanged", "{click}");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_writes(), calls.netsuite_writes()),
        (0, 0),
        "{calls:?}"
    );

    // Confirmed Opt-In is opted in: Salesforce follows, and an unchanged click keeps it.
    let edit = json!({ "globalSubscriptionStatus": { "id": "3" } });
    mesh.sandbox
        .ns_update("contact", &twin, fields(edit))
        .unwrap();
    let (_, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let sf = mesh.sandbox.sf_record("Contact", &contact).unwrap();
    assert_eq!(sf["HasOptedOutOfEmail"], false);
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_eq!(click["outcome"], "unchanged", "{click}");
    assert_eq!(status(&ns_twin(mesh, &contact)), "3");
}
on_both_stores!(netsuite_to_salesforce, netsuite_consent_reaches_salesforce);

async fn a_confirmed_status_is_neither_downgraded_nor_overwritten(mesh: &TestMesh) {
    let (account, customer, contact, twin) = synced_account(mesh).await;

    // Confirmed Opt-In in NetSuite, then another edit in Salesforce: the status stays confirmed.
    let edit = json!({ "globalSubscriptionStatus": { "id": "3" } });
    mesh.sandbox
        .ns_update("contact", &twin, fields(edit))
        .unwrap();
    let title = json!({ "Title": "Head of Latex" });
    mesh.sandbox
        .sf_update("Contact", &contact, fields(title))
        .unwrap();
    let (_, body) = mesh.sync_account(&account, false).await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let ns = ns_twin(mesh, &contact);
    assert_eq!(text(ns.get("title")).as_deref(), Some("Head of Latex"));
    assert_eq!(status(&ns), "3", "not downgraded to Soft Opt-In");

    // The recipient confirms an opt-out in NetSuite; Salesforce, not told yet, syncs an opt-in.
    let edit = json!({ "globalSubscriptionStatus": { "id": "4" } });
    mesh.sandbox
        .ns_update("contact", &twin, fields(edit))
        .unwrap();
    let title = json!({ "Title": "Importer-Exporter" });
    mesh.sandbox
        .sf_update("Contact", &contact, fields(title))
        .unwrap();
    let (_, body) = mesh.sync_account(&account, false).await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let ns = ns_twin(mesh, &contact);
    assert_eq!(text(ns.get("title")).as_deref(), Some("Importer-Exporter"));
    assert_eq!(status(&ns), "4", "a Confirmed Opt-Out is never overwritten");

    // The customer's next event is not taken for an echo: the opt-out reaches Salesforce.
    let (_, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let sf = mesh.sandbox.sf_record("Contact", &contact).unwrap();
    assert_eq!(sf["HasOptedOutOfEmail"], true);
    let (_, click) = mesh.sync_account(&account, false).await;
    assert_eq!(click["outcome"], "unchanged", "{click}");
}
on_both_stores!(
    confirmed_statuses,
    a_confirmed_status_is_neither_downgraded_nor_overwritten
);

async fn consent_owned_by_netsuite_is_never_written_to_it(mesh: &TestMesh) {
    let (account, customer, contact, twin) = synced_account(mesh).await;
    let opt_out = json!({ "HasOptedOutOfEmail": true, "DoNotCall": true, "Title": "Architect" });
    mesh.sandbox
        .sf_update("Contact", &contact, fields(opt_out))
        .unwrap();
    let (_, body) = mesh.sync_account(&account, false).await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let ns = ns_twin(mesh, &contact);
    assert_eq!(text(ns.get("title")).as_deref(), Some("Architect"));
    assert_eq!(status(&ns), "1", "email_opt_out is NetSuite's");
    assert_eq!(
        ns[DO_NOT_CALL], true,
        "do_not_call keeps the default policy"
    );

    // NetSuite's value comes back to Salesforce on the customer's next event.
    let (_, body) = mesh.customer_event(&customer, "edit").await;
    assert_eq!(body["outcome"], "updated", "{body}");
    let sf = mesh.sandbox.sf_record("Contact", &contact).unwrap();
    assert_eq!(sf["HasOptedOutOfEmail"], false);
    assert_eq!(sf["DoNotCall"], true);
    assert_eq!(twin, text(ns.get("id")).unwrap());
}
on_both_stores!(
    netsuite_owned,
    consent_owned_by_netsuite_is_never_written_to_it,
    |config: &mut isthmus::Config| {
        config
            .customers
            .ownership
            .insert("email_opt_out".into(), Ownership::Netsuite);
    }
);

async fn a_configured_consent_field_travels_too(mesh: &TestMesh) {
    let (account, _, contact, _) = synced_account(mesh).await;
    mesh.sandbox
        .sf_update(
            "Contact",
            &contact,
            fields(json!({ "HasOptedOutOfFax": true })),
        )
        .unwrap();
    let (_, body) = mesh.sync_account(&account, false).await;
    assert_eq!(body["outcome"], "updated", "{body}");
    // The sandbox's contact has no fax checkbox of its own: the configured field is the
    // do-not-call one, so the Salesforce fax opt-out lands there.
    assert_eq!(ns_twin(mesh, &contact)[DO_NOT_CALL], true);
}
on_both_stores!(
    configured_field,
    a_configured_consent_field_travels_too,
    |config: &mut isthmus::Config| {
        config.customers.consent.netsuite_do_not_call = String::new();
        config.customers.consent.fields.insert(
            "fax_opt_out".into(),
            isthmus_engine::config::FieldPair {
                salesforce: "HasOptedOutOfFax".into(),
                netsuite: DO_NOT_CALL.into(),
            },
        );
    }
);

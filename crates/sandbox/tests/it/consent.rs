//! Consent fields on both sides: Salesforce Contact's standard opt-out checkboxes (false unless
//! set, filterable in SOQL) and NetSuite contact's `globalSubscriptionStatus` (a list of four
//! values, Soft Opt-In when a contact is created without one; any other value refused) with the
//! `custentity_isthmus_do_not_call` checkbox.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

async fn ns_create(h: &Harness, path: &str, body: Value) -> String {
    let response = h.ns(Method::POST, path, Some(body)).await;
    assert_eq!(response.status(), 204, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn salesforce_contacts_carry_the_standard_opt_out_checkboxes() {
    let h = empty().await;
    let response = h
        .sf(
            Method::POST,
            "sobjects/Contact",
            Some(json!({ "LastName": "Costanza", "HasOptedOutOfEmail": true })),
        )
        .await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact: Value = h
        .sf(Method::GET, &format!("sobjects/Contact/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contact["HasOptedOutOfEmail"], true);
    assert_eq!(
        contact["DoNotCall"], false,
        "a checkbox is false unless set"
    );
    assert_eq!(contact["HasOptedOutOfFax"], false);
    assert_eq!(contact["Legal_Hold__c"], false);

    let found: Value = h
        .soql("SELECT Id FROM Contact WHERE HasOptedOutOfEmail = true AND DoNotCall = false")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["totalSize"], 1);
    let refused = h
        .sf(
            Method::PATCH,
            &format!("sobjects/Contact/{id}"),
            Some(json!({ "DoNotCall": "yes" })),
        )
        .await;
    assert_eq!(refused.status(), 400, "a checkbox takes a boolean");
}

#[tokio::test]
async fn netsuite_contacts_default_to_soft_opt_in_and_take_the_four_statuses() {
    let h = empty().await;
    let customer = ns_create(
        &h,
        "record/v1/customer",
        json!({ "companyName": "Vandelay" }),
    )
    .await;
    let contact = ns_create(
        &h,
        "record/v1/contact",
        json!({ "lastName": "Vandelay", "company": { "id": customer } }),
    )
    .await;
    let record = &h.sandbox.ns_records("contact")[0];
    assert_eq!(
        record["globalSubscriptionStatus"],
        json!({ "id": "1", "refName": "Soft Opt-In" })
    );

    for (code, name) in [
        ("2", "Soft Opt-Out"),
        ("3", "Confirmed Opt-In"),
        ("4", "Confirmed Opt-Out"),
    ] {
        let response = h
            .ns(
                Method::PATCH,
                &format!("record/v1/contact/{contact}"),
                Some(json!({
                    "globalSubscriptionStatus": { "id": code },
                    "custentity_isthmus_do_not_call": true,
                })),
            )
            .await;
        assert_eq!(response.status(), 204);
        let record = &h.sandbox.ns_records("contact")[0];
        assert_eq!(record["globalSubscriptionStatus"]["refName"], name);
        assert_eq!(record["custentity_isthmus_do_not_call"], true);
    }

    let refused = h
        .ns(
            Method::PATCH,
            &format!("record/v1/contact/{contact}"),
            Some(json!({ "globalSubscriptionStatus": { "id": "5" } })),
        )
        .await;
    assert_eq!(refused.status(), 400);
    let record = &h.sandbox.ns_records("contact")[0];
    assert_eq!(
        record["globalSubscriptionStatus"]["id"], "4",
        "nothing written"
    );

    let rows: Value = h
        .ns(
            Method::POST,
            "query/v1/suiteql",
            Some(json!({ "q": "SELECT id, globalsubscriptionstatus, custentity_isthmus_do_not_call FROM contact" })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows["items"][0]["globalsubscriptionstatus"], "4");
    assert_eq!(rows["items"][0]["custentity_isthmus_do_not_call"], "T");
}

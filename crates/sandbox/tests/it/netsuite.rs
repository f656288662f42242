use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, seeded, Harness};
use crate::signer::{authorization, Options};

const INVALID_LOGIN: &str = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.";

async fn signed_get(h: &Harness, path: &str, options: &Options) -> reqwest::Response {
    let url = format!("{}/services/rest/{path}", h.ns);
    h.http
        .get(&url)
        .header("authorization", authorization("GET", &url, options))
        .send()
        .await
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().unwrap().starts_with("https://"));
    assert!(body["title"].is_string());
    (
        status,
        body["o:errorDetails"][0]["o:errorCode"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn create_customer(h: &Harness, body: Value) -> String {
    let response = h.ns(Method::POST, "record/v1/customer", Some(body)).await;
    assert_eq!(response.status(), 204);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/services/rest/record/v1/customer/", h.ns)));
    location.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn signed_requests_with_query_parameters_are_accepted() {
    let h = seeded().await;
    let response = signed_get(
        &h,
        "record/v1/customer/101?expandSubResources=true&fields=companyName,addressBook",
        &Options::default(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["companyName"], "ACME Corp.");
    assert!(body.get("email").is_none());
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_replays_and_sha1_get_invalid_login() {
    let h = seeded().await;
    let cases = [
        Options {
            consumer_secret: "wrong-secret",
            ..Options::default()
        },
        Options {
            method: "HMAC-SHA1",
            ..Options::default()
        },
        Options {
            timestamp: chrono::Utc::now().timestamp() - 600,
            ..Options::default()
        },
        Options {
            realm: "7654321",
            ..Options::default()
        },
    ];
    for options in &cases {
        let response = signed_get(&h, "record/v1/customer/101", options).await;
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({
                "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
                "title": "Unauthorized",
                "status": 401,
                "o:errorDetails": [{"detail": INVALID_LOGIN, "o:errorCode": "INVALID_LOGIN"}]
            })
        );
    }
    let replayed = Options {
        nonce: "same-nonce".into(),
        ..Options::default()
    };
    assert_eq!(
        signed_get(&h, "record/v1/customer/101", &replayed)
            .await
            .status(),
        200
    );
    assert_eq!(
        signed_get(&h, "record/v1/customer/101", &replayed)
            .await
            .status(),
        401
    );
    let unsigned = h
        .http
        .get(format!("{}/services/rest/record/v1/customer/101", h.ns))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(unsigned).await, (401, "INVALID_LOGIN".into()));
}

#[tokio::test]
async fn create_answers_204_with_location_and_get_shows_references_and_links() {
    let h = empty().await;
    let id = create_customer(&h, json!({"companyName": "Vandelay Industries", "email": "art@vandelay.com", "subsidiary": {"id": "2"}})).await;
    let body: Value = h
        .ns(Method::GET, &format!("record/v1/customer/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["companyName"], "Vandelay Industries");
    assert_eq!(body["isInactive"], false);
    assert_eq!(body["entityId"], format!("CUS{id}"));
    assert_eq!(body["subsidiary"]["id"], "2");
    assert_eq!(body["subsidiary"]["refName"], "Isthmus Europe B.V.");
    assert_eq!(body["currency"]["refName"], "Euro");
    assert_eq!(body["links"][0]["rel"], "self");
    assert!(body["lastModifiedDate"].as_str().unwrap().ends_with('Z'));
    assert!(body["addressBook"]["links"][0]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/customer/{id}/addressBook")));
    assert!(body["addressBook"].get("items").is_none());
}

#[tokio::test]
async fn eid_upsert_creates_then_updates_the_same_record() {
    let h = empty().await;
    let first = h
        .ns(
            Method::PUT,
            "record/v1/customer/eid:SF-001Dn0000000001",
            Some(json!({"companyName": "Kramerica"})),
        )
        .await;
    assert_eq!(first.status(), 204);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let second = h
        .ns(
            Method::PUT,
            "record/v1/customer/eid:SF-001Dn0000000001",
            Some(json!({"phone": "555-0101"})),
        )
        .await;
    assert_eq!(second.status(), 204);
    assert_eq!(second.headers()["location"].to_str().unwrap(), location);
    let records = h.sandbox.ns_records("customer");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["externalId"], "SF-001Dn0000000001");
    assert_eq!(records[0]["phone"], "555-0101");
    let by_eid: Value = h
        .ns(
            Method::GET,
            "record/v1/customer/eid:SF-001Dn0000000001",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_eid["companyName"], "Kramerica");
    let bad = h
        .ns(
            Method::PUT,
            "record/v1/customer/eid:has%20space",
            Some(json!({})),
        )
        .await;
    assert_eq!(error_code(bad).await, (400, "INVALID_PARAMETER".into()));
}

#[tokio::test]
async fn sublist_items_are_added_unless_replaced_and_expand_on_request() {
    let h = empty().await;
    let address = |addr1: &str| json!({"items": [{"defaultBilling": true, "label": addr1, "addressBookAddress": {"addr1": addr1, "city": "Austin", "country": "US"}}]});
    let id = create_customer(
        &h,
        json!({"companyName": "Pendant Publishing", "addressBook": address("1 First St")}),
    )
    .await;
    let patch = h
        .ns(
            Method::PATCH,
            &format!("record/v1/customer/{id}"),
            Some(json!({"addressBook": address("2 Second St")})),
        )
        .await;
    assert_eq!(patch.status(), 204);
    let lines = |h: &Harness| {
        h.sandbox.ns_record("customer", &id).unwrap()["addressBook"]["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(lines(&h).len(), 2);
    assert_eq!(
        lines(&h)
            .iter()
            .filter(|l| l["defaultBilling"] == true)
            .count(),
        1
    );
    let replace = h
        .ns(
            Method::PATCH,
            &format!("record/v1/customer/{id}?replace=addressBook"),
            Some(json!({"addressBook": address("3 Third St")})),
        )
        .await;
    assert_eq!(replace.status(), 204);
    let expanded: Value = h
        .ns(
            Method::GET,
            &format!("record/v1/customer/{id}?expandSubResources=true"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = expanded["addressBook"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["addressBookAddress"]["addr1"], "3 Third St");
    assert_eq!(
        items[0]["addressBookAddress"]["country"],
        json!({"id": "US", "refName": "United States"})
    );
    assert_eq!(expanded["addressBook"]["totalResults"], 1);
}

#[tokio::test]
async fn record_errors_use_netsuite_codes() {
    let h = empty().await;
    let id = create_customer(&h, json!({"companyName": "A", "externalId": "X-1"})).await;
    assert_eq!(
        error_code(h.ns(Method::GET, "record/v1/customer/99999", None).await).await,
        (404, "NONEXISTENT_ID".into())
    );
    // An unknown field is refused only when the client asks for it (see netsuite_property_names).
    let url = format!("{}/services/rest/record/v1/customer/{id}", h.ns);
    let unknown = h
        .http
        .patch(&url)
        .header(
            "authorization",
            authorization("PATCH", &url, &Options::default()),
        )
        .header("x-netsuite-propertynamevalidation", "Error")
        .json(&json!({"colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(unknown).await, (400, "NONEXISTENT_FIELD".into()));
    let url = format!("{}/services/rest/record/v1/customer/{id}", h.ns);
    let bad_json = h
        .http
        .patch(&url)
        .header(
            "authorization",
            authorization("PATCH", &url, &Options::default()),
        )
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(bad_json).await, (400, "INVALID_CONTENT".into()));
    let duplicate = h
        .ns(
            Method::POST,
            "record/v1/customer",
            Some(json!({"companyName": "B", "externalId": "X-1"})),
        )
        .await;
    assert_eq!(error_code(duplicate).await, (400, "USER_ERROR".into()));
    let missing = h
        .ns(
            Method::POST,
            "record/v1/customer",
            Some(json!({"email": "x@y.z"})),
        )
        .await;
    assert_eq!(error_code(missing).await, (400, "USER_ERROR".into()));
    assert_eq!(
        h.ns(Method::DELETE, &format!("record/v1/customer/{id}"), None)
            .await
            .status(),
        204
    );
    assert!(h.sandbox.ns_record("customer", &id).is_none());
}

#[tokio::test]
async fn contacts_reference_their_company() {
    let h = empty().await;
    let customer = create_customer(&h, json!({"companyName": "Monk's Cafe"})).await;
    let response = h
        .ns(
            Method::POST,
            "record/v1/contact",
            Some(
                json!({"firstName": "Jerry", "lastName": "Seinfeld", "company": {"id": customer}}),
            ),
        )
        .await;
    assert_eq!(response.status(), 204);
    let contact = &h.sandbox.ns_records("contact")[0];
    assert_eq!(contact["entityId"], "Jerry Seinfeld");
    assert_eq!(contact["company"]["id"], customer);
    assert_eq!(
        contact["company"]["refName"],
        format!("CUS{customer} Monk's Cafe")
    );
}

#[tokio::test]
async fn record_list_filters_with_q_and_pages() {
    let h = seeded().await;
    let path = format!(
        "record/v1/customer?q={}&limit=2",
        crate::harness::urlencode(r#"email CONTAIN "umbrella.com" AND isInactive IS false"#)
    );
    let body: Value = h.ns(Method::GET, &path, None).await.json().await.unwrap();
    assert_eq!(body["totalResults"], 2);
    assert_eq!(body["count"], 2);
    assert_eq!(body["hasMore"], false);
    assert!(body["items"][0]["links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("/record/v1/customer/"));
    let all: Value = h
        .ns(Method::GET, "record/v1/customer?limit=5&offset=5", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (all["count"].as_u64(), all["hasMore"].as_bool()),
        (Some(5), Some(true))
    );
}

use base64::Engine;
use isthmus_sandbox::{credentials, seed, SandboxConfig};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, form, seeded, start, urlencode};

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body[0]["errorCode"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn token_grant_accepts_form_credentials_and_http_basic() {
    let h = empty().await;
    let token = h.sf_token().await;
    assert!(token.starts_with("00D"));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::SF_CLIENT_ID,
        credentials::SF_CLIENT_SECRET
    ));
    let response = h
        .http
        .post(format!("{}/services/oauth2/token", h.sf))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], h.sf);
    assert!(body["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/id/00D", h.sf)));
    assert!(body["issued_at"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(!body["signature"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn token_grant_rejects_bad_secret_and_unsupported_grant() {
    let h = empty().await;
    let post = |body: String| {
        h.http
            .post(format!("{}/services/oauth2/token", h.sf))
            .body(body)
            .send()
    };
    let bad = post(form(&[
        ("grant_type", "client_credentials"),
        ("client_id", credentials::SF_CLIENT_ID),
        ("client_secret", "wrong"),
    ]))
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let grant = post(form(&[("grant_type", "authorization_code")]))
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn api_calls_need_a_valid_bearer_token() {
    let h = empty().await;
    for auth in [None, Some("Bearer not-a-token")] {
        let mut request = h.http.get(format!(
            "{}/services/data/v61.0/query?q=SELECT+Id+FROM+Account",
            h.sf
        ));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        );
    }
}

#[tokio::test]
async fn query_pages_follow_next_records_url_until_done() {
    let h = start(SandboxConfig {
        seed: true,
        sf_query_page_size: 7,
        ..SandboxConfig::default()
    })
    .await;
    let token = h.sf_token().await;
    let mut url = format!(
        "{}/services/data/v58.0/query?q={}",
        h.sf,
        urlencode("SELECT Id, Name FROM Account ORDER BY Name")
    );
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page: Value = h
            .http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        assert_eq!(page["totalSize"], seed::ACCOUNT_COUNT);
        for record in page["records"].as_array().unwrap() {
            assert_eq!(record["attributes"]["type"], "Account");
            assert!(record["attributes"]["url"]
                .as_str()
                .unwrap()
                .starts_with("/services/data/v58.0/sobjects/Account/001"));
            names.push(record["Name"].as_str().unwrap().to_owned());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap();
        assert!(next.starts_with("/services/data/v58.0/query/01g"));
        url = format!("{}{next}", h.sf);
    }
    assert_eq!(pages, 5);
    assert_eq!(names.len(), seed::ACCOUNT_COUNT);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn child_subquery_nests_contacts_or_null() {
    let h = seeded().await;
    let query = format!(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Name IN ('{}', 'Hooli')",
        seed::FRESH_ACCOUNT_NAME
    );
    let body: Value = h.soql(&query).await.json().await.unwrap();
    let northwind = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Name"] == seed::FRESH_ACCOUNT_NAME)
        .unwrap();
    assert_eq!(northwind["Contacts"]["totalSize"], 3);
    assert_eq!(northwind["Contacts"]["done"], true);
    let last_names: Vec<&str> = northwind["Contacts"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["LastName"].as_str().unwrap())
        .collect();
    assert_eq!(last_names, ["Davolio", "Fuller", "Leverling"]);
    let id = h
        .sandbox
        .sf_insert(
            "Account",
            json!({"Name": "Lonely Ltd"}).as_object().unwrap().clone(),
        )
        .unwrap();
    let body: Value = h
        .soql(&format!(
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id = '{}'",
            &id[..15]
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["records"][0]["Contacts"], Value::Null);
    assert_eq!(body["records"][0]["Id"], id);
}

#[tokio::test]
async fn parent_relationship_fields_and_count_queries() {
    let h = seeded().await;
    let body: Value = h.soql("SELECT LastName, Account.Name FROM Contact WHERE Account.Name = 'hooli' ORDER BY LastName").await.json().await.unwrap();
    assert_eq!(body["totalSize"], 2);
    assert_eq!(body["records"][0]["Account"]["Name"], "Hooli");
    assert_eq!(
        body["records"][0]["Account"]["attributes"]["type"],
        "Account"
    );
    let count: Value = h
        .soql("SELECT COUNT() FROM Account WHERE BillingCountry != 'United States'")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count["totalSize"], 6);
    assert_eq!(count["records"], json!([]));
}

#[tokio::test]
async fn escaped_quotes_and_backslashes_in_literals_match() {
    let h = seeded().await;
    let body: Value = h
        .soql(r"SELECT Name FROM Account WHERE Name = 'O\'Brien \\ Sons Ltd'")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["Name"], seed::QUOTED_ACCOUNT_NAME);
    let like: Value = h
        .soql(r"SELECT Name FROM Account WHERE Name LIKE 'o\'brien%' AND (NOT Name LIKE '%\_%')")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(like["totalSize"], 1);
}

#[tokio::test]
async fn bad_soql_is_malformed_and_unknown_names_are_invalid() {
    let h = seeded().await;
    assert_eq!(
        error_code(h.soql("SELECT Id FORM Account").await).await,
        (400, "MALFORMED_QUERY".into())
    );
    assert_eq!(
        error_code(h.soql("SELECT Id FROM Account WHERE Name = 'x").await).await,
        (400, "MALFORMED_QUERY".into())
    );
    assert_eq!(
        error_code(h.soql("SELECT Nope__c FROM Account").await).await,
        (400, "INVALID_FIELD".into())
    );
    assert_eq!(
        error_code(h.soql("SELECT Id FROM Nope").await).await,
        (400, "INVALID_TYPE".into())
    );
}

#[tokio::test]
async fn records_are_created_read_updated_and_deleted() {
    let h = empty().await;
    let created = h
        .sf(
            Method::POST,
            "sobjects/Account",
            Some(json!({"Name": "Vandelay Industries", "Phone": "555-0199"})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    let id = body["id"].as_str().unwrap().to_owned();

    let read: Value = h
        .sf(Method::GET, &format!("sobjects/Account/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["Name"], "Vandelay Industries");
    assert_eq!(read["attributes"]["type"], "Account");
    assert_eq!(read["IsDeleted"], false);
    let integration_user = read["CreatedById"].as_str().unwrap().to_owned();
    let narrowed: Value = h
        .sf(
            Method::GET,
            &format!("sobjects/Account/{}?fields=Name", &id[..15]),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(narrowed.get("Phone").is_none());

    let before = read["SystemModstamp"].as_str().unwrap().to_owned();
    // Salesforce keeps datetimes to the second: the stamp moves once the second has turned.
    assert!(before.ends_with(".000+0000"), "{before}");
    tokio::time::sleep(std::time::Duration::from_millis(1001)).await;
    let updated = h
        .sf(
            Method::PATCH,
            &format!("sobjects/Account/{id}"),
            Some(json!({"Phone": "555-0100"})),
        )
        .await;
    assert_eq!(updated.status(), 204);
    let record = h.sandbox.sf_record("Account", &id).unwrap();
    assert_eq!(record["Phone"], "555-0100");
    assert!(record["SystemModstamp"].as_str().unwrap() > before.as_str());
    assert_eq!(record["LastModifiedById"], integration_user);

    let deleted = h
        .sf(Method::DELETE, &format!("sobjects/Account/{id}"), None)
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        error_code(
            h.sf(Method::GET, &format!("sobjects/Account/{id}"), None)
                .await
        )
        .await,
        (404, "NOT_FOUND".into())
    );
}

#[tokio::test]
async fn writes_are_validated_like_salesforce() {
    let h = empty().await;
    let cases = [
        (json!({"Phone": "1"}), "REQUIRED_FIELD_MISSING"),
        (json!({"Name": "x", "Bogus__c": 1}), "INVALID_FIELD"),
        (
            json!({"Name": "x", "SystemModstamp": "2026-01-01T00:00:00.000+0000"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
    ];
    for (body, code) in cases {
        assert_eq!(
            error_code(h.sf(Method::POST, "sobjects/Account", Some(body)).await).await,
            (400, code.into())
        );
    }
    let contact = h
        .sf(
            Method::POST,
            "sobjects/Contact",
            Some(json!({"LastName": "x", "AccountId": "nonsense"})),
        )
        .await;
    assert_eq!(error_code(contact).await, (400, "MALFORMED_ID".into()));
}

#[tokio::test]
async fn upsert_by_external_id_creates_updates_or_lists_multiple_matches() {
    let h = empty().await;
    let path = "sobjects/Account/NetSuite_Id__c/647";
    let created = h
        .sf(Method::PATCH, path, Some(json!({"Name": "Kramerica"})))
        .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["created"], true);
    let id = body["id"].as_str().unwrap().to_owned();

    let updated = h
        .sf(Method::PATCH, path, Some(json!({"Phone": "555-0101"})))
        .await;
    assert_eq!(updated.status(), 200);
    let body: Value = updated.json().await.unwrap();
    assert_eq!(
        (
            body["id"].as_str().unwrap(),
            body["created"].as_bool().unwrap()
        ),
        (id.as_str(), false)
    );
    assert_eq!(h.sandbox.sf_records("Account").len(), 1);

    for name in ["A", "B"] {
        h.sandbox
            .sf_insert(
                "Account",
                json!({"Name": name, "Legacy_Id__c": "L-1"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
            .unwrap();
    }
    let multiple = h
        .sf(
            Method::PATCH,
            "sobjects/Account/Legacy_Id__c/L-1",
            Some(json!({"Phone": "1"})),
        )
        .await;
    assert_eq!(multiple.status(), 300);
    assert_eq!(
        multiple
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let not_external = h
        .sf(Method::PATCH, "sobjects/Account/Name/x", Some(json!({})))
        .await;
    assert_eq!(error_code(not_external).await, (404, "NOT_FOUND".into()));
    let duplicate = h
        .sf(
            Method::POST,
            "sobjects/Account",
            Some(json!({"Name": "Dup", "NetSuite_Id__c": "647"})),
        )
        .await;
    assert_eq!(error_code(duplicate).await, (400, "DUPLICATE_VALUE".into()));
}

#[tokio::test]
async fn every_api_response_reports_usage_in_sforce_limit_info() {
    let h = empty().await;
    let token = h.sf_token().await;
    let mut usages = Vec::new();
    for _ in 0..2 {
        let response = h
            .http
            .get(format!(
                "{}/services/data/v61.0/query?q=SELECT+Id+FROM+Account",
                h.sf
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        usages.push(
            response.headers()["sforce-limit-info"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(usages, ["api-usage=1/15000", "api-usage=2/15000"]);
}

/// The case-safe suffix, computed here independently of the sandbox.
fn checksum(base: &str) -> String {
    base.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .map(|(i, _)| 1 << i)
                .sum::<usize>();
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits] as char
        })
        .collect()
}

#[tokio::test]
async fn generated_ids_are_18_chars_with_key_prefix_and_checksum() {
    let h = seeded().await;
    for (object, prefix) in [("Account", "001"), ("Contact", "003"), ("User", "005")] {
        for record in h.sandbox.sf_records(object) {
            let id = record["Id"].as_str().unwrap();
            assert_eq!(id.len(), 18);
            assert!(id.starts_with(prefix));
            assert_eq!(&id[15..], checksum(&id[..15]));
        }
    }
}

#[tokio::test]
async fn discovery_endpoints_describe_the_schema() {
    let h = empty().await;
    let versions: Value = h
        .http
        .get(format!("{}/services/data", h.sf))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions[0]["version"], "61.0");
    let describe: Value = h
        .sf(Method::GET, "sobjects/Account/describe", None)
        .await
        .json()
        .await
        .unwrap();
    let field = describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "NetSuite_Id__c")
        .unwrap()
        .clone();
    assert_eq!(
        (field["externalId"].as_bool(), field["unique"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        describe["childRelationships"][0]["relationshipName"],
        "Contacts"
    );
    let limits: Value = h
        .sf(Method::GET, "limits", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(limits["DailyApiRequests"]["Max"], 15000);
    let global: Value = h
        .sf(Method::GET, "sobjects", None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for name in [
        "Account",
        "Contact",
        "User",
        "Opportunity",
        "NetSuite_Invoice__c",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}

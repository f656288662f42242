//! NetSuite's record metadata catalog and Salesforce `describe`, and the schema drift an
//! administrator causes on either side.

use reqwest::Method;
use serde_json::Value;

use crate::harness::empty;

#[tokio::test]
async fn metadata_catalog_lists_record_types_with_links() {
    let h = empty().await;
    let response = h.ns(Method::GET, "record/v1/metadata-catalog", None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let customer = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "customer")
        .expect("customer listed")
        .clone();
    let links = customer["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["rel"] == "canonical"
        && l["href"] == format!("{}/services/rest/record/v1/metadata-catalog/customer", h.ns)));
    assert!(links
        .iter()
        .any(|l| l["mediaType"] == "application/schema+json"));
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "salesOrder"));
}

#[tokio::test]
async fn record_schema_describes_each_field_as_json_schema() {
    let h = empty().await;
    let response = h
        .ns(Method::GET, "record/v1/metadata-catalog/salesOrder", None)
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/schema+json"));
    let schema: Value = response.json().await.unwrap();
    assert_eq!(schema["type"], "object");
    let properties = &schema["properties"];
    assert_eq!(properties["memo"]["type"], "string");
    assert_eq!(properties["memo"]["title"], "Memo");
    assert_eq!(properties["memo"]["nullable"], true);
    assert_eq!(properties["tranDate"]["format"], "date");
    assert_eq!(properties["status"]["readOnly"], true);
    assert!(properties["memo"].get("readOnly").is_none());
    let statuses = properties["orderStatus"]["properties"]["id"]["enum"]
        .as_array()
        .unwrap();
    assert!(statuses.iter().any(|s| s == "B"));
    assert_eq!(properties["entity"]["type"], "object");
    assert!(properties["entity"]["properties"]["refName"].is_object());
}

#[tokio::test]
async fn metadata_needs_authentication_and_a_known_record_type() {
    let h = empty().await;
    let unsigned = h
        .http
        .get(format!(
            "{}/services/rest/record/v1/metadata-catalog/customer",
            h.ns
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_LOGIN");

    let unknown = h
        .ns(Method::GET, "record/v1/metadata-catalog/spaceship", None)
        .await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_URL");
    assert!(body["o:errorDetails"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("spaceship"));
    assert_eq!(
        h.sandbox
            .calls()
            .get("GET /services/rest/record/v1/metadata-catalog/{recordType}"),
        2,
        "both calls counted (governed) like record calls"
    );
}

#[tokio::test]
async fn drift_shows_in_describe_and_the_metadata_catalog() {
    let h = empty().await;
    h.sandbox
        .sf_rename_field("Account", "Phone", Some("Phone_Number__c"));
    h.sandbox
        .sf_remove_picklist_value("Product2", "Family", "Services");
    h.sandbox.ns_remove_field("customer", "url");

    let account: Value = h
        .sf(Method::GET, "sobjects/Account/describe", None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = account["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Phone") && names.contains(&"Phone_Number__c"));
    let product: Value = h
        .sf(Method::GET, "sobjects/Product2/describe", None)
        .await
        .json()
        .await
        .unwrap();
    let family = product["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Family")
        .unwrap();
    let values: Vec<&str> = family["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["Hardware", "Software", "Subscription"]);
    for field in ["updateable", "createable", "type", "externalId", "idLookup"] {
        assert!(family.get(field).is_some(), "describe carries {field}");
    }

    let customer: Value = h
        .ns(Method::GET, "record/v1/metadata-catalog/customer", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(customer["properties"].get("url").is_none());
    assert!(customer["properties"]["companyName"].is_object());
}

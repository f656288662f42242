//! What the orders and renewals flows rely on in the org: the managed package's Opportunity
//! fields, line item arithmetic as Salesforce documents it, and one query reading an opportunity
//! with its account's addresses, the opportunity it renews and its line items.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};

async fn create(h: &Harness, object: &str, body: Value) -> (u16, Value) {
    let response = h
        .sf(Method::POST, &format!("sobjects/{object}"), Some(body))
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn created_id(h: &Harness, object: &str, body: Value) -> String {
    let (status, body) = create(h, object, body).await;
    assert_eq!(status, 201, "{object}: {body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn patch(h: &Harness, path: &str, body: Value) -> (u16, Value) {
    let response = h.sf(Method::PATCH, path, Some(body)).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A product with a standard price of 100 USD; returns its price book entry.
async fn priced_product(h: &Harness) -> String {
    let product = created_id(
        h,
        "Product2",
        json!({"Name": "Sync License", "IsActive": true}),
    )
    .await;
    let books = h.sandbox.sf_records("Pricebook2");
    let standard = books.iter().find(|b| b["IsStandard"] == true).unwrap();
    created_id(
        h,
        "PricebookEntry",
        json!({"Pricebook2Id": standard["Id"], "Product2Id": product, "UnitPrice": 100,
               "IsActive": true, "CurrencyIsoCode": "USD"}),
    )
    .await
}

async fn opportunity(h: &Harness, name: &str, extra: Value) -> String {
    let mut body = json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2026-12-31"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    created_id(h, "Opportunity", body).await
}

#[tokio::test]
async fn opportunity_describe_shows_the_orders_fields_like_other_custom_fields() {
    let h = empty().await;
    let describe: Value = h
        .sf(Method::GET, "sobjects/Opportunity/describe", None)
        .await
        .json()
        .await
        .unwrap();
    let fields = describe["fields"].as_array().unwrap();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} is described"))
            .clone()
    };
    let existing = field("NetSuite_Order_Number__c");
    for (name, kind) in [
        ("Sync_To_NetSuite__c", "boolean"),
        ("NetSuite_Ship_Status__c", "string"),
        ("NetSuite_Ship_Date__c", "date"),
        ("NetSuite_Tracking_Numbers__c", "string"),
        ("Purchase_Order__c", "string"),
        ("Renewal_Of__c", "reference"),
        ("NetSuite_Renewal_Of__c", "string"),
    ] {
        let described = field(name);
        assert_eq!(described["type"], kind, "{name}");
        assert_eq!(
            (
                described["custom"].clone(),
                described["createable"].clone(),
                described["updateable"].clone()
            ),
            (json!(true), json!(true), json!(true)),
            "{name}"
        );
        let keys = |f: &Value| {
            let mut keys: Vec<String> = f.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(&described), keys(&existing), "{name}");
    }
    let checkbox = field("Sync_To_NetSuite__c");
    assert_eq!(
        (
            checkbox["nillable"].clone(),
            checkbox["defaultedOnCreate"].clone()
        ),
        (json!(false), json!(true))
    );
    let lookup = field("Renewal_Of__c");
    assert_eq!(lookup["referenceTo"], json!(["Opportunity"]));
    assert_eq!(lookup["relationshipName"], "Renewal_Of__r");
    let renewal_key = field("NetSuite_Renewal_Of__c");
    assert_eq!(
        (
            renewal_key["externalId"].clone(),
            renewal_key["unique"].clone(),
            renewal_key["idLookup"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(field("Purchase_Order__c")["externalId"], false);
}

#[tokio::test]
async fn a_renewal_upserts_by_its_netsuite_order_and_links_the_opportunity_it_renews() {
    let h = empty().await;
    let original = opportunity(&h, "Original", json!({"Sync_To_NetSuite__c": true})).await;
    let stored = h.sandbox.sf_record("Opportunity", &original).unwrap();
    assert_eq!(stored["Sync_To_NetSuite__c"], true);
    let unsynced = opportunity(&h, "Unsynced", json!({})).await;
    assert_eq!(
        h.sandbox.sf_record("Opportunity", &unsynced).unwrap()["Sync_To_NetSuite__c"],
        false,
        "a checkbox defaults to false"
    );

    let path = "sobjects/Opportunity/NetSuite_Renewal_Of__c/2001";
    let (status, body) = patch(
        &h,
        path,
        json!({"Name": "Original - Renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31",
               "Renewal_Of__c": original, "Purchase_Order__c": "PO-7781"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true);
    let renewal = body["id"].as_str().unwrap().to_owned();
    let (status, body) = patch(
        &h,
        path,
        json!({"StageName": "Negotiation/Review", "NetSuite_Ship_Status__c": "Shipped",
               "NetSuite_Ship_Date__c": "2027-02-03", "NetSuite_Tracking_Numbers__c": "1Z999AA1, 1Z999AA2"}),
    )
    .await;
    assert_eq!((status, body["created"].clone()), (200, json!(false)));
    assert_eq!(body["id"], renewal.as_str());
    let stored = h.sandbox.sf_record("Opportunity", &renewal).unwrap();
    assert_eq!(stored["Renewal_Of__c"], original.as_str());
    assert_eq!(stored["NetSuite_Renewal_Of__c"], "2001");
    assert_eq!(stored["Purchase_Order__c"], "PO-7781");
    assert_eq!(stored["StageName"], "Negotiation/Review");
    assert_eq!(stored["NetSuite_Ship_Status__c"], "Shipped");
    assert_eq!(stored["NetSuite_Ship_Date__c"], "2027-02-03");
    assert_eq!(stored["NetSuite_Tracking_Numbers__c"], "1Z999AA1, 1Z999AA2");
    assert_eq!(h.sandbox.sf_records("Opportunity").len(), 3);

    let account = created_id(&h, "Account", json!({"Name": "Not An Opportunity"})).await;
    for (body, code) in [
        (json!({"NetSuite_Renewal_Of__c": "2001"}), "DUPLICATE_VALUE"),
        (
            json!({"Renewal_Of__c": account}),
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            json!({"NetSuite_Ship_Date__c": "3 Feb 2027"}),
            "JSON_PARSER_ERROR",
        ),
        (json!({"Sync_To_NetSuite__c": "yes"}), "JSON_PARSER_ERROR"),
    ] {
        let (status, error) = patch(&h, &format!("sobjects/Opportunity/{original}"), body).await;
        assert_eq!((status, error[0]["errorCode"].clone()), (400, json!(code)));
    }
}

#[tokio::test]
async fn line_totals_apply_the_percent_discount_and_the_amount_is_their_sum() {
    let h = empty().await;
    let entry = priced_product(&h).await;
    let deal = opportunity(&h, "Discounted", json!({"Amount": 5})).await;
    let discounted = created_id(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": deal, "PricebookEntryId": entry, "Quantity": 3,
               "UnitPrice": 90, "Discount": 12.5}),
    )
    .await;
    let line = h
        .sandbox
        .sf_record("OpportunityLineItem", &discounted)
        .unwrap();
    assert_eq!(line["ListPrice"], 100.0, "from the price book entry");
    assert_eq!(line["UnitPrice"], 90.0);
    assert_eq!(line["TotalPrice"], 236.25, "3 × 90 × (1 − 12.5/100)");
    // Given its total instead, a line derives its sales price.
    let by_total = created_id(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": deal, "PricebookEntryId": entry, "Quantity": 2, "TotalPrice": 150}),
    )
    .await;
    let line = h
        .sandbox
        .sf_record("OpportunityLineItem", &by_total)
        .unwrap();
    assert_eq!(
        (line["UnitPrice"].clone(), line["TotalPrice"].clone()),
        (json!(75.0), json!(150.0))
    );
    let amount = || h.sandbox.sf_record("Opportunity", &deal).unwrap()["Amount"].clone();
    assert_eq!(amount(), 386.25);

    // A new discount keeps the sales price and recomputes the total.
    let (status, _) = patch(
        &h,
        &format!("sobjects/OpportunityLineItem/{discounted}"),
        json!({"Discount": 20}),
    )
    .await;
    assert_eq!(status, 204);
    let line = h
        .sandbox
        .sf_record("OpportunityLineItem", &discounted)
        .unwrap();
    assert_eq!(
        (line["UnitPrice"].clone(), line["TotalPrice"].clone()),
        (json!(90.0), json!(216.0))
    );
    assert_eq!(amount(), 366.0);
    // With products, a write to the amount is ignored, not refused.
    let (status, _) = patch(
        &h,
        &format!("sobjects/Opportunity/{deal}"),
        json!({"Amount": 1, "Description": "still written"}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(amount(), 366.0);
    assert_eq!(
        h.sandbox.sf_record("Opportunity", &deal).unwrap()["Description"],
        "still written"
    );
}

#[tokio::test]
async fn a_line_gives_exactly_one_of_unit_price_and_total_price() {
    let h = empty().await;
    let entry = priced_product(&h).await;
    let deal = opportunity(&h, "Prices", json!({})).await;
    for body in [
        json!({"OpportunityId": deal, "PricebookEntryId": entry, "Quantity": 1}),
        json!({"OpportunityId": deal, "PricebookEntryId": entry, "Quantity": 1,
               "UnitPrice": 100, "TotalPrice": 100}),
    ] {
        let (status, error) = create(&h, "OpportunityLineItem", body.clone()).await;
        assert_eq!(
            (status, error[0]["errorCode"].clone()),
            (400, json!("FIELD_INTEGRITY_EXCEPTION")),
            "{body}"
        );
    }
    assert!(h.sandbox.sf_records("OpportunityLineItem").is_empty());
    let line = created_id(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": deal, "PricebookEntryId": entry, "Quantity": 4, "UnitPrice": 100}),
    )
    .await;
    let (status, error) = patch(
        &h,
        &format!("sobjects/OpportunityLineItem/{line}"),
        json!({"UnitPrice": 80, "TotalPrice": 300}),
    )
    .await;
    assert_eq!(
        (status, error[0]["errorCode"].clone()),
        (400, json!("INVALID_FIELD"))
    );
    let (status, _) = patch(
        &h,
        &format!("sobjects/OpportunityLineItem/{line}"),
        json!({"TotalPrice": 300}),
    )
    .await;
    assert_eq!(status, 204);
    let stored = h.sandbox.sf_record("OpportunityLineItem", &line).unwrap();
    assert_eq!(
        (stored["UnitPrice"].clone(), stored["TotalPrice"].clone()),
        (json!(75.0), json!(300.0))
    );
}

#[tokio::test]
async fn one_query_reads_account_addresses_the_renewed_opportunity_and_the_lines() {
    let h = empty().await;
    let entry = priced_product(&h).await;
    let account = created_id(
        &h,
        "Account",
        json!({"Name": "Vandelay Industries", "BillingStreet": "1 Latex Way", "BillingCity": "New York",
               "ShippingCity": "Newark"}),
    )
    .await;
    let original = opportunity(&h, "Vandelay - Year 1", json!({})).await;
    let renewal = opportunity(
        &h,
        "Vandelay - Year 2",
        json!({"AccountId": account, "Renewal_Of__c": original}),
    )
    .await;
    let line = created_id(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": renewal, "PricebookEntryId": entry, "Quantity": 2,
               "UnitPrice": 100, "Discount": 10}),
    )
    .await;
    let soql = |id: &str| {
        format!(
            "SELECT Id, Account.BillingStreet, Account.BillingCity, Account.ShippingCity, Renewal_Of__r.Name, \
             (SELECT Id, Product2Id, Quantity, UnitPrice, Discount, TotalPrice FROM OpportunityLineItems) \
             FROM Opportunity WHERE Id = '{id}'"
        )
    };
    let body: Value = h.soql(&soql(&renewal)).await.json().await.unwrap();
    assert_eq!(body["totalSize"], 1, "{body}");
    let record = &body["records"][0];
    assert_eq!(record["Id"], renewal.as_str());
    assert_eq!(
        record["Account"],
        json!({
            "attributes": {"type": "Account", "url": format!("/services/data/v61.0/sobjects/Account/{account}")},
            "BillingStreet": "1 Latex Way", "BillingCity": "New York", "ShippingCity": "Newark",
        })
    );
    assert_eq!(
        record["Renewal_Of__r"],
        json!({
            "attributes": {"type": "Opportunity", "url": format!("/services/data/v61.0/sobjects/Opportunity/{original}")},
            "Name": "Vandelay - Year 1",
        })
    );
    let lines = &record["OpportunityLineItems"];
    assert_eq!(
        (lines["totalSize"].clone(), lines["done"].clone()),
        (json!(1), json!(true))
    );
    let first = &lines["records"][0];
    assert_eq!(first["attributes"]["type"], "OpportunityLineItem");
    assert_eq!(first["Id"], line.as_str());
    assert_eq!(
        (
            first["Quantity"].clone(),
            first["UnitPrice"].clone(),
            first["Discount"].clone(),
            first["TotalPrice"].clone()
        ),
        (json!(2.0), json!(100.0), json!(10.0), json!(180.0))
    );
    assert!(first["Product2Id"].as_str().unwrap().starts_with("01t"));

    // Empty lookups come back as null relationships, and no lines as a null subquery.
    let body: Value = h.soql(&soql(&original)).await.json().await.unwrap();
    let record = &body["records"][0];
    assert_eq!(record["Account"], Value::Null);
    assert_eq!(record["Renewal_Of__r"], Value::Null);
    assert_eq!(record["OpportunityLineItems"], Value::Null);
}

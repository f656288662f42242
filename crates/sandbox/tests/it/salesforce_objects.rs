//! The lead-to-cash objects behave as a real org's do: price book rules, derived opportunity and
//! line item fields, roll-ups, multi-currency, and the integration's custom objects.

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

fn standard_pricebook(h: &Harness) -> String {
    let books = h.sandbox.sf_records("Pricebook2");
    let standard = books.iter().find(|b| b["IsStandard"] == true).unwrap();
    assert_eq!(standard["Name"], "Standard Price Book");
    standard["Id"].as_str().unwrap().to_owned()
}

/// A product with a standard price of 100 in USD; returns (product, standard entry).
async fn product(h: &Harness, name: &str) -> (String, String) {
    let product = created_id(
        h,
        "Product2",
        json!({"Name": name, "ProductCode": name, "IsActive": true}),
    )
    .await;
    let entry = created_id(
        h,
        "PricebookEntry",
        json!({"Pricebook2Id": standard_pricebook(h), "Product2Id": product, "UnitPrice": 100,
               "IsActive": true, "CurrencyIsoCode": "USD"}),
    )
    .await;
    (product, entry)
}

#[tokio::test]
async fn a_custom_price_needs_a_standard_price_first() {
    let h = empty().await;
    let product = created_id(&h, "Product2", json!({"Name": "Widget", "IsActive": true})).await;
    let custom = created_id(
        &h,
        "Pricebook2",
        json!({"Name": "Partners", "IsActive": true}),
    )
    .await;
    let (status, body) = create(
        &h,
        "PricebookEntry",
        json!({"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 80, "IsActive": true}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "STANDARD_PRICE_NOT_DEFINED");

    created_id(
        &h,
        "PricebookEntry",
        json!({"Pricebook2Id": standard_pricebook(&h), "Product2Id": product, "UnitPrice": 100, "IsActive": true}),
    )
    .await;
    let entry = created_id(
        &h,
        "PricebookEntry",
        json!({"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 1, "UseStandardPrice": true, "IsActive": true}),
    )
    .await;
    let record = h.sandbox.sf_record("PricebookEntry", &entry).unwrap();
    assert_eq!(record["UnitPrice"], 100.0);
    assert_eq!(record["CurrencyIsoCode"], "USD");
    assert_eq!(record["Name"], "Widget");

    let (status, body) = create(
        &h,
        "PricebookEntry",
        json!({"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 5, "IsActive": true}),
    )
    .await;
    assert_eq!(
        (status, body[0]["errorCode"].clone()),
        (400, json!("DUPLICATE_VALUE"))
    );
}

#[tokio::test]
async fn stage_decides_won_and_closed_and_the_derived_fields_are_read_only() {
    let h = empty().await;
    let (status, body) = create(&h, "Opportunity", json!({"Name": "No stage"})).await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(body[0]["fields"], json!(["StageName", "CloseDate"]));

    let id = created_id(
        &h,
        "Opportunity",
        json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
    )
    .await;
    let open = h.sandbox.sf_record("Opportunity", &id).unwrap();
    assert_eq!(
        (open["IsWon"].clone(), open["IsClosed"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(open["Probability"], 10.0);
    assert_eq!(open["CurrencyIsoCode"], "USD");

    let won = h
        .sf(
            Method::PATCH,
            &format!("sobjects/Opportunity/{id}"),
            Some(json!({"StageName": "Closed Won"})),
        )
        .await;
    assert_eq!(won.status(), 204);
    let closed = h.sandbox.sf_record("Opportunity", &id).unwrap();
    assert_eq!(
        (closed["IsWon"].clone(), closed["IsClosed"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(closed["Probability"], 100.0);

    for (body, code) in [
        (json!({"IsWon": false}), "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (
            json!({"StageName": "Maybe"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            json!({"CurrencyIsoCode": "JPY"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
    ] {
        let response = h
            .sf(
                Method::PATCH,
                &format!("sobjects/Opportunity/{id}"),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), 400);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error[0]["errorCode"], code);
    }
}

#[tokio::test]
async fn line_items_derive_product_and_totals_and_roll_up_into_the_amount() {
    let h = empty().await;
    let (product, entry) = product(&h, "Gadget").await;
    let opportunity = created_id(
        &h,
        "Opportunity",
        json!({"Name": "Big", "StageName": "Qualification", "CloseDate": "2026-06-30"}),
    )
    .await;
    let first = created_id(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": opportunity, "PricebookEntryId": entry, "Quantity": 3,
               "UnitPrice": 100}),
    )
    .await;
    created_id(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": opportunity, "PricebookEntryId": entry, "Quantity": 2,
               "UnitPrice": 50, "Discount": 10, "ServiceDate": "2026-07-01"}),
    )
    .await;
    let line = h.sandbox.sf_record("OpportunityLineItem", &first).unwrap();
    assert_eq!(line["Product2Id"], product);
    assert_eq!(line["UnitPrice"], 100.0);
    assert_eq!(line["TotalPrice"], 300.0);
    let opp = h.sandbox.sf_record("Opportunity", &opportunity).unwrap();
    assert_eq!(opp["Amount"], 390.0);
    assert_eq!(opp["Pricebook2Id"], standard_pricebook(&h));

    let query: Value = h
        .soql(&format!(
            "SELECT Name, Amount, (SELECT Quantity, TotalPrice, Product2.Name FROM OpportunityLineItems ORDER BY TotalPrice DESC) \
             FROM Opportunity WHERE Amount > 100 AND CloseDate >= 2026-01-01 AND Id = '{opportunity}'"
        ))
        .await
        .json()
        .await
        .unwrap();
    let lines = &query["records"][0]["OpportunityLineItems"];
    assert_eq!(lines["totalSize"], 2);
    assert_eq!(lines["records"][0]["Product2"]["Name"], "Gadget");
    assert_eq!(lines["records"][1]["TotalPrice"], 90.0);

    let deleted = h
        .sf(
            Method::DELETE,
            &format!("sobjects/OpportunityLineItem/{first}"),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        h.sandbox.sf_record("Opportunity", &opportunity).unwrap()["Amount"],
        90.0
    );
}

#[tokio::test]
async fn a_line_item_must_match_the_opportunity_currency() {
    let h = empty().await;
    let (_, usd_entry) = product(&h, "Gizmo").await;
    let euro_deal = created_id(
        &h,
        "Opportunity",
        json!({"Name": "Euro", "StageName": "Prospecting", "CloseDate": "2026-06-30", "CurrencyIsoCode": "EUR"}),
    )
    .await;
    let (status, body) = create(
        &h,
        "OpportunityLineItem",
        json!({"OpportunityId": euro_deal, "PricebookEntryId": usd_entry, "Quantity": 1,
               "UnitPrice": 100}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "FIELD_INTEGRITY_EXCEPTION");
}

#[tokio::test]
async fn custom_objects_link_to_accounts_and_opportunities_through_lookups() {
    let h = empty().await;
    let account = created_id(&h, "Account", json!({"Name": "Billed Co"})).await;
    let subsidiary = h
        .sf(
            Method::PATCH,
            "sobjects/Subsidiary__c/NetSuite_Id__c/1",
            Some(json!({"Name": "Parent Company", "CurrencyIsoCode": "USD"})),
        )
        .await;
    assert_eq!(subsidiary.status(), 201);
    let subsidiary: Value = subsidiary.json().await.unwrap();
    let patched = h
        .sf(
            Method::PATCH,
            &format!("sobjects/Account/{account}"),
            Some(
                json!({"Subsidiary__c": subsidiary["id"], "Balance__c": 1250.5,
                        "Credit_Limit__c": 5000, "Last_Payment_Date__c": "2026-03-01"}),
            ),
        )
        .await;
    assert_eq!(patched.status(), 204);
    let invoice = h
        .sf(
            Method::PATCH,
            "sobjects/NetSuite_Invoice__c/NetSuite_Id__c/INV-7",
            Some(json!({"Name": "INV-7", "Account__c": account, "Total__c": 1250.5,
                        "Amount_Remaining__c": 1250.5, "Due_Date__c": "2026-04-01", "Status__c": "Open"})),
        )
        .await;
    assert_eq!(invoice.status(), 201);

    let body: Value = h
        .soql(
            "SELECT Name, Balance__c, Subsidiary__r.Name, (SELECT Name, Total__c FROM NetSuite_Invoices__r) \
             FROM Account WHERE Balance__c > 1000",
        )
        .await
        .json()
        .await
        .unwrap();
    let record = &body["records"][0];
    assert_eq!(record["Subsidiary__r"]["Name"], "Parent Company");
    assert_eq!(
        record["NetSuite_Invoices__r"]["records"][0]["Total__c"],
        1250.5
    );
    let body: Value = h
        .soql(
            "SELECT Name, Account__r.Name FROM NetSuite_Invoice__c WHERE Due_Date__c < 2026-05-01",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["records"][0]["Account__r"]["Name"], "Billed Co");
}

#[tokio::test]
async fn describe_reports_types_external_ids_and_what_is_writable() {
    let h = empty().await;
    let describe: Value = h
        .sf(Method::GET, "sobjects/Opportunity/describe", None)
        .await
        .json()
        .await
        .unwrap();
    let field = |name: &str| {
        describe["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(field("Amount")["type"], "currency");
    assert_eq!(field("CloseDate")["type"], "date");
    assert_eq!(field("CloseDate")["nillable"], false);
    assert_eq!(field("IsWon")["createable"], false);
    assert_eq!(field("IsWon")["updateable"], false);
    assert_eq!(field("NetSuite_Id__c")["externalId"], true);
    let currencies: Vec<Value> = field("CurrencyIsoCode")["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].clone())
        .collect();
    assert_eq!(currencies, [json!("USD"), json!("EUR"), json!("GBP")]);
    let custom: Value = h
        .sf(Method::GET, "sobjects/NetSuite_Payment__c/describe", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(custom["custom"], true);
    assert_eq!(custom["keyPrefix"], "a02");
}

//! Quotes as the Object Reference documents them: a quote of an opportunity with its account,
//! price book and currency, priced lines rolled up into the quote's totals, and the
//! opportunity's synced quote.

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

/// An account's opportunity and a price book entry of 100 USD in the standard price book.
async fn deal(h: &Harness) -> (String, String, String) {
    let account = created_id(h, "Account", json!({"Name": "Quoted Ltd"})).await;
    let product = created_id(h, "Product2", json!({"Name": "Seat", "IsActive": true})).await;
    let books = h.sandbox.sf_records("Pricebook2");
    let standard = books.iter().find(|b| b["IsStandard"] == true).unwrap();
    let entry = created_id(
        h,
        "PricebookEntry",
        json!({"Pricebook2Id": standard["Id"], "Product2Id": product, "UnitPrice": 100,
               "IsActive": true, "CurrencyIsoCode": "USD"}),
    )
    .await;
    let opportunity = created_id(
        h,
        "Opportunity",
        json!({"Name": "Quoted deal", "AccountId": account, "StageName": "Proposal/Price Quote",
               "CloseDate": "2026-12-31"}),
    )
    .await;
    (account, opportunity, entry)
}

#[tokio::test]
async fn a_quote_takes_its_opportunitys_account_and_rolls_up_its_discounted_lines() {
    let h = empty().await;
    let (account, opportunity, entry) = deal(&h).await;
    let quote = created_id(
        &h,
        "Quote",
        json!({"Name": "Q1", "OpportunityId": opportunity, "Tax": 12.5}),
    )
    .await;
    assert!(quote.starts_with("0Q0"), "{quote}");
    let stored = h.sandbox.sf_record("Quote", &quote).unwrap();
    assert_eq!(stored["AccountId"], account.as_str());
    assert_eq!(stored["Status"], "Draft");
    assert_eq!(stored["QuoteNumber"], "00000001");
    assert_eq!(stored["IsSyncing"], false);
    assert_eq!(stored["CurrencyIsoCode"], "USD");

    let line = created_id(
        &h,
        "QuoteLineItem",
        json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": 3, "UnitPrice": 90,
               "Discount": 10}),
    )
    .await;
    assert!(line.starts_with("0QL"), "{line}");
    let stored_line = h.sandbox.sf_record("QuoteLineItem", &line).unwrap();
    assert_eq!(stored_line["ListPrice"], 100.0);
    assert_eq!(stored_line["Subtotal"], 270.0, "3 × 90");
    assert_eq!(stored_line["TotalPrice"], 243.0, "3 × 90 × (1 − 10/100)");
    assert!(stored_line["Product2Id"]
        .as_str()
        .unwrap()
        .starts_with("01t"));
    created_id(
        &h,
        "QuoteLineItem",
        json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 100}),
    )
    .await;
    let stored = h.sandbox.sf_record("Quote", &quote).unwrap();
    assert_eq!(stored["Subtotal"], 370.0);
    assert_eq!(stored["TotalPrice"], 343.0);
    assert_eq!(stored["GrandTotal"], 355.5, "total plus tax");
    assert_eq!(stored["LineItemCount"], 2.0);
    assert!(stored["Pricebook2Id"].is_string(), "the first line's book");

    // Read-only roll-ups and a line without a sales price are refused.
    let (status, error) = patch(
        &h,
        &format!("sobjects/Quote/{quote}"),
        json!({"GrandTotal": 1}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let (status, error) = create(
        &h,
        "QuoteLineItem",
        json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": 1}),
    )
    .await;
    assert_eq!(
        (status, error[0]["errorCode"].clone()),
        (400, json!("REQUIRED_FIELD_MISSING"))
    );
}

#[tokio::test]
async fn the_synced_quote_is_one_of_the_opportunitys_and_marks_itself_syncing() {
    let h = empty().await;
    let (_, opportunity, entry) = deal(&h).await;
    let quote = created_id(
        &h,
        "Quote",
        json!({"Name": "Q1", "OpportunityId": opportunity}),
    )
    .await;
    created_id(
        &h,
        "QuoteLineItem",
        json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": 100}),
    )
    .await;
    let (status, body) = patch(
        &h,
        &format!("sobjects/Opportunity/{opportunity}"),
        json!({"SyncedQuoteId": quote}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        h.sandbox.sf_record("Quote", &quote).unwrap()["IsSyncing"],
        true
    );

    let (_, other, _) = deal(&h).await;
    let (status, _) = patch(
        &h,
        &format!("sobjects/Opportunity/{other}"),
        json!({"CurrencyIsoCode": "EUR"}),
    )
    .await;
    assert_eq!(status, 204);
    let foreign = created_id(&h, "Quote", json!({"Name": "Q2", "OpportunityId": other})).await;
    assert_eq!(
        h.sandbox.sf_record("Quote", &foreign).unwrap()["CurrencyIsoCode"],
        "EUR",
        "a quote takes its opportunity's currency"
    );
    let (status, error) = patch(
        &h,
        &format!("sobjects/Opportunity/{opportunity}"),
        json!({"SyncedQuoteId": foreign}),
    )
    .await;
    assert_eq!(
        (status, error[0]["errorCode"].clone()),
        (400, json!("FIELD_INTEGRITY_EXCEPTION"))
    );

    let q = format!(
        "SELECT Id, SyncedQuoteId, SyncedQuote.Status, (SELECT Id, IsSyncing FROM Quotes) \
         FROM Opportunity WHERE Id = '{opportunity}'"
    );
    let rows: Value = h.soql(&q).await.json().await.unwrap();
    let row = &rows["records"][0];
    assert_eq!(row["SyncedQuoteId"], quote.as_str(), "{rows}");
    assert_eq!(row["SyncedQuote"]["Status"], "Draft");
    assert_eq!(row["Quotes"]["records"][0]["IsSyncing"], true);

    // Unsyncing clears the flag; deleting the opportunity deletes its quotes and their lines.
    let (status, _) = patch(
        &h,
        &format!("sobjects/Opportunity/{opportunity}"),
        json!({"SyncedQuoteId": null}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        h.sandbox.sf_record("Quote", &quote).unwrap()["IsSyncing"],
        false
    );
    let response = h
        .sf(
            Method::DELETE,
            &format!("sobjects/Opportunity/{opportunity}"),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert!(h.sandbox.sf_record("Quote", &quote).is_none());
    assert!(h.sandbox.sf_records("QuoteLineItem").is_empty());
}

//! The seeded Salesforce catalogue and pipeline, read back over SOQL.

use isthmus_sandbox::seed;
use serde_json::Value;

use crate::harness::{seeded, Harness};

async fn rows(h: &Harness, soql: &str) -> Value {
    let response = h.soql(soql).await;
    assert_eq!(response.status(), 200, "{soql}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn products_have_standard_prices_in_every_currency_and_some_partner_prices() {
    let h = seeded().await;
    let body = rows(
        &h,
        "SELECT Pricebook2.Name, Product2.ProductCode, CurrencyIsoCode, UnitPrice FROM PricebookEntry",
    )
    .await;
    let entries = body["records"].as_array().unwrap();
    for product in seed::products() {
        for (book, prices) in [
            (seed::STANDARD_PRICE_BOOK_NAME, Some(product.standard)),
            (seed::PARTNER_PRICE_BOOK_NAME, product.partner),
        ] {
            for (i, currency) in seed::PRICE_CURRENCIES.iter().enumerate() {
                let entry = entries.iter().find(|e| {
                    e["Pricebook2"]["Name"] == book
                        && e["Product2"]["ProductCode"] == product.code
                        && e["CurrencyIsoCode"] == *currency
                });
                match prices {
                    Some(prices) => assert_eq!(entry.unwrap()["UnitPrice"], prices[i]),
                    None => assert!(entry.is_none(), "{} {book} {currency}", product.code),
                }
            }
        }
    }
    let standard = rows(&h, "SELECT Id FROM Pricebook2 WHERE IsStandard = true").await;
    assert_eq!(standard["totalSize"], 1);
}

#[tokio::test]
async fn the_closed_won_opportunity_has_its_lines_and_amount() {
    let h = seeded().await;
    let body = rows(
        &h,
        &format!(
            "SELECT Amount, IsWon, IsClosed, Account.Name, (SELECT Quantity, TotalPrice FROM OpportunityLineItems) \
             FROM Opportunity WHERE Name = '{}'",
            seed::CLOSED_WON_OPPORTUNITY
        ),
    )
    .await;
    let won = &body["records"][0];
    assert_eq!(won["Amount"], seed::CLOSED_WON_AMOUNT);
    assert_eq!(
        (won["IsWon"].clone(), won["IsClosed"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(won["Account"]["Name"], "Stark Industries");
    assert_eq!(won["OpportunityLineItems"]["totalSize"], 2);
}

#[tokio::test]
async fn open_opportunities_are_open_and_priced_in_their_currency() {
    let h = seeded().await;
    let body = rows(
        &h,
        "SELECT Name, CurrencyIsoCode, Amount, (SELECT CurrencyIsoCode FROM OpportunityLineItems) \
         FROM Opportunity WHERE IsClosed = false ORDER BY CreatedDate",
    )
    .await;
    let open: Vec<&str> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(open, seed::OPEN_OPPORTUNITIES);
    for record in body["records"].as_array().unwrap() {
        assert!(record["Amount"].as_f64().unwrap() > 0.0);
        for line in record["OpportunityLineItems"]["records"]
            .as_array()
            .unwrap()
        {
            assert_eq!(line["CurrencyIsoCode"], record["CurrencyIsoCode"]);
        }
    }
}

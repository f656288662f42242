//! The general ledger SuiteQL shows: accounting periods, the chart of accounts, exchange rates,
//! and each transaction's GL impact in its subsidiary's base currency.

use serde_json::{json, Value};

use crate::harness::empty;
use crate::netsuite_transactions::{create, suiteql};

fn text(row: &Value, column: &str) -> String {
    row[column].as_str().unwrap_or_default().to_owned()
}

fn number(row: &Value, column: &str) -> f64 {
    text(row, column).parse().unwrap_or(f64::NAN)
}

#[tokio::test]
async fn periods_accounts_and_rates_are_set_up() {
    let h = empty().await;
    let months = suiteql(
        &h,
        "SELECT p.periodname, TO_CHAR(p.startdate, 'YYYY-MM-DD') AS startdate, \
         TO_CHAR(p.enddate, 'YYYY-MM-DD') AS enddate, q.periodname AS quarter \
         FROM accountingperiod p JOIN accountingperiod q ON q.id = p.parent \
         WHERE p.isposting = 'T' AND p.startdate >= TO_DATE('2026-01-01', 'YYYY-MM-DD') \
         AND p.enddate <= TO_DATE('2026-12-31', 'YYYY-MM-DD') ORDER BY p.startdate",
    )
    .await;
    assert_eq!(months.len(), 12);
    assert_eq!(text(&months[1], "periodname"), "Feb 2026");
    assert_eq!(text(&months[1], "enddate"), "2026-02-28");
    assert_eq!(text(&months[1], "quarter"), "Q1 2026");
    assert_eq!(text(&months[11], "quarter"), "Q4 2026");
    let years = suiteql(
        &h,
        "SELECT periodname FROM accountingperiod WHERE isyear = 'T' ORDER BY startdate",
    )
    .await;
    assert_eq!(text(&years[0], "periodname"), "FY 2024");
    let receivable = suiteql(
        &h,
        "SELECT id, fullname FROM account WHERE accttype = 'AcctRec' AND acctnumber = '1100'",
    )
    .await;
    assert_eq!(text(&receivable[0], "fullname"), "Accounts Receivable");
    let rates = suiteql(
        &h,
        "SELECT r.exchangerate FROM currencyrate r JOIN currency b ON b.id = r.basecurrency \
         JOIN currency f ON f.id = r.transactioncurrency \
         WHERE b.symbol = 'USD' AND f.symbol = 'EUR' ORDER BY r.effectivedate",
    )
    .await;
    assert_eq!(rates.len(), 2);
}

#[tokio::test]
async fn invoices_credits_and_payments_post_to_the_ledger_in_the_base_currency() {
    let h = empty().await;
    // A customer of the US subsidiary (USD) billed in euros, before and after the rate change.
    let customer = create(
        &h,
        "customer",
        json!({ "companyName": "Kramerica", "subsidiary": { "id": "3" } }),
    )
    .await;
    let item = create(
        &h,
        "serviceSaleItem",
        json!({ "itemId": "SVC-9", "basePrice": 100 }),
    )
    .await;
    let invoice = |date: &str| {
        json!({ "entity": { "id": customer }, "currency": { "id": "2" }, "tranDate": date,
                "item": { "items": [ { "item": { "id": item }, "quantity": 2, "rate": 50 } ] } })
    };
    let march = create(&h, "invoice", invoice("2026-03-15")).await;
    let august = create(&h, "invoice", invoice("2026-08-03")).await;
    create(
        &h,
        "customerPayment",
        json!({ "customer": { "id": customer }, "currency": { "id": "2" }, "tranDate": "2026-03-20",
                "apply": { "items": [ { "doc": { "id": march }, "amount": 100 } ] } }),
    )
    .await;
    create(
        &h,
        "creditMemo",
        json!({ "entity": { "id": customer }, "currency": { "id": "2" }, "tranDate": "2026-03-25",
                "item": { "items": [ { "item": { "id": item }, "quantity": 1, "rate": 20 } ] } }),
    )
    .await;
    let rates = suiteql(
        &h,
        &format!(
            "SELECT id, exchangerate FROM transaction WHERE id IN ({march}, {august}) ORDER BY id"
        ),
    )
    .await;
    assert_eq!(
        (
            number(&rates[0], "exchangerate"),
            number(&rates[1], "exchangerate")
        ),
        (1.10, 1.08)
    );
    let balances = suiteql(
        &h,
        "SELECT p.periodname, a.acctnumber, SUM(tal.debit) AS debit, SUM(tal.credit) AS credit, \
         SUM(tal.amount) AS amount FROM transactionaccountingline tal \
         JOIN transaction t ON t.id = tal.transaction JOIN account a ON a.id = tal.account \
         JOIN accountingperiod p ON p.id = t.postingperiod WHERE tal.posting = 'T' \
         GROUP BY p.periodname, p.startdate, a.acctnumber ORDER BY p.startdate, a.acctnumber",
    )
    .await;
    let got: Vec<(String, String, f64)> = balances
        .iter()
        .map(|r| {
            (
                text(r, "periodname"),
                text(r, "acctnumber"),
                number(r, "amount"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("Mar 2026".into(), "1100".into(), -22.0),
            ("Mar 2026".into(), "1200".into(), 110.0),
            ("Mar 2026".into(), "4000".into(), -88.0),
            ("Aug 2026".into(), "1100".into(), 108.0),
            ("Aug 2026".into(), "4000".into(), -108.0),
        ]
    );
    assert_eq!(number(&balances[0], "debit"), 110.0);
    assert_eq!(number(&balances[0], "credit"), 132.0);
    // A sales order's lines are not posting: only `posting = 'F'` lines show them.
    let order = create(
        &h,
        "salesOrder",
        json!({ "entity": { "id": customer }, "tranDate": "2026-03-02",
                "item": { "items": [ { "item": { "id": item }, "quantity": 1 } ] } }),
    )
    .await;
    let lines = suiteql(
        &h,
        &format!(
            "SELECT posting, amount FROM transactionaccountingline WHERE transaction = {order}"
        ),
    )
    .await;
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (text(&lines[0], "posting"), number(&lines[0], "amount")),
        ("F".into(), -100.0)
    );
}

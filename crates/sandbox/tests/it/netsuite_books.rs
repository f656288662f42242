//! The seeded NetSuite catalogue and books, and the summary RESTlet computing balances from them.

use isthmus_sandbox::{seed, Sandbox, SandboxConfig};
use reqwest::Method;
use serde_json::Value;

use crate::harness::{seeded, Harness};
use crate::netsuite_support::{restlet_path, signed};

fn customer_id(sandbox: &Sandbox, name: &str) -> String {
    sandbox
        .ns_records("customer")
        .into_iter()
        .find(|c| c["companyName"] == name)
        .and_then(|c| c["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("customer {name}"))
}

async fn summary(h: &Harness, name: &str) -> Value {
    let id = customer_id(&h.sandbox, name);
    let path = restlet_path(
        "customscript_isthmus_summary_rl",
        "customdeploy_isthmus_summary_rl",
        &format!("customerId={id}"),
    );
    let response = signed(h, Method::GET, &path, None).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[test]
fn the_seed_has_items_of_every_type_priced_in_three_currencies_and_the_subsidiaries() {
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..SandboxConfig::default()
    })
    .unwrap();
    let items: usize = [
        "inventoryItem",
        "nonInventorySaleItem",
        "serviceSaleItem",
        "kitItem",
    ]
    .iter()
    .map(|t| {
        let records = sandbox.ns_records(t);
        assert!(!records.is_empty(), "{t}");
        for item in &records {
            assert_eq!(item["price"]["items"].as_array().unwrap().len(), 3);
        }
        records.len()
    })
    .sum();
    assert_eq!(items, seed::ITEM_COUNT);
    let uk = sandbox
        .ns_record("subsidiary", seed::UK_SUBSIDIARY_ID)
        .unwrap();
    assert_eq!(uk["parent"]["id"], seed::PARENT_SUBSIDIARY_ID);
    assert_eq!(uk["currency"]["id"], seed::GBP_ID);
    assert_eq!(
        sandbox.ns_record("currency", seed::EUR_ID).unwrap()["symbol"],
        "EUR"
    );
    // The base seed is untouched: customers keep their count and ACME has no transactions.
    assert_eq!(sandbox.ns_records("customer").len(), seed::CUSTOMER_COUNT);
}

#[test]
fn seeded_transactions_hold_their_documented_facts() {
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..SandboxConfig::default()
    })
    .unwrap();
    let customer = |name| {
        sandbox
            .ns_record("customer", &customer_id(&sandbox, name))
            .unwrap()
    };
    assert_eq!(
        customer(seed::OVERDUE_CUSTOMER)["balance"],
        seed::OVERDUE_AMOUNT
    );
    assert_eq!(
        customer(seed::OPEN_INVOICE_CUSTOMER)["balance"],
        seed::OPEN_BALANCE
    );
    assert_eq!(customer(seed::PAID_CUSTOMER)["balance"], 0.0);
    let orders = sandbox.ns_records("salesOrder");
    let of = |name: &str| {
        let id = customer_id(&sandbox, name);
        orders
            .iter()
            .find(|o| o["entity"]["id"] == id.as_str())
            .unwrap()
            .clone()
    };
    assert_eq!(
        of(seed::OVERDUE_CUSTOMER)["orderStatus"]["refName"],
        "Billed"
    );
    let pending = of(seed::PENDING_ORDER_CUSTOMER);
    assert_eq!(pending["orderStatus"]["id"], "B");
    assert_eq!(pending["total"], seed::PENDING_ORDER_TOTAL);
    let euro = of(seed::EURO_ORDER_CUSTOMER);
    assert_eq!(euro["currency"]["id"], seed::EUR_ID);
    assert_eq!(euro["orderStatus"]["refName"], "Pending Approval");
    assert_eq!(
        sandbox.ns_records("creditMemo")[0]["status"]["refName"],
        "Fully Applied"
    );
}

#[tokio::test]
async fn the_summary_restlet_computes_balances_from_open_invoices_and_the_last_payment() {
    let h = seeded().await;
    let overdue = summary(&h, seed::OVERDUE_CUSTOMER).await;
    assert_eq!(overdue["balance"], seed::OVERDUE_AMOUNT);
    assert_eq!(overdue["overdue_balance"], seed::OVERDUE_AMOUNT);
    assert!(overdue["days_overdue"].as_i64().unwrap() > 0, "{overdue}");
    assert_eq!(overdue["last_payment_amount"], 150.0);
    let open = summary(&h, seed::OPEN_INVOICE_CUSTOMER).await;
    assert_eq!(
        (open["balance"].clone(), open["overdue_balance"].clone()),
        (seed::OPEN_BALANCE.into(), 0.0.into())
    );
    assert_eq!(open["days_overdue"], 0);
    assert!(open["last_payment_date"].is_null());
    let paid = summary(&h, seed::PAID_CUSTOMER).await;
    assert_eq!(paid["balance"], 0.0);
    assert_eq!(paid["last_payment_amount"], seed::PAID_AMOUNT);
    assert_eq!(paid["last_payment_date"], "2025-12-20");
}

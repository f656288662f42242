//! The NetSuite side's catalogue and books: [`ITEM_COUNT`] items of the four item types priced at
//! Base Price in USD, EUR and GBP, and a few orders, invoices, payments and a credit memo for
//! customers the base seed already has. The subsidiaries ([`PARENT_SUBSIDIARY_ID`] with
//! [`US_SUBSIDIARY_ID`], [`UK_SUBSIDIARY_ID`] and [`EU_SUBSIDIARY_ID`] under it) and currencies
//! ([`USD_ID`], [`EUR_ID`], [`GBP_ID`]) belong to every account, seeded or not.
//!
//! | case | customer | facts |
//! | --- | --- | --- |
//! | order billed, invoice part-paid and overdue | [`OVERDUE_CUSTOMER`] | balance and overdue [`OVERDUE_AMOUNT`] |
//! | order pending fulfilment | [`PENDING_ORDER_CUSTOMER`] | total [`PENDING_ORDER_TOTAL`], no invoice |
//! | invoice paid in full | [`PAID_CUSTOMER`] | balance 0, last payment [`PAID_AMOUNT`] |
//! | open invoice, not yet due, part-credited | [`OPEN_INVOICE_CUSTOMER`] | balance [`OPEN_BALANCE`], overdue 0 |
//! | euro order pending approval | [`EURO_ORDER_CUSTOMER`] | currency EUR |
//!
//! No transaction touches `ACME Corp.` (customer 101), whose balances stay zero.

use serde_json::{json, Map, Value};

use super::{object, seeded_at};
use crate::netsuite::Account;
use crate::time::ns_timestamp;
use crate::SandboxError;

pub const PARENT_SUBSIDIARY_ID: &str = "1";
pub const EU_SUBSIDIARY_ID: &str = "2";
pub const US_SUBSIDIARY_ID: &str = "3";
pub const UK_SUBSIDIARY_ID: &str = "4";
pub const USD_ID: &str = "1";
pub const EUR_ID: &str = "2";
pub const GBP_ID: &str = "3";
/// The Base Price price level.
pub const BASE_PRICE_LEVEL_ID: &str = "1";

pub const ITEM_COUNT: usize = 10;
pub const OVERDUE_CUSTOMER: &str = "Stark Industries";
pub const OVERDUE_AMOUNT: f64 = 250.0;
pub const PENDING_ORDER_CUSTOMER: &str = "Hooli";
pub const PENDING_ORDER_TOTAL: f64 = 2800.0;
pub const PAID_CUSTOMER: &str = "Wayne Enterprises";
pub const PAID_AMOUNT: f64 = 499.0;
pub const OPEN_INVOICE_CUSTOMER: &str = "Cyberdyne Systems";
pub const OPEN_BALANCE: f64 = 810.0;
pub const EURO_ORDER_CUSTOMER: &str = "Krüger Feinmechanik GmbH";

/// A seeded item: record type, `itemId`, display name, Base Price in USD, EUR, GBP.
pub type SeedItem = (&'static str, &'static str, &'static str, [f64; 3]);

pub static ITEMS: &[SeedItem] = &[
    (
        "inventoryItem",
        "WIDGET-100",
        "Standard Widget",
        [25.0, 23.0, 20.0],
    ),
    (
        "inventoryItem",
        "WIDGET-200",
        "Deluxe Widget",
        [45.0, 41.5, 36.0],
    ),
    (
        "inventoryItem",
        "GEAR-10",
        "Precision Gear",
        [12.5, 11.5, 10.0],
    ),
    (
        "nonInventorySaleItem",
        "MANUAL-PRINT",
        "Printed Manual",
        [15.0, 14.0, 12.0],
    ),
    (
        "nonInventorySaleItem",
        "CABLE-SET",
        "Cable Set",
        [9.5, 9.0, 7.5],
    ),
    (
        "serviceSaleItem",
        "INSTALL",
        "On-site Installation",
        [150.0, 140.0, 120.0],
    ),
    (
        "serviceSaleItem",
        "SUPPORT-ANNUAL",
        "Annual Support Plan",
        [1200.0, 1100.0, 950.0],
    ),
    (
        "serviceSaleItem",
        "TRAINING-DAY",
        "Training Day",
        [800.0, 740.0, 640.0],
    ),
    (
        "kitItem",
        "STARTER-KIT",
        "Starter Kit",
        [199.0, 183.0, 159.0],
    ),
    ("kitItem", "PRO-BUNDLE", "Pro Bundle", [499.0, 459.0, 399.0]),
];

fn reference(id: &str) -> Value {
    json!({ "id": id })
}

fn lines(items: &[(&str, f64, Option<f64>)], ids: &Ids) -> Value {
    let lines: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, (item, quantity, rate))| {
            let mut line = json!({ "item": reference(&ids.item(item)), "quantity": quantity });
            if let Some(rate) = rate {
                line["rate"] = json!(rate);
            }
            line["orderLine"] = json!(i + 1);
            line
        })
        .collect();
    json!({ "items": lines })
}

/// Internal ids of what was loaded so far, by item id and company name.
struct Ids {
    items: Vec<(&'static str, String)>,
    customers: Vec<Map<String, Value>>,
}

impl Ids {
    fn item(&self, item_id: &str) -> String {
        self.items
            .iter()
            .find(|(i, _)| *i == item_id)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    }

    fn customer(&self, name: &str) -> String {
        self.customers
            .iter()
            .find(|c| c.get("companyName").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("id").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned()
    }
}

/// Loads items and transactions; `step` continues the base seed's clock.
pub(super) fn load(account: &Account, mut step: usize) -> Result<(), SandboxError> {
    let mut at = || {
        step += 1;
        ns_timestamp(seeded_at(step))
    };
    let mut ids = Ids {
        items: Vec::new(),
        customers: account.all_records("customer"),
    };
    for (record_type, item_id, name, prices) in ITEMS {
        let price: Vec<Value> = [USD_ID, EUR_ID, GBP_ID]
            .iter()
            .zip(prices)
            .map(|(currency, price)| {
                json!({ "priceLevel": reference(BASE_PRICE_LEVEL_ID), "currencyPage": reference(currency), "price": price })
            })
            .collect();
        let item = object(&[
            ("itemId", json!(item_id)),
            ("displayName", json!(name)),
            ("description", json!(name)),
            ("basePrice", json!(prices[0])),
            ("price", json!({ "items": price })),
        ]);
        let id = account.insert_at(record_type, &item, &at())?;
        ids.items.push((item_id, id));
    }
    let mut insert = |record_type: &str, fields: Value| -> Result<String, SandboxError> {
        let fields = fields.as_object().cloned().unwrap_or_default();
        account.insert_at(record_type, &fields, &at())
    };

    // Billed, part-paid and overdue.
    let stark = ids.customer(OVERDUE_CUSTOMER);
    let order_lines = [("WIDGET-100", 10.0, None), ("INSTALL", 1.0, None)];
    let order = insert(
        "salesOrder",
        json!({ "entity": reference(&stark), "tranDate": "2025-10-01", "memo": "Widgets and installation",
                "item": lines(&order_lines, &ids) }),
    )?;
    insert(
        "itemFulfillment",
        json!({ "createdFrom": reference(&order), "tranDate": "2025-10-10", "trackingNumbers": "1Z999AA10123456784",
                "item": lines(&order_lines, &ids) }),
    )?;
    let invoice = insert(
        "invoice",
        json!({ "entity": reference(&stark), "createdFrom": reference(&order), "tranDate": "2025-10-15",
                "dueDate": "2025-11-14", "item": lines(&order_lines, &ids) }),
    )?;
    insert(
        "customerPayment",
        json!({ "customer": reference(&stark), "tranDate": "2025-11-20", "payment": 150.0,
                "apply": { "items": [{ "doc": reference(&invoice), "apply": true, "amount": 150.0 }] } }),
    )?;

    // Pending fulfilment.
    insert(
        "salesOrder",
        json!({ "entity": reference(&ids.customer(PENDING_ORDER_CUSTOMER)), "tranDate": "2026-01-08",
                "item": lines(&[("SUPPORT-ANNUAL", 1.0, None), ("TRAINING-DAY", 2.0, None)], &ids) }),
    )?;

    // Paid in full.
    let wayne = ids.customer(PAID_CUSTOMER);
    let invoice = insert(
        "invoice",
        json!({ "entity": reference(&wayne), "tranDate": "2025-12-01", "dueDate": "2025-12-31",
                "item": lines(&[("PRO-BUNDLE", 1.0, None)], &ids) }),
    )?;
    insert(
        "customerPayment",
        json!({ "customer": reference(&wayne), "tranDate": "2025-12-20", "payment": PAID_AMOUNT,
                "apply": { "items": [{ "doc": reference(&invoice), "apply": true, "amount": PAID_AMOUNT }] } }),
    )?;

    // Open, not yet due (a payment plan), part-credited.
    let cyberdyne = ids.customer(OPEN_INVOICE_CUSTOMER);
    let invoice = insert(
        "invoice",
        json!({ "entity": reference(&cyberdyne), "tranDate": "2026-01-05", "dueDate": "2030-12-31",
                "memo": "Payment plan", "item": lines(&[("WIDGET-200", 20.0, None)], &ids) }),
    )?;
    insert(
        "creditMemo",
        json!({ "entity": reference(&cyberdyne), "createdFrom": reference(&invoice), "tranDate": "2026-01-09",
                "memo": "Two damaged widgets returned",
                "item": lines(&[("WIDGET-200", 2.0, None)], &ids),
                "apply": { "items": [{ "doc": reference(&invoice), "apply": true, "amount": 90.0 }] } }),
    )?;
    // A euro order awaiting approval, priced at the EUR Base Price.
    insert(
        "salesOrder",
        json!({ "entity": reference(&ids.customer(EURO_ORDER_CUSTOMER)), "tranDate": "2026-01-10",
                "orderStatus": { "id": "A" },
                "item": lines(&[("STARTER-KIT", 2.0, Some(183.0))], &ids) }),
    )?;
    Ok(())
}

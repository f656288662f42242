//! The demo company loaded when [`SandboxConfig::seed`](crate::SandboxConfig::seed) is set:
//! 30 Salesforce accounts (US and EU) with 1–3 contacts each, and 12 NetSuite customers, none of
//! them linked (no `NetSuite_Id__c`, no `externalId`). Deterministic: the same ids and timestamps on
//! every start, all records created by the admin user (Salesforce) before the sandbox starts.
//!
//! The constants below are the facts tests rely on:
//!
//! | case | Salesforce account | NetSuite customer(s) |
//! | --- | --- | --- |
//! | no counterpart, both addresses, 3 contacts | [`FRESH_ACCOUNT_NAME`] | — |
//! | exact company name | [`EXACT_NAME_MATCHES`] | same names |
//! | near-duplicate name | [`NEAR_DUPLICATE_NAMES`] `.0` | `.1` |
//! | email domain only (`www.globex.com` / `ap@globex.com`) | [`DOMAIN_MATCH`] `.0` | `.1` |
//! | ambiguous domain (two customers on `umbrella.com`) | [`AMBIGUOUS_DOMAIN_ACCOUNT`] | [`AMBIGUOUS_DOMAIN_CUSTOMERS`] |
//! | name with a quote and a backslash | [`QUOTED_ACCOUNT_NAME`] | — |
//! | NetSuite only | — | [`NETSUITE_ONLY_CUSTOMERS`] |
//!
//! Salesforce also holds a catalogue and a pipeline ([`sales`]): [`products`] priced in the
//! Standard Price Book and [`PARTNER_PRICE_BOOK_NAME`] in USD, EUR and GBP, the open
//! [`OPEN_OPPORTUNITIES`] and the Closed Won [`CLOSED_WON_OPPORTUNITY`], all with line items.
//!
//! NetSuite also holds items, orders, invoices and payments ([`books`]).

pub mod books;
mod data;
pub mod sales;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};

pub use books::{
    SeedItem, BASE_PRICE_LEVEL_ID, EURO_ORDER_CUSTOMER, EUR_ID, EU_SUBSIDIARY_ID, GBP_ID, ITEMS,
    ITEM_COUNT, OPEN_BALANCE, OPEN_INVOICE_CUSTOMER, OVERDUE_AMOUNT, OVERDUE_CUSTOMER, PAID_AMOUNT,
    PAID_CUSTOMER, PARENT_SUBSIDIARY_ID, PENDING_ORDER_CUSTOMER, PENDING_ORDER_TOTAL,
    UK_SUBSIDIARY_ID, USD_ID, US_SUBSIDIARY_ID,
};
pub use data::{Address, SeedAccount, SeedCustomer};
pub use sales::{
    opportunities, products, SeedOpportunity, SeedProduct, CLOSED_WON_AMOUNT,
    CLOSED_WON_OPPORTUNITY, GATEWAY_CODE, IMPLEMENTATION_CODE, LICENSE_CODE, OPEN_OPPORTUNITIES,
    PARTNER_PRICE_BOOK_NAME, PRICE_CURRENCIES, STANDARD_PRICE_BOOK_NAME, SUPPORT_CODE,
};

use crate::netsuite::Account;
use crate::salesforce::{Org, Stamp};
use crate::time::{ns_timestamp, sf_timestamp};
use crate::SandboxError;

pub const ACCOUNT_COUNT: usize = 30;
pub const CUSTOMER_COUNT: usize = 12;
/// An account with three contacts, billing and shipping addresses, and no NetSuite counterpart.
pub const FRESH_ACCOUNT_NAME: &str = "Northwind Traders";
/// `O'Brien \ Sons Ltd`: exercises quote and backslash escaping in SOQL and SuiteQL.
pub const QUOTED_ACCOUNT_NAME: &str = r"O'Brien \ Sons Ltd";
/// Accounts whose NetSuite customer has exactly the same company name.
pub const EXACT_NAME_MATCHES: &[&str] = &[
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Massive Dynamic",
];
/// `(Salesforce account, NetSuite customer)` pairs that differ in spelling only.
pub const NEAR_DUPLICATE_NAMES: &[(&str, &str)] = &[
    ("Acme Corporation", "ACME Corp."),
    ("Initech", "Initech, Inc."),
];
/// `(Salesforce account, NetSuite customer)` that match only by web/email domain `globex.com`.
pub const DOMAIN_MATCH: (&str, &str) = ("Globex Corporation", "Globex International");
/// An account whose domain (`umbrella.com`) two NetSuite customers share.
pub const AMBIGUOUS_DOMAIN_ACCOUNT: &str = "Umbrella Group";
pub const AMBIGUOUS_DOMAIN_CUSTOMERS: [&str; 2] =
    ["Umbrella Pharmaceuticals", "Umbrella Logistics"];
/// Customers with no Salesforce account.
pub const NETSUITE_ONLY_CUSTOMERS: &[&str] = &[
    "Cyberdyne Systems",
    "Tyrell Corporation",
    "Krüger Feinmechanik GmbH",
];

/// The seeded Salesforce accounts, in creation order.
pub fn accounts() -> &'static [SeedAccount] {
    data::ACCOUNTS
}

/// The seeded NetSuite customers, in creation order.
pub fn customers() -> &'static [SeedCustomer] {
    data::CUSTOMERS
}

/// When the demo company's records were created (one minute apart from here on).
fn seeded_at(step: usize) -> DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 12, 9, 0, 0)
        .single()
        .unwrap_or_default();
    start + Duration::minutes(step as i64)
}

/// `www.globex.com` → `globex.com`.
pub fn domain_of(website: &str) -> &str {
    let host = website
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host.trim_start_matches("www.")
        .split('/')
        .next()
        .unwrap_or(host)
}

fn email(first: &str, last: &str, domain: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    format!("{}.{}@{domain}", clean(first), clean(last))
}

fn object(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter(|(_, v)| v.as_str() != Some(""))
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Where each part of the demo company starts on the seed clock ([`seeded_at`]): Salesforce
/// accounts, then NetSuite customers, then both catalogues and their transactions side by side.
/// Fixed, so each system seeds alone (a persisted one only when new) to the same timestamps.
const SALESFORCE_ACCOUNTS_FROM: usize = 0;
const NETSUITE_CUSTOMERS_FROM: usize = SALESFORCE_ACCOUNTS_FROM + ACCOUNT_COUNT;
const CATALOGUES_FROM: usize = NETSUITE_CUSTOMERS_FROM + CUSTOMER_COUNT;

/// Loads the Salesforce half of the demo company into a new org.
pub(crate) fn load_salesforce(org: &Org) -> Result<(), SandboxError> {
    for (step, seed) in (SALESFORCE_ACCOUNTS_FROM..).zip(accounts()) {
        let at = sf_timestamp(seeded_at(step));
        let stamp = Stamp {
            user_id: &org.admin_user_id,
            at: &at,
        };
        let (street, city, state, zip, country, _) = seed.billing;
        let mut fields = object(&[
            ("Name", json!(seed.name)),
            ("Industry", json!(seed.industry)),
            ("Type", json!(seed.kind)),
            ("Phone", json!(seed.phone)),
            ("Website", json!(seed.website)),
            ("BillingStreet", json!(street)),
            ("BillingCity", json!(city)),
            ("BillingState", json!(state)),
            ("BillingPostalCode", json!(zip)),
            ("BillingCountry", json!(country)),
        ]);
        if let Some((street, city, state, zip, country, _)) = seed.shipping {
            fields.extend(object(&[
                ("ShippingStreet", json!(street)),
                ("ShippingCity", json!(city)),
                ("ShippingState", json!(state)),
                ("ShippingPostalCode", json!(zip)),
                ("ShippingCountry", json!(country)),
            ]));
        }
        let account_id = org.insert_stamped("Account", &fields, &stamp)?;
        for (first, last, title) in seed.contacts {
            let contact = object(&[
                ("AccountId", json!(account_id)),
                ("FirstName", json!(first)),
                ("LastName", json!(last)),
                ("Title", json!(title)),
                ("Email", json!(email(first, last, domain_of(seed.website)))),
                ("Phone", json!(seed.phone)),
            ]);
            org.insert_stamped("Contact", &contact, &stamp)?;
        }
    }
    sales::load(org, CATALOGUES_FROM)?;
    Ok(())
}

/// Loads the NetSuite half of the demo company into a new account.
pub(crate) fn load_netsuite(account: &Account) -> Result<(), SandboxError> {
    for (step, seed) in (NETSUITE_CUSTOMERS_FROM..).zip(customers()) {
        let at = ns_timestamp(seeded_at(step));
        let (addr1, city, state, zip, _, country) = seed.address;
        let address = object(&[
            ("addressee", json!(seed.company_name)),
            ("addr1", json!(addr1)),
            ("city", json!(city)),
            ("state", json!(state)),
            ("zip", json!(zip)),
            ("country", json!(country)),
        ]);
        let customer = object(&[
            ("companyName", json!(seed.company_name)),
            ("email", json!(seed.email)),
            ("phone", json!(seed.phone)),
            ("url", json!(seed.url)),
            ("subsidiary", json!({ "id": seed.subsidiary.to_string() })),
            (
                "addressBook",
                json!({ "items": [{ "defaultBilling": true, "defaultShipping": true, "label": addr1, "addressBookAddress": address }] }),
            ),
        ]);
        let customer_id = account.insert_at("customer", &customer, &at)?;
        let domain = seed.email.split('@').nth(1).unwrap_or_default();
        for (first, last, title) in seed.contacts {
            let contact = object(&[
                ("firstName", json!(first)),
                ("lastName", json!(last)),
                ("title", json!(title)),
                ("email", json!(email(first, last, domain))),
                ("phone", json!(seed.phone)),
                ("company", json!({ "id": customer_id })),
                ("subsidiary", json!({ "id": seed.subsidiary.to_string() })),
            ]);
            account.insert_at("contact", &contact, &at)?;
        }
    }
    books::load(account, CATALOGUES_FROM)?;
    Ok(())
}

/// The account `isthmus dev` offers to click: [`FRESH_ACCOUNT_NAME`].
pub const DEMO_ACCOUNT_NAME: &str = FRESH_ACCOUNT_NAME;

/// The 18-character id of [`DEMO_ACCOUNT_NAME`] in a seeded sandbox.
pub fn demo_account_id(sandbox: &crate::Sandbox) -> Option<String> {
    sandbox
        .sf_records("Account")
        .into_iter()
        .find(|a| a.get("Name").and_then(Value::as_str) == Some(DEMO_ACCOUNT_NAME))
        .and_then(|a| a.get("Id").and_then(Value::as_str).map(str::to_string))
}

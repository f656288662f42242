//! The demo company's Salesforce catalogue and pipeline: products priced in the Standard Price
//! Book and the custom [`PARTNER_PRICE_BOOK_NAME`] in every active currency, open opportunities
//! and one Closed Won opportunity, all with line items on seeded accounts. Loaded after the
//! accounts and customers, so their ids and timestamps do not move.

use serde_json::{json, Map, Value};

use super::{object, seeded_at};
use crate::salesforce::{Org, Stamp};
use crate::time::sf_timestamp;
use crate::SandboxError;

/// The price book every org has; each product has a standard price in each currency.
pub const STANDARD_PRICE_BOOK_NAME: &str = "Standard Price Book";
/// A custom price book with partner prices for the license and support products.
pub const PARTNER_PRICE_BOOK_NAME: &str = "Partner Price Book";
/// The currencies every product is priced in (the org's active currencies).
pub const PRICE_CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];

/// A product and its standard prices in USD, EUR and GBP; `partner`: its partner prices, if any.
pub struct SeedProduct {
    pub name: &'static str,
    pub code: &'static str,
    pub family: &'static str,
    pub description: &'static str,
    pub standard: [f64; 3],
    pub partner: Option<[f64; 3]>,
}

/// Product codes of the seeded products.
pub const LICENSE_CODE: &str = "ISY-LIC-001";
pub const IMPLEMENTATION_CODE: &str = "SVC-IMPL-001";
pub const SUPPORT_CODE: &str = "SUP-PREM-001";
pub const GATEWAY_CODE: &str = "HW-EDGE-001";

static PRODUCTS: &[SeedProduct] = &[
    SeedProduct {
        name: "Isthmus Sync License",
        code: LICENSE_CODE,
        family: "Software",
        description: "Annual platform license, per environment",
        standard: [12_000.0, 11_000.0, 9_500.0],
        partner: Some([10_200.0, 9_350.0, 8_075.0]),
    },
    SeedProduct {
        name: "Implementation Services",
        code: IMPLEMENTATION_CODE,
        family: "Services",
        description: "Fixed-scope onboarding and data migration",
        standard: [25_000.0, 23_000.0, 20_000.0],
        partner: None,
    },
    SeedProduct {
        name: "Premium Support",
        code: SUPPORT_CODE,
        family: "Subscription",
        description: "24x7 support with a four-hour response target, per year",
        standard: [4_800.0, 4_400.0, 3_800.0],
        partner: Some([4_080.0, 3_740.0, 3_230.0]),
    },
    SeedProduct {
        name: "Edge Gateway Appliance",
        code: GATEWAY_CODE,
        family: "Hardware",
        description: "Rack-mounted gateway for on-premises connectors",
        standard: [3_500.0, 3_200.0, 2_800.0],
        partner: None,
    },
];

/// An opportunity: `lines` are `(product code, quantity)` at the price book's price.
pub struct SeedOpportunity {
    pub name: &'static str,
    pub account: &'static str,
    pub stage: &'static str,
    pub close_date: &'static str,
    pub currency: &'static str,
    pub price_book: &'static str,
    pub lines: &'static [(&'static str, f64)],
}

/// The one Closed Won opportunity (on an account whose NetSuite customer has the same name).
pub const CLOSED_WON_OPPORTUNITY: &str = "Stark Industries - Platform Rollout";
/// Its amount: 10 licenses at 12,000 plus implementation at 25,000 (USD, standard prices).
pub const CLOSED_WON_AMOUNT: f64 = 145_000.0;
/// The open opportunities, in creation order.
pub const OPEN_OPPORTUNITIES: &[&str] = &[
    "Wayne Enterprises - Gateway Expansion",
    "Bergmann Maschinenbau - Support Renewal",
    "Britannia Tea - Platform Pilot",
];

static OPPORTUNITIES: &[SeedOpportunity] = &[
    SeedOpportunity {
        name: CLOSED_WON_OPPORTUNITY,
        account: "Stark Industries",
        stage: "Closed Won",
        close_date: "2026-01-20",
        currency: "USD",
        price_book: STANDARD_PRICE_BOOK_NAME,
        lines: &[(LICENSE_CODE, 10.0), (IMPLEMENTATION_CODE, 1.0)],
    },
    SeedOpportunity {
        name: "Wayne Enterprises - Gateway Expansion",
        account: "Wayne Enterprises",
        stage: "Proposal/Price Quote",
        close_date: "2027-02-26",
        currency: "USD",
        price_book: STANDARD_PRICE_BOOK_NAME,
        lines: &[(GATEWAY_CODE, 5.0), (SUPPORT_CODE, 1.0)],
    },
    SeedOpportunity {
        name: "Bergmann Maschinenbau - Support Renewal",
        account: "Bergmann Maschinenbau GmbH",
        stage: "Negotiation/Review",
        close_date: "2027-01-29",
        currency: "EUR",
        price_book: PARTNER_PRICE_BOOK_NAME,
        lines: &[(SUPPORT_CODE, 2.0)],
    },
    SeedOpportunity {
        name: "Britannia Tea - Platform Pilot",
        account: "Britannia Tea Company Ltd",
        stage: "Prospecting",
        close_date: "2027-03-31",
        currency: "GBP",
        price_book: STANDARD_PRICE_BOOK_NAME,
        lines: &[(LICENSE_CODE, 2.0)],
    },
];

/// The seeded products, in creation order.
pub fn products() -> &'static [SeedProduct] {
    PRODUCTS
}

/// The seeded opportunities, in creation order (the Closed Won one first).
pub fn opportunities() -> &'static [SeedOpportunity] {
    OPPORTUNITIES
}

/// A price book entry by (price book name, product code, currency); the seed keeps each entry's
/// id and price under it.
type EntryKey = (&'static str, &'static str, &'static str);

/// Loads the catalogue and the pipeline, stamping records from `step` on; returns the next step.
pub(super) fn load(org: &Org, mut step: usize) -> Result<usize, SandboxError> {
    let mut next_stamp = || {
        step += 1;
        sf_timestamp(seeded_at(step - 1))
    };
    let at = next_stamp();
    let stamp = Stamp {
        user_id: &org.admin_user_id,
        at: &at,
    };
    let standard = id_named(org, "Pricebook2", STANDARD_PRICE_BOOK_NAME)?;
    let partner_book = object(&[
        ("Name", json!(PARTNER_PRICE_BOOK_NAME)),
        ("IsActive", json!(true)),
        (
            "Description",
            json!("Partner prices: 15% off licenses and support"),
        ),
    ]);
    let partner = org.insert_stamped("Pricebook2", &partner_book, &stamp)?;
    let mut entries: Vec<(EntryKey, (String, f64))> = Vec::new();
    for product in PRODUCTS {
        let at = next_stamp();
        let stamp = Stamp {
            user_id: &org.admin_user_id,
            at: &at,
        };
        let fields = object(&[
            ("Name", json!(product.name)),
            ("ProductCode", json!(product.code)),
            ("Family", json!(product.family)),
            ("Description", json!(product.description)),
            ("IsActive", json!(true)),
        ]);
        let product_id = org.insert_stamped("Product2", &fields, &stamp)?;
        let books = [(STANDARD_PRICE_BOOK_NAME, &standard, Some(product.standard))];
        let books = books
            .into_iter()
            .chain([(PARTNER_PRICE_BOOK_NAME, &partner, product.partner)]);
        for (book_name, book_id, prices) in books {
            let Some(prices) = prices else { continue };
            for (currency, price) in PRICE_CURRENCIES.into_iter().zip(prices) {
                let entry = object(&[
                    ("Pricebook2Id", json!(book_id)),
                    ("Product2Id", json!(product_id)),
                    ("UnitPrice", json!(price)),
                    ("CurrencyIsoCode", json!(currency)),
                    ("IsActive", json!(true)),
                ]);
                let id = org.insert_stamped("PricebookEntry", &entry, &stamp)?;
                entries.push(((book_name, product.code, currency), (id, price)));
            }
        }
    }
    for opportunity in OPPORTUNITIES {
        let at = next_stamp();
        let stamp = Stamp {
            user_id: &org.admin_user_id,
            at: &at,
        };
        let book = if opportunity.price_book == STANDARD_PRICE_BOOK_NAME {
            &standard
        } else {
            &partner
        };
        let fields = object(&[
            ("Name", json!(opportunity.name)),
            (
                "AccountId",
                json!(id_named(org, "Account", opportunity.account)?),
            ),
            ("StageName", json!(opportunity.stage)),
            ("CloseDate", json!(opportunity.close_date)),
            ("CurrencyIsoCode", json!(opportunity.currency)),
            ("Pricebook2Id", json!(book)),
        ]);
        let opportunity_id = org.insert_stamped("Opportunity", &fields, &stamp)?;
        for (code, quantity) in opportunity.lines {
            let key = (opportunity.price_book, *code, opportunity.currency);
            let (entry, price) = entries
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, entry)| entry.clone())
                .ok_or_else(|| missing("PricebookEntry", code))?;
            // A line gives its sales price (Salesforce takes no default from the entry).
            let line: Map<String, Value> = object(&[
                ("OpportunityId", json!(opportunity_id)),
                ("PricebookEntryId", json!(entry)),
                ("Quantity", json!(quantity)),
                ("UnitPrice", json!(price)),
            ]);
            org.insert_stamped("OpportunityLineItem", &line, &stamp)?;
        }
    }
    Ok(step)
}

/// The id of the first `sobject` record named `name`.
fn id_named(org: &Org, sobject: &str, name: &str) -> Result<String, SandboxError> {
    org.all_records(sobject)
        .into_iter()
        .find(|r| r.get("Name").and_then(Value::as_str) == Some(name))
        .and_then(|r| r.get("Id").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| missing(sobject, name))
}

fn missing(sobject: &str, name: &str) -> SandboxError {
    crate::salesforce::ApiError::internal(format!("seed: no {sobject} '{name}'")).into()
}

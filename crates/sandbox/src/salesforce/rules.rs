//! What the org computes and enforces beyond field types, as a real org's standard behaviour does:
//!
//! - `CurrencyIsoCode` defaults to the corporate currency ([`CORPORATE_CURRENCY`]).
//! - Opportunity: `StageName` must be a stage of [`OPPORTUNITY_STAGES`]; `IsWon`, `IsClosed` follow
//!   it and `Probability` takes the stage's default unless the same write sets it; `Amount` is the
//!   sum of the line items' `TotalPrice` once the opportunity has lines, and a write to `Amount`
//!   is then ignored (the call succeeds, the sum stays), as the object reference documents.
//! - PricebookEntry: a custom price book entry needs a standard price for the same product and
//!   currency (`STANDARD_PRICE_NOT_DEFINED`); one entry per price book, product and currency.
//! - OpportunityLineItem / OrderItem: `Product2Id`, `ListPrice`, `Name` come from the price book
//!   entry; the entry must be active, in the opportunity's price book (which it sets when empty)
//!   and currency; `TotalPrice = Quantity × UnitPrice × (1 − Discount/100)` (`Discount` is a
//!   percent).
//! - OpportunityLineItem prices, per the object reference ("UnitPrice: this field or TotalPrice is
//!   required. You can't specify both."): an insert gives exactly one of `UnitPrice` and
//!   `TotalPrice`, there is no default from the price book entry; given `TotalPrice`, `UnitPrice`
//!   is derived from it. An update may change one of them, not both (`INVALID_FIELD`). The error
//!   codes are Salesforce's; the wording of the two insert errors is *unconfirmed*.
//!
//! - Quote and QuoteLineItem: see [`super::quote_rules`].
//!
//! [`prepare`] runs on every insert and update before the write, [`settle`] after it.

use rusqlite::types::Value as SqlValue;
use rusqlite::OptionalExtension;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::quote_rules;
use super::schema::{self, Field, Kind, SObject, CORPORATE_CURRENCY, OPPORTUNITY_STAGES};
use super::store::Db;

type Values = Vec<(&'static Field, SqlValue)>;

/// The record as it will be after the write: the written values over the stored ones.
pub(super) struct Draft<'a> {
    pub(super) object: &'a SObject,
    pub(super) existing: Option<&'a Map<String, Value>>,
    values: &'a mut Values,
}

impl Draft<'_> {
    pub(super) fn written(&self, name: &str) -> bool {
        self.values.iter().any(|(f, _)| f.name == name)
    }

    fn get(&self, name: &str) -> SqlValue {
        if let Some((_, v)) = self.values.iter().find(|(f, _)| f.name == name) {
            return v.clone();
        }
        match self.existing.and_then(|e| e.get(name)) {
            Some(Value::String(s)) => SqlValue::Text(s.clone()),
            Some(Value::Number(n)) => n.as_f64().map_or(SqlValue::Null, SqlValue::Real),
            Some(Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
            _ => SqlValue::Null,
        }
    }

    pub(super) fn text(&self, name: &str) -> Option<String> {
        match self.get(name) {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn number(&self, name: &str) -> Option<f64> {
        match self.get(name) {
            SqlValue::Real(f) => Some(f),
            SqlValue::Integer(i) => Some(i as f64),
            _ => None,
        }
    }

    pub(super) fn set(&mut self, name: &str, value: SqlValue) {
        let Some(field) = self.object.field(name) else {
            return;
        };
        self.values.retain(|(f, _)| f.name != field.name);
        self.values.push((field, value));
    }
}

pub fn prepare(
    db: &Db,
    object: &SObject,
    existing: Option<&Map<String, Value>>,
    values: &mut Values,
) -> Result<(), ApiError> {
    let mut draft = Draft {
        object,
        existing,
        values,
    };
    if object.name == "Quote" {
        // Before the corporate default: a quote takes its opportunity's currency.
        quote_rules::quote(db, &mut draft)?;
    }
    if let Some(field) = object.field("CurrencyIsoCode") {
        let restricted = matches!(
            field.kind,
            Kind::Picklist {
                restricted: true,
                ..
            }
        );
        if restricted && draft.text("CurrencyIsoCode").is_none() {
            draft.set("CurrencyIsoCode", text(CORPORATE_CURRENCY));
        }
    }
    match object.name {
        "Opportunity" => {
            quote_rules::synced_quote(db, &draft)?;
            opportunity(&mut draft)
        }
        "PricebookEntry" if existing.is_none() => pricebook_entry(db, &mut draft),
        "OpportunityLineItem" | "OrderItem" | "QuoteLineItem" => line_item(db, &mut draft),
        _ => Ok(()),
    }
}

fn opportunity(draft: &mut Draft) -> Result<(), ApiError> {
    if !draft.written("StageName") {
        return Ok(());
    }
    let stage = draft.text("StageName").unwrap_or_default();
    let Some((name, probability, closed, won)) = OPPORTUNITY_STAGES
        .iter()
        .find(|(name, ..)| name.eq_ignore_ascii_case(&stage))
    else {
        return Err(ApiError::bad_request(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            format!("Stage: bad value for restricted picklist field: {stage}"),
        )
        .with_fields(&["StageName"]));
    };
    draft.set("StageName", text(name));
    draft.set("IsClosed", SqlValue::Integer(i64::from(*closed)));
    draft.set("IsWon", SqlValue::Integer(i64::from(*won)));
    if !draft.written("Probability") {
        draft.set("Probability", SqlValue::Real(*probability));
    }
    Ok(())
}

fn pricebook_entry(db: &Db, draft: &mut Draft) -> Result<(), ApiError> {
    let (Some(pricebook), Some(product)) = (draft.text("Pricebook2Id"), draft.text("Product2Id"))
    else {
        return Ok(()); // REQUIRED_FIELD_MISSING follows
    };
    let currency = draft.text("CurrencyIsoCode").unwrap_or_default();
    let duplicate: Option<String> = db
        .conn
        .query_row(
            "SELECT \"Id\" FROM \"PricebookEntry\" WHERE \"Pricebook2Id\" = ?1 AND \"Product2Id\" = ?2 AND \"CurrencyIsoCode\" = ?3",
            [&pricebook, &product, &currency],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(other) = duplicate {
        return Err(ApiError::bad_request(
            "DUPLICATE_VALUE",
            format!("This price definition already exists in this price book: {other}"),
        ));
    }
    let is_standard: bool = db
        .conn
        .query_row(
            "SELECT \"IsStandard\" FROM \"Pricebook2\" WHERE \"Id\" = ?1",
            [&pricebook],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(false);
    if !is_standard {
        let standard: Option<f64> = db
            .conn
            .query_row(
                "SELECT e.\"UnitPrice\" FROM \"PricebookEntry\" e JOIN \"Pricebook2\" b ON b.\"Id\" = e.\"Pricebook2Id\" \
                 WHERE b.\"IsStandard\" = 1 AND e.\"Product2Id\" = ?1 AND e.\"CurrencyIsoCode\" = ?2",
                [&product, &currency],
                |row| row.get(0),
            )
            .optional()?;
        let Some(standard) = standard else {
            return Err(ApiError::bad_request(
                "STANDARD_PRICE_NOT_DEFINED",
                "No standard price defined for this product",
            ));
        };
        if matches!(draft.get("UseStandardPrice"), SqlValue::Integer(1)) {
            draft.set("UnitPrice", SqlValue::Real(standard));
        }
    }
    let (name, code): (Option<String>, Option<String>) = db.conn.query_row(
        "SELECT \"Name\", \"ProductCode\" FROM \"Product2\" WHERE \"Id\" = ?1",
        [&product],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    draft.set("Name", name.map_or(SqlValue::Null, SqlValue::Text));
    draft.set("ProductCode", code.map_or(SqlValue::Null, SqlValue::Text));
    Ok(())
}

/// An active price book entry: `(Product2Id, Pricebook2Id, UnitPrice, CurrencyIsoCode, product name)`.
type Entry = (String, String, f64, String, String);

fn line_item(db: &Db, draft: &mut Draft) -> Result<(), ApiError> {
    let Some(entry_id) = draft.text("PricebookEntryId") else {
        return Ok(()); // REQUIRED_FIELD_MISSING follows
    };
    let integrity = |reason: &str| {
        ApiError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("field integrity exception: PricebookEntryId ({reason})"),
        )
        .with_fields(&["PricebookEntryId"])
    };
    let (entry, active): (Entry, bool) = db.conn.query_row(
        "SELECT e.\"Product2Id\", e.\"Pricebook2Id\", e.\"UnitPrice\", e.\"CurrencyIsoCode\", p.\"Name\", e.\"IsActive\" \
         FROM \"PricebookEntry\" e JOIN \"Product2\" p ON p.\"Id\" = e.\"Product2Id\" WHERE e.\"Id\" = ?1",
        [&entry_id],
        |row| Ok(((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?), row.get(5)?)),
    )?;
    let (product, pricebook, list_price, currency, product_name) = entry;
    if !active {
        return Err(integrity("pricebook entry is inactive"));
    }
    if draft.object.name == "OpportunityLineItem" {
        if let Some(opportunity) = draft.text("OpportunityId") {
            let (opp_name, opp_book, opp_currency): (String, Option<String>, Option<String>) =
                db.conn.query_row(
                    "SELECT \"Name\", \"Pricebook2Id\", \"CurrencyIsoCode\" FROM \"Opportunity\" WHERE \"Id\" = ?1",
                    [&opportunity],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?;
            if opp_book.is_some_and(|b| b != pricebook) {
                return Err(integrity(
                    "pricebook entry is in a different pricebook than the one assigned to the opportunity",
                ));
            }
            if opp_currency.is_some_and(|c| c != currency) {
                return Err(integrity(
                    "pricebook entry currency code does not match opportunity currency code",
                ));
            }
            draft.set("Name", text(&format!("{opp_name} {product_name}")));
        }
        draft.set("ListPrice", SqlValue::Real(list_price));
        draft.set("CurrencyIsoCode", text(&currency));
    }
    if draft.object.name == "QuoteLineItem" {
        quote_rules::quote_line(db, draft, &pricebook, &currency)?;
        draft.set("ListPrice", SqlValue::Real(list_price));
    }
    draft.set("Product2Id", text(&product));
    let total_given = draft.object.name == "OpportunityLineItem" && given_price(draft)?;
    let quantity = draft.number("Quantity").unwrap_or(0.0);
    let discount = if draft.object.field("Discount").is_some() {
        draft.number("Discount").unwrap_or(0.0)
    } else {
        0.0
    };
    let factor = quantity * (1.0 - discount / 100.0);
    let stored_unit_price = draft
        .existing
        .and_then(|e| e.get("UnitPrice"))
        .and_then(Value::as_f64);
    if total_given {
        let total = cents(draft.number("TotalPrice").unwrap_or(0.0));
        let unit_price = if factor == 0.0 {
            stored_unit_price.unwrap_or(list_price)
        } else {
            cents(total / factor)
        };
        draft.set("UnitPrice", SqlValue::Real(unit_price));
        draft.set("TotalPrice", SqlValue::Real(total));
    } else {
        let unit_price = draft
            .number("UnitPrice")
            .or(stored_unit_price)
            .unwrap_or(list_price);
        draft.set("UnitPrice", SqlValue::Real(unit_price));
        draft.set("TotalPrice", SqlValue::Real(cents(unit_price * factor)));
        if draft.object.field("Subtotal").is_some() {
            draft.set("Subtotal", SqlValue::Real(cents(unit_price * quantity)));
        }
    }
    Ok(())
}

/// Which price an opportunity line item write gives: `true` for `TotalPrice`, `false` for
/// `UnitPrice` or neither (an update that changes no price). Refuses an insert with neither or
/// both, and an update with both.
fn given_price(draft: &Draft) -> Result<bool, ApiError> {
    let given = |name: &str| {
        draft
            .values
            .iter()
            .any(|(f, v)| f.name == name && *v != SqlValue::Null)
    };
    let (unit, total) = (given("UnitPrice"), given("TotalPrice"));
    let insert = draft.existing.is_none();
    match (unit, total) {
        (true, true) if insert => Err(ApiError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            "field integrity exception: TotalPrice (only one of UnitPrice and TotalPrice may be specified)",
        )
        .with_fields(&["TotalPrice"])),
        (true, true) => Err(ApiError::bad_request(
            "INVALID_FIELD",
            "Cannot change both 'UnitPrice' and 'TotalPrice' in update call",
        )
        .with_fields(&["UnitPrice"])),
        (false, false) if insert => Err(ApiError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            "field integrity exception: TotalPrice (must specify either UnitPrice or TotalPrice)",
        )
        .with_fields(&["TotalPrice"])),
        _ => Ok(total),
    }
}

/// A currency amount rounded to the cent, as Salesforce stores currency fields.
fn cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

/// The parents whose roll-ups a change to this record affects.
pub fn parents(
    db: &Db,
    object: &SObject,
    id: &str,
) -> Result<Vec<(&'static SObject, String)>, ApiError> {
    let link = match object.name {
        "OpportunityLineItem" => ("Opportunity", "OpportunityId"),
        "OrderItem" => ("Order", "OrderId"),
        "QuoteLineItem" => ("Quote", "QuoteId"),
        _ => return Ok(Vec::new()),
    };
    let parent = schema::sobject(link.0).ok_or_else(|| ApiError::internal("no parent object"))?;
    let sql = format!(
        "SELECT \"{}\" FROM \"{}\" WHERE \"Id\" = ?1",
        link.1, object.name
    );
    let parent_id: Option<String> = db
        .conn
        .query_row(&sql, [id], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(parent_id.map(|p| vec![(parent, p)]).unwrap_or_default())
}

/// After a write: roll-ups into parents, and an opportunity's price book set from its first line.
pub fn settle(db: &Db, object: &SObject, id: &str, at: &str) -> Result<(), ApiError> {
    if object.name == "OpportunityLineItem" {
        db.conn.execute(
            "UPDATE \"Opportunity\" SET \"Pricebook2Id\" = (SELECT e.\"Pricebook2Id\" FROM \"OpportunityLineItem\" l \
             JOIN \"PricebookEntry\" e ON e.\"Id\" = l.\"PricebookEntryId\" WHERE l.\"Id\" = ?1) \
             WHERE \"Id\" = (SELECT \"OpportunityId\" FROM \"OpportunityLineItem\" WHERE \"Id\" = ?1) AND \"Pricebook2Id\" IS NULL",
            [id],
        )?;
    }
    match object.name {
        "QuoteLineItem" => quote_rules::settle_line(db, id)?,
        "Opportunity" => quote_rules::settle_opportunity(db, id)?,
        "Quote" => quote_rules::settle_quote(db, id, at)?,
        _ => {}
    }
    if object.name == "Opportunity" && has_line_items(db, id)? {
        // The amount of an opportunity with products stays their sum, whatever the write said.
        settle_parent(db, object, id, at)?;
    }
    for (parent, parent_id) in parents(db, object, id)? {
        settle_parent(db, parent, &parent_id, at)?;
    }
    Ok(())
}

fn has_line_items(db: &Db, opportunity: &str) -> rusqlite::Result<bool> {
    db.conn
        .prepare_cached("SELECT 1 FROM \"OpportunityLineItem\" WHERE \"OpportunityId\" = ?1")?
        .exists([opportunity])
}

/// Recomputes a parent's roll-up (`Opportunity.Amount`, `Order.TotalAmount`) as of the write at `at`.
pub fn settle_parent(db: &Db, parent: &SObject, id: &str, at: &str) -> Result<(), ApiError> {
    let (field, child, link) = match parent.name {
        "Quote" => return quote_rules::settle_quote(db, id, at),
        "Opportunity" => ("Amount", "OpportunityLineItem", "OpportunityId"),
        "Order" => ("TotalAmount", "OrderItem", "OrderId"),
        _ => return Ok(()),
    };
    let sql = format!(
        "UPDATE \"{}\" SET \"{field}\" = (SELECT COALESCE(SUM(\"TotalPrice\"), 0) FROM \"{child}\" WHERE \"{link}\" = ?1), \
         \"SystemModstamp\" = ?2 WHERE \"Id\" = ?1",
        parent.name
    );
    db.conn.execute(&sql, [id, at])?;
    Ok(())
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

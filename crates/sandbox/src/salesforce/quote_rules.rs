//! What the org computes for quotes, per the Object Reference (Quote, QuoteLineItem,
//! Opportunity.SyncedQuoteId):
//!
//! - Quote: `AccountId` follows the opportunity; `Pricebook2Id` and `CurrencyIsoCode` default to
//!   the opportunity's; `Status` defaults to Draft; `QuoteNumber` is an auto-number (eight
//!   digits); `Subtotal`, `TotalPrice`, `LineItemCount` roll up the lines and `GrandTotal` is
//!   `TotalPrice + Tax + ShippingHandling`.
//! - QuoteLineItem: priced as opportunity lines are (see `rules`), `UnitPrice` required;
//!   `Subtotal = Quantity × UnitPrice`; the entry must be in the quote's price book and currency
//!   (a quote without a price book takes the first line's); `LineNumber` is an auto-number.
//! - Opportunity: `SyncedQuoteId` must name a quote of that opportunity; the quotes'
//!   `IsSyncing` follows it. Copying the synced quote's lines onto the opportunity's products,
//!   which Salesforce does when a sync starts, is not modelled. The error code of a foreign
//!   quote (`FIELD_INTEGRITY_EXCEPTION`) and its wording are *unconfirmed*.

use rusqlite::types::Value as SqlValue;
use rusqlite::OptionalExtension;

use super::error::ApiError;
use super::rules::Draft;
use super::store::Db;

/// Defaults and derived fields of a quote before its write.
pub(super) fn quote(db: &Db, draft: &mut Draft) -> Result<(), ApiError> {
    let insert = draft.existing.is_none();
    if let Some(opportunity) = draft.text("OpportunityId") {
        let parent: Option<(Option<String>, Option<String>, Option<String>)> = db
            .conn
            .query_row(
                "SELECT \"AccountId\", \"Pricebook2Id\", \"CurrencyIsoCode\" FROM \"Opportunity\" WHERE \"Id\" = ?1",
                [&opportunity],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        if let Some((account, pricebook, currency)) = parent {
            draft.set("AccountId", account.map_or(SqlValue::Null, SqlValue::Text));
            if insert && !draft.written("Pricebook2Id") {
                if let Some(pricebook) = pricebook {
                    draft.set("Pricebook2Id", SqlValue::Text(pricebook));
                }
            }
            if insert && !draft.written("CurrencyIsoCode") {
                if let Some(currency) = currency {
                    draft.set("CurrencyIsoCode", SqlValue::Text(currency));
                }
            }
        }
    }
    if insert {
        if draft.text("Status").is_none() {
            draft.set("Status", SqlValue::Text("Draft".into()));
        }
        let next: i64 = db.conn.query_row(
            "SELECT COALESCE(MAX(CAST(\"QuoteNumber\" AS INTEGER)), 0) + 1 FROM \"Quote\"",
            [],
            |row| row.get(0),
        )?;
        draft.set("QuoteNumber", SqlValue::Text(format!("{next:08}")));
        draft.set("IsSyncing", SqlValue::Integer(0));
    }
    Ok(())
}

/// A quote line's checks against its quote (price book, currency) and its line number; the
/// prices are the caller's (`rules::line_item`).
pub(super) fn quote_line(
    db: &Db,
    draft: &mut Draft,
    entry_pricebook: &str,
    entry_currency: &str,
) -> Result<(), ApiError> {
    let integrity = |reason: &str| {
        ApiError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("field integrity exception: PricebookEntryId ({reason})"),
        )
        .with_fields(&["PricebookEntryId"])
    };
    if let Some(quote) = draft.text("QuoteId") {
        let parent: Option<(Option<String>, Option<String>)> = db
            .conn
            .query_row(
                "SELECT \"Pricebook2Id\", \"CurrencyIsoCode\" FROM \"Quote\" WHERE \"Id\" = ?1",
                [&quote],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((book, currency)) = parent {
            if book.is_some_and(|b| b != entry_pricebook) {
                return Err(integrity(
                    "pricebook entry is in a different pricebook than the one assigned to the quote",
                ));
            }
            if currency.is_some_and(|c| c != entry_currency) {
                return Err(integrity(
                    "pricebook entry currency code does not match quote currency code",
                ));
            }
        }
    }
    draft.set("CurrencyIsoCode", SqlValue::Text(entry_currency.to_owned()));
    if draft.existing.is_none() {
        // Unlike an opportunity line, a quote line has no price from its entry: it is required.
        if draft.number("UnitPrice").is_none() {
            return Err(ApiError::bad_request(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [UnitPrice]",
            )
            .with_fields(&["UnitPrice"]));
        }
        let next: i64 = db.conn.query_row(
            "SELECT COALESCE(MAX(CAST(\"LineNumber\" AS INTEGER)), 0) + 1 FROM \"QuoteLineItem\"",
            [],
            |row| row.get(0),
        )?;
        draft.set("LineNumber", SqlValue::Text(format!("{next:07}")));
    }
    Ok(())
}

/// `SyncedQuoteId`, when the write sets it, names a quote of this opportunity.
pub(super) fn synced_quote(db: &Db, draft: &Draft) -> Result<(), ApiError> {
    if !draft.written("SyncedQuoteId") {
        return Ok(());
    }
    let Some(quote) = draft.text("SyncedQuoteId") else {
        return Ok(());
    };
    let own = draft.text("Id");
    let parent: Option<String> = db
        .conn
        .query_row(
            "SELECT \"OpportunityId\" FROM \"Quote\" WHERE \"Id\" = ?1",
            [&quote],
            |row| row.get(0),
        )
        .optional()?;
    if own.is_none() || parent != own {
        return Err(ApiError::bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("field integrity exception: SyncedQuoteId ({quote} is not a quote of this opportunity)"),
        )
        .with_fields(&["SyncedQuoteId"]));
    }
    Ok(())
}

/// After a quote line's write: the quote takes the line's price book when it had none.
pub(super) fn settle_line(db: &Db, line: &str) -> Result<(), ApiError> {
    db.conn.execute(
        "UPDATE \"Quote\" SET \"Pricebook2Id\" = (SELECT e.\"Pricebook2Id\" FROM \"QuoteLineItem\" l \
         JOIN \"PricebookEntry\" e ON e.\"Id\" = l.\"PricebookEntryId\" WHERE l.\"Id\" = ?1) \
         WHERE \"Id\" = (SELECT \"QuoteId\" FROM \"QuoteLineItem\" WHERE \"Id\" = ?1) AND \"Pricebook2Id\" IS NULL",
        [line],
    )?;
    Ok(())
}

/// After an opportunity's write: its quotes' `IsSyncing` follows `SyncedQuoteId`.
pub(super) fn settle_opportunity(db: &Db, opportunity: &str) -> Result<(), ApiError> {
    db.conn.execute(
        "UPDATE \"Quote\" SET \"IsSyncing\" = (\"Id\" IS (SELECT \"SyncedQuoteId\" FROM \"Opportunity\" WHERE \"Id\" = ?1)) \
         WHERE \"OpportunityId\" = ?1",
        [opportunity],
    )?;
    Ok(())
}

/// Recomputes a quote's roll-ups as of the write at `at`.
pub(super) fn settle_quote(db: &Db, quote: &str, at: &str) -> Result<(), ApiError> {
    db.conn.execute(
        "UPDATE \"Quote\" SET \
           \"Subtotal\" = (SELECT COALESCE(SUM(\"Subtotal\"), 0) FROM \"QuoteLineItem\" WHERE \"QuoteId\" = ?1), \
           \"TotalPrice\" = (SELECT COALESCE(SUM(\"TotalPrice\"), 0) FROM \"QuoteLineItem\" WHERE \"QuoteId\" = ?1), \
           \"LineItemCount\" = (SELECT COUNT(*) FROM \"QuoteLineItem\" WHERE \"QuoteId\" = ?1), \
           \"SystemModstamp\" = ?2 \
         WHERE \"Id\" = ?1",
        [quote, at],
    )?;
    db.conn.execute(
        "UPDATE \"Quote\" SET \"GrandTotal\" = ROUND(COALESCE(\"TotalPrice\", 0) + COALESCE(\"Tax\", 0) \
         + COALESCE(\"ShippingHandling\", 0), 2) WHERE \"Id\" = ?1",
        [quote],
    )?;
    Ok(())
}

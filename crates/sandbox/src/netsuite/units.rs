//! Units of measure kept consistent on every write, in the write's SQL transaction:
//!
//! - a `unitsType` write gives each new `uom` line an account-wide internal id and checks that
//!   the type has exactly one base unit (NetSuite's wording of that refusal is *unconfirmed*);
//! - an item's `saleUnit` must be a unit of its `unitsType`.
//!
//! Transaction lines' `units` are defaulted and checked by [`super::ledger`].

use rusqlite::{OptionalExtension, Transaction};

use super::error::ApiError;
use super::schema::RecordType;

pub fn settle(tx: &Transaction, record_type: &RecordType, id: i64) -> Result<(), ApiError> {
    match (record_type.name, record_type.table) {
        ("unitsType", _) => number_units(tx, id),
        (_, "item") => check_sale_unit(tx, id),
        _ => Ok(()),
    }
}

fn number_units(tx: &Transaction, id: i64) -> Result<(), ApiError> {
    let new_lines: Vec<i64> = tx
        .prepare_cached(
            "SELECT line FROM unitstypeuom WHERE unitstype = ?1 AND internalid IS NULL ORDER BY line",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for line in new_lines {
        tx.execute(
            "UPDATE unitstypeuom SET internalid = (SELECT COALESCE(MAX(internalid), 0) + 1 FROM unitstypeuom)
             WHERE unitstype = ?1 AND line = ?2",
            [id, line],
        )?;
    }
    tx.execute(
        "UPDATE unitstypeuom SET conversionrate = 1
         WHERE unitstype = ?1 AND baseunit = 'T' AND conversionrate IS NULL",
        [id],
    )?;
    let (lines, base): (i64, i64) = tx.query_row(
        "SELECT COUNT(*), COALESCE(SUM(baseunit = 'T'), 0) FROM unitstypeuom WHERE unitstype = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if lines > 0 && base != 1 {
        return Err(ApiError::user_error("You must select exactly one base unit.").at("uom"));
    }
    Ok(())
}

fn check_sale_unit(tx: &Transaction, id: i64) -> Result<(), ApiError> {
    let stray: Option<i64> = tx
        .query_row(
            "SELECT i.saleunit FROM item i WHERE i.id = ?1 AND i.saleunit IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM uom u WHERE u.id = i.saleunit AND u.unitstype IS i.unitstype)",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    match stray {
        Some(unit) => Err(ApiError::user_error(format!(
            "The sale unit {unit} is not a unit of the item's units type."
        ))
        .at("saleUnit")),
        None => Ok(()),
    }
}

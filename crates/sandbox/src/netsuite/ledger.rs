//! The account's bookkeeping, run inside the SQL transaction of every transaction write:
//!
//! - item lines: `quantity` defaults to 1, `units` to the item's sale unit (a line's unit must be
//!   one of the item's units type), `rate` to the item's base price, `amount` to quantity ×
//!   rate; a line with a `taxCode` gets the code's rate (`taxRate1`) and tax `tax1Amt` = amount ×
//!   rate, rounded to the cent; a transaction's `subtotal` is the sum of its line amounts,
//!   `taxTotal` the sum of the line taxes (0 when no line has a tax code), `total` the two added;
//! - applications (`apply` lines of payments and credit memos) reduce the invoices'
//!   `amountRemaining`; an invoice with nothing remaining is Paid In Full, a credit memo Fully
//!   Applied; applying more than a payment or an invoice holds is refused (`USER_ERROR`);
//! - the customer's `balance` (open invoices less unapplied credits and payments) and
//!   `overdueBalance` (open invoices past their due date, as of the write) are kept current;
//! - a sales order's status follows its fulfilments and invoices;
//! - an estimate is Open until a sales order is made from it, then Processed (Open again if that
//!   order is deleted); Closed, Voided and Expired estimates keep their status.
//!
//! Tax is the legacy per-line model (one tax code per line, no tax groups, nexuses, tax
//! schedules or SuiteTax engines; the line-level rounding is *unconfirmed*). Units only label
//! the quantity: a rate is not converted between units. Discounts and shipping charges are not
//! modelled: amounts are in the transaction's currency and balances simply add them up. The
//! exchange rate and posting period of each transaction, and its GL impact in the subsidiary's
//! base currency, are [`super::accounting`]'s.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::error::ApiError;
use super::schema::RecordType;

/// Below this, an amount counts as zero.
const CENT: f64 = 0.005;

/// A sales order line with what has been fulfilled and billed against it.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub line: i64,
    pub item: Option<i64>,
    pub quantity: f64,
    pub rate: Option<f64>,
    pub description: Option<String>,
    /// The line's tax code and unit, which invoices of the order carry over.
    pub tax_code: Option<i64>,
    pub units: Option<i64>,
    pub fulfilled: f64,
    pub billed: f64,
}

/// The lines of sales order `order`, with quantities already fulfilled and billed.
pub fn order_lines(conn: &Connection, order: i64) -> rusqlite::Result<Vec<OrderLine>> {
    let against = |kind: &str| {
        format!(
            "COALESCE((SELECT SUM(x.quantity) FROM tranitemline x JOIN \"transaction\" t ON t.id = x.\"transaction\"
              WHERE t.createdfrom = l.\"transaction\" AND t.type = '{kind}' AND x.orderline = l.line), 0)"
        )
    };
    let sql = format!(
        "SELECT l.line, l.item, COALESCE(l.quantity, 1), l.rate, l.description, {}, {}, l.taxcode, l.units
         FROM tranitemline l WHERE l.\"transaction\" = ?1 ORDER BY l.line",
        against("ItemShip"),
        against("CustInvc")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let lines = stmt.query_map([order], |r| {
        Ok(OrderLine {
            line: r.get(0)?,
            item: r.get(1)?,
            quantity: r.get(2)?,
            rate: r.get(3)?,
            description: r.get(4)?,
            fulfilled: r.get(5)?,
            billed: r.get(6)?,
            tax_code: r.get(7)?,
            units: r.get(8)?,
        })
    })?;
    lines.collect()
}

/// Brings a transaction's derived amounts, its source order and its customer up to date.
pub fn settle(tx: &Transaction, record_type: &RecordType, id: i64) -> Result<(), ApiError> {
    if !record_type.is_transaction() {
        return Ok(());
    }
    super::accounting::post(tx, id)?;
    if record_type.sublists.contains(&"item") {
        price_lines(tx, record_type, id)?;
    }
    if record_type.sublists.contains(&"apply") {
        check_applications(tx, id)?;
    }
    let (entity, created_from): (Option<i64>, Option<i64>) = tx.query_row(
        "SELECT entity, createdfrom FROM \"transaction\" WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    refresh_estimate_status(tx, id)?;
    after_delete(tx, (entity, created_from))
}

/// What to settle once a record is gone: its customer and source order.
pub type Settlement = (Option<i64>, Option<i64>);

pub fn before_delete(
    tx: &Transaction,
    record_type: &RecordType,
    id: i64,
) -> rusqlite::Result<Settlement> {
    if !record_type.is_transaction() {
        return Ok((None, None));
    }
    Ok(tx
        .query_row(
            "SELECT entity, createdfrom FROM \"transaction\" WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((None, None)))
}

pub fn after_delete(tx: &Transaction, (entity, source): Settlement) -> Result<(), ApiError> {
    if let Some(order) = source {
        refresh_order_status(tx, order)?;
        refresh_estimate_status(tx, order)?;
    }
    if let Some(customer) = entity {
        rebalance(tx, customer)?;
    }
    Ok(())
}

/// Whether other records point at this one so that NetSuite would refuse to delete it.
pub fn has_dependents(
    conn: &Connection,
    record_type: &RecordType,
    id: i64,
) -> rusqlite::Result<bool> {
    let sql = match (record_type.name, record_type.table) {
        ("customer", _) => "SELECT 1 FROM \"transaction\" WHERE entity = ?1",
        (_, "item") => "SELECT 1 FROM tranitemline WHERE item = ?1",
        (_, "transaction") => {
            "SELECT 1 FROM \"transaction\" WHERE createdfrom = ?1
             UNION ALL SELECT 1 FROM tranapplyline WHERE doc = ?1"
        }
        _ => return Ok(false),
    };
    conn.prepare_cached(sql)?.exists([id])
}

fn price_lines(tx: &Transaction, record_type: &RecordType, id: i64) -> Result<(), ApiError> {
    tx.execute_batch(&format!(
        "UPDATE tranitemline SET quantity = 1 WHERE \"transaction\" = {id} AND quantity IS NULL;
         UPDATE tranitemline SET units = (SELECT saleunit FROM item WHERE item.id = tranitemline.item)
           WHERE \"transaction\" = {id} AND units IS NULL;
         UPDATE tranitemline SET rate = amount / quantity
           WHERE \"transaction\" = {id} AND rate IS NULL AND amount IS NOT NULL AND quantity <> 0;
         UPDATE tranitemline SET rate = (SELECT baseprice FROM item WHERE item.id = tranitemline.item)
           WHERE \"transaction\" = {id} AND rate IS NULL AND amount IS NULL;
         UPDATE tranitemline SET amount = ROUND(quantity * rate, 2)
           WHERE \"transaction\" = {id} AND amount IS NULL AND rate IS NOT NULL;
         UPDATE tranitemline SET
             taxrate1 = (SELECT s.rate FROM salestaxitem s WHERE s.id = tranitemline.taxcode),
             tax1amt = CASE WHEN taxcode IS NULL THEN NULL ELSE ROUND(COALESCE(amount, 0) *
               COALESCE((SELECT s.rate FROM salestaxitem s WHERE s.id = tranitemline.taxcode), 0) / 100, 2) END
           WHERE \"transaction\" = {id};"
    ))?;
    check_units(tx, id)?;
    let lines: i64 = tx.query_row(
        "SELECT COUNT(*) FROM tranitemline WHERE \"transaction\" = ?1",
        [id],
        |r| r.get(0),
    )?;
    if lines == 0 {
        return Err(ApiError::user_error(
            "You must enter at least one line item for this transaction.",
        ));
    }
    if record_type.field("total").is_some() {
        tx.execute(
            "UPDATE \"transaction\" SET
               subtotal = (SELECT ROUND(COALESCE(SUM(amount), 0), 2) FROM tranitemline WHERE \"transaction\" = ?1),
               taxtotal = (SELECT ROUND(COALESCE(SUM(tax1amt), 0), 2) FROM tranitemline WHERE \"transaction\" = ?1)
             WHERE id = ?1",
            [id],
        )?;
        tx.execute(
            "UPDATE \"transaction\" SET foreigntotal = ROUND(subtotal + taxtotal, 2) WHERE id = ?1",
            [id],
        )?;
    }
    Ok(())
}

/// Refuses a line whose `units` is no unit of its item's units type (an item without one takes
/// no units). NetSuite's wording is *unconfirmed*.
fn check_units(tx: &Transaction, id: i64) -> Result<(), ApiError> {
    let stray: Option<(i64, i64)> = tx
        .query_row(
            "SELECT l.line, l.units FROM tranitemline l LEFT JOIN item i ON i.id = l.item
             WHERE l.\"transaction\" = ?1 AND l.units IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM uom u WHERE u.id = l.units AND u.unitstype IS i.unitstype)
             ORDER BY l.line LIMIT 1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match stray {
        Some((line, units)) => Err(ApiError::user_error(format!(
            "Invalid units reference key {units} for line {line}: it is not a unit of the item's units type."
        ))
        .at(format!("item.items[{}].units", line - 1))),
        None => Ok(()),
    }
}

/// Fills in application amounts, checks each applies to an invoice of the same customer, and
/// sets a payment's amount to what it applies when the body left it out.
fn check_applications(tx: &Transaction, id: i64) -> Result<(), ApiError> {
    tx.execute(
        "UPDATE tranapplyline SET amount = (
           SELECT t.foreigntotal - COALESCE((SELECT SUM(o.amount) FROM tranapplyline o
             WHERE o.doc = t.id AND o.apply = 'T' AND o.\"transaction\" <> tranapplyline.\"transaction\"), 0)
           FROM \"transaction\" t WHERE t.id = tranapplyline.doc)
         WHERE \"transaction\" = ?1 AND amount IS NULL AND apply = 'T'",
        [id],
    )?;
    let stray: Option<i64> = tx
        .query_row(
            "SELECT a.doc FROM tranapplyline a JOIN \"transaction\" p ON p.id = a.\"transaction\"
             LEFT JOIN \"transaction\" d ON d.id = a.doc
             WHERE a.\"transaction\" = ?1 AND (d.type IS NOT 'CustInvc' OR d.entity IS NOT p.entity)
             LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(doc) = stray {
        return Err(ApiError::user_error(format!(
            "Transaction {doc} is not an open invoice of this customer and cannot be applied."
        ))
        .at("apply"));
    }
    tx.execute(
        "UPDATE \"transaction\" SET foreigntotal = (SELECT COALESCE(SUM(amount), 0) FROM tranapplyline
           WHERE \"transaction\" = ?1 AND apply = 'T')
         WHERE id = ?1 AND type = 'CustPymt' AND foreigntotal IS NULL",
        [id],
    )?;
    Ok(())
}

/// Amounts remaining and statuses of the customer's invoices, credit memos and payments, then the
/// customer's balances.
fn rebalance(tx: &Transaction, customer: i64) -> Result<(), ApiError> {
    tx.execute_batch(&format!(
        "UPDATE \"transaction\" SET foreignamountremaining = ROUND(COALESCE(foreigntotal, 0) - COALESCE(
             (SELECT SUM(a.amount) FROM tranapplyline a WHERE a.doc = \"transaction\".id AND a.apply = 'T'), 0), 2)
           WHERE entity = {customer} AND type = 'CustInvc';
         UPDATE \"transaction\" SET foreignamountremaining = ROUND(COALESCE(foreigntotal, 0) - COALESCE(
             (SELECT SUM(a.amount) FROM tranapplyline a WHERE a.\"transaction\" = \"transaction\".id AND a.apply = 'T'), 0), 2)
           WHERE entity = {customer} AND type IN ('CustCred', 'CustPymt');
         UPDATE \"transaction\" SET status = CASE WHEN foreignamountremaining <= {CENT} THEN 'B' ELSE 'A' END
           WHERE entity = {customer} AND type IN ('CustInvc', 'CustCred');
         UPDATE \"transaction\" SET status = 'B' WHERE entity = {customer} AND type = 'CustPymt' AND status IS NULL;"
    ))?;
    let overapplied: Option<String> = tx
        .query_row(
            &format!(
                "SELECT tranid FROM \"transaction\" WHERE entity = ?1
                 AND type IN ('CustInvc', 'CustCred', 'CustPymt') AND foreignamountremaining < -{CENT} LIMIT 1"
            ),
            [customer],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(tran_id) = overapplied {
        return Err(ApiError::user_error(format!(
            "The amount applied exceeds the amount available or due on {tran_id}."
        ))
        .at("apply"));
    }
    tx.execute(
        "UPDATE customer SET
           balance = (SELECT ROUND(COALESCE(SUM(CASE WHEN type = 'CustInvc' THEN foreignamountremaining
                        ELSE -foreignamountremaining END), 0), 2)
                      FROM \"transaction\" WHERE entity = ?1 AND type IN ('CustInvc', 'CustCred', 'CustPymt')),
           overduebalance = (SELECT ROUND(COALESCE(SUM(foreignamountremaining), 0), 2) FROM \"transaction\"
                      WHERE entity = ?1 AND type = 'CustInvc' AND duedate < date('now'))
         WHERE id = ?1",
        [customer],
    )?;
    Ok(())
}

/// A sales order's status from its lines: Billed when every line is billed, Pending Billing when
/// every line is fulfilled, (Pending Billing/) Partially Fulfilled in between. Pending Approval,
/// Cancelled and Closed orders keep their status.
fn refresh_order_status(tx: &Transaction, order: i64) -> rusqlite::Result<()> {
    let status: Option<Option<String>> = tx
        .query_row(
            "SELECT status FROM \"transaction\" WHERE id = ?1 AND type = 'SalesOrd'",
            [order],
            |r| r.get(0),
        )
        .optional()?;
    let Some(status) = status else { return Ok(()) };
    if matches!(status.as_deref(), Some("A" | "C" | "H")) {
        return Ok(());
    }
    let lines = order_lines(tx, order)?;
    let all = |f: fn(&OrderLine) -> f64| lines.iter().all(|l| f(l) + CENT >= l.quantity);
    let any = |f: fn(&OrderLine) -> f64| lines.iter().any(|l| f(l) > CENT);
    let next = if all(|l| l.billed) {
        "G"
    } else if all(|l| l.fulfilled) {
        "F"
    } else if any(|l| l.fulfilled) {
        if any(|l| l.billed) {
            "E"
        } else {
            "D"
        }
    } else {
        "B"
    };
    tx.execute(
        "UPDATE \"transaction\" SET status = ?2 WHERE id = ?1",
        rusqlite::params![order, next],
    )?;
    Ok(())
}

/// An estimate's status: Processed once a sales order was made from it, else Open; Closed (C),
/// Voided (V) and Expired (X) are kept. A no-op for any other transaction.
fn refresh_estimate_status(tx: &Transaction, estimate: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE \"transaction\" SET status = CASE WHEN EXISTS (SELECT 1 FROM \"transaction\" o
           WHERE o.createdfrom = ?1 AND o.type = 'SalesOrd') THEN 'B' ELSE 'A' END
         WHERE id = ?1 AND type = 'Estimate' AND (status IS NULL OR status IN ('A', 'B'))",
        [estimate],
    )?;
    Ok(())
}

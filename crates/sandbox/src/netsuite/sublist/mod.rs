//! Sublists: the customer `addressBook` (lines pointing at address subrecords, see [`address`])
//! and the table-driven line sublists of items and transactions (`price`, `item`, `apply`, see
//! [`lines`]). A write adds lines, or replaces them all when the request names the sublist in
//! `replace=`. Expanded, a sublist shows as a collection `{"items","count","totalResults",…}`.

pub mod address;
mod lines;

use rusqlite::{Connection, Transaction};
use serde_json::Value;

use super::error::ApiError;
use super::schema::{line_sublist, RecordType, ADDRESS_BOOK};
use super::store::nonexistent_field;

pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    address::create_tables(conn)?;
    lines::create_tables(conn)
}

pub fn delete_all(tx: &Transaction, sublist: &str, parent: i64) -> rusqlite::Result<()> {
    if sublist == ADDRESS_BOOK {
        return address::delete_all(tx, parent);
    }
    match line_sublist(sublist) {
        Some(lines) => lines::delete_all(tx, lines, parent),
        None => Ok(()),
    }
}

/// Writes a sublist payload `{"items":[…]}` for one record.
pub fn write(
    tx: &Transaction,
    record_type: &RecordType,
    sublist: &str,
    parent: i64,
    payload: &Value,
    replace: bool,
) -> Result<(), ApiError> {
    if !record_type.sublists.contains(&sublist) {
        return Err(nonexistent_field(sublist));
    }
    if sublist == ADDRESS_BOOK {
        return address::write(tx, sublist, parent, payload, replace);
    }
    match line_sublist(sublist) {
        Some(lines) => lines::write(tx, lines, parent, payload, replace),
        None => Err(nonexistent_field(sublist)),
    }
}

/// The sublist's lines as the record API shows them when expanded; `links` only when `self_href` is given.
pub fn read(
    conn: &Connection,
    sublist: &str,
    parent: i64,
    self_href: Option<&str>,
) -> rusqlite::Result<Value> {
    if sublist == ADDRESS_BOOK {
        return address::read(conn, parent, self_href);
    }
    match line_sublist(sublist) {
        Some(lines) => lines::read(conn, lines, parent, self_href),
        None => Ok(Value::Null),
    }
}

/// A collection body around expanded lines.
fn collection(items: Vec<Value>, self_href: Option<&str>) -> Value {
    let count = items.len();
    let mut body = serde_json::json!({
        "items": items, "totalResults": count, "count": count, "hasMore": false, "offset": 0,
    });
    if let Some(href) = self_href {
        body["links"] = serde_json::json!([{ "rel": "self", "href": href }]);
    }
    body
}

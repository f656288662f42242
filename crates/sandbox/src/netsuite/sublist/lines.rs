//! Table-driven line sublists ([`LineSublist`]): one row per line, keyed by the owning record's
//! id and a line number counted from 1 within the record.

use rusqlite::{params_from_iter, Connection, Transaction};
use serde_json::{json, Map, Value};

use super::address::invalid;
use super::collection;
use crate::netsuite::error::ApiError;
use crate::netsuite::render::reference_view;
use crate::netsuite::schema::{Kind, LineSublist, DATETIME_COLUMN, DATE_COLUMN, LINE_SUBLISTS};
use crate::netsuite::store::nonexistent_field;
use crate::netsuite::values::{plain, shown, to_sql};

/// Keys a line may carry that are shown or implied, never stored.
/// (`quantity` is also accepted on price lines, for the first quantity tier.)
const IGNORED: &[&str] = &[
    "links", "line", "id", "type", "refNum", "total", "due", "quantity",
];

pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    for lines in LINE_SUBLISTS {
        let mut columns = vec![
            format!("\"{}\" INTEGER NOT NULL", lines.parent),
            "line INTEGER NOT NULL".to_owned(),
        ];
        for field in lines.fields {
            let default = lines
                .defaults
                .iter()
                .find(|(c, _)| *c == field.column)
                .map(|(_, d)| *d);
            columns.push(match (field.kind, default) {
                (Kind::Bool, d) => format!(
                    "{} TEXT NOT NULL DEFAULT {}",
                    field.column,
                    d.unwrap_or("'F'")
                ),
                (Kind::Ref(_) | Kind::Id, _) => format!("{} INTEGER", field.column),
                (Kind::Number, _) => format!("{} REAL", field.column),
                (Kind::Date, _) => format!("{} {DATE_COLUMN}", field.column),
                (Kind::DateTime, _) => format!("{} {DATETIME_COLUMN}", field.column),
                _ => format!("{} TEXT", field.column),
            });
        }
        columns.push(format!("PRIMARY KEY (\"{}\", line)", lines.parent));
        conn.execute(
            &format!("CREATE TABLE {} ({})", lines.table, columns.join(", ")),
            [],
        )?;
    }
    Ok(())
}

pub fn delete_all(tx: &Transaction, lines: &LineSublist, parent: i64) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "DELETE FROM {} WHERE \"{}\" = ?1",
            lines.table, lines.parent
        ),
        [parent],
    )?;
    Ok(())
}

pub fn write(
    tx: &Transaction,
    lines: &LineSublist,
    parent: i64,
    payload: &Value,
    replace: bool,
) -> Result<(), ApiError> {
    let items = match payload.get("items") {
        Some(Value::Array(items)) => items.as_slice(),
        None if payload.is_object() => &[],
        _ => return Err(invalid(lines.name, "items")),
    };
    if replace {
        delete_all(tx, lines, parent)?;
    }
    let mut next: i64 = tx.query_row(
        &format!(
            "SELECT COALESCE(MAX(line), 0) + 1 FROM {} WHERE \"{}\" = ?1",
            lines.table, lines.parent
        ),
        [parent],
        |row| row.get(0),
    )?;
    for (i, item) in items.iter().enumerate() {
        let path = format!("{}.items[{i}]", lines.name);
        let item = item.as_object().ok_or_else(|| invalid(&path, "item"))?;
        let parent_column = format!("\"{}\"", lines.parent);
        let mut columns = vec![parent_column.as_str(), "line"];
        let mut values = vec![
            rusqlite::types::Value::Integer(parent),
            rusqlite::types::Value::Integer(next),
        ];
        for (key, value) in item {
            let Some(field) = lines.fields.iter().find(|f| f.name == key) else {
                if IGNORED.contains(&key.as_str()) {
                    continue;
                }
                return Err(nonexistent_field(&format!("{path}.{key}")));
            };
            if field.read_only {
                continue; // shown, kept by the account (a tax amount, a unit's internal id)
            }
            columns.push(field.column);
            values.push(to_sql(tx, field, value).map_err(|e| e.at(format!("{path}.{key}")))?);
        }
        tx.execute(
            &format!(
                "INSERT INTO {} ({}) VALUES ({})",
                lines.table,
                columns.join(", "),
                vec!["?"; columns.len()].join(", ")
            ),
            params_from_iter(values),
        )?;
        next += 1;
    }
    Ok(())
}

pub fn read(
    conn: &Connection,
    lines: &LineSublist,
    parent: i64,
    self_href: Option<&str>,
) -> rusqlite::Result<Value> {
    let columns: Vec<&str> = lines.fields.iter().map(|f| f.column).collect();
    let sql = format!(
        "SELECT line, {} FROM {} WHERE \"{}\" = ?1 ORDER BY line",
        columns.join(", "),
        lines.table,
        lines.parent
    );
    let base = self_href.and_then(|h| h.split("/services/").next());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows: Vec<(i64, Vec<Value>)> = stmt
        .query_map([parent], |row| {
            let values = (0..columns.len())
                .map(|i| Ok(plain(row.get_ref(i + 1)?)))
                .collect::<rusqlite::Result<_>>()?;
            Ok((row.get(0)?, values))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut items = Vec::with_capacity(rows.len());
    for (line, values) in rows {
        let mut item = Map::new();
        if let Some(href) = self_href {
            item.insert(
                "links".into(),
                json!([{ "rel": "self", "href": format!("{href}/{line}") }]),
            );
        }
        item.insert("line".into(), json!(line));
        for (field, value) in lines.fields.iter().zip(values) {
            if value.is_null() {
                continue;
            }
            let value = match field.kind {
                Kind::Ref(target) => reference_view(conn, target, &value, base)?,
                kind => shown(kind, value),
            };
            item.insert(field.name.to_owned(), value);
        }
        items.push(Value::Object(item));
    }
    Ok(collection(items, self_href))
}

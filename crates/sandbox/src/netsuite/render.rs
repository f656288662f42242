//! A record as `GET record/v1/{type}/{id}` shows it: fields with values (empty ones omitted, as
//! NetSuite omits them), references as `{"id","refName","links"}`, sublists as a link or, with
//! `expandSubResources=true`, as their lines. Without a base URL (direct test access) no `links`.

use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use super::schema::{self, Kind, RecordType};
use super::store::Db;
use super::sublist;
use super::values::{plain, shown};

pub struct View<'a> {
    /// `http://host` for links; `None` leaves links out.
    pub base: Option<&'a str>,
    pub expand: bool,
    /// `?fields=` narrowing.
    pub fields: Option<&'a [String]>,
}

pub fn record_href(base: &str, record_type: &str, id: i64) -> String {
    format!("{base}/services/rest/record/v1/{record_type}/{id}")
}

fn links(href: String) -> Value {
    json!([{ "rel": "self", "href": href }])
}

impl Db {
    pub fn render(
        &self,
        record_type: &RecordType,
        id: i64,
        view: &View,
    ) -> rusqlite::Result<Option<Map<String, Value>>> {
        let wanted = |name: &str| view.fields.is_none_or(|f| f.iter().any(|w| w == name));
        let columns: Vec<&str> = record_type.fields.iter().map(|f| f.column).collect();
        let sql = format!(
            "SELECT {} FROM \"{}\" WHERE id = ?1{}",
            columns.join(", "),
            record_type.table,
            record_type.scope()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row: Option<Vec<Value>> = stmt
            .query_row([id], |row| {
                (0..columns.len())
                    .map(|i| Ok(plain(row.get_ref(i)?)))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let self_href = view.base.map(|b| record_href(b, record_type.name, id));
        let mut out = Map::new();
        if let Some(href) = &self_href {
            out.insert("links".into(), links(href.clone()));
        }
        for (field, value) in record_type.fields.iter().zip(row) {
            if value.is_null() || !wanted(field.name) {
                continue;
            }
            let value = match field.kind {
                Kind::Ref(target) => reference_view(&self.conn, target, &value, view.base)?,
                kind => shown(kind, value),
            };
            out.insert(field.name.to_owned(), value);
        }
        for name in record_type.sublists.iter().filter(|n| wanted(n)) {
            let sublist_href = self_href.as_ref().map(|h| format!("{h}/{name}"));
            let shown = if view.expand {
                sublist::read(&self.conn, name, id, sublist_href.as_deref())?
            } else {
                match &sublist_href {
                    Some(href) => json!({ "links": links(href.clone()) }),
                    None => continue,
                }
            };
            out.insert((*name).to_owned(), shown);
        }
        Ok(Some(out))
    }
}

/// `{"id","refName","links"}` for a reference to `target`: a record type, a table shared by
/// several (`item`, `transaction`: the concrete type is looked up), or a plain list table.
pub fn reference_view(
    conn: &Connection,
    target: &str,
    id: &Value,
    base: Option<&str>,
) -> rusqlite::Result<Value> {
    let id = id.as_str().unwrap_or_default();
    let concrete = match (schema::record_type(target), schema::shared_table(target)) {
        (Some(record_type), _) => Some(record_type),
        (None, Some((table, column))) => conn
            .query_row(
                &format!("SELECT {column} FROM \"{table}\" WHERE id = ?1"),
                [id],
                |row| row.get::<_, String>(0),
            )
            .optional()?
            .and_then(|code| schema::record_type_by_code(table, &code)),
        (None, None) => None,
    };
    let (sql, link_type) = match concrete {
        Some(t) => (
            format!("SELECT {} FROM \"{}\" WHERE id = ?1", t.ref_name, t.table),
            t.name,
        ),
        None => (
            format!("SELECT name FROM \"{target}\" WHERE id = ?1"),
            target,
        ),
    };
    let ref_name: Option<Option<String>> =
        conn.query_row(&sql, [id], |row| row.get(0)).optional()?;
    let mut value = json!({ "id": id });
    if let Some(name) = ref_name.flatten() {
        value["refName"] = json!(name);
    }
    if let Some(base) = base {
        value["links"] = links(format!("{base}/services/rest/record/v1/{link_type}/{id}"));
    }
    Ok(value)
}

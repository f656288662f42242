//! A record as `GET record/v1/{type}/{id}` shows it: fields with values (empty ones omitted, as
//! NetSuite omits them), references as `{"id","refName","links"}`, sublists as a link or, with
//! `expandSubResources=true`, as their lines. Without a base URL (direct test access) no `links`.

use rusqlite::types::ValueRef;
use rusqlite::OptionalExtension;
use serde_json::{json, Map, Value};

use super::schema::{self, Kind, RecordType};
use super::store::Db;
use super::sublist;

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
            "SELECT {} FROM {} WHERE id = ?1",
            columns.join(", "),
            record_type.table
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row: Option<Vec<(usize, Value)>> = stmt
            .query_row([id], |row| {
                (0..columns.len())
                    .map(|i| Ok((i, plain(row.get_ref(i)?))))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let self_href = view.base.map(|b| record_href(b, record_type.name, id));
        let mut out = Map::new();
        if let Some(href) = &self_href {
            out.insert("links".into(), links(href.clone()));
        }
        for (i, value) in row {
            let field = &record_type.fields[i];
            if value.is_null() || !wanted(field.name) {
                continue;
            }
            let shown = match field.kind {
                Kind::Bool => Value::Bool(value == "T"),
                Kind::Ref(target) => self.reference_view(target, &value, view.base)?,
                _ => value,
            };
            out.insert(field.name.to_owned(), shown);
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

    fn reference_view(
        &self,
        target: &str,
        id: &Value,
        base: Option<&str>,
    ) -> rusqlite::Result<Value> {
        let id = id.as_str().unwrap_or_default();
        let ref_name: Option<String> = match schema::record_type(target) {
            Some(record_type) if record_type.name == "customer" => self
                .conn
                .query_row(
                    "SELECT entityid, companyname FROM customer WHERE id = ?1",
                    [id],
                    |row| {
                        let entity: Option<String> = row.get(0)?;
                        let company: Option<String> = row.get(1)?;
                        Ok([entity, company]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" "))
                    },
                )
                .optional()?,
            Some(record_type) => self
                .conn
                .query_row(
                    &format!("SELECT entityid FROM {} WHERE id = ?1", record_type.table),
                    [id],
                    |row| row.get(0),
                )
                .optional()?,
            None => self
                .conn
                .query_row(
                    &format!("SELECT name FROM {target} WHERE id = ?1"),
                    [id],
                    |row| row.get(0),
                )
                .optional()?,
        };
        let mut value = json!({ "id": id });
        if let Some(name) = ref_name {
            value["refName"] = json!(name);
        }
        if let Some(base) = base {
            value["links"] = links(format!("{base}/services/rest/record/v1/{target}/{id}"));
        }
        Ok(value)
    }
}

/// A stored value as a JSON string (ids and numbers as strings, as the record API shows ids).
fn plain(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::String(i.to_string()),
        ValueRef::Real(f) => Value::String(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::String(String::from_utf8_lossy(t).into_owned())
        }
    }
}

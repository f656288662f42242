//! The org's records in SQLite: one table per sObject, one column per field (booleans as 0/1,
//! datetimes as Salesforce-formatted UTC text, which sorts chronologically). Writes are validated
//! here the way Salesforce validates them, so the HTTP handlers and the direct test API agree.
//!
//! Deletes are soft, as in Salesforce: a deleted record moves to its object's recycle bin table
//! (same columns, `IsDeleted` true), where only `queryAll` sees it; it is also noted in the
//! deleted records log that `sobjects/{Object}/deleted` reads.

use std::collections::HashMap;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection};
use serde_json::{Map, Value};

mod database;
mod validate;

use super::clock::Clock;
use super::error::ApiError;
use super::schema::{self, Field, Kind, SObject};
use super::{ids, rules};
use crate::time::sf_timestamp;
use validate::required_missing;

pub struct Db {
    pub conn: Connection,
    /// The last id counter used per key prefix (see [`ids::generate`]).
    counters: HashMap<&'static str, u64>,
    /// The org's clock: when a deletion happened.
    pub clock: Clock,
}

/// Who makes a write and when (Salesforce-formatted timestamp).
pub struct Stamp<'a> {
    pub user_id: &'a str,
    pub at: &'a str,
}

impl Db {
    /// Opens a savepoint: the writes until [`Db::release`] can be undone together.
    pub fn savepoint(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch("SAVEPOINT api_call")
    }

    /// Closes the latest savepoint, keeping its writes or undoing them.
    pub fn release(&self, keep: bool) -> rusqlite::Result<()> {
        self.conn.execute_batch(if keep {
            "RELEASE api_call"
        } else {
            "ROLLBACK TO api_call; RELEASE api_call"
        })
    }

    pub fn user_id_by_username(&self, username: &str) -> Option<String> {
        self.conn
            .query_row(
                "SELECT \"Id\" FROM \"User\" WHERE \"Username\" = ?1 COLLATE NOCASE",
                [username],
                |row| row.get(0),
            )
            .ok()
    }

    fn next_id(&mut self, object: &SObject) -> String {
        let counter = self.counters.entry(object.key_prefix).or_default();
        *counter += 1;
        ids::generate(object.key_prefix, *counter)
    }

    pub fn insert(
        &mut self,
        object: &SObject,
        body: &Map<String, Value>,
        stamp: &Stamp,
    ) -> Result<String, ApiError> {
        let mut values = self.validate(object, body)?;
        rules::prepare(self, object, None, &mut values)?;
        if let Some(owner) = object.field("OwnerId") {
            if !values.iter().any(|(f, _)| f.name == owner.name) {
                values.push((owner, SqlValue::Text(stamp.user_id.to_owned())));
            }
        }
        let missing: Vec<&str> = object
            .fields
            .iter()
            .filter(|f| {
                f.required
                    && !values
                        .iter()
                        .any(|(v, val)| v.name == f.name && *val != SqlValue::Null)
            })
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            return Err(required_missing(&missing));
        }
        let id = self.next_id(object);
        self.check_unique(object, &values, &id)?;
        let mut columns = vec!["Id"];
        let mut params = vec![SqlValue::Text(id.clone())];
        for (field, value) in values {
            columns.push(field.name);
            params.push(value);
        }
        for (name, value) in [
            ("CreatedDate", stamp.at),
            ("CreatedById", stamp.user_id),
            ("LastModifiedDate", stamp.at),
            ("LastModifiedById", stamp.user_id),
            ("SystemModstamp", stamp.at),
        ] {
            columns.push(name);
            params.push(SqlValue::Text(value.to_owned()));
        }
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            object.name,
            columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            vec!["?"; columns.len()].join(", ")
        );
        self.conn.execute(&sql, params_from_iter(params))?;
        rules::settle(self, object, &id, stamp.at)?;
        Ok(id)
    }

    /// Updates an existing record; `Err(NOT_FOUND)` when there is none.
    pub fn update(
        &mut self,
        object: &SObject,
        id: &str,
        body: &Map<String, Value>,
        stamp: &Stamp,
    ) -> Result<(), ApiError> {
        let existing = self
            .fetch(object, id, &[])?
            .ok_or_else(ApiError::not_found)?;
        let mut values = self.validate(object, body)?;
        rules::prepare(self, object, Some(&existing), &mut values)?;
        let cleared: Vec<&str> = values
            .iter()
            .filter(|(f, v)| f.required && *v == SqlValue::Null)
            .map(|(f, _)| f.name)
            .collect();
        if !cleared.is_empty() {
            return Err(required_missing(&cleared));
        }
        self.check_unique(object, &values, id)?;
        let mut sets: Vec<String> = values
            .iter()
            .map(|(f, _)| format!("\"{}\" = ?", f.name))
            .collect();
        let mut params: Vec<SqlValue> = values.into_iter().map(|(_, v)| v).collect();
        for (name, value) in [
            ("LastModifiedDate", stamp.at),
            ("LastModifiedById", stamp.user_id),
            ("SystemModstamp", stamp.at),
        ] {
            sets.push(format!("\"{name}\" = ?"));
            params.push(SqlValue::Text(value.to_owned()));
        }
        params.push(SqlValue::Text(id.to_owned()));
        let sql = format!(
            "UPDATE \"{}\" SET {} WHERE \"Id\" = ?",
            object.name,
            sets.join(", ")
        );
        self.conn.execute(&sql, params_from_iter(params))?;
        rules::settle(self, object, id, stamp.at)?;
        Ok(())
    }

    /// Deletes a record and, recursively, the children its object cascades to, noting each in the
    /// deleted records log (`sobjects/{Object}/deleted`); `false` when there was none.
    pub fn delete(&mut self, object: &SObject, id: &str) -> Result<bool, ApiError> {
        if !self.exists(object, id)? {
            return Ok(false);
        }
        let parents = rules::parents(self, object, id)?;
        let at = sf_timestamp(self.clock.now());
        let tx = self.conn.savepoint()?;
        delete_tree(&tx, object, id, &at)?;
        tx.commit()?;
        for (parent, parent_id) in parents {
            rules::settle_parent(self, parent, &parent_id, &at)?;
        }
        Ok(true)
    }

    pub fn exists(&self, object: &SObject, id: &str) -> rusqlite::Result<bool> {
        let sql = format!("SELECT 1 FROM \"{}\" WHERE \"Id\" = ?1", object.name);
        self.conn.prepare_cached(&sql)?.exists([id])
    }

    /// One record with the given fields (all when `fields` is empty).
    pub fn fetch(
        &self,
        object: &SObject,
        id: &str,
        fields: &[&'static Field],
    ) -> rusqlite::Result<Option<Map<String, Value>>> {
        let fields: Vec<&Field> = if fields.is_empty() {
            object.fields.iter().collect()
        } else {
            fields.to_vec()
        };
        let sql = format!(
            "SELECT {} FROM \"{}\" WHERE \"Id\" = ?1",
            column_list(&fields),
            object.name
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => Ok(Some(row_to_map(row, &fields)?)),
            None => Ok(None),
        }
    }

    pub fn all(&self, object: &SObject) -> rusqlite::Result<Vec<Map<String, Value>>> {
        let fields: Vec<&Field> = object.fields.iter().collect();
        let sql = format!(
            "SELECT {} FROM \"{}\" ORDER BY rowid",
            column_list(&fields),
            object.name
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |row| row_to_map(row, &fields))?;
        rows.collect()
    }

    /// Ids of the records whose external-id field equals `value` (case-insensitively, as Salesforce matches).
    pub fn ids_by_external_id(
        &self,
        object: &SObject,
        field: &Field,
        value: &str,
    ) -> rusqlite::Result<Vec<String>> {
        let sql = format!(
            "SELECT \"Id\" FROM \"{}\" WHERE \"{}\" = ?1 COLLATE NOCASE ORDER BY rowid",
            object.name, field.name
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([value], |row| row.get(0))?;
        rows.collect()
    }
}

fn delete_tree(conn: &Connection, object: &SObject, id: &str, at: &str) -> rusqlite::Result<()> {
    for (child, field) in object.cascade_delete {
        let Some(child) = schema::sobject(child) else {
            continue;
        };
        let sql = format!(
            "SELECT \"Id\" FROM \"{}\" WHERE \"{field}\" = ?1",
            child.name
        );
        let ids: Vec<String> = conn
            .prepare(&sql)?
            .query_map([id], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for child_id in ids {
            delete_tree(conn, child, &child_id, at)?;
        }
    }
    conn.execute(
        "INSERT OR REPLACE INTO \"__Deleted\" VALUES (?1, ?2, ?3)",
        [id, object.name, at],
    )?;
    let bin = recycle_bin(object);
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO \"{bin}\" SELECT * FROM \"{}\" WHERE \"Id\" = ?1",
            object.name
        ),
        [id],
    )?;
    conn.execute(
        &format!(
            "UPDATE \"{bin}\" SET \"IsDeleted\" = 1, \"SystemModstamp\" = ?2 WHERE \"Id\" = ?1"
        ),
        [id, at],
    )?;
    conn.execute(
        &format!("DELETE FROM \"{}\" WHERE \"Id\" = ?1", object.name),
        [id],
    )?;
    Ok(())
}

/// The table holding an object's deleted records.
pub fn recycle_bin(object: &SObject) -> String {
    format!("{}__RecycleBin", object.name)
}

pub fn column_list(fields: &[&Field]) -> String {
    fields
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row whose columns are exactly `fields`, in order.
pub fn row_to_map(
    row: &rusqlite::Row<'_>,
    fields: &[&Field],
) -> rusqlite::Result<Map<String, Value>> {
    let mut map = Map::new();
    for (i, field) in fields.iter().enumerate() {
        map.insert(
            field.name.to_owned(),
            json_value(field.kind, row.get_ref(i)?),
        );
    }
    Ok(map)
}

/// A stored value as the REST API shows it.
pub fn json_value(kind: Kind, value: ValueRef<'_>) -> Value {
    match (kind, value) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (_, ValueRef::Integer(i)) => Value::from(i),
        (_, ValueRef::Real(f)) => Value::from(f),
        (_, ValueRef::Text(t)) | (_, ValueRef::Blob(t)) => {
            Value::String(String::from_utf8_lossy(t).into_owned())
        }
    }
}

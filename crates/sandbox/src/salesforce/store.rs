//! The org's records in SQLite: one table per sObject, one column per field (booleans as 0/1,
//! datetimes as Salesforce-formatted UTC text, which sorts chronologically). Writes are validated
//! here the way Salesforce validates them, so the HTTP handlers and the direct test API agree.

use std::collections::HashMap;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::ids;
use super::schema::{self, Field, Kind, SObject, SOBJECTS};

pub struct Db {
    pub conn: Connection,
    counters: HashMap<&'static str, u64>,
}

/// Who makes a write and when (Salesforce-formatted timestamp).
pub struct Stamp<'a> {
    pub user_id: &'a str,
    pub at: &'a str,
}

impl Db {
    pub fn open() -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        for object in SOBJECTS {
            let columns: Vec<String> = object
                .fields
                .iter()
                .map(|f| match f.kind {
                    Kind::Id => format!("\"{}\" TEXT PRIMARY KEY", f.name),
                    Kind::Bool => format!("\"{}\" INTEGER NOT NULL DEFAULT 0", f.name),
                    _ => format!("\"{}\" TEXT", f.name),
                })
                .collect();
            conn.execute(
                &format!("CREATE TABLE \"{}\" ({})", object.name, columns.join(", ")),
                [],
            )?;
            for field in object.fields.iter().filter(|f| f.external_id) {
                let unique = if field.unique { "UNIQUE " } else { "" };
                conn.execute(
                    &format!(
                        "CREATE {unique}INDEX \"{o}_{f}\" ON \"{o}\" (\"{f}\" COLLATE NOCASE)",
                        o = object.name,
                        f = field.name
                    ),
                    [],
                )?;
            }
        }
        Ok(Self {
            conn,
            counters: HashMap::new(),
        })
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
        let values = self.validate(object, body)?;
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
        if !self.exists(object, id)? {
            return Err(ApiError::not_found());
        }
        let values = self.validate(object, body)?;
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
        Ok(())
    }

    /// Deletes a record and the children the object cascades to; `false` when there was none.
    pub fn delete(&mut self, object: &SObject, id: &str) -> rusqlite::Result<bool> {
        let tx = self.conn.transaction()?;
        for (child, field) in object.cascade_delete {
            tx.execute(
                &format!("DELETE FROM \"{child}\" WHERE \"{field}\" = ?1"),
                [id],
            )?;
        }
        let deleted = tx.execute(
            &format!("DELETE FROM \"{}\" WHERE \"Id\" = ?1", object.name),
            [id],
        )?;
        tx.commit()?;
        Ok(deleted > 0)
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

    fn validate(
        &self,
        object: &SObject,
        body: &Map<String, Value>,
    ) -> Result<Vec<(&'static Field, SqlValue)>, ApiError> {
        let mut values = Vec::with_capacity(body.len());
        for (name, value) in body {
            if name == "attributes" {
                continue;
            }
            let field = object.field(name).ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_FIELD",
                    format!("No such column '{name}' on sobject of type {}", object.name),
                )
                .with_fields(&[name])
            })?;
            if field.read_only {
                return Err(ApiError::bad_request(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!(
                        "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                        field.name
                    ),
                )
                .with_fields(&[field.name]));
            }
            values.push((field, self.to_sql(field, value)?));
        }
        Ok(values)
    }

    fn to_sql(&self, field: &Field, value: &Value) -> Result<SqlValue, ApiError> {
        let json_error = || {
            ApiError::bad_request(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {} from {value} value for field {}",
                    type_name(field.kind),
                    field.name
                ),
            )
        };
        match (field.kind, value) {
            (_, Value::Null) => Ok(SqlValue::Null),
            (Kind::Bool, Value::Bool(b)) => Ok(SqlValue::Integer(i64::from(*b))),
            (Kind::Bool, _) => Err(json_error()),
            (Kind::Reference { target, .. }, Value::String(s)) => self.reference(field, target, s),
            (_, Value::String(s)) if s.is_empty() => Ok(SqlValue::Null),
            (_, Value::String(s)) => Ok(SqlValue::Text(s.clone())),
            (Kind::Text, Value::Number(n)) => Ok(SqlValue::Text(n.to_string())),
            (Kind::Text, Value::Bool(b)) => Ok(SqlValue::Text(b.to_string())),
            _ => Err(json_error()),
        }
    }

    fn reference(&self, field: &Field, target: &str, raw: &str) -> Result<SqlValue, ApiError> {
        if raw.is_empty() {
            return Ok(SqlValue::Null);
        }
        let label = field
            .name
            .strip_suffix("Id")
            .map(|l| format!("{l} ID"))
            .unwrap_or_else(|| field.name.to_owned());
        let id = ids::normalize(raw).ok_or_else(|| {
            ApiError::bad_request(
                "MALFORMED_ID",
                format!("{label}: id value of incorrect type: {raw}"),
            )
            .with_fields(&[field.name])
        })?;
        let target = schema::sobject(target)
            .ok_or_else(|| ApiError::internal("unknown reference target"))?;
        if !id.starts_with(target.key_prefix) {
            return Err(ApiError::bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                format!("{label}: id value of incorrect type: {raw}"),
            )
            .with_fields(&[field.name]));
        }
        if !self.exists(target, &id)? {
            return Err(ApiError::bad_request(
                "INVALID_CROSS_REFERENCE_KEY",
                format!("invalid cross reference id: {raw}"),
            )
            .with_fields(&[field.name]));
        }
        Ok(SqlValue::Text(id))
    }

    fn check_unique(
        &self,
        object: &SObject,
        values: &[(&'static Field, SqlValue)],
        own_id: &str,
    ) -> Result<(), ApiError> {
        for (field, value) in values
            .iter()
            .filter(|(f, v)| f.unique && *v != SqlValue::Null)
        {
            let sql = format!(
                "SELECT \"Id\" FROM \"{}\" WHERE \"{}\" = ?1 COLLATE NOCASE AND \"Id\" != ?2",
                object.name, field.name
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params![value, own_id])?;
            if let Some(row) = rows.next()? {
                let other: String = row.get(0)?;
                return Err(ApiError::bad_request(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {other}",
                        field.name
                    ),
                )
                .with_fields(&[field.name]));
            }
        }
        Ok(())
    }
}

fn required_missing(fields: &[&str]) -> ApiError {
    ApiError::bad_request(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
    )
    .with_fields(fields)
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "boolean",
        Kind::DateTime => "dateTime",
        _ => "string",
    }
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

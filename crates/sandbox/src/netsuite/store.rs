//! The account's records in SQLite, in tables SuiteQL can query directly (`customer`, `contact`,
//! `customeraddressbook`, `customeraddressbookentityaddress`, `subsidiary`, `currency`), with
//! NetSuite's lower-case column names and `'T'`/`'F'` booleans. Record writes are validated here the
//! way the REST record API validates them, so HTTP handlers and the direct test API agree.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::schema::{self, Field, Kind, RecordType, CURRENCIES, RECORD_TYPES, SUBSIDIARIES};
use super::sublist;

pub struct Db {
    pub conn: Connection,
    /// Entities (customers, contacts) share one internal-id sequence, as in NetSuite.
    next_entity_id: i64,
}

/// First internal id handed out (NetSuite accounts never start at 1 for entities).
const FIRST_ENTITY_ID: i64 = 101;

/// A parsed write body: column values and sublist payloads.
pub struct Write<'a> {
    pub values: Vec<(&'static Field, SqlValue)>,
    pub sublists: Vec<(&'static str, &'a Value)>,
}

impl Db {
    pub fn open() -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        for record_type in RECORD_TYPES {
            let columns: Vec<String> = record_type
                .fields
                .iter()
                .map(|f| match f.kind {
                    Kind::Id => format!("{} INTEGER PRIMARY KEY", f.column),
                    Kind::Bool => format!("{} TEXT NOT NULL DEFAULT 'F'", f.column),
                    Kind::Ref(_) => format!("{} INTEGER", f.column),
                    _ => format!("{} TEXT", f.column),
                })
                .collect();
            conn.execute(
                &format!(
                    "CREATE TABLE {} ({})",
                    record_type.table,
                    columns.join(", ")
                ),
                [],
            )?;
            conn.execute(
                &format!(
                    "CREATE UNIQUE INDEX {t}_externalid ON {t} (externalid)",
                    t = record_type.table
                ),
                [],
            )?;
        }
        conn.execute_batch(
            "CREATE TABLE subsidiary (id INTEGER PRIMARY KEY, name TEXT NOT NULL, currency INTEGER);
             CREATE TABLE currency (id INTEGER PRIMARY KEY, name TEXT NOT NULL, symbol TEXT NOT NULL);",
        )?;
        sublist::create_tables(&conn)?;
        for (id, name, currency) in SUBSIDIARIES {
            conn.execute(
                "INSERT INTO subsidiary (id, name, currency) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, name, currency],
            )?;
        }
        for (id, name, symbol) in CURRENCIES {
            conn.execute(
                "INSERT INTO currency (id, name, symbol) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, name, symbol],
            )?;
        }
        Ok(Self {
            conn,
            next_entity_id: FIRST_ENTITY_ID,
        })
    }

    pub fn exists(&self, record_type: &RecordType, id: i64) -> rusqlite::Result<bool> {
        self.conn
            .prepare_cached(&format!(
                "SELECT 1 FROM {} WHERE id = ?1",
                record_type.table
            ))?
            .exists([id])
    }

    pub fn id_by_external_id(
        &self,
        record_type: &RecordType,
        external_id: &str,
    ) -> rusqlite::Result<Option<i64>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT id FROM {} WHERE externalid = ?1",
                record_type.table
            ))?
            .query_row([external_id], |row| row.get(0))
            .optional()
    }

    pub fn ids(&self, record_type: &RecordType) -> rusqlite::Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT id FROM {} ORDER BY id", record_type.table))?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        rows.collect()
    }

    pub fn insert(
        &mut self,
        record_type: &RecordType,
        body: &Map<String, Value>,
        at: &str,
    ) -> Result<i64, ApiError> {
        let mut write = self.parse(record_type, body)?;
        let is_person = write
            .values
            .iter()
            .any(|(f, v)| f.name == "isPerson" && *v == SqlValue::Text("T".into()));
        for (name, label) in record_type.required {
            let given = write
                .values
                .iter()
                .any(|(f, v)| f.name == *name && *v != SqlValue::Null);
            if !given && !is_person {
                return Err(ApiError::user_error(format!(
                    "Please enter value(s) for: {label}."
                )));
            }
        }
        self.check_external_id(record_type, &write, None)?;
        let id = self.next_entity_id;
        self.next_entity_id += 1;
        self.apply_defaults(record_type, id, &mut write)?;
        let mut columns = vec!["id", "datecreated", "lastmodifieddate"];
        let mut params = vec![
            SqlValue::Integer(id),
            SqlValue::Text(at.into()),
            SqlValue::Text(at.into()),
        ];
        for (field, value) in write.values {
            columns.push(field.column);
            params.push(value);
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            record_type.table,
            columns.join(", "),
            vec!["?"; columns.len()].join(", ")
        );
        let tx = self.conn.transaction()?;
        tx.execute(&sql, params_from_iter(params))?;
        for (name, payload) in write.sublists {
            sublist::write(&tx, record_type, name, id, payload, true)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Updates a record; sublists named in `replace` are replaced wholesale, others get items added.
    pub fn update(
        &mut self,
        record_type: &RecordType,
        id: i64,
        body: &Map<String, Value>,
        replace: &[&str],
        at: &str,
    ) -> Result<(), ApiError> {
        if !self.exists(record_type, id)? {
            return Err(ApiError::nonexistent_id(record_type.name, &id.to_string()));
        }
        let write = self.parse(record_type, body)?;
        self.check_external_id(record_type, &write, Some(id))?;
        let mut sets = vec!["lastmodifieddate = ?".to_owned()];
        let mut params = vec![SqlValue::Text(at.into())];
        for (field, value) in write.values {
            sets.push(format!("{} = ?", field.column));
            params.push(value);
        }
        params.push(SqlValue::Integer(id));
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!(
                "UPDATE {} SET {} WHERE id = ?",
                record_type.table,
                sets.join(", ")
            ),
            params_from_iter(params),
        )?;
        for (name, payload) in write.sublists {
            sublist::write(&tx, record_type, name, id, payload, replace.contains(&name))?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete(&mut self, record_type: &RecordType, id: i64) -> rusqlite::Result<bool> {
        let tx = self.conn.transaction()?;
        for name in record_type.sublists {
            sublist::delete_all(&tx, name, id)?;
        }
        // Contacts of a deleted customer lose their company, as NetSuite detaches them.
        for other in RECORD_TYPES {
            for field in other
                .fields
                .iter()
                .filter(|f| f.kind == Kind::Ref(record_type.name))
            {
                tx.execute(
                    &format!(
                        "UPDATE {} SET {} = NULL WHERE {} = ?1",
                        other.table, field.column, field.column
                    ),
                    [id],
                )?;
            }
        }
        let deleted = tx.execute(
            &format!("DELETE FROM {} WHERE id = ?1", record_type.table),
            [id],
        )?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn parse<'a>(
        &self,
        record_type: &RecordType,
        body: &'a Map<String, Value>,
    ) -> Result<Write<'a>, ApiError> {
        let mut write = Write {
            values: Vec::new(),
            sublists: Vec::new(),
        };
        for (name, value) in body {
            if let Some(sublist) = record_type.sublists.iter().find(|s| **s == name) {
                write.sublists.push((sublist, value));
                continue;
            }
            if name == "links" || name == "refName" {
                continue;
            }
            let field = record_type
                .field(name)
                .ok_or_else(|| nonexistent_field(name))?;
            if field.read_only {
                continue;
            }
            write.values.push((field, self.to_sql(field, value)?));
        }
        Ok(write)
    }

    fn to_sql(&self, field: &Field, value: &Value) -> Result<SqlValue, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                "INVALID_CONTENT",
                format!("Error while accessing a resource. You have entered an Invalid Field Value {value} for the following field: {}", field.name),
            )
            .at(field.name)
        };
        match (field.kind, value) {
            (_, Value::Null) => Ok(SqlValue::Null),
            (Kind::Bool, Value::Bool(b)) => Ok(SqlValue::Text(if *b { "T" } else { "F" }.into())),
            (Kind::Text, Value::String(s)) if s.is_empty() => Ok(SqlValue::Null),
            (Kind::Text, Value::String(s)) => Ok(SqlValue::Text(s.clone())),
            (Kind::Text, Value::Number(n)) => Ok(SqlValue::Text(n.to_string())),
            (Kind::Ref(target), reference) => self
                .reference(field, target, reference)
                .ok_or_else(invalid)?,
            _ => Err(invalid()),
        }
    }

    /// `{"id": "12"}`, `{"id": 12}` or `{"externalId": "X"}`; `None` when the shape is wrong.
    fn reference(
        &self,
        field: &Field,
        target: &str,
        value: &Value,
    ) -> Option<Result<SqlValue, ApiError>> {
        let object = value.as_object()?;
        let id = match (object.get("id"), object.get("externalId")) {
            (Some(Value::String(s)), _) => s.parse::<i64>().ok()?,
            (Some(Value::Number(n)), _) => n.as_i64()?,
            (None, Some(Value::String(eid))) => {
                let target_type = schema::record_type(target)?;
                return Some(match self.id_by_external_id(target_type, eid) {
                    Ok(Some(id)) => Ok(SqlValue::Integer(id)),
                    Ok(None) => Err(invalid_reference(field, eid)),
                    Err(e) => Err(e.into()),
                });
            }
            _ => return None,
        };
        let table = schema::record_type(target).map_or(target, |t| t.table);
        let exists = self
            .conn
            .prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))
            .and_then(|mut s| s.exists([id]));
        Some(match exists {
            Ok(true) => Ok(SqlValue::Integer(id)),
            Ok(false) => Err(invalid_reference(field, &id.to_string())),
            Err(e) => Err(e.into()),
        })
    }

    fn check_external_id(
        &self,
        record_type: &RecordType,
        write: &Write,
        own: Option<i64>,
    ) -> Result<(), ApiError> {
        let Some((_, SqlValue::Text(eid))) =
            write.values.iter().find(|(f, _)| f.name == "externalId")
        else {
            return Ok(());
        };
        if !valid_external_id(eid) {
            return Err(ApiError::bad_request(
                "INVALID_PARAMETER",
                format!("Invalid external ID: {eid}."),
            )
            .at("externalId"));
        }
        match self.id_by_external_id(record_type, eid)? {
            Some(other) if Some(other) != own => Err(ApiError::user_error(format!(
                "A {} record with the external ID {eid} already exists.",
                record_type.name
            ))),
            _ => Ok(()),
        }
    }

    /// What NetSuite fills in on create: auto-numbered `entityId`, the primary subsidiary and its currency.
    fn apply_defaults(
        &self,
        record_type: &RecordType,
        id: i64,
        write: &mut Write,
    ) -> Result<(), ApiError> {
        let given = |write: &Write, name: &str| {
            write
                .values
                .iter()
                .any(|(f, v)| f.name == name && *v != SqlValue::Null)
        };
        if record_type.field("subsidiary").is_some() && !given(write, "subsidiary") {
            push(record_type, write, "subsidiary", SqlValue::Integer(1));
        }
        if record_type.field("currency").is_some() && !given(write, "currency") {
            let subsidiary = write
                .values
                .iter()
                .find(|(f, _)| f.name == "subsidiary")
                .map(|(_, v)| v.clone());
            let currency: Option<i64> = match subsidiary {
                Some(SqlValue::Integer(s)) => self
                    .conn
                    .query_row("SELECT currency FROM subsidiary WHERE id = ?1", [s], |r| {
                        r.get(0)
                    })
                    .optional()?,
                _ => None,
            };
            push(
                record_type,
                write,
                "currency",
                SqlValue::Integer(currency.unwrap_or(1)),
            );
        }
        if !given(write, "entityId") {
            let text = |name: &str| {
                write
                    .values
                    .iter()
                    .find(|(f, _)| f.name == name)
                    .and_then(|(_, v)| match v {
                        SqlValue::Text(t) => Some(t.clone()),
                        _ => None,
                    })
            };
            let entity_id = match record_type.name {
                "contact" => [text("firstName"), text("lastName")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => format!("CUS{id}"),
            };
            write.values.retain(|(f, _)| f.name != "entityId");
            push(record_type, write, "entityId", SqlValue::Text(entity_id));
        }
        Ok(())
    }
}

fn push(record_type: &RecordType, write: &mut Write, name: &str, value: SqlValue) {
    if let Some(field) = record_type.field(name) {
        write.values.retain(|(f, _)| f.name != name);
        write.values.push((field, value));
    }
}

/// External ids NetSuite accepts in `eid:` paths: letters, digits, `_` and `-`.
pub fn valid_external_id(eid: &str) -> bool {
    !eid.is_empty()
        && eid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn nonexistent_field(name: &str) -> ApiError {
    ApiError::bad_request(
        "NONEXISTENT_FIELD",
        format!("Error while accessing a resource. The field {name} does not exist on this record type."),
    )
    .at(name)
}

fn invalid_reference(field: &Field, value: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_CONTENT",
        format!("Error while accessing a resource. You have entered an Invalid Field Value {value} for the following field: {}", field.name),
    )
    .at(field.name)
}

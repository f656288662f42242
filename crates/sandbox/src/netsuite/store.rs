//! The account's records in SQLite, in tables SuiteQL can query directly (`customer`, `contact`,
//! `customeraddressbook`, `customeraddressbookentityaddress`, `subsidiary`, `currency`, `item`,
//! `pricing`, `transaction`, and the views `transactionline` and `previoustransactionlinelink`),
//! with NetSuite's lower-case column names and `'T'`/`'F'` booleans. Record writes are validated
//! here the way the REST record API validates them, so HTTP handlers and the direct test API
//! agree; every transaction write is settled by [`super::ledger`] in the same SQL transaction.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::schema::{Field, Kind, RecordType, Sequence, RECORD_TYPES};
use super::validation::NameValidation;
use super::{ledger, lifecycle, sublist, units, values};

pub struct Db {
    pub conn: Connection,
    /// The next internal id of each sequence (entities share one, as do items and transactions).
    pub(super) next_ids: HashMap<Sequence, i64>,
}

/// A parsed write body: column values and sublist payloads, and the names of the fields the
/// record type does not have, dropped under [`NameValidation::Warning`] or `Ignore`.
pub struct Write<'a> {
    pub values: Vec<(&'static Field, SqlValue)>,
    pub sublists: Vec<(&'static str, &'a Value)>,
    pub dropped: Vec<String>,
}

impl Db {
    pub fn exists(&self, record_type: &RecordType, id: i64) -> rusqlite::Result<bool> {
        self.conn
            .prepare_cached(&format!(
                "SELECT 1 FROM \"{}\" WHERE id = ?1{}",
                record_type.table,
                record_type.scope()
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
                "SELECT id FROM \"{}\" WHERE externalid = ?1{}",
                record_type.table,
                record_type.scope()
            ))?
            .query_row([external_id], |row| row.get(0))
            .optional()
    }

    pub fn ids(&self, record_type: &RecordType) -> rusqlite::Result<Vec<i64>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id FROM \"{}\" WHERE 1 = 1{} ORDER BY id",
            record_type.table,
            record_type.scope()
        ))?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        rows.collect()
    }

    /// Inserts, refusing unknown fields (the direct test API and seeds).
    pub fn insert(
        &mut self,
        record_type: &RecordType,
        body: &Map<String, Value>,
        at: &str,
    ) -> Result<i64, ApiError> {
        self.insert_checked(record_type, body, at, NameValidation::Error)
            .map(|(id, _)| id)
    }

    /// Inserts, treating unknown fields as `names` says; the new id and the fields dropped.
    pub fn insert_checked(
        &mut self,
        record_type: &RecordType,
        body: &Map<String, Value>,
        at: &str,
        names: NameValidation,
    ) -> Result<(i64, Vec<String>), ApiError> {
        let mut write = self.parse(record_type, body, names)?;
        let dropped = std::mem::take(&mut write.dropped);
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
        let id = self.next_id(record_type.sequence);
        self.apply_defaults(record_type, id, &mut write, at)?;
        let mut columns = vec!["id", "lastmodifieddate"];
        let mut params = vec![SqlValue::Integer(id), SqlValue::Text(at.into())];
        if let Some(created) = record_type.created_column() {
            columns.push(created);
            params.push(SqlValue::Text(at.into()));
        }
        for (column, value) in record_type.constants {
            columns.push(column);
            params.push(SqlValue::Text((*value).into()));
        }
        for (field, value) in write.values {
            columns.push(field.column);
            params.push(value);
        }
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            record_type.table,
            columns.join(", "),
            vec!["?"; columns.len()].join(", ")
        );
        let tx = self.conn.transaction()?;
        tx.execute(&sql, params_from_iter(params))?;
        for (name, payload) in write.sublists {
            sublist::write(&tx, record_type, name, id, payload, true)?;
        }
        units::settle(&tx, record_type, id)?;
        ledger::settle(&tx, record_type, id)?;
        lifecycle::settle(&tx, record_type, id, true, at)?;
        tx.commit()?;
        self.next_ids.insert(record_type.sequence, id + 1);
        Ok((id, dropped))
    }

    /// The next internal id of a sequence (taken only when the insert commits).
    fn next_id(&self, sequence: Sequence) -> i64 {
        self.next_ids
            .get(&sequence)
            .copied()
            .unwrap_or(sequence.first_id())
    }

    /// Updates a record, refusing unknown fields (the direct test API).
    pub fn update(
        &mut self,
        record_type: &RecordType,
        id: i64,
        body: &Map<String, Value>,
        replace: &[&str],
        at: &str,
    ) -> Result<(), ApiError> {
        self.update_checked(record_type, id, body, replace, at, NameValidation::Error)
            .map(drop)
    }

    /// Updates a record; sublists named in `replace` are replaced wholesale, others get items
    /// added; unknown fields are treated as `names` says. The fields dropped.
    pub fn update_checked(
        &mut self,
        record_type: &RecordType,
        id: i64,
        body: &Map<String, Value>,
        replace: &[&str],
        at: &str,
        names: NameValidation,
    ) -> Result<Vec<String>, ApiError> {
        if !self.exists(record_type, id)? {
            return Err(ApiError::nonexistent_id(record_type.name, &id.to_string()));
        }
        let mut write = self.parse(record_type, body, names)?;
        let dropped = std::mem::take(&mut write.dropped);
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
                "UPDATE \"{}\" SET {} WHERE id = ?",
                record_type.table,
                sets.join(", ")
            ),
            params_from_iter(params),
        )?;
        for (name, payload) in write.sublists {
            sublist::write(&tx, record_type, name, id, payload, replace.contains(&name))?;
        }
        units::settle(&tx, record_type, id)?;
        ledger::settle(&tx, record_type, id)?;
        lifecycle::settle(&tx, record_type, id, false, at)?;
        tx.commit()?;
        Ok(dropped)
    }

    pub fn delete(&mut self, record_type: &RecordType, id: i64) -> Result<bool, ApiError> {
        let tx = self.conn.transaction()?;
        if ledger::has_dependents(&tx, record_type, id)? {
            return Err(ApiError::user_error(
                "This record cannot be deleted because it has dependent records.",
            ));
        }
        let settle_after = ledger::before_delete(&tx, record_type, id)?;
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
                        "UPDATE \"{}\" SET {} = NULL WHERE {} = ?1",
                        other.table, field.column, field.column
                    ),
                    [id],
                )?;
            }
        }
        let deleted = tx.execute(
            &format!(
                "DELETE FROM \"{}\" WHERE id = ?1{}",
                record_type.table,
                record_type.scope()
            ),
            [id],
        )?;
        ledger::after_delete(&tx, settle_after)?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn parse<'a>(
        &self,
        record_type: &RecordType,
        body: &'a Map<String, Value>,
        names: NameValidation,
    ) -> Result<Write<'a>, ApiError> {
        let mut write = Write {
            values: Vec::new(),
            sublists: Vec::new(),
            dropped: Vec::new(),
        };
        for (name, value) in body {
            if let Some(sublist) = record_type.sublists.iter().find(|s| **s == name) {
                write.sublists.push((sublist, value));
                continue;
            }
            if name == "links" || name == "refName" {
                continue;
            }
            let Some(field) = record_type.field(name) else {
                match names {
                    NameValidation::Error => return Err(nonexistent_field(name)),
                    NameValidation::Warning | NameValidation::Ignore => {
                        write.dropped.push(name.clone());
                        continue;
                    }
                }
            };
            if field.read_only {
                continue;
            }
            write
                .values
                .push((field, values::to_sql(&self.conn, field, value)?));
        }
        Ok(write)
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

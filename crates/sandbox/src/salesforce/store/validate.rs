//! Write validation as Salesforce applies it: field names and types, read-only fields, lookups that
//! must point at an existing record of the right object, restricted picklists and unique values.

use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use super::Db;
use crate::salesforce::error::ApiError;
use crate::salesforce::ids;
use crate::salesforce::schema::{self, Field, Kind, SObject};

impl Db {
    pub(super) fn validate(
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
            (Kind::Number(_), Value::Number(n)) => {
                n.as_f64().map(SqlValue::Real).ok_or_else(json_error)
            }
            (Kind::Number(_), Value::String(s)) => s
                .trim()
                .parse()
                .map(SqlValue::Real)
                .map_err(|_| json_error()),
            (Kind::Date, Value::String(s)) => {
                chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
                    .map(|d| SqlValue::Text(d.format("%Y-%m-%d").to_string()))
                    .map_err(|_| json_error())
            }
            (
                Kind::Picklist {
                    values,
                    restricted: true,
                },
                Value::String(s),
            ) => values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(s))
                .map(|v| SqlValue::Text((*v).to_owned()))
                .ok_or_else(|| bad_picklist_value(field, s)),
            (_, Value::String(s)) => Ok(SqlValue::Text(s.clone())),
            (kind, Value::Number(n)) if kind.is_text() => Ok(SqlValue::Text(n.to_string())),
            (kind, Value::Bool(b)) if kind.is_text() => Ok(SqlValue::Text(b.to_string())),
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

    pub(super) fn check_unique(
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

pub(super) fn required_missing(fields: &[&str]) -> ApiError {
    ApiError::bad_request(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
    )
    .with_fields(fields)
}

pub(crate) fn bad_picklist_value(field: &Field, value: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        format!(
            "{}: bad value for restricted picklist field: {value}",
            field.name
        ),
    )
    .with_fields(&[field.name])
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "boolean",
        Kind::DateTime => "dateTime",
        Kind::Date => "date",
        Kind::Number(_) => "double",
        _ => "string",
    }
}

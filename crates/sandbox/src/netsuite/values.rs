//! Field values between the record API's JSON and SQLite, by [`Kind`]: what a write accepts and
//! how a stored value is shown. References are checked to exist (scoped to the target's type).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Value};

use super::error::ApiError;
use super::schema::{self, list_name, Field, Kind};

/// A write's JSON value as the column value to store.
pub fn to_sql(conn: &Connection, field: &Field, value: &Value) -> Result<SqlValue, ApiError> {
    let invalid = || invalid_value(field.name, &value.to_string());
    match (field.kind, value) {
        (_, Value::Null) => Ok(SqlValue::Null),
        (Kind::Bool, Value::Bool(b)) => Ok(SqlValue::Text(if *b { "T" } else { "F" }.into())),
        (Kind::Text, Value::String(s)) if s.is_empty() => Ok(SqlValue::Null),
        (Kind::Text, Value::String(s)) => Ok(SqlValue::Text(s.clone())),
        (Kind::Text, Value::Number(n)) => Ok(SqlValue::Text(n.to_string())),
        (Kind::Number, Value::Number(n)) => n.as_f64().map(SqlValue::Real).ok_or_else(invalid),
        (Kind::Number, Value::String(s)) => {
            s.trim().parse().map(SqlValue::Real).map_err(|_| invalid())
        }
        // `quantity: {"value": 0}` style wrappers.
        (Kind::Number, Value::Object(o)) => match o.get("value") {
            Some(inner) => to_sql(conn, field, inner),
            None => Err(invalid()),
        },
        (Kind::Date, Value::String(s)) => date(s).map(SqlValue::Text).ok_or_else(invalid),
        (Kind::Select(values), selected) => {
            let code = match selected {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) => o.get("id").and_then(Value::as_str),
                _ => None,
            };
            code.filter(|c| list_name(values, c).is_some())
                .map(|c| SqlValue::Text(c.to_owned()))
                .ok_or_else(invalid)
        }
        (Kind::Address, Value::Object(address)) => {
            Ok(SqlValue::Text(Value::Object(address.clone()).to_string()))
        }
        (Kind::Ref(target), reference) => resolve(conn, field, target, reference)?
            .map(SqlValue::Integer)
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

/// `2026-03-01` or a datetime starting with it.
fn date(text: &str) -> Option<String> {
    let day = text.get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(day.to_owned())
}

/// The internal id a reference names: `{"id": "12"}`, `{"id": 12}`, a bare id, or
/// `{"externalId": "X"}`. `Ok(None)` when the shape is wrong; an error when it names nothing.
fn resolve(
    conn: &Connection,
    field: &Field,
    target: &str,
    value: &Value,
) -> Result<Option<i64>, ApiError> {
    let (table, scope) = match schema::record_type(target) {
        Some(t) => (t.table, t.scope()),
        None => (target, String::new()),
    };
    let id = match value {
        Value::Object(o) => match (o.get("id"), o.get("externalId")) {
            (Some(id), _) => plain_id(id),
            (None, Some(Value::String(eid))) => {
                let found: Option<i64> = conn
                    .prepare_cached(&format!(
                        "SELECT id FROM \"{table}\" WHERE externalid = ?1{scope}"
                    ))
                    .and_then(|mut s| s.query_row([eid], |r| r.get(0)).optional())
                    .map_err(|_| invalid_value(field.name, eid))?;
                return found
                    .map(Some)
                    .ok_or_else(|| invalid_value(field.name, eid));
            }
            _ => None,
        },
        other => plain_id(other),
    };
    let Some(id) = id else { return Ok(None) };
    let exists = conn
        .prepare_cached(&format!("SELECT 1 FROM \"{table}\" WHERE id = ?1{scope}"))?
        .exists([id])?;
    if exists {
        Ok(Some(id))
    } else {
        Err(invalid_value(field.name, &id.to_string()))
    }
}

fn plain_id(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

pub fn invalid_value(field: &str, value: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_CONTENT",
        format!("Error while accessing a resource. You have entered an Invalid Field Value {value} for the following field: {field}"),
    )
    .at(field.to_owned())
}

/// A stored value (as [`plain`] text) as the record API shows it; references go through `reference`.
pub fn shown(kind: Kind, value: Value) -> Value {
    match kind {
        Kind::Bool => Value::Bool(value == "T"),
        Kind::Number => value
            .as_str()
            .and_then(|n| n.parse::<f64>().ok())
            .map_or(value.clone(), |n| json!(n)),
        Kind::Select(values) => {
            let code = value.as_str().unwrap_or_default();
            json!({ "id": code, "refName": list_name(values, code).unwrap_or(code) })
        }
        Kind::Status(values) => {
            let name = list_name(values, value.as_str().unwrap_or_default()).unwrap_or_default();
            json!({ "id": name, "refName": name })
        }
        Kind::Address => value
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(value),
        _ => value,
    }
}

/// A stored value as a JSON string (ids and numbers as strings, as the record API shows ids).
pub fn plain(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::String(i.to_string()),
        ValueRef::Real(f) => Value::String(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::String(String::from_utf8_lossy(t).into_owned())
        }
    }
}

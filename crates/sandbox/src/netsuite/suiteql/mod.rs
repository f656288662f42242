//! `POST query/v1/suiteql?limit=&offset=` with `Prefer: transient`: runs the query on the account's
//! SQLite database (read-only statements only), returns columns in lower case with every value as
//! a string (booleans `"T"`/`"F"`, dates in the account's date format `1/31/2027`) and null
//! columns omitted, paged by `limit` (≤ 1000) and an `offset` that must be a multiple of it.
//!
//! Offset paging reaches the first 100,000 rows of a query only ([`SUITEQL_ROW_CAP`], configurable
//! for tests): Oracle documents that SuiteQL returns at most 100,000 results. A page is cut at the
//! cap (its `hasMore` still says more rows exist), and a page that starts at or past it is refused
//! with 400 `INVALID_PARAMETER` (the code and wording are *unconfirmed*), so a client paging by
//! offset fails loudly instead of reading a truncated table; walk by keyset
//! (`WHERE id > :last ORDER BY id`) instead. A few
//! Oracle/SuiteQL functions are provided (`NVL`, `NVL2`, `BUILTIN.DF`, and `TO_DATE`, `TO_CHAR`
//! from [`dates`]); SQLite does the rest, so syntax beyond the common subset may differ.

mod dates;

pub use dates::AccountZone;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use crate::control::base_url;
use crate::Sandbox;

const MAX_LIMIT: usize = 1000;
/// Rows of one query reachable by offset paging, as NetSuite serves them.
pub const SUITEQL_ROW_CAP: usize = 100_000;

#[derive(Deserialize)]
pub struct Paging {
    limit: Option<String>,
    offset: Option<String>,
}

fn invalid_parameter(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_PARAMETER", detail)
}

pub async fn suiteql(
    State(sandbox): State<Sandbox>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let transient = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("transient"))
        });
    if !transient {
        return Err(invalid_parameter(
            "Invalid request. The SuiteQL query endpoint requires the header 'Prefer: transient'.",
        ));
    }
    let limit = parse_number(paging.limit.as_deref(), MAX_LIMIT, "limit")?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(invalid_parameter(format!(
            "Invalid value for the limit parameter: {limit}. The value must be between 1 and {MAX_LIMIT}."
        )));
    }
    let offset = parse_number(paging.offset.as_deref(), 0, "offset")?;
    if offset % limit != 0 {
        return Err(invalid_parameter(format!(
            "Invalid value for the offset parameter: {offset}. The offset must be a multiple of the limit ({limit})."
        )));
    }
    let query = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => map.get("q").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad_request("INVALID_CONTENT", "Error while accessing a resource. The request body must be {\"q\": \"<SuiteQL query>\"}."))?;
    let cap = sandbox
        .inner
        .account
        .suiteql_row_cap
        .load(std::sync::atomic::Ordering::Relaxed);
    if offset >= cap {
        return Err(invalid_parameter(format!(
            "Invalid value for the offset parameter: {offset}. A SuiteQL query returns at most {cap} results; page by a key (WHERE id > last ORDER BY id) to read more."
        )));
    }
    let (total, items) = run(
        &sandbox.inner.account.db().conn,
        &query,
        offset,
        limit.min(cap - offset),
        sandbox.inner.account.zone.get(),
    )?;
    let href = |offset: usize| {
        format!(
            "{}/services/rest/query/v1/suiteql?limit={limit}&offset={offset}",
            base_url(&headers)
        )
    };
    let has_more = offset + items.len() < total;
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    let mut links = Vec::new();
    if offset > 0 {
        links.push(json!({ "rel": "previous", "href": href(offset - limit) }));
    }
    links.push(json!({ "rel": "first", "href": href(0) }));
    if has_more {
        links.push(json!({ "rel": "next", "href": href(offset + limit) }));
    }
    links.push(json!({ "rel": "last", "href": href(last) }));
    links.push(json!({ "rel": "self", "href": href(offset) }));
    Ok(Json(json!({
        "links": links,
        "count": items.len(),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    })))
}

fn parse_number(raw: Option<&str>, default: usize, name: &str) -> Result<usize, ApiError> {
    match raw {
        None | Some("") => Ok(default),
        Some(value) => value.parse().map_err(|_| {
            invalid_parameter(format!("Invalid value for the {name} parameter: {value}."))
        }),
    }
}

fn invalid_query(reason: impl std::fmt::Display) -> ApiError {
    invalid_parameter(format!(
        "Invalid search query. Detailed unprocessed description follows. {reason}"
    ))
}

/// Runs `query`, returning the total row count and the rows of one page (datetimes shown in
/// `zone`, the account's time zone).
pub fn run(
    conn: &Connection,
    query: &str,
    offset: usize,
    limit: usize,
    zone: chrono_tz::Tz,
) -> Result<(usize, Vec<Value>), ApiError> {
    let sql = rewrite(query);
    let mut stmt = conn.prepare(&sql).map_err(invalid_query)?;
    if !stmt.readonly() {
        return Err(invalid_query("Only SELECT statements are supported."));
    }
    // (name, whether the column is a date shown in the account's format)
    let columns: Vec<(String, bool)> = stmt
        .columns()
        .iter()
        .map(|c| {
            (
                c.name().to_lowercase(),
                dates::is_date_column(c.decl_type()),
            )
        })
        .collect();
    let mut rows = stmt.query([]).map_err(invalid_query)?;
    let mut total = 0;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(invalid_query)? {
        if total >= offset && items.len() < limit {
            let mut item = Map::new();
            item.insert("links".into(), json!([]));
            for (i, (column, is_date)) in columns.iter().enumerate() {
                if let Some(value) = as_string(row.get_ref(i)?) {
                    let value = if *is_date {
                        dates::account_format(&value, zone)
                    } else {
                        value
                    };
                    item.insert(column.clone(), Value::String(value));
                }
            }
            items.push(Value::Object(item));
        }
        total += 1;
    }
    Ok((total, items))
}

fn as_string(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Adapts SuiteQL to SQLite outside string literals and quoted names: `BUILTIN.DF(` becomes
/// `BUILTIN_DF(` (SQLite has no dotted function names) and the name `transaction`, a keyword in
/// SQLite, is quoted.
fn rewrite(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut quote: Option<char> = None;
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_ascii_alphabetic() || c == '_' => {
                let end = rest
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$')
                    })
                    .unwrap_or(rest.len());
                let word = &rest[..end];
                if word.eq_ignore_ascii_case("BUILTIN.DF") {
                    out.push_str("BUILTIN_DF");
                } else {
                    let quoted: Vec<String> = word
                        .split('.')
                        .map(|part| {
                            if part.eq_ignore_ascii_case("transaction") {
                                "\"transaction\"".to_owned()
                            } else {
                                part.to_owned()
                            }
                        })
                        .collect();
                    out.push_str(&quoted.join("."));
                }
                rest = &rest[end..];
                continue;
            }
            None => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Registers the SuiteQL functions SQLite lacks.
pub fn register_functions(conn: &Connection, zone: &AccountZone) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("NVL", 2, flags, |ctx| {
        let first: rusqlite::types::Value = ctx.get(0)?;
        Ok(if first == rusqlite::types::Value::Null {
            ctx.get(1)?
        } else {
            first
        })
    })?;
    conn.create_scalar_function("NVL2", 3, flags, |ctx| {
        let first: rusqlite::types::Value = ctx.get(0)?;
        ctx.get::<rusqlite::types::Value>(if first == rusqlite::types::Value::Null {
            2
        } else {
            1
        })
    })?;
    // The display value of a reference; ids stand in for names here.
    conn.create_scalar_function("BUILTIN_DF", 1, flags, |ctx| {
        ctx.get::<rusqlite::types::Value>(0)
    })?;
    dates::register(conn, zone)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn builtin_df_is_rewritten_outside_literals_only() {
        assert_eq!(
            rewrite("SELECT BUILTIN.DF(a), 'BUILTIN.DF(x)' FROM t"),
            "SELECT BUILTIN_DF(a), 'BUILTIN.DF(x)' FROM t"
        );
    }

    #[test]
    fn the_transaction_name_is_quoted_but_not_inside_literals_or_longer_names() {
        assert_eq!(
            rewrite("SELECT t.id, tl.transaction FROM Transaction t JOIN transactionline tl ON tl.transaction = t.id WHERE t.memo = 'transaction'"),
            "SELECT t.id, tl.\"transaction\" FROM \"transaction\" t JOIN transactionline tl ON tl.\"transaction\" = t.id WHERE t.memo = 'transaction'"
        );
    }

    #[test]
    fn writes_are_refused_as_invalid_queries() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute("CREATE TABLE customer (id INTEGER)", [])
            .unwrap();
        let err = run(&conn, "DELETE FROM customer", 0, 10, chrono_tz::Tz::UTC).unwrap_err();
        assert_eq!(
            (err.status, err.code),
            (StatusCode::BAD_REQUEST, "INVALID_PARAMETER")
        );
        assert!(run(
            &conn,
            "SELECT id FROM customer; DELETE FROM customer",
            0,
            10,
            chrono_tz::Tz::UTC
        )
        .is_err());
    }
}

//! `GET record/v1/{type}?q=&limit=&offset=`: record ids, paged like SuiteQL. `q` supports the
//! common subset of the REST query syntax: `field OP "value"` terms joined by `AND`, with `IS`,
//! `IS_NOT`, `AFTER`, `BEFORE`, `ON_OR_AFTER`, `ON_OR_BEFORE`, `CONTAIN`, `START_WITH`, `EMPTY`
//! and `EMPTY_NOT`; other operators and `OR` answer 400 `INVALID_PARAMETER`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use rusqlite::types::Value as SqlValue;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::render::record_href;
use super::schema::{self, Kind, RecordType};
use crate::control::base_url;
use crate::Sandbox;

const MAX_LIMIT: usize = 1000;

#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_PARAMETER", detail)
}

pub async fn list(
    State(sandbox): State<Sandbox>,
    Path(record_type): Path<String>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let record_type =
        schema::record_type(&record_type).ok_or_else(|| ApiError::not_found(&record_type))?;
    let limit = params.limit.unwrap_or(MAX_LIMIT);
    let offset = params.offset.unwrap_or(0);
    if limit == 0 || limit > MAX_LIMIT || offset % limit != 0 {
        return Err(invalid(format!(
            "Invalid paging parameters: limit must be 1 to {MAX_LIMIT} and offset a multiple of limit."
        )));
    }
    let (condition, params_sql) = filter(record_type, params.q.as_deref().unwrap_or(""))?;
    let sql = format!(
        "SELECT id FROM \"{}\" WHERE {condition}{} ORDER BY id",
        record_type.table,
        record_type.scope()
    );
    let ids: Vec<i64> = {
        let db = sandbox.inner.account.db();
        let mut stmt = db.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params_sql), |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let base = base_url(&headers);
    let page: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(limit)
        .map(|id| json!({ "links": [{ "rel": "self", "href": record_href(&base, record_type.name, *id) }], "id": id.to_string() }))
        .collect();
    let has_more = offset + page.len() < ids.len();
    let href = |offset: usize| {
        format!(
            "{base}/services/rest/record/v1/{}?limit={limit}&offset={offset}",
            record_type.name
        )
    };
    let mut links = vec![json!({ "rel": "self", "href": href(offset) })];
    if has_more {
        links.push(json!({ "rel": "next", "href": href(offset + limit) }));
    }
    Ok(Json(json!({
        "links": links,
        "count": page.len(),
        "hasMore": has_more,
        "items": page,
        "offset": offset,
        "totalResults": ids.len(),
    })))
}

/// Translates `q` into a parameterised SQL condition.
fn filter(record_type: &RecordType, q: &str) -> Result<(String, Vec<SqlValue>), ApiError> {
    let mut conditions = vec!["1".to_owned()];
    let mut params = Vec::new();
    let q = q.trim();
    if q.is_empty() {
        return Ok((conditions.join(" AND "), params));
    }
    for term in q.split(" AND ") {
        let (name, rest) = term
            .trim()
            .split_once(' ')
            .ok_or_else(|| invalid(format!("Invalid query: {term}")))?;
        let field = record_type
            .field(name)
            .ok_or_else(|| invalid(format!("Invalid query: unknown field {name}")))?;
        let (op, value) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
        let value = value.trim().trim_matches('"').to_owned();
        let value = match (field.kind, value.as_str()) {
            (Kind::Bool, "true") => "T".to_owned(),
            (Kind::Bool, "false") => "F".to_owned(),
            _ => value,
        };
        let column = field.column;
        let sql = match op {
            "IS" | "EQUAL" => format!("{column} = ?"),
            "IS_NOT" | "NOT_EQUAL" => format!("({column} IS NULL OR {column} <> ?)"),
            "AFTER" | "GREATER" => format!("{column} > ?"),
            "BEFORE" | "LESS" => format!("{column} < ?"),
            "ON_OR_AFTER" | "GREATER_OR_EQUAL" => format!("{column} >= ?"),
            "ON_OR_BEFORE" | "LESS_OR_EQUAL" => format!("{column} <= ?"),
            "CONTAIN" => format!("{column} LIKE '%' || ? || '%'"),
            "START_WITH" => format!("{column} LIKE ? || '%'"),
            "EMPTY" => format!("({column} IS NULL OR {column} = '')"),
            "EMPTY_NOT" => format!("({column} IS NOT NULL AND {column} <> '')"),
            other => {
                return Err(invalid(format!(
                    "Invalid query: unsupported operator {other}"
                )))
            }
        };
        if !matches!(op, "EMPTY" | "EMPTY_NOT") {
            params.push(SqlValue::Text(value));
        }
        conditions.push(sql);
    }
    Ok((conditions.join(" AND "), params))
}

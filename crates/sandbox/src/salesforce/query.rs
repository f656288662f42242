//! `GET query?q=` and `GET query/{locator}`: runs a compiled SOQL plan, shapes rows into records
//! with `attributes`, fills child subqueries, and pages the result. The whole result is materialised
//! on the first call and kept behind a query locator (a server-side cursor, as in Salesforce), so
//! later pages are stable even when records change meanwhile.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::extract::{Path, Query as QueryParams, State};
use axum::Json;
use rusqlite::params_from_iter;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::soql::{self, Column, Plan};
use super::store::{json_value, Db};
use super::{ids, version_of, Org};
use crate::Sandbox;

/// Salesforce keeps at most a handful of open cursors per user; older ones expire.
const MAX_OPEN_CURSORS: usize = 50;
const CHILD_BATCH: usize = 500;

#[derive(Default)]
pub struct Cursors {
    counter: u64,
    open: HashMap<String, Arc<Vec<Value>>>,
    order: VecDeque<String>,
}

#[derive(Deserialize)]
pub struct QueryString {
    q: Option<String>,
}

pub async fn query(
    State(sandbox): State<Sandbox>,
    Path(version): Path<String>,
    QueryParams(params): QueryParams<QueryString>,
) -> Result<Json<Value>, ApiError> {
    let version = version_of(&version)?;
    let soql = params.q.ok_or_else(|| {
        ApiError::bad_request("MALFORMED_QUERY", "A query string has to be specified")
    })?;
    let org = &sandbox.inner.org;
    let plan = soql::compile(&soql)?;
    let result = run(&org.db(), &plan, version)?;
    Ok(Json(match result {
        Output::Count(total) => json!({ "totalSize": total, "done": true, "records": [] }),
        Output::Records(records) => page(org, version, Arc::new(records), 0, None),
    }))
}

pub async fn query_more(
    State(sandbox): State<Sandbox>,
    Path((version, locator)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let version = version_of(&version)?;
    let invalid = || ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (cursor, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let org = &sandbox.inner.org;
    let records = org
        .cursors()
        .open
        .get(cursor)
        .cloned()
        .ok_or_else(invalid)?;
    if offset > records.len() {
        return Err(invalid());
    }
    Ok(Json(page(
        org,
        version,
        records,
        offset,
        Some(cursor.to_owned()),
    )))
}

fn page(
    org: &Org,
    version: &str,
    records: Arc<Vec<Value>>,
    offset: usize,
    cursor: Option<String>,
) -> Value {
    let end = (offset + org.page_size).min(records.len());
    let mut body = json!({
        "totalSize": records.len(),
        "done": end == records.len(),
        "records": records[offset..end],
    });
    if end < records.len() {
        let cursor = cursor.unwrap_or_else(|| org.open_cursor(records.clone()));
        body["nextRecordsUrl"] = json!(format!("/services/data/v{version}/query/{cursor}-{end}"));
    }
    body
}

impl Org {
    fn open_cursor(&self, records: Arc<Vec<Value>>) -> String {
        let mut cursors = self.cursors();
        cursors.counter += 1;
        let locator = ids::generate("01g", cursors.counter);
        cursors.open.insert(locator.clone(), records);
        cursors.order.push_back(locator.clone());
        while cursors.order.len() > MAX_OPEN_CURSORS {
            if let Some(old) = cursors.order.pop_front() {
                cursors.open.remove(&old);
            }
        }
        locator
    }
}

pub enum Output {
    Count(u64),
    Records(Vec<Value>),
}

pub fn run(db: &Db, plan: &Plan, version: &str) -> Result<Output, ApiError> {
    let (sql, params) = plan.sql(&[], true);
    let mut stmt = db.conn.prepare(&sql)?;
    if plan.count_only {
        let count: i64 = stmt.query_row(params_from_iter(params), |row| row.get(0))?;
        return Ok(Output::Count(count as u64));
    }
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut records = Vec::new();
    let mut ids = Vec::new();
    while let Some(row) = rows.next()? {
        let (id, record, _) = shape(row, plan, version)?;
        ids.push(id);
        records.push(record);
    }
    for child in &plan.children {
        let mut by_parent = children_of(db, &child.plan, &ids, version)?;
        for (record, id) in records.iter_mut().zip(&ids) {
            let related = by_parent.remove(id).unwrap_or_default();
            let skip = child.plan.offset.unwrap_or(0) as usize;
            let take = child.plan.limit.map_or(usize::MAX, |l| l as usize);
            let related: Vec<Value> = related.into_iter().skip(skip).take(take).collect();
            record[child.relationship] = if related.is_empty() {
                Value::Null
            } else {
                json!({ "totalSize": related.len(), "done": true, "records": related })
            };
        }
    }
    Ok(Output::Records(records))
}

fn children_of(
    db: &Db,
    plan: &Plan,
    parents: &[String],
    version: &str,
) -> Result<HashMap<String, Vec<Value>>, ApiError> {
    let mut by_parent: HashMap<String, Vec<Value>> = HashMap::new();
    for batch in parents.chunks(CHILD_BATCH) {
        let (sql, params) = plan.sql(batch, false);
        let mut stmt = db.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            let (_, record, link) = shape(row, plan, version)?;
            if let Some(link) = link {
                by_parent.entry(link).or_default().push(record);
            }
        }
    }
    Ok(by_parent)
}

/// One SQL row as a Salesforce record: `(id, record, link to parent)`.
fn shape(
    row: &rusqlite::Row<'_>,
    plan: &Plan,
    version: &str,
) -> rusqlite::Result<(String, Value, Option<String>)> {
    let id: String = row.get(0)?;
    let mut record = Map::new();
    record.insert(
        "attributes".into(),
        attributes(plan.object.name, &id, version),
    );
    let mut link = None;
    // Parent objects first, so their fields have somewhere to go.
    for (i, column) in plan.columns.iter().enumerate() {
        if let Column::ParentId {
            relationship,
            target,
        } = column
        {
            let parent: Option<String> = row.get(i)?;
            let value = match parent {
                Some(parent) => json!({ "attributes": attributes(target.name, &parent, version) }),
                None => Value::Null,
            };
            record.insert((*relationship).to_owned(), value);
        }
    }
    for (i, column) in plan.columns.iter().enumerate() {
        match column {
            Column::Field(field) => {
                record.insert(
                    field.name.to_owned(),
                    json_value(field.kind, row.get_ref(i)?),
                );
            }
            Column::ParentField {
                relationship,
                field,
            } => {
                if let Some(Value::Object(parent)) = record.get_mut(*relationship) {
                    parent.insert(
                        field.name.to_owned(),
                        json_value(field.kind, row.get_ref(i)?),
                    );
                }
            }
            Column::Link => link = row.get(i)?,
            Column::Id | Column::ParentId { .. } => {}
        }
    }
    Ok((id, Value::Object(record), link))
}

pub fn attributes(object: &str, id: &str, version: &str) -> Value {
    json!({ "type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}") })
}

//! Running a plan: SQL rows shaped into records with `attributes` (or `AggregateResult` rows),
//! and child subqueries fetched for all parents at once, in batches of parent ids.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::params_from_iter;
use rusqlite::types::ValueRef;
use serde_json::{json, Map, Value};

use super::super::error::ApiError;
use super::super::soql::ast::Function;
use super::super::soql::{Column, Plan, Shape};
use super::super::store::{json_value, Db};
use super::super::Org;

/// Parent ids per child query (SQLite's bound-parameter limit is far above).
const CHILD_BATCH: usize = 500;

pub enum Output {
    Count(u64),
    Records(Vec<Value>),
}

/// The records of a record query (not `COUNT()`, not aggregates), shaped as REST shapes them.
pub fn records(org: &Org, db: &Db, plan: &Plan, version: &str) -> Result<Vec<Value>, ApiError> {
    match run(org, db, plan, version)? {
        Output::Records(records) => Ok(records),
        Output::Count(_) => Err(ApiError::bad_request(
            "MALFORMED_QUERY",
            "COUNT() has no records",
        )),
    }
}

pub fn run(org: &Org, db: &Db, plan: &Plan, version: &str) -> Result<Output, ApiError> {
    let (sql, params) = plan.sql(&[], true);
    let mut stmt = db.conn.prepare(&sql)?;
    match plan.shape {
        Shape::Count => {
            let count: i64 = stmt.query_row(params_from_iter(params), |row| row.get(0))?;
            return Ok(Output::Count(count as u64));
        }
        Shape::Aggregate => {
            let rows = stmt.query_map(params_from_iter(params), |row| aggregate_row(row, plan))?;
            return Ok(Output::Records(rows.collect::<Result<_, _>>()?));
        }
        Shape::Records => {}
    }
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut records = Vec::new();
    let mut ids = Vec::new();
    while let Some(row) = rows.next()? {
        let (id, record, _) = shape(row, plan, version)?;
        ids.push(id);
        records.push(record);
    }
    let page_size = org.child_page_size();
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
                org.page(version, Arc::new(related), 0, None, page_size)
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
            _ => {}
        }
    }
    Ok((id, Value::Object(record), link))
}

/// One row of an aggregate query as an `AggregateResult`.
fn aggregate_row(row: &rusqlite::Row<'_>, plan: &Plan) -> rusqlite::Result<Value> {
    let mut record = Map::new();
    record.insert("attributes".into(), json!({ "type": "AggregateResult" }));
    for (i, column) in plan.columns.iter().enumerate() {
        let (key, value) = match column {
            Column::Grouped { key, field, .. } => (key, json_value(field.kind, row.get_ref(i)?)),
            Column::Aggregate {
                key,
                function,
                field,
                ..
            } => {
                let value = match (function, row.get_ref(i)?) {
                    (Function::Sum | Function::Avg, ValueRef::Integer(n)) => json!(n as f64),
                    (_, value) => json_value(field.kind, value),
                };
                (key, value)
            }
            _ => continue,
        };
        record.insert(key.clone(), value);
    }
    Ok(Value::Object(record))
}

pub fn attributes(object: &str, id: &str, version: &str) -> Value {
    json!({ "type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}") })
}

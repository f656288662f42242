//! Query jobs: `POST jobs/query` (`query` or `queryAll`), `GET jobs/query[/{id}]`,
//! `PATCH jobs/query/{id}` (`Aborted`), and `GET jobs/query/{id}/results?locator=&maxRecords=`.
//!
//! The SOQL is compiled by the org's SOQL engine when the job is created, so a malformed query or
//! an unknown field is refused at once with REST's codes, and so is what Bulk API 2.0 does not
//! run: aggregate functions and `COUNT()`, `GROUP BY`, `OFFSET` and parent-to-child subqueries
//! (`TYPEOF` does not parse). A background task runs the query and keeps its rows as CSV fields:
//! the selected fields in order, a parent's field as a dotted column (`Account.Name`), null as an
//! empty field. Pages follow `Sforce-Locator` (the base64 of the next row's offset, `null` on the
//! last page) and say their size in `Sforce-NumberOfRecords`.

use std::sync::Arc;
use std::time::Instant;

use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::csv;
use super::ingest::dialect_of;
use super::jobs::{Job, Kind, QueryRows, State};
use super::{csv_response, invalid_job, invalid_state};
use crate::salesforce::error::ApiError;
use crate::salesforce::query::rows;
use crate::salesforce::soql::{self, Column, Plan, Scope, Shape};
use crate::Sandbox;

/// `POST jobs/query`: 200 with the job info, state `UploadComplete`.
pub fn create(sandbox: &Sandbox, version: &str, body: &Value) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let operation = match text("operation") {
        Some("query") => "query",
        Some("queryAll") => "queryAll",
        other => {
            return Err(invalid_job(format!(
                "Invalid operation: '{}'",
                other.unwrap_or_default()
            )))
        }
    };
    if let Some(content_type) = text("contentType").filter(|c| *c != "CSV") {
        return Err(invalid_job(format!(
            "Unsupported content type: {content_type}"
        )));
    }
    let soql = text("query").ok_or_else(|| invalid_job("query is required"))?;
    let plan = compile(soql, operation)?;
    let dialect = dialect_of(body)?;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    jobs.spend_query_job(now)?;
    let id = jobs.next_id();
    let mut job = Job::new(
        org,
        id.clone(),
        Kind::Query,
        operation,
        plan.object,
        version,
        dialect,
    );
    job.query = Some(soql.to_owned());
    let info = job.info(org, false);
    jobs.insert(job);
    drop(jobs);
    let sandbox = sandbox.clone();
    tokio::task::spawn_blocking(move || process(&sandbox, &id));
    Ok(Json(info).into_response())
}

/// The plan of a query Bulk API 2.0 runs, or the reason it does not.
fn compile(soql: &str, operation: &str) -> Result<Plan, ApiError> {
    let scope = if operation == "queryAll" {
        Scope::All
    } else {
        Scope::Live
    };
    let plan = soql::compile(soql, scope)?;
    // The refusal's code is *unconfirmed*: the guide lists what is not supported, not the answer.
    let unsupported = |what: &str| {
        Err(ApiError::bad_request(
            "API_ERROR",
            format!("{what} is not supported by the Bulk API 2.0 query"),
        ))
    };
    if plan.shape != Shape::Records {
        return unsupported("An aggregate function, COUNT() or GROUP BY");
    }
    if plan.offset.is_some() {
        return unsupported("OFFSET");
    }
    if !plan.children.is_empty() {
        return unsupported("A parent-to-child relationship query");
    }
    Ok(plan)
}

fn process(sandbox: &Sandbox, id: &str) {
    let org = &sandbox.inner.org;
    let started = Instant::now();
    let (soql, operation, version) = {
        let now = org.now();
        let mut jobs = org.bulk_jobs();
        let Ok(job) = jobs.get(id, Kind::Query, now) else {
            return;
        };
        if job.state != State::UploadComplete {
            return;
        }
        job.set_state(State::InProgress, now);
        (
            job.query.clone().unwrap_or_default(),
            job.operation,
            job.api_version.clone(),
        )
    };
    let outcome = compile(&soql, operation).and_then(|plan| {
        let db = org.db();
        let records = rows::records(org, &db, &plan, &version)?;
        Ok(table(&plan, &records))
    });
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let Ok(job) = jobs.get(id, Kind::Query, now) else {
        return;
    };
    if job.state != State::InProgress {
        return;
    }
    job.processing_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(rows) => {
            job.processed = rows.rows.len() as u64;
            job.rows = Some(Arc::new(rows));
            job.set_state(State::JobComplete, now);
        }
        Err(error) => {
            job.error_message = Some(format!("{}: {}", error.code, error.message));
            job.set_state(State::Failed, now);
        }
    }
}

/// The records as CSV fields under the selected columns.
fn table(plan: &Plan, records: &[Value]) -> QueryRows {
    let paths: Vec<Vec<&str>> = plan
        .columns
        .iter()
        .filter_map(|column| match column {
            Column::Field(field) => Some(vec![field.name]),
            Column::ParentField {
                relationship,
                field,
            } => Some(vec![*relationship, field.name]),
            _ => None,
        })
        .collect();
    let header = paths.iter().map(|p| p.join(".")).collect();
    let rows = records
        .iter()
        .map(|record| {
            paths
                .iter()
                .map(|path| {
                    let value = path.iter().fold(record, |value, key| &value[*key]);
                    match value {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }
                })
                .collect()
        })
        .collect();
    QueryRows { header, rows }
}

/// `GET jobs/query/{id}`.
pub fn info(sandbox: &Sandbox, id: &str) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    Ok(Json(jobs.get(id, Kind::Query, now)?.info(org, true)).into_response())
}

/// `PATCH jobs/query/{id}` with `{"state":"Aborted"}`.
pub fn change_state(sandbox: &Sandbox, id: &str, body: &Value) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, Kind::Query, now)?;
    let wanted = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if wanted != "Aborted" {
        return Err(invalid_state(format!("Invalid state: '{wanted}'")));
    }
    if job.state.is_final() {
        return Err(invalid_state(format!(
            "Changing the state of job {} from {} to Aborted is not allowed",
            job.id,
            job.state.as_str()
        )));
    }
    job.set_state(State::Aborted, now);
    Ok(Json(job.info(org, false)).into_response())
}

/// `GET jobs/query/{id}/results?locator=&maxRecords=`: one page of CSV.
pub fn results(
    sandbox: &Sandbox,
    id: &str,
    locator: Option<&str>,
    max_records: Option<&str>,
) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, Kind::Query, now)?;
    let (Some(rows), State::JobComplete) = (job.rows.clone(), job.state) else {
        return Err(invalid_state(format!(
            "Results of job {} are not available in state {}",
            job.id,
            job.state.as_str()
        )));
    };
    let dialect = job.dialect;
    drop(jobs);
    let invalid_locator = || ApiError::bad_request("INVALIDLOCATOR", "Invalid locator");
    let offset = match locator.filter(|l| !l.is_empty()) {
        None => 0,
        Some(locator) => STANDARD
            .decode(locator)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<usize>().ok())
            .filter(|offset| *offset <= rows.rows.len())
            .ok_or_else(invalid_locator)?,
    };
    let page = match max_records {
        None => rows.rows.len(),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ApiError::bad_request("INVALIDPARAMETER", format!("Invalid maxRecords: {raw}"))
            })?,
    };
    let end = offset.saturating_add(page).min(rows.rows.len());
    let mut out = String::new();
    let header: Vec<&str> = rows.header.iter().map(String::as_str).collect();
    csv::write_row(&mut out, &header, dialect);
    for row in &rows.rows[offset..end] {
        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
        csv::write_row(&mut out, &fields, dialect);
    }
    let next = if end < rows.rows.len() {
        STANDARD.encode(end.to_string())
    } else {
        "null".to_owned()
    };
    Ok(csv_response(
        out,
        &[
            ("Sforce-Locator", next),
            ("Sforce-NumberOfRecords", (end - offset).to_string()),
        ],
    ))
}

//! Ingest jobs: `POST jobs/ingest` (create), `PUT jobs/ingest/{id}/batches` (the CSV, once),
//! `PATCH jobs/ingest/{id}` (`UploadComplete` or `Aborted`), `GET jobs/ingest[/{id}]` and the
//! three result files (`successfulResults`, `failedResults`, `unprocessedrecords`).
//!
//! After `UploadComplete` a background task processes the records in chunks of 200 through
//! sObject Collections ([`crate::salesforce::collections`]), each chunk under the org's database
//! lock and each record on its own: a failing record is reported in `failedResults` with
//! `sf__Error` = `CODE:message:fields --` and never stops the others. Between chunks the task
//! looks at the job's state: an abort leaves the remaining rows in `unprocessedrecords`.
//! A header naming a field the object lacks, or CSV that does not parse in the job's dialect,
//! fails the whole job (`Failed`, `errorMessage`) before any record is written.

use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::csv::{self, Delimiter, Dialect, LineEnding};
use super::jobs::{Job, Kind, RecordResult, State};
use super::{csv_response, invalid_job, invalid_state, unsupported_media_type};
use crate::salesforce::error::ApiError;
use crate::salesforce::rest::{Call, Reply, Request};
use crate::salesforce::schema::{self, Field, Kind as FieldKind, SObject};
use crate::salesforce::sobjects::external_id_field;
use crate::salesforce::{collections, Org};
use crate::time::sf_timestamp;
use crate::Sandbox;

const OPERATIONS: [&str; 5] = ["insert", "update", "upsert", "delete", "hardDelete"];

/// `POST jobs/ingest`: 200 with the job info, state `Open`.
pub fn create(sandbox: &Sandbox, version: &str, body: &Value) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let object_name = text("object").ok_or_else(|| invalid_job("object is required"))?;
    let object = schema::sobject(object_name)
        .ok_or_else(|| invalid_job(format!("Unable to find object: {object_name}")))?;
    let operation = text("operation").unwrap_or_default();
    let operation = OPERATIONS
        .into_iter()
        .find(|op| *op == operation)
        .ok_or_else(|| invalid_job(format!("Invalid operation: '{operation}'")))?;
    if let Some(content_type) = text("contentType").filter(|c| *c != "CSV") {
        return Err(invalid_job(format!(
            "Unsupported content type: {content_type}"
        )));
    }
    let dialect = dialect_of(body)?;
    let external_id = match (operation, text("externalIdFieldName")) {
        ("upsert", None) => {
            return Err(invalid_job(format!(
                "External ID was blank for {}. An External ID must be specified for upsert.",
                object.name
            )))
        }
        ("upsert", Some(name)) => Some(external_id_field(object, name).map_err(|_| {
            invalid_job(format!(
                "Field name provided, {name} does not match an External ID for {}",
                object.name
            ))
        })?),
        _ => None,
    };
    let mut jobs = org.bulk_jobs();
    let id = jobs.next_id();
    let mut job = Job::new(org, id, Kind::Ingest, operation, object, version, dialect);
    job.external_id = external_id;
    let info = job.info(org, false);
    jobs.insert(job);
    Ok(Json(info).into_response())
}

/// `columnDelimiter` and `lineEnding` of a job definition (defaults `COMMA`, `LF`).
pub fn dialect_of(body: &Value) -> Result<Dialect, ApiError> {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let delimiter = match text("columnDelimiter") {
        None => Delimiter::Comma,
        Some(name) => Delimiter::parse(name)
            .ok_or_else(|| invalid_job(format!("Invalid column delimiter: {name}")))?,
    };
    let line_ending = match text("lineEnding") {
        None => LineEnding::Lf,
        Some(name) => LineEnding::parse(name)
            .ok_or_else(|| invalid_job(format!("Invalid line ending: {name}")))?,
    };
    Ok(Dialect {
        delimiter,
        line_ending,
    })
}

/// `GET jobs/ingest`: every ingest job, in one page.
pub fn list(sandbox: &Sandbox, _version: &str) -> Response {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let records: Vec<Value> = jobs
        .all(Kind::Ingest, now)
        .map(|j| j.info(org, false))
        .collect();
    Json(json!({ "done": true, "records": records, "nextRecordsUrl": null })).into_response()
}

/// `GET jobs/ingest/{id}`.
pub fn info(sandbox: &Sandbox, id: &str) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, Kind::Ingest, now)?;
    Ok(Json(job.info(org, true)).into_response())
}

/// `PUT jobs/ingest/{id}/batches`: 201, no body. One upload per job, while it is `Open`.
pub fn upload(
    sandbox: &Sandbox,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("text/csv") {
        return Err(unsupported_media_type(content_type));
    }
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let limit = jobs.limits.upload_base64_bytes;
    let job = jobs.get(id, Kind::Ingest, now)?;
    if job.state != State::Open {
        return Err(invalid_state(format!(
            "Job {} is not in state Open (state: {})",
            job.id,
            job.state.as_str()
        )));
    }
    if job.data.is_some() {
        // Salesforce's words for a second upload to one job.
        return Err(invalid_state(format!(
            "Found multiple contents for job: <{}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            job.id
        )));
    }
    let base64_size = body.len().div_ceil(3) * 4;
    if base64_size > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "EXCEEDED_MAX_SIZE_REQUEST",
            format!(
                "The upload is {base64_size} bytes of base64 encoded content; a request may carry at most {limit}"
            ),
        ));
    }
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("INVALID_CSV", "The CSV data is not valid UTF-8"))?;
    let dialect = job.dialect;
    let records = csv::parse(&text, dialect).map_or(0, |rows| rows.len().saturating_sub(1));
    jobs.spend_records(records as u64, now)?;
    let job = jobs.get(id, Kind::Ingest, now)?;
    job.data = Some(text);
    job.modstamp = now;
    Ok(StatusCode::CREATED.into_response())
}

/// `PATCH jobs/ingest/{id}` with `{"state":"UploadComplete"}` (starts processing) or
/// `{"state":"Aborted"}`; 200 with the job info.
pub fn change_state(sandbox: &Sandbox, id: &str, body: &Value) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, Kind::Ingest, now)?;
    let wanted = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (wanted, job.state) {
        ("UploadComplete", State::Open) => {
            job.set_state(State::UploadComplete, now);
            let info = job.info(org, false);
            let (sandbox, id) = (sandbox.clone(), job.id.clone());
            drop(jobs);
            tokio::task::spawn_blocking(move || process(&sandbox, &id));
            Ok(Json(info).into_response())
        }
        ("Aborted", state) if !state.is_final() => {
            if let Some(data) = job.data.take() {
                let mut rows = csv::parse(&data, job.dialect)
                    .unwrap_or_default()
                    .into_iter();
                job.header = rows.next().unwrap_or_default();
                job.unprocessed = rows.collect();
            }
            job.set_state(State::Aborted, now);
            Ok(Json(job.info(org, false)).into_response())
        }
        ("UploadComplete" | "Aborted", state) => Err(invalid_state(format!(
            "Changing the state of job {} from {} to {wanted} is not allowed",
            job.id,
            state.as_str()
        ))),
        _ => Err(invalid_state(format!("Invalid state: '{wanted}'"))),
    }
}

/// `GET jobs/ingest/{id}/{successfulResults|failedResults|unprocessedrecords}`, once the job has
/// an outcome.
pub fn results(sandbox: &Sandbox, id: &str, which: &str) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, Kind::Ingest, now)?;
    if !job.state.is_final() {
        return Err(invalid_state(format!(
            "Results of job {} are not available in state {}",
            job.id,
            job.state.as_str()
        )));
    }
    let header: Vec<&str> = job.header.iter().map(String::as_str).collect();
    let mut out = String::new();
    let dialect = job.dialect;
    let row_with = |out: &mut String, first: &str, second: &str, row: &[String]| {
        let mut fields = vec![first, second];
        fields.extend(row.iter().map(String::as_str));
        csv::write_row(out, &fields, dialect);
    };
    match which.to_ascii_lowercase().as_str() {
        "successfulresults" => {
            csv::write_row(
                &mut out,
                &[&["sf__Id", "sf__Created"], &header[..]].concat(),
                dialect,
            );
            for result in &job.results {
                if let RecordResult::Succeeded { id, created, row } = result {
                    row_with(&mut out, id, if *created { "true" } else { "false" }, row);
                }
            }
        }
        "failedresults" => {
            csv::write_row(
                &mut out,
                &[&["sf__Id", "sf__Error"], &header[..]].concat(),
                dialect,
            );
            for result in &job.results {
                if let RecordResult::Failed { id, error, row } = result {
                    row_with(&mut out, id, error, row);
                }
            }
        }
        "unprocessedrecords" => {
            if !header.is_empty() {
                csv::write_row(&mut out, &header, dialect);
            }
            for row in &job.unprocessed {
                let fields: Vec<&str> = row.iter().map(String::as_str).collect();
                csv::write_row(&mut out, &fields, dialect);
            }
        }
        _ => return Err(ApiError::not_found()),
    }
    Ok(csv_response(out, &[]))
}

/// What a job processes: its operation, object, external id field and dialect.
struct Work {
    operation: &'static str,
    object: &'static SObject,
    external_id: Option<&'static Field>,
    version: String,
    data: String,
    dialect: Dialect,
}

/// The background task of one ingest job, from `UploadComplete` to its outcome.
fn process(sandbox: &Sandbox, id: &str) {
    let org = &sandbox.inner.org;
    let started = Instant::now();
    let Some(work) = start(org, id) else { return };
    let (header, rows, fields) = match read(&work) {
        Ok(read) => read,
        Err(message) => {
            finish(org, id, started, |job| {
                job.error_message = Some(message);
                State::Failed
            });
            return;
        }
    };
    if let Ok(job) = org.bulk_jobs().get(id, Kind::Ingest, org.now()) {
        job.header = header;
    }
    let chunk_size = org.bulk_jobs().limits.chunk_records.max(1);
    let mut offset = 0;
    while offset < rows.len() {
        {
            let mut jobs = org.bulk_jobs();
            let Ok(job) = jobs.get(id, Kind::Ingest, org.now()) else {
                return;
            };
            if job.state == State::Aborted {
                job.unprocessed = rows[offset..].to_vec();
                return;
            }
        }
        let end = (offset + chunk_size).min(rows.len());
        let results = run_chunk(org, &work, &fields, &rows[offset..end]);
        let mut jobs = org.bulk_jobs();
        let Ok(job) = jobs.get(id, Kind::Ingest, org.now()) else {
            return;
        };
        for result in results {
            job.processed += 1;
            if matches!(result, RecordResult::Failed { .. }) {
                job.failed += 1;
            }
            job.results.push(result);
        }
        offset = end;
    }
    finish(org, id, started, |_| State::JobComplete);
}

/// Moves the job to `InProgress` and takes its data; `None` when it is no longer to be processed.
fn start(org: &Org, id: &str) -> Option<Work> {
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, Kind::Ingest, now).ok()?;
    if job.state != State::UploadComplete {
        return None;
    }
    job.set_state(State::InProgress, now);
    Some(Work {
        operation: job.operation,
        object: job.object,
        external_id: job.external_id,
        version: job.api_version.clone(),
        data: job.data.take().unwrap_or_default(),
        dialect: job.dialect,
    })
}

/// Sets the job's outcome (unless it was aborted meanwhile) and its processing time.
fn finish(org: &Org, id: &str, started: Instant, outcome: impl FnOnce(&mut Job) -> State) {
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    if let Ok(job) = jobs.get(id, Kind::Ingest, now) {
        if job.state == State::InProgress {
            let state = outcome(job);
            job.processing_ms = started.elapsed().as_millis() as u64;
            job.set_state(state, now);
        }
    }
}

/// The header, the data rows and each column's field, or the job's `errorMessage`.
#[allow(clippy::type_complexity)]
fn read(work: &Work) -> Result<(Vec<String>, Vec<Vec<String>>, Vec<&'static Field>), String> {
    let mut rows = csv::parse(&work.data, work.dialect)
        .map_err(|e| format!("ClientInputError : {e}"))?
        .into_iter();
    let header = rows
        .next()
        .ok_or_else(|| "InvalidBatch : No data uploaded: the CSV is empty".to_owned())?;
    let deleting = matches!(work.operation, "delete" | "hardDelete");
    let mut fields: Vec<&'static Field> = Vec::with_capacity(header.len());
    for name in &header {
        let field = work
            .object
            .field(name.trim())
            .filter(|f| !deleting || f.name == "Id")
            .ok_or_else(|| format!("InvalidBatch : Field name not found : {name}"))?;
        if fields.iter().any(|f| f.name == field.name) {
            return Err(format!("InvalidBatch : Duplicate field name: {name}"));
        }
        fields.push(field);
    }
    let rows: Vec<Vec<String>> = rows.collect();
    if let Some((i, _)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != header.len())
    {
        return Err(format!(
            "ClientInputError : Record {} has {} fields where the header has {}",
            i + 1,
            rows[i].len(),
            header.len()
        ));
    }
    Ok((header, rows, fields))
}

/// A CSV value as the JSON a REST client would send: empty leaves the field out (Bulk API
/// ignores blank values), `#N/A` sets it to null, a checkbox takes `true`/`false`.
fn value_of(field: &Field, raw: &str) -> Option<Value> {
    if raw.is_empty() {
        return None;
    }
    if raw == "#N/A" {
        return Some(Value::Null);
    }
    Some(match field.kind {
        FieldKind::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::String(raw.to_owned()),
        },
        _ => Value::String(raw.to_owned()),
    })
}

/// Writes one chunk through sObject Collections and reads back one result per row.
fn run_chunk(org: &Org, work: &Work, fields: &[&Field], rows: &[Vec<String>]) -> Vec<RecordResult> {
    let records: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut record = Map::new();
            record.insert("attributes".into(), json!({ "type": work.object.name }));
            for (field, raw) in fields.iter().zip(row) {
                if let Some(value) = value_of(field, raw) {
                    record.insert(field.name.to_owned(), value);
                }
            }
            Value::Object(record)
        })
        .collect();
    let body = json!({ "allOrNone": false, "records": records });
    let mut db = org.db();
    let mut call = Call {
        org,
        db: &mut db,
        version: work.version.clone(),
        force_all_or_none: false,
        at: sf_timestamp(org.now()),
    };
    let reply = match work.operation {
        "insert" => collections::create(&mut call, Some(&body)),
        "update" => collections::update(&mut call, Some(&body)),
        "upsert" => match work.external_id {
            Some(field) => {
                collections::upsert(&mut call, work.object.name, field.name, Some(&body))
            }
            None => Err(invalid_job("no external id field")),
        },
        _ => delete_chunk(&mut call, rows),
    };
    drop(db);
    let created_by_default = work.operation == "insert";
    let outcomes = match reply {
        Ok(Reply {
            body: Some(Value::Array(outcomes)),
            ..
        }) => outcomes,
        Ok(_) => Vec::new(),
        Err(error) => vec![
            json!({ "success": false, "errors": [{ "statusCode": error.code, "message": error.message, "fields": error.fields }] });
            rows.len()
        ],
    };
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let outcome = outcomes.get(i).cloned().unwrap_or(Value::Null);
            let id = outcome["id"].as_str().unwrap_or_default().to_owned();
            if outcome["success"] == json!(true) {
                let created = outcome["created"].as_bool().unwrap_or(created_by_default);
                RecordResult::Succeeded {
                    id,
                    created,
                    row: row.clone(),
                }
            } else {
                RecordResult::Failed {
                    id,
                    error: error_text(&outcome["errors"][0]),
                    row: row.clone(),
                }
            }
        })
        .collect()
}

/// `DELETE composite/sobjects?ids=` for the chunk's ids, one result per row.
fn delete_chunk(call: &mut Call, rows: &[Vec<String>]) -> Result<Reply, ApiError> {
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r.first().map_or("", String::as_str))
        .collect();
    let missing = json!({ "success": false, "errors": [{ "statusCode": "MISSING_ARGUMENT", "message": "Id not specified in a delete call", "fields": ["Id"] }] });
    let given: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !id.is_empty() && !id.contains(','))
        .collect();
    let mut answers = if given.is_empty() {
        Vec::new()
    } else {
        let request = Request {
            method: Method::DELETE,
            segments: vec!["composite".into(), "sobjects".into()],
            query: vec![("ids".into(), given.join(","))],
            body: None,
            batch_size: None,
        };
        match collections::delete(call, &request)?.body {
            Some(Value::Array(answers)) => answers,
            _ => Vec::new(),
        }
    }
    .into_iter();
    let results = ids
        .iter()
        .map(|id| {
            if id.is_empty() || id.contains(',') {
                missing.clone()
            } else {
                answers.next().unwrap_or(Value::Null)
            }
        })
        .collect();
    Ok(Reply::ok(Value::Array(results)))
}

/// `sf__Error` as Salesforce writes it: `CODE:message:fields --`.
fn error_text(error: &Value) -> String {
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "{}:{}:{} --",
        error["statusCode"].as_str().unwrap_or("UNKNOWN_EXCEPTION"),
        error["message"].as_str().unwrap_or_default(),
        fields.join(",")
    )
}

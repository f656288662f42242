//! Ingest jobs: `POST jobs/ingest` (create), `PUT jobs/ingest/{id}/batches` (the CSV, once),
//! `PATCH jobs/ingest/{id}` (`UploadComplete` starts [`super::processing`], or `Aborted`),
//! `GET jobs/ingest[/{id}]` and the three result files (`successfulResults`, `failedResults`,
//! `unprocessedrecords`), served once the job has an outcome.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::csv::{self, Delimiter, Dialect, LineEnding};
use super::jobs::{Job, Kind, RecordResult, State};
use super::{csv_response, invalid_job, invalid_state, processing, unsupported_media_type};
use crate::salesforce::error::ApiError;
use crate::salesforce::schema;
use crate::salesforce::sobjects::external_id_field;
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
    // The limit is documented; the code and status of the refusal are *unconfirmed*.
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
            tokio::task::spawn_blocking(move || processing::process(&sandbox, &id));
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

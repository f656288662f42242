//! The background processing of an ingest job, from `UploadComplete` to its outcome.
//!
//! The records go through sObject Collections ([`crate::salesforce::collections`]) in chunks of
//! 200, each chunk under the org's database lock (released between chunks, so REST clients are
//! served meanwhile) and each record on its own: a failing record is reported with `sf__Error` =
//! `CODE:message:fields --` and never stops the others. Every internal batch of 10,000 records is
//! counted against the daily limits first; past them the job fails and the rest stays
//! unprocessed. Between chunks the task looks at the job's state: an abort leaves the remaining
//! rows in `unprocessedrecords`. A header naming a field the object lacks, or CSV that does not
//! parse in the job's dialect, fails the job before any record is written.

use std::time::Instant;

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::csv::{self, Dialect};
use super::invalid_job;
use super::jobs::{Job, Kind, RecordResult, State};
use crate::salesforce::error::ApiError;
use crate::salesforce::rest::{Call, Reply, Request};
use crate::salesforce::schema::{Field, Kind as FieldKind, SObject};
use crate::salesforce::{collections, Org};
use crate::time::sf_timestamp;
use crate::Sandbox;

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
pub fn process(sandbox: &Sandbox, id: &str) {
    let org = &sandbox.inner.org;
    let started = Instant::now();
    let Some(work) = start(org, id) else { return };
    let (header, rows, fields) = match read(&work) {
        Ok(read) => read,
        Err(message) => return fail(org, id, started, message, Vec::new()),
    };
    if let Ok(job) = org.bulk_jobs().get(id, Kind::Ingest, org.now()) {
        job.header = header;
    }
    let limits = org.bulk_jobs().limits;
    let (chunk_size, batch_size) = (limits.chunk_records.max(1), limits.batch_records.max(1));
    if let Err(message) = org.bulk_jobs().spend_batch(0, org.now()) {
        return fail(org, id, started, message, rows);
    }
    let mut offset = 0;
    let mut batch_end = 0;
    while offset < rows.len() {
        {
            let now = org.now();
            let mut jobs = org.bulk_jobs();
            if offset == batch_end {
                batch_end = (offset + batch_size).min(rows.len());
                if let Err(message) = jobs.spend_batch((batch_end - offset) as u64, now) {
                    drop(jobs);
                    return fail(org, id, started, message, rows[offset..].to_vec());
                }
            }
            let Ok(job) = jobs.get(id, Kind::Ingest, now) else {
                return;
            };
            if job.state == State::Aborted {
                job.unprocessed = rows[offset..].to_vec();
                return;
            }
        }
        let end = (offset + chunk_size).min(rows.len()).min(batch_end);
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

/// Fails the job with `message`, leaving `unprocessed` rows.
fn fail(org: &Org, id: &str, started: Instant, message: String, unprocessed: Vec<Vec<String>>) {
    finish(org, id, started, |job| {
        job.error_message = Some(message);
        job.unprocessed = unprocessed;
        State::Failed
    });
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

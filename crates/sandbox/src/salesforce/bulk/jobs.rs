//! The org's Bulk API 2.0 jobs (ingest and query, one id space with key prefix `750`), their state
//! machine, their JSON job info, and the documented limits, counted over rolling 24 hours on the
//! org's clock.
//!
//! States: an ingest job is `Open` → (`UploadComplete` by its creator) → `InProgress` →
//! `JobComplete` or `Failed`; a query job starts at `UploadComplete`. `Aborted` is reachable from
//! any state before the outcome. A finished job (`JobComplete`, `Failed`, `Aborted`) is deleted 7
//! days after its last change, as Salesforce deletes it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::csv::Dialect;
use super::invalid_state;
use crate::salesforce::error::ApiError;
use crate::salesforce::schema::{Field, SObject};
use crate::salesforce::{ids, Org};
use crate::time::sf_timestamp;
use crate::Sandbox;

/// The documented limits of Bulk API 2.0 (Limits and Allocations). Tests lower them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Base64-encoded size of one upload: 150 MB.
    pub upload_base64_bytes: usize,
    /// Records processed by ingest jobs per rolling 24 hours: 150,000,000.
    pub records_per_day: u64,
    /// Records of one internal batch: an ingest job's data is processed in a batch per 10,000
    /// records, after an empty "parent" batch.
    pub batch_records: usize,
    /// Batches per rolling 24 hours (shared with Bulk API 1.0): 15,000.
    pub batches_per_day: u64,
    /// Query jobs created per rolling 24 hours: 10,000.
    pub query_jobs_per_day: u64,
    /// Records a chunk processes at once (Salesforce chunks ingest data by 200 records).
    pub chunk_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            upload_base64_bytes: 150 * 1024 * 1024,
            records_per_day: 150_000_000,
            batch_records: 10_000,
            batches_per_day: 15_000,
            query_jobs_per_day: 10_000,
            chunk_records: 200,
        }
    }
}

/// How long a finished job and its results are kept.
const LIFESPAN: chrono::TimeDelta = chrono::TimeDelta::days(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ingest,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::UploadComplete => "UploadComplete",
            Self::InProgress => "InProgress",
            Self::JobComplete => "JobComplete",
            Self::Failed => "Failed",
            Self::Aborted => "Aborted",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }
}

/// One record's outcome in an ingest job, with the fields it was uploaded with.
#[derive(Debug, Clone)]
pub enum RecordResult {
    Succeeded {
        id: String,
        created: bool,
        row: Vec<String>,
    },
    Failed {
        id: String,
        error: String,
        row: Vec<String>,
    },
}

/// A finished query's rows, as CSV fields under `header`.
#[derive(Debug, Default)]
pub struct QueryRows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub kind: Kind,
    pub operation: &'static str,
    pub object: &'static SObject,
    pub external_id: Option<&'static Field>,
    pub created_date: DateTime<Utc>,
    pub modstamp: DateTime<Utc>,
    pub state: State,
    pub api_version: String,
    pub dialect: Dialect,
    pub error_message: Option<String>,
    pub processed: u64,
    pub failed: u64,
    pub processing_ms: u64,
    /// Ingest: the uploaded CSV (one upload per job), taken by the processing task.
    pub data: Option<String>,
    /// Ingest: the uploaded header and the rows not (yet) processed.
    pub header: Vec<String>,
    pub unprocessed: Vec<Vec<String>>,
    pub results: Vec<RecordResult>,
    /// Query: the SOQL text and, once complete, its rows.
    pub query: Option<String>,
    pub rows: Option<Arc<QueryRows>>,
}

impl Job {
    pub fn new(
        org: &Org,
        id: String,
        kind: Kind,
        operation: &'static str,
        object: &'static SObject,
        api_version: &str,
        dialect: Dialect,
    ) -> Self {
        let now = org.now();
        Self {
            id,
            kind,
            operation,
            object,
            external_id: None,
            created_date: now,
            modstamp: now,
            state: if kind == Kind::Ingest {
                State::Open
            } else {
                State::UploadComplete
            },
            api_version: api_version.to_owned(),
            dialect,
            error_message: None,
            processed: 0,
            failed: 0,
            processing_ms: 0,
            data: None,
            header: Vec::new(),
            unprocessed: Vec::new(),
            results: Vec::new(),
            query: None,
            rows: None,
        }
    }

    /// The job info Salesforce answers; `detail` adds the processing figures (`GET` of one job).
    pub fn info(&self, org: &Org, detail: bool) -> Value {
        let mut info = json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object.name,
            "createdById": org.integration_user_id,
            "createdDate": sf_timestamp(self.created_date),
            "systemModstamp": sf_timestamp(self.modstamp),
            "state": self.state.as_str(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": self.api_version.parse::<f64>().unwrap_or_default(),
            "lineEnding": self.dialect.line_ending,
            "columnDelimiter": self.dialect.delimiter,
        });
        match self.kind {
            Kind::Ingest => {
                info["jobType"] = json!("V2Ingest");
                info["contentUrl"] = json!(format!(
                    "services/data/v{}/jobs/ingest/{}/batches",
                    self.api_version, self.id
                ));
                if let Some(field) = self.external_id {
                    info["externalIdFieldName"] = json!(field.name);
                }
            }
            Kind::Query => info["jobType"] = json!("V2Query"),
        }
        if detail {
            info["numberRecordsProcessed"] = json!(self.processed);
            info["retries"] = json!(0);
            info["totalProcessingTime"] = json!(self.processing_ms);
            if self.kind == Kind::Ingest {
                info["numberRecordsFailed"] = json!(self.failed);
                info["apiActiveProcessingTime"] = json!(self.processing_ms);
                info["apexProcessingTime"] = json!(0);
            }
            if let Some(message) = &self.error_message {
                info["errorMessage"] = json!(message);
            }
        }
        info
    }

    /// Moves to `state`, stamping `systemModstamp`.
    pub fn set_state(&mut self, state: State, now: DateTime<Utc>) {
        self.state = state;
        self.modstamp = now;
    }
}

/// The org's jobs and the rolling 24-hour counts behind the daily limits.
#[derive(Default)]
pub struct Jobs {
    counter: u64,
    jobs: BTreeMap<String, Job>,
    records_processed: VecDeque<(DateTime<Utc>, u64)>,
    batches: VecDeque<(DateTime<Utc>, u64)>,
    query_jobs: VecDeque<(DateTime<Utc>, u64)>,
    pub limits: Limits,
}

impl Jobs {
    pub fn next_id(&mut self) -> String {
        self.counter += 1;
        ids::generate("750", self.counter)
    }

    pub fn insert(&mut self, job: Job) {
        self.jobs.insert(job.id.clone(), job);
    }

    /// The job `id` of `kind`, unless it does not exist or has outlived its lifespan at `now`.
    pub fn get(&mut self, id: &str, kind: Kind, now: DateTime<Utc>) -> Result<&mut Job, ApiError> {
        self.expire(now);
        let id = ids::normalize(id).ok_or_else(ApiError::not_found)?;
        self.jobs
            .get_mut(&id)
            .filter(|job| job.kind == kind)
            .ok_or_else(ApiError::not_found)
    }

    pub fn all(&mut self, kind: Kind, now: DateTime<Utc>) -> impl Iterator<Item = &Job> {
        self.expire(now);
        self.jobs.values().filter(move |job| job.kind == kind)
    }

    fn expire(&mut self, now: DateTime<Utc>) {
        self.jobs
            .retain(|_, job| !(job.state.is_final() && now - job.modstamp > LIFESPAN));
    }

    /// Counts one internal batch of `records` taken up for processing at `now`, or says why the
    /// daily limits leave it unprocessed (Salesforce then fails the job and processes nothing
    /// more; the wording of the message is *unconfirmed*).
    pub fn spend_batch(&mut self, records: u64, now: DateTime<Utc>) -> Result<(), String> {
        let (record_limit, batch_limit) =
            (self.limits.records_per_day, self.limits.batches_per_day);
        let records_used = used(&mut self.records_processed, now);
        if records_used + records > record_limit {
            return Err(format!(
                "InvalidBatch : Exceeded the limit of {record_limit} records processed in 24 hours"
            ));
        }
        spend(&mut self.batches, 1, batch_limit, now).map_err(|_| {
            format!("InvalidBatch : Exceeded the limit of {batch_limit} batches in 24 hours")
        })?;
        self.records_processed.push_back((now, records));
        Ok(())
    }

    /// `(max, remaining)` batches of the rolling 24 hours (`DailyBulkApiBatches`).
    pub fn batches_left(&mut self, now: DateTime<Utc>) -> (u64, u64) {
        let used = used(&mut self.batches, now);
        let max = self.limits.batches_per_day;
        (max, max.saturating_sub(used))
    }

    /// Counts one query job created at `now`, or refuses it past the daily limit.
    pub fn spend_query_job(&mut self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let limit = self.limits.query_jobs_per_day;
        spend(&mut self.query_jobs, 1, limit, now).map_err(|_| {
            ApiError::bad_request(
                "EXCEEDED_QUOTA",
                format!("Exceeded the limit of {limit} query jobs in 24 hours"),
            )
        })
    }

    /// `(max, remaining)` of the query jobs of the rolling 24 hours (`DailyBulkV2QueryJobs`).
    pub fn query_jobs_left(&mut self, now: DateTime<Utc>) -> (u64, u64) {
        let used = used(&mut self.query_jobs, now);
        let max = self.limits.query_jobs_per_day;
        (max, max.saturating_sub(used))
    }
}

fn used(log: &mut VecDeque<(DateTime<Utc>, u64)>, now: DateTime<Utc>) -> u64 {
    while log
        .front()
        .is_some_and(|(at, _)| now - *at >= chrono::TimeDelta::hours(24))
    {
        log.pop_front();
    }
    log.iter().map(|(_, n)| n).sum()
}

fn spend(
    log: &mut VecDeque<(DateTime<Utc>, u64)>,
    amount: u64,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<(), u64> {
    let used = used(log, now);
    if used + amount > limit {
        return Err(used);
    }
    log.push_back((now, amount));
    Ok(())
}

/// `DELETE jobs/{ingest|query}/{id}`: 204. Only a job that is not open or being processed.
pub fn delete(sandbox: &Sandbox, id: &str, kind: Kind) -> Result<Response, ApiError> {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let job = jobs.get(id, kind, now)?;
    if matches!(job.state, State::Open | State::InProgress) {
        return Err(invalid_state(format!(
            "Deleting a job in state {} is not allowed: abort it or wait for it to finish",
            job.state.as_str()
        )));
    }
    let id = job.id.clone();
    jobs.jobs.remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET jobs/ingest` or `GET jobs/query`: every job of `kind`, in one page.
pub fn list(sandbox: &Sandbox, kind: Kind) -> Response {
    let org = &sandbox.inner.org;
    let now = org.now();
    let mut jobs = org.bulk_jobs();
    let records: Vec<Value> = jobs.all(kind, now).map(|j| j.info(org, false)).collect();
    Json(json!({ "done": true, "records": records, "nextRecordsUrl": null })).into_response()
}

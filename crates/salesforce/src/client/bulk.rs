//! Bulk API 2.0: query and ingest jobs, for work of thousands of records.
//!
//! What for: a REST walk reads 2,000 records a call and Collections write 200, so 20,000 accounts
//! cost some 110 calls of the daily allocation. A bulk job costs a handful of calls whatever its
//! size: create, a few polls, and the results (query results are read in pages of
//! [`BulkQuery::max_records`], ingest failures in one CSV).
//!
//! - Query ([`SalesforceClient::bulk_query`]): `POST jobs/query` with the SOQL, poll
//!   `GET jobs/query/{id}` until `JobComplete`, then read `GET jobs/query/{id}/results` with a
//!   large `maxRecords`, following the `Sforce-Locator` header until it is `null`, and checking
//!   each page's row count against `Sforce-NumberOfRecords`. Bulk API 2.0 takes no
//!   parent-to-child subqueries, `ORDER BY`, `LIMIT` or aggregates: callers query children as a
//!   job of their own and order the records themselves.
//! - Ingest ([`SalesforceClient::bulk_ingest`]): `POST jobs/ingest`, `PUT` the CSV to the job's
//!   `contentUrl`, `PATCH` the job to `UploadComplete`, poll until it ends, then read
//!   `failedResults` when the job counts failures and `unprocessedrecords` when it processed fewer
//!   records than were uploaded. Successful rows are not read (that would cost a call and tell
//!   nothing the counts do not); [`SalesforceClient::bulk_successful_results`] reads them for
//!   callers that need the new ids of an insert. An upload larger than
//!   [`BULK_INGEST_MAX_BYTES`] is split over several jobs.
//! - Polling waits between polls and doubles the pause each time up to a ceiling
//!   ([`BulkPolling`]), so a job costs few calls however long it runs; past the deadline the
//!   job is reported as [`SalesforceError::BulkJob`] in the state it was last seen in.
//!
//! Non-goals: serial concurrency mode, other delimiters, PK chunking headers (Bulk API 2.0
//! chunks by itself), aborting or deleting jobs (Salesforce deletes them after seven days).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{decode, segment, Media, Record, SalesforceClient};
use crate::error::{ApiError, SalesforceError};

mod csv;

/// The most CSV bytes one ingest job takes (the guide: 150 MB once base64 encoded, so about
/// 100 MB of raw CSV).
pub const BULK_INGEST_MAX_BYTES: usize = 100_000_000;

/// The `maxRecords` a results page asks for unless the query says otherwise.
const DEFAULT_MAX_RECORDS: usize = 50_000;

const CSV_UP: Media = Media {
    content_type: "text/csv",
    accept: "application/json",
};
const CSV_DOWN: Media = Media {
    content_type: "application/json",
    accept: "text/csv",
};

/// How a query result column becomes a JSON value (CSV carries only text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkField {
    Text,
    Boolean,
    Number,
}

/// How often and how long a job is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkPolling {
    /// The pause before the first poll; each later pause doubles, up to `max_pause`.
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// How long a job may run before the caller is told.
    pub deadline: Duration,
}

impl Default for BulkPolling {
    fn default() -> Self {
        Self {
            // A job takes seconds at least: a first poll sooner mostly finds it still running.
            first_pause: Duration::from_secs(1),
            max_pause: Duration::from_secs(10),
            deadline: Duration::from_secs(3_600),
        }
    }
}

/// A Bulk API 2.0 query.
#[derive(Debug, Clone)]
pub struct BulkQuery {
    soql: String,
    types: HashMap<String, BulkField>,
    max_records: usize,
    polling: BulkPolling,
}

impl BulkQuery {
    /// A query; put values in it only through [`crate::soql`].
    pub fn new(soql: impl Into<String>) -> Self {
        Self {
            soql: soql.into(),
            types: HashMap::new(),
            max_records: DEFAULT_MAX_RECORDS,
            polling: BulkPolling::default(),
        }
    }

    /// Reads the column `field` as `kind` (text otherwise).
    pub fn typed(mut self, field: &str, kind: BulkField) -> Self {
        self.types.insert(field.to_owned(), kind);
        self
    }

    /// Records a results page asks for.
    pub fn max_records(mut self, max_records: usize) -> Self {
        self.max_records = max_records.max(1);
        self
    }

    pub fn polling(mut self, polling: BulkPolling) -> Self {
        self.polling = polling;
        self
    }
}

/// What an ingest job does with each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOperation {
    Insert,
    /// By `Id`.
    Update,
    /// By the named external id field.
    Upsert {
        external_id_field: String,
    },
    Delete,
}

impl BulkOperation {
    fn name(&self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Upsert { .. } => "upsert",
            Self::Delete => "delete",
        }
    }
}

/// A job's state (`state` in the job info).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum BulkJobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
    #[serde(other)]
    Unknown,
}

impl BulkJobState {
    fn ended(&self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }
}

/// The job info Salesforce answers job calls with (the fields this client reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkJob {
    pub id: String,
    pub state: BulkJobState,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub content_url: Option<String>,
    #[serde(default)]
    pub number_records_processed: u64,
    #[serde(default)]
    pub number_records_failed: u64,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// A row an ingest job refused.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRow {
    /// `sf__Id`: the record's id, when it has one.
    pub id: Option<String>,
    /// `sf__Error` as a status code and a message.
    pub error: ApiError,
    /// The row as uploaded.
    pub fields: HashMap<String, String>,
}

/// What the ingest of a set of records did.
#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    /// The jobs, one per [`BULK_INGEST_MAX_BYTES`] of CSV.
    pub jobs: Vec<String>,
    /// Rows uploaded.
    pub uploaded: u64,
    /// Rows saved (processed less failed).
    pub saved: u64,
    pub failed: Vec<FailedRow>,
    /// Rows a job never processed (it failed or was aborted part way), as uploaded.
    pub unprocessed: Vec<HashMap<String, String>>,
}

/// A row of `successfulResults`.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRow {
    pub id: String,
    pub created: bool,
    pub fields: HashMap<String, String>,
}

impl SalesforceClient {
    /// Runs a Bulk API 2.0 query job and reads every result page. Records come back in the shape
    /// [`SalesforceClient::query`] yields (see `bulk::csv`), in the order Salesforce wrote them.
    pub async fn bulk_query(&self, query: &BulkQuery) -> Result<Vec<Record>, SalesforceError> {
        let body = serde_json::to_vec(&json!({
            "operation": "query",
            "query": query.soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }))
        .map_err(|e| SalesforceError::Decode(format!("request body: {e}")))?;
        let reply = self
            .send(Method::POST, "jobs/query", &[], Some(body), "jobs/query")
            .await?;
        let job: BulkJob = decode(&reply.body, "query job")?;
        let job = self.wait_for(job, "query", &query.polling).await?;
        let object = job.object.clone().unwrap_or_default();
        let path = format!("jobs/query/{}/results", segment(&job.id));
        let max_records = query.max_records.to_string();
        let mut locator: Option<String> = None;
        let mut records = Vec::new();
        loop {
            let mut params = vec![("maxRecords", max_records.as_str())];
            if let Some(locator) = &locator {
                params.push(("locator", locator.as_str()));
            }
            let reply = self
                .send_as(
                    Method::GET,
                    &path,
                    &params,
                    None,
                    CSV_DOWN,
                    "jobs/query/{id}/results",
                )
                .await?;
            let page =
                csv::parse_query_page(&reply.body, &object, &self.inner.data_path, &query.types)?;
            let header = |name: &str| {
                reply
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            if let Some(count) = header("Sforce-NumberOfRecords") {
                if count.parse::<usize>().ok() != Some(page.len()) {
                    return Err(SalesforceError::Decode(format!(
                        "query results page has {} rows, Sforce-NumberOfRecords says {count}",
                        page.len()
                    )));
                }
            }
            records.extend(page);
            match header("Sforce-Locator") {
                Some(next) if !next.is_empty() && next != "null" => {
                    if locator.as_deref() == Some(next.as_str()) {
                        return Err(SalesforceError::Decode(
                            "Sforce-Locator repeats the page just read".into(),
                        ));
                    }
                    locator = Some(next);
                }
                _ => break,
            }
        }
        Ok(records)
    }

    /// Writes `records` of `object` through Bulk API 2.0 ingest jobs (one per
    /// [`BULK_INGEST_MAX_BYTES`] of CSV) and reports the rows that failed or were never
    /// processed. A `null` field is set to null; a field a record lacks is left as it is.
    pub async fn bulk_ingest(
        &self,
        object: &str,
        operation: &BulkOperation,
        records: &[Record],
        polling: &BulkPolling,
    ) -> Result<IngestOutcome, SalesforceError> {
        let mut outcome = IngestOutcome::default();
        if records.is_empty() {
            return Ok(outcome);
        }
        for chunk in split_by_size(records)? {
            let csv = csv::encode_rows(chunk)?;
            let job = self.ingest_one(object, operation, csv, polling).await?;
            outcome.jobs.push(job.id.clone());
            outcome.uploaded += chunk.len() as u64;
            outcome.saved += job
                .number_records_processed
                .saturating_sub(job.number_records_failed);
            if job.number_records_failed > 0 {
                let rows = self.job_results(&job.id, "failedResults").await?;
                outcome.failed.extend(rows.into_iter().map(failed_row));
            }
            if job.number_records_processed < chunk.len() as u64 {
                let rows = self.job_results(&job.id, "unprocessedrecords").await?;
                outcome.unprocessed.extend(rows);
            }
        }
        Ok(outcome)
    }

    /// The rows an ingest job saved (`successfulResults`).
    pub async fn bulk_successful_results(
        &self,
        job_id: &str,
    ) -> Result<Vec<SavedRow>, SalesforceError> {
        let rows = self.job_results(job_id, "successfulResults").await?;
        Ok(rows
            .into_iter()
            .map(|mut row| SavedRow {
                id: row.remove("sf__Id").unwrap_or_default(),
                created: row.remove("sf__Created").as_deref() == Some("true"),
                fields: row,
            })
            .collect())
    }

    async fn ingest_one(
        &self,
        object: &str,
        operation: &BulkOperation,
        csv: Vec<u8>,
        polling: &BulkPolling,
    ) -> Result<BulkJob, SalesforceError> {
        let mut spec = json!({
            "object": object,
            "operation": operation.name(),
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        });
        if let BulkOperation::Upsert { external_id_field } = operation {
            spec["externalIdFieldName"] = Value::String(external_id_field.clone());
        }
        let body = serde_json::to_vec(&spec)
            .map_err(|e| SalesforceError::Decode(format!("request body: {e}")))?;
        let reply = self
            .send(Method::POST, "jobs/ingest", &[], Some(body), "jobs/ingest")
            .await?;
        let job: BulkJob = decode(&reply.body, "ingest job")?;
        let job_path = format!("jobs/ingest/{}", segment(&job.id));
        // `contentUrl` is relative to the instance (`services/data/vXX.X/jobs/ingest/{id}/batches`).
        let upload = match &job.content_url {
            Some(url) if url.trim_start_matches('/').starts_with("services/data/") => {
                format!("/{}", url.trim_start_matches('/'))
            }
            Some(_) => {
                return Err(SalesforceError::Decode(
                    "ingest job contentUrl is not a data API path".into(),
                ))
            }
            None => format!("{job_path}/batches"),
        };
        self.send_as(
            Method::PUT,
            &upload,
            &[],
            Some(csv),
            CSV_UP,
            "jobs/ingest/{id}/batches",
        )
        .await?;
        let body = serde_json::to_vec(&json!({ "state": "UploadComplete" }))
            .map_err(|e| SalesforceError::Decode(format!("request body: {e}")))?;
        let reply = self
            .send(
                Method::PATCH,
                &job_path,
                &[],
                Some(body),
                "jobs/ingest/{id}",
            )
            .await?;
        let job: BulkJob = decode(&reply.body, "ingest job")?;
        let job = self.wait_for(job, "ingest", polling).await?;
        Ok(job)
    }

    /// Polls the job `kind` (`query` or `ingest`) until it ends, pausing longer each time.
    async fn wait_for(
        &self,
        mut job: BulkJob,
        kind: &str,
        polling: &BulkPolling,
    ) -> Result<BulkJob, SalesforceError> {
        let started = Instant::now();
        let mut pause = polling.first_pause;
        let path = format!("jobs/{kind}/{}", segment(&job.id));
        let pattern = format!("jobs/{kind}/{{id}}");
        while !job.state.ended() {
            if started.elapsed() + pause > polling.deadline {
                return Err(job_error(&job));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(polling.max_pause);
            let reply = self.send(Method::GET, &path, &[], None, &pattern).await?;
            job = decode(&reply.body, "bulk job")?;
        }
        match job.state {
            BulkJobState::JobComplete => Ok(job),
            // An ingest job that failed part way reports its rows through the results.
            BulkJobState::Failed | BulkJobState::Aborted
                if kind == "ingest" && job.number_records_processed > 0 =>
            {
                Ok(job)
            }
            _ => Err(job_error(&job)),
        }
    }

    async fn job_results(
        &self,
        job_id: &str,
        which: &str,
    ) -> Result<Vec<HashMap<String, String>>, SalesforceError> {
        let path = format!("jobs/ingest/{}/{which}/", segment(job_id));
        let pattern = format!("jobs/ingest/{{id}}/{which}");
        let reply = self
            .send_as(Method::GET, &path, &[], None, CSV_DOWN, &pattern)
            .await?;
        csv::parse_rows(&reply.body)
    }
}

fn job_error(job: &BulkJob) -> SalesforceError {
    SalesforceError::BulkJob {
        job_id: job.id.clone(),
        state: format!("{:?}", job.state),
        message: job
            .error_message
            .clone()
            .unwrap_or_else(|| "no error message".into()),
    }
}

/// `sf__Error` (`STATUS_CODE:message:fields --`) as an [`ApiError`].
fn failed_row(mut row: HashMap<String, String>) -> FailedRow {
    let raw = row.remove("sf__Error").unwrap_or_default();
    let id = row.remove("sf__Id").filter(|id| !id.is_empty());
    FailedRow {
        id,
        error: parse_error(&raw),
        fields: row,
    }
}

fn parse_error(raw: &str) -> ApiError {
    let (code, rest) = match raw.split_once(':') {
        Some((code, rest))
            if !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            (code.to_owned(), rest)
        }
        _ => (String::new(), raw),
    };
    // A trailing `:Field1,Field2 --` names the fields; `--` alone names none.
    let (message, fields) = match rest.trim_end().strip_suffix("--") {
        Some(head) => match head.trim_end().rsplit_once(':') {
            Some((message, fields)) => (
                message.to_owned(),
                fields
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            None => (head.trim_end().to_owned(), Vec::new()),
        },
        None => (rest.to_owned(), Vec::new()),
    };
    ApiError {
        error_code: code,
        message: message.trim().to_owned(),
        fields,
    }
}

/// `records` cut so that no chunk's CSV passes [`BULK_INGEST_MAX_BYTES`].
fn split_by_size(records: &[Record]) -> Result<Vec<&[Record]>, SalesforceError> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (at, record) in records.iter().enumerate() {
        // A row's size estimated from its JSON: quoting never more than doubles a value.
        let row = serde_json::to_vec(record).map_or(0, |v| v.len()) * 2;
        if at > start && size + row > BULK_INGEST_MAX_BYTES {
            chunks.push(&records[start..at]);
            start = at;
            size = 0;
        }
        size += row;
    }
    chunks.push(&records[start..]);
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_split_into_code_message_and_fields() {
        let error =
            parse_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --");
        assert_eq!(error.error_code, "REQUIRED_FIELD_MISSING");
        assert_eq!(error.message, "Required fields are missing: [Name]");
        assert_eq!(error.fields, vec!["Name".to_owned()]);

        let error =
            parse_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--");
        assert_eq!(error.error_code, "UNABLE_TO_LOCK_ROW");
        assert_eq!(
            error.message,
            "unable to obtain exclusive access to this record"
        );
        assert!(error.fields.is_empty());

        let error = parse_error("something odd");
        assert_eq!(error.error_code, "");
        assert_eq!(error.message, "something odd");
    }

    #[test]
    fn job_info_parses_with_unknown_states() {
        let job: BulkJob = serde_json::from_str(
            r#"{"id":"750x","state":"JobComplete","object":"Account","numberRecordsProcessed":3,"numberRecordsFailed":1,"contentUrl":"services/data/v61.0/jobs/ingest/750x/batches"}"#,
        )
        .unwrap();
        assert_eq!(job.state, BulkJobState::JobComplete);
        assert_eq!(
            (job.number_records_processed, job.number_records_failed),
            (3, 1)
        );
        let job: BulkJob = serde_json::from_str(r#"{"id":"750y","state":"Paused"}"#).unwrap();
        assert_eq!(job.state, BulkJobState::Unknown);
        assert!(!job.state.ended());
    }

    #[test]
    fn large_uploads_split_over_jobs() {
        let record = Record::from_iter([("Name".to_owned(), Value::String("x".repeat(1_000)))]);
        let records = vec![record; 60_000];
        let chunks = split_by_size(&records).unwrap();
        assert!(chunks.len() >= 2, "{}", chunks.len());
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 60_000);
        assert_eq!(split_by_size(&records[..3]).unwrap().len(), 1);
    }
}

//! Bulk API 2.0 under `/services/data/vNN.N/jobs/`: ingest jobs ([`ingest`]: create, upload CSV,
//! `UploadComplete`, processed in the background, then successful, failed and unprocessed
//! results) and query jobs ([`query`]: a SOQL query run in the background, results as CSV pages
//! behind `Sforce-Locator`).
//!
//! Guarantees:
//! - Every request is an ordinary REST API call: it passes the session check, spends one unit of
//!   the daily API allocation (and reports `Sforce-Limit-Info`) and is counted per route, whatever
//!   number of records it carries. That is the whole point of the API for a client.
//! - Ingest jobs write through the same code as sObject Collections (chunks of 200 records, each
//!   record on its own, never all-or-none), so a bulk write has the same validation, rules,
//!   automation, audit fields and `SystemModstamp` as the same write over REST.
//! - Errors have Salesforce's shape `[{"errorCode","message"}]`; a refused request changes nothing.
//! - The documented limits are enforced ([`Limits`]): upload size (150 MB of base64); records
//!   processed (150,000,000) and batches (15,000: a parent batch per ingest job and one per 10,000
//!   records) per rolling 24 hours, past which a job fails with the rest unprocessed; query jobs
//!   per rolling 24 hours (10,000, refused at creation); the 7-day lifespan of finished jobs.
//!
//! Jobs live in memory, as query cursors do: a restart of a persisted org forgets them (the
//! records they wrote stay). Non-goals: multipart job creation, `assignmentRuleId`, parallel processing of one job's chunks,
//! gzip bodies, and relationship columns (`Account.External_Id__c`) in ingest CSV; where the
//! vendor text was not found (error codes of some refusals), the choice is marked in comments.

mod csv;
mod ingest;
mod jobs;
mod processing;
mod query;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use super::version_of;
use crate::Sandbox;
pub use jobs::{Jobs, Limits};

/// The largest body the jobs resources read: above the 150 MB upload limit, so that an upload over
/// the limit gets Salesforce's error rather than the HTTP server's.
pub const MAX_BODY_BYTES: usize = 160 * 1024 * 1024;

/// `ANY /services/data/{version}/jobs/{*rest}`.
pub async fn serve(
    State(sandbox): State<Sandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match route(&sandbox, &method, &uri, &headers, body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn route(
    sandbox: &Sandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut segments: Vec<&str> = uri
        .path()
        .strip_prefix("/services/data/")
        .ok_or_else(ApiError::not_found)?
        .split('/')
        .collect();
    while segments.last() == Some(&"") {
        segments.pop();
    }
    let version = version_of(segments.first().copied().unwrap_or_default())?.to_owned();
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let json = || json_body(headers, &body);
    match (method.as_str(), &segments[1..]) {
        ("POST", ["jobs", "ingest"]) => ingest::create(sandbox, &version, &json()?),
        ("GET", ["jobs", "ingest"]) => Ok(jobs::list(sandbox, jobs::Kind::Ingest)),
        ("GET", ["jobs", "ingest", id]) => ingest::info(sandbox, id),
        ("PATCH", ["jobs", "ingest", id]) => ingest::change_state(sandbox, id, &json()?),
        ("DELETE", ["jobs", "ingest", id]) => jobs::delete(sandbox, id, jobs::Kind::Ingest),
        ("PUT", ["jobs", "ingest", id, "batches"]) => ingest::upload(sandbox, id, headers, &body),
        ("GET", ["jobs", "ingest", id, results]) => ingest::results(sandbox, id, results),
        ("POST", ["jobs", "query"]) => query::create(sandbox, &version, &json()?),
        ("GET", ["jobs", "query"]) => Ok(jobs::list(sandbox, jobs::Kind::Query)),
        ("GET", ["jobs", "query", id]) => query::info(sandbox, id),
        ("PATCH", ["jobs", "query", id]) => query::change_state(sandbox, id, &json()?),
        ("DELETE", ["jobs", "query", id]) => jobs::delete(sandbox, id, jobs::Kind::Query),
        ("GET", ["jobs", "query", id, "results"]) => {
            query::results(sandbox, id, param("locator"), param("maxRecords"))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// A job request's JSON body. Salesforce refuses any other content type for it.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") {
        return Err(unsupported_media_type(content_type));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "JSON_PARSER_ERROR",
            format!("Unexpected character in the request body: {e}"),
        )
    })
}

/// A body whose `Content-Type` the resource does not take. The code is *unconfirmed* (the vendor
/// text names no code); the status is HTTP's own for the case.
fn unsupported_media_type(content_type: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        format!("Content type '{content_type}' is not supported by this resource"),
    )
}

/// A job definition Salesforce refuses at creation (`INVALIDJOB`).
fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOB", format!("InvalidJob : {}", message.into()))
}

/// A request the job's state does not allow (`INVALIDJOBSTATE`).
fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOBSTATE", message)
}

/// A CSV body with `Content-Type: text/csv`.
fn csv_response(text: String, extra: &[(&'static str, String)]) -> Response {
    let mut response = (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/csv")],
        text,
    )
        .into_response();
    for (name, value) in extra {
        if let Ok(value) = axum::http::HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

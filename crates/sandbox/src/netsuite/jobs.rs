//! Asynchronous requests. A record or SuiteQL request with `Prefer: respond-async` is accepted at
//! once (202, `Preference-Applied: respond-async`, `Location: …/services/rest/async/v1/job/{id}`)
//! and run in the background, outside the account's concurrency window; its outcome is kept:
//!
//! - `GET async/v1/job/{id}`: `{"id","completed","progress","task":{"links"}}`, `progress`
//!   `pending`, `succeeded` or `failed` (the request answered 4xx/5xx);
//! - `GET async/v1/job/{id}/task`: the job's one task (id `1`);
//! - `GET async/v1/job/{id}/task/{taskId}`: its `completed`, `progress`, `startTime`, `endTime`;
//! - `GET async/v1/job/{id}/task/{taskId}/result`: the request's own answer (status, `Location`,
//!   body), or 404 while it runs (*unconfirmed*).
//!
//! `X-NetSuite-Idempotency-Key` is honoured on async requests only: a key seen before answers 400
//! `IDEMPOTENCY_ERROR` with the earlier job's `Location` (documented). Jobs live in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::control::base_url;
use crate::time::{now, ns_timestamp};
use crate::Sandbox;

pub const IDEMPOTENCY_KEY: &str = "x-netsuite-idempotency-key";
const JOBS_PATH: &str = "/services/rest/async/v1/job";
const PREFERENCE_APPLIED: &str = "preference-applied";
const MAX_RESULT_BYTES: usize = 104 * 1024 * 1024;

#[derive(Default)]
pub struct Jobs {
    state: Mutex<JobTable>,
}

#[derive(Default)]
struct JobTable {
    next: u64,
    jobs: HashMap<u64, Job>,
    keys: HashMap<String, u64>,
}

#[derive(Clone)]
struct Job {
    started: String,
    outcome: Option<Outcome>,
}

#[derive(Clone)]
struct Outcome {
    ended: String,
    status: StatusCode,
    location: Option<HeaderValue>,
    body: Option<Value>,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, JobTable> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new job, or `Err(earlier job)` when the idempotency key was used before.
    fn submit(&self, key: Option<String>) -> Result<u64, u64> {
        let mut state = self.lock();
        if let Some(earlier) = key.as_ref().and_then(|k| state.keys.get(k)) {
            return Err(*earlier);
        }
        state.next += 1;
        let id = state.next;
        state.jobs.insert(
            id,
            Job {
                started: ns_timestamp(now()),
                outcome: None,
            },
        );
        if let Some(key) = key {
            state.keys.insert(key, id);
        }
        Ok(id)
    }

    fn finish(&self, id: u64, outcome: Outcome) {
        if let Some(job) = self.lock().jobs.get_mut(&id) {
            job.outcome = Some(outcome);
        }
    }

    fn get(&self, id: &str) -> Result<Job, ApiError> {
        id.parse()
            .ok()
            .and_then(|id| self.lock().jobs.get(&id).cloned())
            .ok_or_else(|| ApiError::nonexistent_id("job", id))
    }
}

fn wants_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// The `Prefer` header without `respond-async` (keeping `transient` for SuiteQL).
fn strip_respond_async(headers: &mut HeaderMap) {
    let rest: Vec<String> = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.eq_ignore_ascii_case("respond-async"))
        .map(str::to_owned)
        .collect();
    headers.remove("prefer");
    if let Ok(value) = HeaderValue::from_str(&rest.join(", ")) {
        if !rest.is_empty() {
            headers.insert("prefer", value);
        }
    }
}

fn job_location(headers: &HeaderMap, id: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{}{JOBS_PATH}/{id}", base_url(headers))).ok()
}

/// Runs record and SuiteQL requests asking for `respond-async` as background jobs.
pub async fn respond_async(
    State(sandbox): State<Sandbox>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let eligible =
        path.starts_with("/services/rest/record/") || path.starts_with("/services/rest/query/");
    if !eligible || !wants_async(request.headers()) {
        return next.run(request).await;
    }
    let key = request
        .headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let jobs = &sandbox.inner.account.jobs;
    let location = |id| job_location(request.headers(), id);
    let id = match jobs.submit(key) {
        Ok(id) => id,
        Err(earlier) => {
            let mut response = ApiError::bad_request(
                "IDEMPOTENCY_ERROR",
                "A request with the same idempotency key is already submitted. See the \"Location\" header for a link to the previously submitted job.",
            )
            .into_response();
            with_async_headers(&mut response, location(earlier));
            return response;
        }
    };
    let mut accepted = StatusCode::ACCEPTED.into_response();
    with_async_headers(&mut accepted, location(id));
    strip_respond_async(request.headers_mut());
    tokio::spawn(async move {
        let response = next.run(request).await;
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, MAX_RESULT_BYTES).await.unwrap_or_default();
        sandbox.inner.account.jobs.finish(
            id,
            Outcome {
                ended: ns_timestamp(now()),
                status: parts.status,
                location: parts.headers.get(header::LOCATION).cloned(),
                body: serde_json::from_slice(&bytes).ok(),
            },
        );
    });
    accepted
}

fn with_async_headers(response: &mut Response, location: Option<HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert(
        PREFERENCE_APPLIED,
        HeaderValue::from_static("respond-async"),
    );
    if let Some(location) = location {
        headers.insert(header::LOCATION, location);
    }
}

fn progress(job: &Job) -> &'static str {
    match &job.outcome {
        None => "pending",
        Some(o) if o.status.is_client_error() || o.status.is_server_error() => "failed",
        Some(_) => "succeeded",
    }
}

pub async fn job(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let job = sandbox.inner.account.jobs.get(&id)?;
    let href = format!("{}{JOBS_PATH}/{id}", base_url(&headers));
    Ok(Json(json!({
        "links": [{ "rel": "self", "href": href }],
        "completed": job.outcome.is_some(),
        "id": id,
        "progress": progress(&job),
        "task": { "links": [{ "rel": "self", "href": format!("{href}/task") }] },
    })))
}

pub async fn tasks(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    sandbox.inner.account.jobs.get(&id)?;
    let href = format!("{}{JOBS_PATH}/{id}/task", base_url(&headers));
    Ok(Json(json!({
        "links": [{ "rel": "self", "href": href }],
        "count": 1,
        "hasMore": false,
        "items": [{ "links": [{ "rel": "self", "href": format!("{href}/1") }], "id": "1" }],
        "offset": 0,
        "totalResults": 1,
    })))
}

fn task_job(sandbox: &Sandbox, id: &str, task: &str) -> Result<Job, ApiError> {
    let job = sandbox.inner.account.jobs.get(id)?;
    if task != "1" {
        return Err(ApiError::nonexistent_id("task", task));
    }
    Ok(job)
}

pub async fn task(
    State(sandbox): State<Sandbox>,
    Path((id, task)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let job = task_job(&sandbox, &id, &task)?;
    let href = format!("{}{JOBS_PATH}/{id}/task/{task}", base_url(&headers));
    let mut body = json!({
        "links": [
            { "rel": "related", "href": format!("{href}/result") },
            { "rel": "self", "href": href },
        ],
        "completed": job.outcome.is_some(),
        "id": task,
        "progress": progress(&job),
        "startTime": job.started,
    });
    if let Some(outcome) = &job.outcome {
        body["endTime"] = json!(outcome.ended);
    }
    Ok(Json(body))
}

pub async fn result(
    State(sandbox): State<Sandbox>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let job = task_job(&sandbox, &id, &task)?;
    let outcome = job.outcome.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NONEXISTENT_ID",
            format!("The result of job {id} is not available yet: the job has not completed."),
        )
    })?;
    let mut response = match outcome.body {
        Some(body) => (outcome.status, Json(body)).into_response(),
        None => (outcome.status, Body::empty()).into_response(),
    };
    if let Some(location) = outcome.location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

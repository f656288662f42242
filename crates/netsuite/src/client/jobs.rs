//! Asynchronous requests: `Prefer: respond-async` hands a request to NetSuite's job queue and
//! answers 202 at once with the job in `Location` (`…/async/v1/job/{id}`). SuiteQL asks for
//! `transient, respond-async`, since the query endpoint requires `Prefer: transient` either way.
//!
//! [`NetSuiteClient::wait_job`] polls `async/v1/job/{id}` with a growing pause (250 ms doubling to
//! 5 s) until the job is `completed`, then reads its task (`…/job/{id}/task`) and the task's result
//! (`…/task/{taskId}/result`): the answer the request would have had synchronously, body and
//! `Location` (so an async create still yields the new record's id). A failed job's result is the
//! request's error, which [`NetSuiteError::Job`] carries.
//!
//! The idempotency key (`X-NetSuite-Idempotency-Key`) is honoured on async requests only: a
//! repeat with the same key is refused (400 `IDEMPOTENCY_ERROR`) instead of running twice, and
//! the refusal's `Location` names the job the key first submitted
//! ([`NetSuiteError::IdempotencyKeyUsed`]), so a caller unsure whether its first submission
//! arrived can wait for that job.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{decode, Call, NetSuiteClient, Reply};
use crate::error::NetSuiteError;
use crate::paths::id_from_location;

/// The longest [`NetSuiteClient::wait_job`] waits: NetSuite's own request timeout.
pub const JOB_WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);
const FIRST_POLL: Duration = Duration::from_millis(250);
const LONGEST_POLL: Duration = Duration::from_secs(5);
const IDEMPOTENCY_ERROR: &str = "IDEMPOTENCY_ERROR";

/// An asynchronous job's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(pub String);

/// A job that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    pub job_id: String,
    /// The task that ran the request, when NetSuite listed one.
    pub task_id: Option<String>,
    /// The request's answer body (`null` when it had none, as a create or update).
    pub result: Value,
    /// The internal id in the answer's `Location`: the record a create, upsert or transform made.
    pub record_id: Option<String>,
}

#[derive(Deserialize)]
struct JobStatus {
    #[serde(default)]
    completed: bool,
    #[serde(default)]
    progress: String,
}

#[derive(Deserialize)]
struct TaskList {
    #[serde(default)]
    items: Vec<TaskRef>,
}

#[derive(Deserialize)]
struct TaskRef {
    id: String,
}

impl NetSuiteClient {
    /// Submits `method path` (relative to `services/rest/`, e.g. `record/v1/salesOrder`) as an
    /// asynchronous job with `idempotency_key`; returns the job id from `Location`. A key used
    /// before is [`NetSuiteError::IdempotencyKeyUsed`], naming the job it submitted.
    pub async fn submit_async(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Uuid,
    ) -> Result<JobId, NetSuiteError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(NetSuiteError::Config(format!(
                "async path {path:?} is not a plain path"
            )));
        }
        let url = self.url(&segments, &[])?;
        let service = segments.first().copied().unwrap_or_default();
        let pattern = format!("async {service}");
        let prefer = match service {
            "query" => "transient, respond-async",
            _ => "respond-async",
        };
        let mut call = Call::new(method, url, &pattern).prefer(prefer);
        call.idempotency_key = Some(idempotency_key.to_string());
        if let Some(body) = body {
            call = call.json(body)?;
        }
        let reply = self.send(call).await?;
        reply
            .location
            .as_deref()
            .and_then(job_from_location)
            .map(JobId)
            .ok_or_else(|| {
                NetSuiteError::Decode(format!(
                    "async request answered {} without a job Location",
                    reply.status
                ))
            })
    }

    /// Waits for `job` to complete (at most [`JOB_WAIT_LIMIT`]) and returns its result. A failed
    /// job is [`NetSuiteError::Job`] with the request's error code and detail.
    pub async fn wait_job(&self, job: &JobId) -> Result<JobResult, NetSuiteError> {
        let started = tokio::time::Instant::now();
        let mut pause = FIRST_POLL;
        let status = loop {
            let url = self.url(&["async", "v1", "job", &job.0], &[])?;
            let reply = self
                .send(Call::new(Method::GET, url, "async/v1/job/{id}"))
                .await?;
            let status: JobStatus = decode(&reply.body, "job status")?;
            if status.completed {
                break status;
            }
            if started.elapsed() + pause > JOB_WAIT_LIMIT {
                return Err(NetSuiteError::Job {
                    job_id: job.0.clone(),
                    code: String::new(),
                    detail: format!("still {} after {:?}", status.progress, JOB_WAIT_LIMIT),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_POLL);
        };
        let task_id = self.first_task(job).await?;
        if status.progress != "succeeded" {
            return Err(self
                .failure(job, task_id.as_deref(), &status.progress)
                .await);
        }
        let (result, record_id) = match &task_id {
            Some(task) => {
                let reply = self.task_result(job, task).await?;
                let record_id = reply.location.as_deref().and_then(id_from_location);
                (body_value(&reply.body)?, record_id)
            }
            None => (Value::Null, None),
        };
        Ok(JobResult {
            job_id: job.0.clone(),
            task_id,
            result,
            record_id,
        })
    }

    /// The error of a job that completed without success: its task's result is the failed
    /// request's own error answer.
    async fn failure(&self, job: &JobId, task: Option<&str>, progress: &str) -> NetSuiteError {
        let answer = match task {
            Some(task) => match self.task_result(job, task).await {
                Ok(reply) => NetSuiteError::from_response(reply.status.as_u16(), &reply.body),
                Err(err @ NetSuiteError::Api { .. }) => err,
                Err(err) => return err,
            },
            None => NetSuiteError::Decode("no task".into()),
        };
        // The request's own detail, or the job's progress when it left none.
        let (code, detail) = match answer {
            NetSuiteError::Api { code, detail, .. } if !detail.is_empty() => (code, detail),
            NetSuiteError::Api { code, .. } => (code, format!("ended as {progress:?}")),
            _ => (String::new(), format!("ended as {progress:?}")),
        };
        NetSuiteError::Job {
            job_id: job.0.clone(),
            code,
            detail,
        }
    }

    async fn first_task(&self, job: &JobId) -> Result<Option<String>, NetSuiteError> {
        let url = self.url(&["async", "v1", "job", &job.0, "task"], &[])?;
        let reply = self
            .send(Call::new(Method::GET, url, "async/v1/job/{id}/task"))
            .await?;
        let tasks: TaskList = decode(&reply.body, "job tasks")?;
        Ok(tasks.items.into_iter().next().map(|t| t.id))
    }

    async fn task_result(&self, job: &JobId, task: &str) -> Result<Reply, NetSuiteError> {
        let url = self.url(&["async", "v1", "job", &job.0, "task", task, "result"], &[])?;
        self.send(Call::new(
            Method::GET,
            url,
            "async/v1/job/{id}/task/{id}/result",
        ))
        .await
    }
}

/// A result body as JSON; an empty body (a create's 204) is `null`.
fn body_value(body: &[u8]) -> Result<Value, NetSuiteError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    decode(body, "job result")
}

/// A refused repeat of an idempotency key becomes [`NetSuiteError::IdempotencyKeyUsed`] when its
/// `Location` names the earlier job; any other error passes unchanged.
pub(crate) fn earlier_job(err: NetSuiteError, location: Option<&str>) -> NetSuiteError {
    match location.and_then(job_from_location) {
        Some(job_id) if err.error_code() == Some(IDEMPOTENCY_ERROR) => {
            NetSuiteError::IdempotencyKeyUsed { job_id }
        }
        _ => err,
    }
}

/// The job id at the end of `…/async/v1/job/{id}`.
fn job_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?.trim_end_matches('/');
    let (before, id) = path.rsplit_once('/')?;
    (before.ends_with("/job") && !id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_comes_from_the_location() {
        assert_eq!(
            job_from_location("/services/rest/async/v1/job/123456").as_deref(),
            Some("123456")
        );
        assert_eq!(
            job_from_location("https://x.suitetalk.api.netsuite.com/services/rest/async/v1/job/7/")
                .as_deref(),
            Some("7")
        );
        assert_eq!(
            job_from_location("/services/rest/record/v1/customer/7"),
            None
        );
    }

    #[test]
    fn a_refused_repeat_names_the_earlier_job_from_its_location() {
        let body = br#"{"status":400,"o:errorDetails":[{"detail":"A request with the same idempotency key is already submitted.","o:errorCode":"IDEMPOTENCY_ERROR"}]}"#;
        let refused = || NetSuiteError::from_response(400, body);
        let err = earlier_job(refused(), Some("/services/rest/async/v1/job/123456"));
        assert!(
            matches!(&err, NetSuiteError::IdempotencyKeyUsed { job_id } if job_id == "123456"),
            "{err:?}"
        );
        assert_eq!(err.error_code(), Some(IDEMPOTENCY_ERROR));
        // Without a job Location it stays the API error; other errors pass unchanged.
        let err = earlier_job(refused(), None);
        assert!(matches!(err, NetSuiteError::Api { .. }), "{err:?}");
        let other = NetSuiteError::from_response(404, b"{}");
        let err = earlier_job(other, Some("/services/rest/async/v1/job/1"));
        assert!(
            matches!(err, NetSuiteError::Api { status: 404, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_failed_job_shows_the_request_error_code() {
        let err = NetSuiteError::Job {
            job_id: "7".into(),
            code: "USER_ERROR".into(),
            detail: "Invalid field value".into(),
        };
        assert_eq!(
            err.to_string(),
            "NetSuite async job 7 failed: Invalid field value (USER_ERROR)"
        );
        assert_eq!(err.error_code(), Some("USER_ERROR"));
    }
}

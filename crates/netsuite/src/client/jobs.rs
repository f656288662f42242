//! Asynchronous requests: `Prefer: respond-async` hands a request to NetSuite's job queue and
//! answers 202 at once with the job in `Location` (`…/async/v1/job/{id}`).
//!
//! [`NetSuiteClient::wait_job`] polls `async/v1/job/{id}` with a growing pause (250 ms doubling to
//! 5 s) until the job is `completed`, then reads its task (`…/job/{id}/task`) and the task's result
//! (`…/task/{taskId}/result`): the body the request would have answered synchronously. The
//! idempotency key (`X-NetSuite-Idempotency-Key`) is honoured on async requests only: a repeat with
//! the same key is refused (400 `IDEMPOTENCY_ERROR`) instead of running twice.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{decode, Call, NetSuiteClient};
use crate::error::NetSuiteError;

/// The longest [`NetSuiteClient::wait_job`] waits: NetSuite's own request timeout.
pub const JOB_WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);
const FIRST_POLL: Duration = Duration::from_millis(250);
const LONGEST_POLL: Duration = Duration::from_secs(5);

/// An asynchronous job's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(pub String);

/// A finished job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    pub job_id: String,
    /// The task that ran the request, when NetSuite listed one.
    pub task_id: Option<String>,
    /// The request's answer body (`null` when it had none, as a create or update).
    pub result: Value,
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
    /// asynchronous job with `idempotency_key`; returns the job id from `Location`.
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
        let pattern = format!("async {}", segments.first().copied().unwrap_or_default());
        let mut call = Call::new(method, url, &pattern).prefer("respond-async");
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
    /// job is [`NetSuiteError::Job`] with the task's error detail.
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
                    detail: format!("still {} after {:?}", status.progress, JOB_WAIT_LIMIT),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_POLL);
        };
        let task_id = self.first_task(job).await?;
        let result = match &task_id {
            Some(task) => self.task_result(job, task).await?,
            None => Value::Null,
        };
        if status.progress != "succeeded" {
            return Err(NetSuiteError::Job {
                job_id: job.0.clone(),
                detail: failure_detail(&status.progress, &result),
            });
        }
        Ok(JobResult {
            job_id: job.0.clone(),
            task_id,
            result,
        })
    }

    async fn first_task(&self, job: &JobId) -> Result<Option<String>, NetSuiteError> {
        let url = self.url(&["async", "v1", "job", &job.0, "task"], &[])?;
        let reply = self
            .send(Call::new(Method::GET, url, "async/v1/job/{id}/task"))
            .await?;
        let tasks: TaskList = decode(&reply.body, "job tasks")?;
        Ok(tasks.items.into_iter().next().map(|t| t.id))
    }

    async fn task_result(&self, job: &JobId, task: &str) -> Result<Value, NetSuiteError> {
        let url = self.url(&["async", "v1", "job", &job.0, "task", task, "result"], &[])?;
        let call = Call::new(Method::GET, url, "async/v1/job/{id}/task/{id}/result");
        let body = match self.send(call).await {
            Ok(reply) => reply.body,
            // A failed task's result is its error body.
            Err(NetSuiteError::Api { detail, code, .. }) => {
                return Ok(serde_json::json!({ "o:errorCode": code, "detail": detail }))
            }
            Err(err) => return Err(err),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        decode(&body, "job result")
    }
}

/// The job id at the end of `…/async/v1/job/{id}`.
fn job_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?.trim_end_matches('/');
    let (before, id) = path.rsplit_once('/')?;
    (before.ends_with("/job") && !id.is_empty()).then(|| id.to_owned())
}

fn failure_detail(progress: &str, result: &Value) -> String {
    let detail = result
        .pointer("/o:errorDetails/0/detail")
        .or_else(|| result.get("detail"))
        .and_then(Value::as_str);
    match detail {
        Some(detail) => format!("{progress}: {detail}"),
        None => progress.to_owned(),
    }
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
    fn failures_quote_the_task_error() {
        let result = serde_json::json!({
            "o:errorDetails": [{ "detail": "Invalid field value", "o:errorCode": "USER_ERROR" }]
        });
        assert_eq!(
            failure_detail("failed", &result),
            "failed: Invalid field value"
        );
        assert_eq!(failure_detail("failed", &Value::Null), "failed");
    }
}

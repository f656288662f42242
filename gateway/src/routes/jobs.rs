//! Jobs and dead letters: follow a 202, list what failed for good, replay or discard it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use isthmus_proto::jobs::v1::job_queue_client::JobQueueClient;
use isthmus_proto::jobs::v1::{
    DeadLetter, DeadLetterRequest, GetJobRequest, GetQueueDepthRequest, Job, ListDeadLettersRequest,
};
use isthmus_proto::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, grpc_request, record_id, SyncResultJson};
use crate::keys::{Caller, Scope};
use crate::{ApiError, Gateway, Service};
use isthmus_engine::work::{JOB_KIND_SYNC_ACCOUNT, JOB_KIND_SYNC_OPPORTUNITY};
use isthmus_telemetry::TracedChannel;

/// A job and, once done, its result.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobJson {
    pub id: String,
    pub kind: String,
    /// queued | running | retrying | held | done | dead (held: waiting for the Salesforce allocation)
    pub state: String,
    pub attempts: u32,
    pub result: Option<SyncResultJson>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub trace_id: String,
    pub updated_at_ms: i64,
    /// Each failed attempt, oldest first.
    pub errors: Vec<AttemptErrorJson>,
    /// The stable code of the error that killed the job, once dead.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptErrorJson {
    pub attempt: u32,
    pub at_ms: i64,
    pub error: String,
}

impl From<Job> for JobJson {
    fn from(j: Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            result: j.result.map(SyncResultJson::from),
            error: j.error,
            trace_id: j.trace_id,
            updated_at_ms: j.updated_at_ms,
            errors: j
                .errors
                .into_iter()
                .map(|e| AttemptErrorJson {
                    attempt: e.attempt,
                    at_ms: e.at_ms,
                    error: e.error,
                })
                .collect(),
            error_code: j.error_code,
        }
    }
}

/// A job that failed for good, with what it carried.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterJson {
    pub id: String,
    pub kind: String,
    pub lane: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: u32,
    pub error: String,
    /// retryable | permanent
    pub error_class: String,
    /// The stable error code of the failure, when known (UPSTREAM_ERROR, UNPROCESSABLE, …).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    pub trace_id: String,
    pub failed_at_ms: i64,
}

impl From<DeadLetter> for DeadLetterJson {
    fn from(d: DeadLetter) -> Self {
        let payload =
            serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::String(d.payload));
        Self {
            id: d.id,
            kind: d.kind,
            lane: d.lane,
            payload,
            attempts: d.attempts,
            error: d.error,
            error_class: d.error_class,
            error_code: d.error_code,
            trace_id: d.trace_id,
            failed_at_ms: d.failed_at_ms,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// `customers` (default), `catalog`, `orders` or `finance`: the service whose queue to read.
    pub service: Option<Service>,
    /// Why (for a discard; kept in the audit log with who discarded it).
    pub reason: Option<String>,
}

/// The jobs API of the service that owns the queue (default `customers`).
fn jobs_of(gateway: &Gateway, owner: Option<Service>) -> JobQueueClient<TracedChannel> {
    gateway.services.jobs(owner.unwrap_or_default())
}

fn service_query(
    query: Result<Query<ServiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ServiceQuery, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterFilter {
    /// `customers` (default), `catalog`, `orders` or `finance`: the service whose dead letters to list.
    pub service: Option<Service>,
    /// Only this job kind, e.g. `customers.sync_account`.
    pub kind: Option<String>,
    /// Only those that failed since (ms since the epoch).
    #[param(inline)]
    pub since_ms: Option<crate::bounded::EpochMs>,
    /// At most this many (default 50, 1 to 500).
    #[param(inline)]
    pub limit: Option<crate::bounded::PageLimit>,
    /// Skip this many (0 to 100000).
    #[param(inline)]
    pub offset: Option<crate::bounded::PageOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueDepthJson {
    pub interactive: u64,
    pub batch: u64,
    pub delayed: u64,
    pub pending: u64,
    pub dead: u64,
    /// When the oldest job waiting in the interactive lane got there (ms since the epoch).
    pub oldest_interactive_ms: Option<i64>,
    /// The same for the batch lane.
    pub oldest_batch_ms: Option<i64>,
}

#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = String, Path, description = "job id from a 202 answer")),
    responses((status = 200, body = JobJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_job(
    State(gateway): State<Gateway>,
    caller: Option<Extension<Caller>>,
    Path(raw): Path<String>,
) -> Result<Json<JobJson>, ApiError> {
    let id = record_id(&raw, "a job id")?.to_string();
    let job = answer(
        gateway
            .services
            .jobs(Service::Customers)
            .get_job(grpc_request(&gateway, GetJobRequest { id })),
    )
    .await?;
    // A caller sees the jobs of its own side: a Salesforce key a button's, a NetSuite key an
    // event's (the record's field values are in the result); operators see every job. Another
    // side's job answers as unknown, so its existence does not show either.
    let side = match job.kind.as_str() {
        JOB_KIND_SYNC_ACCOUNT | JOB_KIND_SYNC_OPPORTUNITY => Scope::Salesforce,
        _ => Scope::NetSuite,
    };
    let may = caller.is_some_and(|Extension(c)| c.may(side) || c.may_read_admin());
    if !may {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no job with that id (or it expired)",
        ));
    }
    Ok(Json(job.into()))
}

#[utoipa::path(get, path = "/v1/dead-letters", params(DeadLetterFilter),
    responses((status = 200, body = [DeadLetterJson]), (status = 400, body = crate::ErrorBody)), security(("bearer" = [])))]
pub async fn list_dead_letters(
    State(gateway): State<Gateway>,
    filter: Result<Query<DeadLetterFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<DeadLetterJson>>, ApiError> {
    let Query(filter) =
        filter.map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))?;
    let request = ListDeadLettersRequest {
        kind: filter.kind.unwrap_or_default(),
        since_ms: filter.since_ms.map_or(0, |s| s.get_i64()),
        limit: filter.limit.map_or(0, |l| l.get_u32()),
        offset: filter.offset.map_or(0, |o| o.get_u32()),
    };
    let letters = answer(
        jobs_of(&gateway, filter.service).list_dead_letters(grpc_request(&gateway, request)),
    )
    .await?;
    Ok(Json(
        letters.dead_letters.into_iter().map(Into::into).collect(),
    ))
}

/// The owning service's jobs API and the request for dead letter `raw` (checked), on behalf of
/// `caller` (who the audit log names for a replay or a discard).
fn dead_letter_call(
    gateway: &Gateway,
    caller: Option<&Caller>,
    raw: &str,
    query: Result<Query<ServiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<
    (
        JobQueueClient<TracedChannel>,
        tonic::Request<DeadLetterRequest>,
    ),
    ApiError,
> {
    let query = service_query(query)?;
    let id = record_id(raw, "a job id")?.to_string();
    let reason = query.reason.unwrap_or_default();
    if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            "reason must be at most 500 printable characters",
        ));
    }
    let request = DeadLetterRequest {
        id,
        actor: caller.map(|c| c.name.clone()).unwrap_or_default(),
        reason,
    };
    Ok((
        jobs_of(gateway, query.service),
        grpc_request(gateway, request),
    ))
}

#[utoipa::path(get, path = "/v1/dead-letters/{id}", params(("id" = String, Path, description = "job id"), ServiceQuery),
    responses((status = 200, body = DeadLetterJson), (status = 404, body = crate::ErrorBody)), security(("bearer" = [])))]
pub async fn get_dead_letter(
    State(gateway): State<Gateway>,
    Path(raw): Path<String>,
    query: Result<Query<ServiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeadLetterJson>, ApiError> {
    let (mut jobs, request) = dead_letter_call(&gateway, None, &raw, query)?;
    let letter = answer(jobs.get_dead_letter(request)).await?;
    Ok(Json(letter.into()))
}

/// Puts a dead letter back on its lane with its attempts reset (fix the cause first).
#[utoipa::path(post, path = "/v1/dead-letters/{id}/replay", params(("id" = String, Path, description = "job id"), ServiceQuery),
    responses((status = 202, body = JobJson), (status = 404, body = crate::ErrorBody)), security(("bearer" = [])))]
pub async fn replay_dead_letter(
    State(gateway): State<Gateway>,
    caller: Option<Extension<Caller>>,
    Path(raw): Path<String>,
    query: Result<Query<ServiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(StatusCode, Json<JobJson>), ApiError> {
    let caller = caller.map(|Extension(c)| c);
    let (mut jobs, request) = dead_letter_call(&gateway, caller.as_ref(), &raw, query)?;
    let job = answer(jobs.replay_dead_letter(request)).await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[utoipa::path(delete, path = "/v1/dead-letters/{id}", params(("id" = String, Path, description = "job id"), ServiceQuery),
    responses((status = 200, body = DeadLetterJson), (status = 404, body = crate::ErrorBody)), security(("bearer" = [])))]
pub async fn discard_dead_letter(
    State(gateway): State<Gateway>,
    caller: Option<Extension<Caller>>,
    Path(raw): Path<String>,
    query: Result<Query<ServiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeadLetterJson>, ApiError> {
    let caller = caller.map(|Extension(c)| c);
    let (mut jobs, request) = dead_letter_call(&gateway, caller.as_ref(), &raw, query)?;
    let letter = answer(jobs.discard_dead_letter(request)).await?;
    Ok(Json(letter.into()))
}

#[utoipa::path(get, path = "/v1/queue", params(ServiceQuery), responses((status = 200, body = QueueDepthJson)), security(("bearer" = [])))]
pub async fn queue_depth(
    State(gateway): State<Gateway>,
    query: Result<Query<ServiceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<QueueDepthJson>, ApiError> {
    let owner = service_query(query)?.service;
    let d = answer(
        jobs_of(&gateway, owner).get_queue_depth(grpc_request(&gateway, GetQueueDepthRequest {})),
    )
    .await?;
    Ok(Json(QueueDepthJson {
        interactive: d.interactive,
        batch: d.batch,
        delayed: d.delayed,
        pending: d.pending,
        dead: d.dead,
        oldest_interactive_ms: (d.oldest_interactive_ms > 0).then_some(d.oldest_interactive_ms),
        oldest_batch_ms: (d.oldest_batch_ms > 0).then_some(d.oldest_batch_ms),
    }))
}

/// The job `id` of `service`'s queue (its record: state, attempts, each error).
pub(crate) async fn get_job_of(
    gateway: &Gateway,
    service: Service,
    id: &str,
) -> Result<JobJson, ApiError> {
    let id = record_id(id, "a job id")?.to_string();
    let job = answer(
        gateway
            .services
            .jobs(service)
            .get_job(grpc_request(gateway, GetJobRequest { id })),
    )
    .await?;
    Ok(job.into())
}

//! `isthmus.jobs.v1.JobQueue`: jobs, dead letters and queue depth of the service's own queue,
//! and the audit log, read from the store, so any replica answers for every job. A replayed or
//! discarded dead letter is an audit entry naming who acted (and, for a discard, why).

use std::sync::Arc;
use std::time::Duration;

use isthmus_engine::audit;
use isthmus_engine::work::{JobRecord, JobState, Jobs, SyncJob};
use isthmus_proto::jobs::v1::job_queue_server::JobQueue;
use isthmus_proto::jobs::v1::{
    AttemptError, AuditEntry, DeadLetter, DeadLetterRequest, GetJobRequest, GetQueueDepthRequest,
    Job, ListAuditRequest, ListAuditResponse, ListDeadLettersRequest, ListDeadLettersResponse,
    QueueDepth,
};
use isthmus_proto::ErrorCode;
use isthmus_store::{AuditLog, DeadLetterQuery, NewJob, RecordId, StoreError};
use tonic::{Request, Response, Status};

use crate::keys::{Caller, Scope};

/// Whether `caller` may read a job of `kind`: a Salesforce caller the jobs of Salesforce
/// buttons, a NetSuite caller those of NetSuite events, viewer and admin every job.
fn may_see_job(caller: &Caller, kind: &str) -> bool {
    use isthmus_engine::work::{JOB_KIND_SYNC_ACCOUNT, JOB_KIND_SYNC_OPPORTUNITY};
    let side = match kind {
        JOB_KIND_SYNC_ACCOUNT | JOB_KIND_SYNC_OPPORTUNITY => Scope::Salesforce,
        _ => Scope::NetSuite,
    };
    caller.may(side) || caller.may_read_admin()
}

/// Dead letters one list answer holds at most.
const MAX_LIST: u32 = 500;

pub struct JobQueueService {
    jobs: Jobs,
    audit: Arc<dyn AuditLog>,
    job_ttl: Duration,
    audit_max_entries: usize,
}

/// The flow name of operator actions on dead letters in the audit log.
pub const DEAD_LETTER_FLOW: &str = "jobs.dead_letter";

/// The longest discard reason kept.
const MAX_REASON: usize = 500;

impl JobQueueService {
    /// Answers for the jobs of `jobs` (the service's queue and job records) and reads `audit`;
    /// a replayed job's record is kept for `job_ttl`; operator actions go to the audit log,
    /// capped at `audit_max_entries`.
    pub fn new(
        jobs: Jobs,
        audit: Arc<dyn AuditLog>,
        job_ttl: Duration,
        audit_max_entries: usize,
    ) -> Self {
        Self {
            jobs,
            audit,
            job_ttl,
            audit_max_entries,
        }
    }

    /// Records an operator's action on a dead letter.
    async fn audit_action(
        &self,
        letter: &isthmus_store::DeadLetter,
        outcome: &str,
        actor: &str,
        note: &str,
    ) {
        let (salesforce_id, netsuite_id) = serde_json::from_slice::<SyncJob>(&letter.job.payload)
            .map(|job| job.ids())
            .unwrap_or_default();
        let entry = audit::AuditEntry {
            at_ms: chrono::Utc::now().timestamp_millis(),
            flow: DEAD_LETTER_FLOW.to_string(),
            outcome: outcome.to_string(),
            salesforce_id,
            netsuite_id,
            fields: Vec::new(),
            trace_id: isthmus_telemetry::current()
                .map(|c| c.trace_id)
                .unwrap_or_default(),
            job_id: letter.job.id.clone(),
            changes: Vec::new(),
            trigger: String::new(),
            actor: if actor.is_empty() { "grpc" } else { actor }.to_string(),
            note: note.to_string(),
        };
        audit::append(self.audit.as_ref(), &entry, self.audit_max_entries).await;
    }
}

fn store_status(err: StoreError) -> Status {
    ErrorCode::Unavailable.status(format!("store: {err}"))
}

fn checked_id(id: &str) -> Result<RecordId, Status> {
    crate::ids::record_id(id, "a job id")
}

/// Refuses an actor or reason that is too long or holds control characters (both go to the
/// audit log as they are).
fn check_actor(request: &DeadLetterRequest) -> Result<(), Status> {
    let printable = |s: &str| !s.chars().any(char::is_control);
    if request.actor.len() > 100 || !printable(&request.actor) {
        return Err(
            ErrorCode::InvalidArgument.status("actor must be at most 100 printable characters")
        );
    }
    if request.reason.chars().count() > MAX_REASON || !printable(&request.reason) {
        return Err(ErrorCode::InvalidArgument.status(format!(
            "reason must be at most {MAX_REASON} printable characters"
        )));
    }
    Ok(())
}

fn no_dead_letter() -> Status {
    ErrorCode::NotFound.status("no dead letter with that id")
}

impl JobQueueService {
    /// A dead letter by id (checked), or `NOT_FOUND`.
    async fn dead_letter(&self, id: &str) -> Result<isthmus_store::DeadLetter, Status> {
        checked_id(id)?;
        self.jobs
            .queue
            .get_dead_letter(id)
            .await
            .map_err(store_status)?
            .ok_or_else(no_dead_letter)
    }
}

fn state_name(state: JobState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn job_message(record: JobRecord) -> Job {
    Job {
        id: record.id,
        kind: record.kind,
        state: state_name(record.state),
        attempts: record.attempts,
        result: record.result.map(crate::convert::sync_result),
        error: record.error.unwrap_or_default(),
        trace_id: record.trace_id,
        updated_at_ms: record.updated_at_ms,
        errors: record
            .errors
            .into_iter()
            .map(|e| AttemptError {
                attempt: e.attempt,
                at_ms: e.at_ms,
                error: e.error,
            })
            .collect(),
        error_code: record.error_code.unwrap_or_default(),
    }
}

fn dead_letter_message(letter: isthmus_store::DeadLetter) -> DeadLetter {
    DeadLetter {
        id: letter.job.id,
        kind: letter.job.kind,
        lane: letter.job.lane.as_str().to_string(),
        payload: String::from_utf8_lossy(&letter.job.payload).into_owned(),
        attempts: letter.job.attempt,
        error: letter.error,
        error_class: letter.error_class,
        error_code: letter.error_code,
        trace_id: letter.job.trace_id,
        failed_at_ms: letter.failed_at_ms,
    }
}

#[tonic::async_trait]
impl JobQueue for JobQueueService {
    async fn get_job(&self, request: Request<GetJobRequest>) -> Result<Response<Job>, Status> {
        let caller = request.extensions().get::<Caller>().cloned();
        let id = request.into_inner().id;
        checked_id(&id)?;
        let unknown = || ErrorCode::NotFound.status("no job with that id (or it expired)");
        let record = JobRecord::load(self.jobs.records.as_ref(), &id)
            .await?
            .ok_or_else(unknown)?;
        // As `GET /v1/jobs/{id}`: a caller sees the jobs of its own side (the result carries
        // the record's field values), operators every job; another side's job is unknown.
        if caller.is_some_and(|c| !may_see_job(&c, &record.kind)) {
            return Err(unknown());
        }
        Ok(Response::new(job_message(record)))
    }

    async fn list_dead_letters(
        &self,
        request: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let request = request.into_inner();
        if request.limit > MAX_LIST {
            return Err(ErrorCode::InvalidArgument.status(format!("limit is at most {MAX_LIST}")));
        }
        let query = DeadLetterQuery {
            kind: (!request.kind.is_empty()).then_some(request.kind),
            since_ms: (request.since_ms > 0).then_some(request.since_ms),
            limit: if request.limit == 0 {
                50
            } else {
                request.limit as usize
            },
            offset: request.offset as usize,
        };
        let letters = self
            .jobs
            .queue
            .dead_letters(&query)
            .await
            .map_err(store_status)?;
        Ok(Response::new(ListDeadLettersResponse {
            dead_letters: letters.into_iter().map(dead_letter_message).collect(),
        }))
    }

    async fn get_dead_letter(
        &self,
        request: Request<DeadLetterRequest>,
    ) -> Result<Response<DeadLetter>, Status> {
        let letter = self.dead_letter(&request.into_inner().id).await?;
        Ok(Response::new(dead_letter_message(letter)))
    }

    async fn replay_dead_letter(
        &self,
        request: Request<DeadLetterRequest>,
    ) -> Result<Response<Job>, Status> {
        // Read, re-queue, then remove: a failure midway leaves the dead letter in place (a
        // replay never loses a job; running it twice is harmless, every effect is idempotent).
        let request = request.into_inner();
        check_actor(&request)?;
        let id = request.id;
        let letter = self.dead_letter(&id).await?;
        let job = letter.job.clone();
        let mut record = JobRecord::load(self.jobs.records.as_ref(), &id)
            .await?
            .unwrap_or_else(|| JobRecord::new(&job.id, &job.kind, &job.trace_id));
        record.state = JobState::Queued;
        record.attempts = 0;
        record.error = None;
        record.error_code = None;
        record
            .save(self.jobs.records.as_ref(), self.job_ttl)
            .await?;
        let new_job = NewJob {
            id: job.id.clone(),
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            trace_id: job.trace_id.clone(),
        };
        self.jobs
            .queue
            .enqueue(job.lane, &new_job)
            .await
            .map_err(store_status)?;
        let taken = self
            .jobs
            .queue
            .take_dead_letter(&id)
            .await
            .map_err(store_status)?;
        if taken.is_some() {
            self.audit_action(&letter, "replayed", &request.actor, "")
                .await;
        }
        Ok(Response::new(job_message(record)))
    }

    async fn discard_dead_letter(
        &self,
        request: Request<DeadLetterRequest>,
    ) -> Result<Response<DeadLetter>, Status> {
        let request = request.into_inner();
        checked_id(&request.id)?;
        check_actor(&request)?;
        let letter = self
            .jobs
            .queue
            .take_dead_letter(&request.id)
            .await
            .map_err(store_status)?
            .ok_or_else(no_dead_letter)?;
        self.audit_action(&letter, "discarded", &request.actor, &request.reason)
            .await;
        Ok(Response::new(dead_letter_message(letter)))
    }

    async fn list_audit(
        &self,
        request: Request<ListAuditRequest>,
    ) -> Result<Response<ListAuditResponse>, Status> {
        let request = request.into_inner();
        if request.limit > 1000 {
            return Err(ErrorCode::InvalidArgument.status("limit is at most 1000"));
        }
        let record = match (request.salesforce_id.as_str(), request.netsuite_id.as_str()) {
            ("", "") => None,
            (sf, "") => Some(audit::record_key_salesforce(
                crate::ids::any_salesforce_id(sf)?.as_str(),
            )),
            ("", ns) => Some(audit::record_key_netsuite(
                crate::ids::netsuite_id(ns, "record")?.as_str(),
            )),
            _ => {
                return Err(ErrorCode::InvalidArgument
                    .status("give salesforce_id or netsuite_id, not both"))
            }
        };
        let after = (!request.after.is_empty()).then_some(request.after.as_str());
        if record.is_some() && after.is_some() {
            return Err(ErrorCode::InvalidArgument
                .status("`after` pages the whole log; a record's history is read at once"));
        }
        if after.is_some_and(|a| !a.bytes().all(|b| b.is_ascii_digit() || b == b'-')) {
            return Err(ErrorCode::InvalidArgument.status("`after` must be an audit entry id"));
        }
        let limit = if request.limit == 0 {
            100
        } else {
            request.limit as usize
        };
        let entries = match &record {
            Some(record) => audit::of_record(self.audit.as_ref(), record, limit).await?,
            None => audit::read(self.audit.as_ref(), after, limit).await?,
        };
        Ok(Response::new(ListAuditResponse {
            entries: entries
                .into_iter()
                .map(|(id, e)| AuditEntry {
                    id,
                    at_ms: e.at_ms,
                    flow: e.flow,
                    outcome: e.outcome,
                    salesforce_id: e.salesforce_id,
                    netsuite_id: e.netsuite_id,
                    fields: e.fields,
                    trace_id: e.trace_id,
                    job_id: e.job_id,
                    changes: e
                        .changes
                        .into_iter()
                        .map(crate::convert::field_change)
                        .collect(),
                    trigger: e.trigger,
                    actor: e.actor,
                    note: e.note,
                })
                .collect(),
        }))
    }

    async fn get_queue_depth(
        &self,
        _: Request<GetQueueDepthRequest>,
    ) -> Result<Response<QueueDepth>, Status> {
        let depth = self.jobs.queue.queue_depth().await.map_err(store_status)?;
        Ok(Response::new(QueueDepth {
            interactive: depth.interactive,
            batch: depth.batch,
            delayed: depth.delayed,
            pending: depth.pending,
            dead: depth.dead,
            oldest_interactive_ms: depth.oldest_interactive_ms.unwrap_or(0),
            oldest_batch_ms: depth.oldest_batch_ms.unwrap_or(0),
        }))
    }
}

//! The job queue: the [`Queue`] of one queue namespace, and its vocabulary (lanes, jobs as
//! enqueued and as delivered, dead letters).
//!
//! Delivery is **at least once**: a delivered job stays pending on its consumer until it is
//! acked, scheduled again ([`Queue::retry_later`]) or dead-lettered; a consumer that dies in
//! between leaves it pending, and [`Queue::reclaim`] hands it to another consumer. A job can
//! therefore run twice (a crash between its work and its ack), so every job's effects must be
//! idempotent (upserts by external id, fenced writes).
//!
//! `attempt` counts deliveries: 1 on the first, plus one for every retry and every reclaim, so a
//! job that crashes its worker each time still reaches the attempt limit and is dead-lettered.
//!
//! # Namespaces
//! Each service's workers take jobs from a queue of their own, named by a **queue namespace**
//! ([`Store::queue`](crate::Store::queue)): lanes, delayed jobs, pending jobs and dead letters
//! belong to one namespace, and a worker of one never sees a job of another.
//! [`DEFAULT_QUEUE_NAMESPACE`] is the queue the store had before namespaces existed (same keys).
//! Everything else a store holds (links, locks, status values, audit, conflicts, idempotency
//! records, semaphores) is the [`Store`](crate::Store)'s, shared by every namespace; a queue
//! holds nothing but its jobs and dead letters. A [`QueuedJob`] does not name its namespace:
//! settle it (ack, retry, dead-letter) through the queue that delivered it, since entry ids are
//! only unique within one queue.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// The job queue of one queue namespace (see the module doc), from
/// [`Store::queue`](crate::Store::queue).
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// The queue namespace this queue is.
    fn namespace(&self) -> &str;

    /// Appends a job to `lane` (attempt 1).
    async fn enqueue(&self, lane: Lane, job: &NewJob) -> Result<()>;
    /// Schedules a job for `lane` after `delay`, to be delivered as attempt `attempt` (e.g. 2
    /// when a first attempt already ran inline and failed). Like a retry, it waits among the
    /// delayed jobs until due; a consumer already waiting sees it when its wait ends.
    async fn enqueue_delayed(
        &self,
        lane: Lane,
        job: &NewJob,
        attempt: u32,
        delay: Duration,
    ) -> Result<()>;
    /// Up to `max` jobs for `consumer`: first moves due delayed jobs back to their lane, then
    /// reads the interactive lane, then the batch lane; waits up to `block` when both are empty
    /// (waking as soon as a job is enqueued or a delayed job falls due). Delivered jobs stay
    /// pending until [`ack`](Queue::ack), [`retry_later`](Queue::retry_later) or
    /// [`dead_letter`](Queue::dead_letter).
    async fn dequeue(&self, consumer: &str, max: usize, block: Duration) -> Result<Vec<QueuedJob>>;
    /// Marks a delivered job done and deletes it. A no-op when it is no longer pending.
    async fn ack(&self, job: &QueuedJob) -> Result<()>;
    /// Acks and schedules the job again after `delay` with attempt + 1 (a sorted set of due
    /// times). A no-op when the job is no longer pending (someone else finished it).
    async fn retry_later(&self, job: &QueuedJob, delay: Duration) -> Result<()>;
    /// Acks and records a dead letter under the job's id (kept until replayed or discarded;
    /// replaces an earlier one of the same id). A no-op when the job is no longer pending.
    async fn dead_letter(&self, job: &QueuedJob, failure: &Failure<'_>) -> Result<()>;
    /// Jobs pending on consumers idle longer than `min_idle` (a crashed worker), handed to
    /// `consumer` (interactive lane first), at most `max`; each counts as a new attempt.
    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedJob>>;
    /// How many jobs are waiting, delayed, pending and dead.
    async fn queue_depth(&self) -> Result<QueueDepth>;

    /// Dead letters matching `query`, newest first.
    async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>>;
    /// The dead letter of job `id`.
    async fn get_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>>;
    /// Removes a dead letter and returns it (replay re-enqueues it with attempt reset; discard
    /// drops it). Only one caller gets it.
    async fn take_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>>;
}

/// The queue namespace whose keys are the ones the queue had before namespaces existed: the
/// customers service's queue.
pub const DEFAULT_QUEUE_NAMESPACE: &str = "customers";

/// The longest queue namespace accepted.
pub const MAX_QUEUE_NAMESPACE_LEN: usize = 32;

/// Refuses a queue namespace unless it is 1 to [`MAX_QUEUE_NAMESPACE_LEN`] characters of
/// `[a-z0-9_-]`: it becomes part of Redis keys, so it can hold no `:` or brace.
pub(crate) fn check_queue_namespace(namespace: &str) -> Result<()> {
    let valid = !namespace.is_empty()
        && namespace.len() <= MAX_QUEUE_NAMESPACE_LEN
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidQueueNamespace(namespace.to_owned()))
    }
}

/// A priority lane. Interactive work (a button in Salesforce) is always served before batch
/// work (backfills, schedules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    Interactive,
    Batch,
}

impl Lane {
    /// Every lane, in the order they are served.
    pub const ALL: [Lane; 2] = [Lane::Interactive, Lane::Batch];

    /// The lane's name: `interactive` or `batch` (as in JSON and Redis keys).
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Interactive => "interactive",
            Lane::Batch => "batch",
        }
    }

    /// The lane named `name` (see [`Lane::as_str`]).
    pub fn from_name(name: &str) -> Option<Lane> {
        Lane::ALL.into_iter().find(|lane| lane.as_str() == name)
    }

    /// Position in [`Lane::ALL`] (serving order).
    pub(crate) fn index(self) -> usize {
        match self {
            Lane::Interactive => 0,
            Lane::Batch => 1,
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    /// The job's id (also the id of its dead letter).
    pub id: String,
    /// What to do, e.g. `sync-account`.
    pub kind: String,
    /// Opaque input of the job (any bytes).
    pub payload: Vec<u8>,
    /// Trace id of the request that enqueued it.
    pub trace_id: String,
}

/// A delivered job, pending on its consumer until acked, retried or dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedJob {
    pub id: String,
    pub kind: String,
    pub payload: Vec<u8>,
    pub trace_id: String,
    pub lane: Lane,
    /// 1 on first delivery; each retry and each reclaim adds one.
    pub attempt: u32,
    /// The stream entry the job is delivered from (what ack and retry name).
    pub entry_id: String,
    /// When the job was first enqueued, ms since the Unix epoch (kept across retries).
    pub enqueued_at_ms: i64,
}

/// Why a job failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    /// What went wrong, for a person.
    pub error: &'a str,
    /// `retryable` (it ran out of attempts) or `permanent`.
    pub class: &'a str,
    /// The stable error code (`UPSTREAM_ERROR`, `UNPROCESSABLE`, …); may be empty.
    pub code: &'a str,
}

impl<'a> Failure<'a> {
    pub fn new(error: &'a str, class: &'a str) -> Self {
        Self {
            error,
            class,
            code: "",
        }
    }

    pub fn with_code(self, code: &'a str) -> Self {
        Self { code, ..self }
    }
}

/// A job that failed for good, kept until replayed or discarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub job: QueuedJob,
    pub error: String,
    /// A stable classification of the error, e.g. `validation` or `upstream`.
    pub error_class: String,
    /// The stable error code of the failure (empty on letters written before it was kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    /// When the job was dead-lettered, ms since the Unix epoch.
    pub failed_at_ms: i64,
}

/// Which dead letters to list: newest first, optionally of one kind and failed since a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQuery {
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only dead letters with `failed_at_ms >= since_ms`.
    pub since_ms: Option<i64>,
    /// At most this many.
    pub limit: usize,
    /// Skip this many of the newest matches first.
    pub offset: usize,
}

/// How many jobs are where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// Waiting in the interactive lane (not delivered yet).
    pub interactive: u64,
    /// Waiting in the batch lane (not delivered yet).
    pub batch: u64,
    /// Scheduled for a later attempt.
    pub delayed: u64,
    /// Delivered and not yet acked, retried or dead-lettered (both lanes).
    pub pending: u64,
    /// Dead letters kept.
    pub dead: u64,
    /// When the oldest job waiting in the interactive lane got there (ms since the epoch; a
    /// retried job counts from its retry), `None` when none waits.
    pub oldest_interactive_ms: Option<i64>,
    /// The same for the batch lane.
    pub oldest_batch_ms: Option<i64>,
}

//! The job queue's vocabulary: lanes, jobs as enqueued and as delivered, dead letters.
//!
//! Delivery is **at least once**: a delivered job stays pending on its consumer until it is
//! acked, scheduled again ([`Store::retry_later`](crate::Store::retry_later)) or dead-lettered;
//! a consumer that dies in between leaves it pending, and [`Store::reclaim`](crate::Store::reclaim)
//! hands it to another consumer. A job can therefore run twice (a crash between its work and
//! its ack), so every job's effects must be idempotent (upserts by external id, fenced writes).
//!
//! `attempt` counts deliveries: 1 on the first, plus one for every retry and every reclaim, so a
//! job that crashes its worker each time still reaches the attempt limit and is dead-lettered.
//!
//! # Namespaces
//! Each service's workers take jobs from a queue of their own, named by a **queue namespace**
//! ([`Store::with_queue`](crate::Store::with_queue)): lanes, delayed jobs, pending jobs and dead
//! letters belong to one namespace, and a worker of one never sees a job of another. A store
//! opened without a namespace uses [`DEFAULT_QUEUE_NAMESPACE`], whose keys are the ones the
//! queue had before namespaces existed. Everything else a store holds (links, locks, status
//! values, audit, conflicts, idempotency records, semaphores) is shared by every namespace.
//! A [`QueuedJob`] does not name its namespace: settle it (ack, retry, dead-letter) through a
//! store of the namespace that delivered it, since entry ids are only unique within one queue.

use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// The queue namespace of a store opened without one: the customers service's queue.
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

/// A job that failed for good, kept until replayed or discarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub job: QueuedJob,
    pub error: String,
    /// A stable classification of the error, e.g. `validation` or `upstream`.
    pub error_class: String,
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
}

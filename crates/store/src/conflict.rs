//! The conflict log's vocabulary.
//!
//! A conflict is one field changed on both sides since the last sync, recorded with both values,
//! the value last synced, the policy that applied and how it was resolved. A conflict resolved by
//! its policy (an owner, the latest change) is recorded already resolved; one whose policy is
//! `manual` is recorded **parked** (no resolution yet) and stays listed until a person resolves
//! it. The log is bounded: past its length the oldest resolved conflicts are dropped, parked ones
//! never.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

/// The conflict log: recorded, listed newest first, read, and resolved once (see the module doc).
#[async_trait]
pub trait Conflicts: Send + Sync + 'static {
    /// Records a conflict (parked when it has no resolution yet), replacing one of the same id.
    /// The log keeps about `max_len` conflicts: the oldest resolved ones are dropped first;
    /// parked ones are kept until resolved.
    async fn record_conflict(&self, conflict: &Conflict, max_len: usize) -> Result<()>;
    /// Conflicts matching `query`, newest (by detection time) first.
    async fn conflicts(&self, query: &ConflictQuery) -> Result<Vec<Conflict>>;
    /// How many conflicts are in `state` (`None`: in the log), without reading them.
    async fn conflict_count(&self, state: Option<ConflictState>) -> Result<u64>;
    /// The conflict `id`.
    async fn get_conflict(&self, id: &str) -> Result<Option<Conflict>>;
    /// Resolves a parked conflict: stores `resolution` on it and takes it out of the parked set,
    /// returning it as resolved. `None` when it is not parked (unknown, or already resolved):
    /// of two callers only one resolves it.
    async fn resolve_conflict(
        &self,
        id: &str,
        resolution: &ConflictResolution,
    ) -> Result<Option<Conflict>>;
}

/// One field that changed on both sides since the last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Unique id (32 lowercase hex digits).
    pub id: String,
    /// ID-map kind of the record, e.g. "customer".
    pub kind: String,
    /// The flow that found it, e.g. "customers.account_to_customer".
    pub flow: String,
    pub salesforce_id: String,
    pub netsuite_id: String,
    /// Canonical field name (a key of the mapping, or `billing` / `shipping`).
    pub field: String,
    /// The field's value in Salesforce when the conflict was found.
    pub salesforce_value: Option<String>,
    /// The field's value in NetSuite when the conflict was found.
    pub netsuite_value: Option<String>,
    /// The value both sides held after the last sync.
    pub last_synced_value: Option<String>,
    /// The field's policy: `salesforce`, `netsuite`, `latest` or `manual`.
    pub policy: String,
    /// How it was resolved; `None` while parked.
    pub resolution: Option<ConflictResolution>,
    /// Trace id of the sync that found it.
    pub trace_id: String,
    /// When it was found, ms since the Unix epoch.
    pub detected_at_ms: i64,
}

impl Conflict {
    /// Waiting for a person.
    pub fn is_parked(&self) -> bool {
        self.resolution.is_none()
    }

    pub fn state(&self) -> ConflictState {
        if self.is_parked() {
            ConflictState::Parked
        } else {
            ConflictState::Resolved
        }
    }
}

/// How a conflict was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictResolution {
    /// Whose value won: `salesforce`, `netsuite`, or `value` (a person typed it).
    pub winner: String,
    /// The value both sides hold (or will hold) after the resolution.
    pub value: Option<String>,
    /// Who or what decided: `policy` or `person`.
    pub by: String,
    /// Trace id of the sync or request that resolved it.
    pub trace_id: String,
    /// When it was resolved, ms since the Unix epoch.
    pub resolved_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictState {
    Parked,
    Resolved,
}

impl ConflictState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parked => "parked",
            Self::Resolved => "resolved",
        }
    }
}

/// Which conflicts to list: newest first, optionally of one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictQuery {
    /// Only conflicts in this state; `None`: every state.
    pub state: Option<ConflictState>,
    /// At most this many.
    pub limit: usize,
    /// Skip this many of the newest matches first.
    pub offset: usize,
}

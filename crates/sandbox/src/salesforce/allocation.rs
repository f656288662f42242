//! The org's daily API allocation: a maximum (15,000 on a developer org) and the calls used so
//! far. Every REST call with a valid session counts, token requests do not; once the allocation is
//! spent every call answers 403 `REQUEST_LIMIT_EXCEEDED` until the allocation is raised or reset.
//!
//! Tests reach it through [`Org::set_api_allocation`] or, over HTTP, the unauthenticated and
//! uncounted `GET|PUT /__sandbox/salesforce/api-allocation` (`{"max","used"}`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::Org;
use crate::Sandbox;

/// Daily API allocation of a developer org, reported in `Sforce-Limit-Info` and `GET limits`.
pub const DEVELOPER_ORG_DAILY_API_REQUESTS: u64 = 15_000;

pub struct Allocation {
    max: AtomicU64,
    used: AtomicU64,
}

impl Default for Allocation {
    fn default() -> Self {
        Self {
            max: AtomicU64::new(DEVELOPER_ORG_DAILY_API_REQUESTS),
            used: AtomicU64::new(0),
        }
    }
}

impl Allocation {
    /// Counts one call; `Err` when the allocation is already spent (the call is then not counted).
    /// Returns `(used, max)` after counting.
    pub fn spend(&self) -> Result<(u64, u64), (u64, u64)> {
        let max = self.max.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < max).then_some(used + 1)
            })
            .map(|before| (before + 1, max))
            .map_err(|used| (used, max))
    }
}

impl Org {
    /// Sets the daily API allocation and the calls already used today (tests: "allocation spent").
    pub fn set_api_allocation(&self, max: u64, used: u64) {
        self.allocation.max.store(max, Ordering::Relaxed);
        self.allocation.used.store(used, Ordering::Relaxed);
    }

    /// `(max, used)` of the daily API allocation.
    pub fn api_allocation(&self) -> (u64, u64) {
        (
            self.allocation.max.load(Ordering::Relaxed),
            self.allocation.used.load(Ordering::Relaxed),
        )
    }
}

/// The error every API call answers once the allocation is spent.
pub fn limit_exceeded() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
    )
}

#[derive(Serialize, Deserialize)]
struct AllocationBody {
    max: u64,
    used: u64,
}

/// `GET|PUT /__sandbox/salesforce/api-allocation`.
pub fn control(sandbox: Sandbox) -> Router {
    Router::new()
        .route(
            "/__sandbox/salesforce/api-allocation",
            get(read_allocation).put(write_allocation),
        )
        .with_state(sandbox)
}

async fn read_allocation(State(sandbox): State<Sandbox>) -> Json<AllocationBody> {
    let (max, used) = sandbox.inner.org.api_allocation();
    Json(AllocationBody { max, used })
}

async fn write_allocation(
    State(sandbox): State<Sandbox>,
    Json(body): Json<AllocationBody>,
) -> StatusCode {
    sandbox.inner.org.set_api_allocation(body.max, body.used);
    StatusCode::NO_CONTENT
}

//! Operations routes: account backfills and the API governance state.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use isthmus_engine::governance::{
    current_hold, netsuite_limit_in_force, published_allocation, AllocationHold, AllocationState,
    NETSUITE_SEMAPHORE,
};
use isthmus_proto::customers::v1::{Backfill, GetBackfillRequest, StartAccountBackfillRequest};
use isthmus_proto::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{answer, grpc_request, record_id, store_unavailable, ApiJson};
use crate::{ApiError, Gateway};

/// Options of an account backfill.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBackfill {
    /// Include accounts that already carry a NetSuite id (default: only unlinked accounts).
    #[serde(default)]
    pub all: bool,
    /// Stop after this many accounts.
    #[serde(default)]
    #[schema(inline)]
    pub limit: Option<crate::bounded::RunLimit>,
}

/// A backfill job and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillJson {
    pub id: String,
    /// running | done | failed
    pub state: String,
    pub seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    pub failed: u64,
    pub written_back: u64,
    /// Accounts handed to the batch lane after a failure (see `/v1/jobs`, `/v1/dead-letters`).
    pub queued: u64,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub errors: Vec<String>,
}

impl From<Backfill> for BackfillJson {
    fn from(b: Backfill) -> Self {
        Self {
            id: b.id,
            state: b.state,
            seen: b.seen,
            created: b.created,
            updated: b.updated,
            unchanged: b.unchanged,
            conflicts: b.conflicts,
            failed: b.failed,
            written_back: b.written_back,
            queued: b.queued,
            started_at_ms: b.started_at_ms,
            finished_at_ms: b.finished_at_ms,
            errors: b.errors,
        }
    }
}

/// Starts a backfill of Salesforce accounts to NetSuite; follow it with `GET /v1/backfills/{id}`.
#[utoipa::path(post, path = "/v1/backfills/accounts", request_body = StartBackfill,
    responses((status = 202, body = BackfillJson), (status = 400, body = crate::ErrorBody),
              (status = 409, body = crate::ErrorBody, description = "a backfill runs already")),
    security(("bearer" = [])))]
pub async fn start_account_backfill(
    State(gateway): State<Gateway>,
    ApiJson(options): ApiJson<StartBackfill>,
) -> Result<(StatusCode, Json<BackfillJson>), ApiError> {
    let message = StartAccountBackfillRequest {
        all: options.all,
        limit: options.limit.map_or(0, |l| l.get_u32()),
    };
    let job = answer(
        gateway
            .services
            .customers()
            .start_account_backfill(grpc_request(&gateway, message)),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[utoipa::path(get, path = "/v1/backfills/{id}",
    params(("id" = String, Path, description = "backfill job id")),
    responses((status = 200, body = BackfillJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_backfill(
    State(gateway): State<Gateway>,
    Path(id): Path<String>,
) -> Result<Json<BackfillJson>, ApiError> {
    let id = record_id(&id, "a backfill id")?.to_string();
    let job = answer(
        gateway
            .services
            .customers()
            .get_backfill(grpc_request(&gateway, GetBackfillRequest { id })),
    )
    .await?;
    Ok(Json(job.into()))
}

/// The latest account backfill started (while its record is kept, 7 days).
#[utoipa::path(get, path = "/v1/backfills/latest",
    responses((status = 200, body = BackfillJson), (status = 404, body = crate::ErrorBody, description = "none started in the last 7 days")),
    security(("bearer" = [])))]
pub async fn latest_backfill(
    State(gateway): State<Gateway>,
) -> Result<Json<BackfillJson>, ApiError> {
    let id = latest_run(&gateway, isthmus_engine::work::background::BACKFILL_RUNS).await?;
    get_backfill(State(gateway), Path(id)).await
}

/// The id of the latest run of a kind, or `NOT_FOUND`.
pub(crate) async fn latest_run(gateway: &Gateway, prefix: &str) -> Result<String, ApiError> {
    isthmus_engine::work::background::latest_run_id(gateway.store.as_ref(), prefix)
        .await
        .map_err(store_unavailable)?
        .map(|id| id.to_string())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such run in the last 7 days"))
}

/// NetSuite slots in use against the account's limit (configured and in force), and the
/// Salesforce allocation. Reading it writes nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct GovernanceJson {
    pub netsuite: NetSuiteGovernance,
    /// The Salesforce daily API allocation as last seen (absent before the first call).
    #[schema(value_type = Option<Object>)]
    pub salesforce: Option<AllocationState>,
    /// Work held because the Salesforce allocation is spent (absent when none is held):
    /// `since_ms`, `next_check_ms`, `holds` (job deliveries put back), `retry_after_s`.
    #[schema(value_type = Option<Object>)]
    pub salesforce_hold: Option<HoldJson>,
}

/// A published [`AllocationHold`], with the seconds until held work tries again.
#[derive(Debug, Serialize)]
pub struct HoldJson {
    #[serde(flatten)]
    pub hold: AllocationHold,
    pub retry_after_s: u64,
}

/// NetSuite's account-wide concurrency: the configured limit, the one in force, and the slots
/// every replica holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetSuiteGovernance {
    /// The configured account limit C (`netsuite.concurrency_limit`): the ceiling of a learned
    /// limit.
    pub concurrency_limit: u32,
    /// Whether the replicas learn the limit from the account's free share
    /// (`netsuite.adaptive_concurrency`).
    pub adaptive_concurrency: bool,
    /// The limit the replicas queue for slots under now: the learned one, or C when nothing was
    /// learned yet (or adaptive concurrency is off).
    pub limit_in_force: u32,
    /// The level NetSuite last refused (an over-limit answer), while the learned limit
    /// remembers it; absent when none was refused.
    pub refused_at: Option<u32>,
    pub slots_in_use: u32,
}

#[utoipa::path(get, path = "/v1/governance",
    responses((status = 200, body = GovernanceJson)), security(("bearer" = [])))]
pub async fn governance(State(gateway): State<Gateway>) -> Result<Json<GovernanceJson>, ApiError> {
    let settings = &gateway.settings;
    let limit = netsuite_limit_in_force(
        gateway.store.as_ref(),
        settings.netsuite_concurrency_limit,
        settings.netsuite_adaptive_concurrency,
    )
    .await
    .map_err(store_unavailable)?;
    let slots_in_use = gateway
        .store
        .slots_in_use(NETSUITE_SEMAPHORE)
        .await
        .map_err(store_unavailable)?;
    let salesforce = published_allocation(gateway.store.as_ref())
        .await
        .map_err(store_unavailable)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let salesforce_hold = current_hold(gateway.store.as_ref())
        .await
        .map_err(store_unavailable)?
        .map(|hold| HoldJson {
            retry_after_s: hold.retry_after_secs(now_ms),
            hold,
        });
    Ok(Json(GovernanceJson {
        netsuite: NetSuiteGovernance {
            concurrency_limit: settings.netsuite_concurrency_limit,
            adaptive_concurrency: settings.netsuite_adaptive_concurrency,
            limit_in_force: limit.limit,
            refused_at: limit.refused_at,
            slots_in_use,
        },
        salesforce,
        salesforce_hold,
    }))
}

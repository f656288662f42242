//! The gateway's routes. Every handler validates its input completely before the first gRPC
//! call, so malformed input never reaches a service, a vendor or Redis.

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use isthmus_netsuite::NetSuiteId;
use isthmus_proto::{rejected, ErrorCode};
use isthmus_salesforce::id::{SObject, SalesforceId};
use isthmus_store::RecordId;

use crate::middleware;
use crate::{ApiError, Gateway};

pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod conflicts;
pub(crate) mod doctor;
pub(crate) mod erasures;
pub(crate) mod events;
pub(crate) mod finance;
pub(crate) mod jobs;
pub(crate) mod links;
pub(crate) mod observe;
pub(crate) mod ops;
pub(crate) mod orders;
pub(crate) mod reconcile;
pub(crate) mod records;
pub(crate) mod stats;
pub(crate) mod sync;

pub use audit::AuditEntryJson;
pub use catalog::{CatalogRunJson, CatalogRunMode, ProductLinkJson, StartCatalogRun};
pub use events::NetSuiteEvent;
pub use jobs::{DeadLetterJson, JobJson, QueueDepthJson};
pub use links::LinkJson;
pub use ops::{BackfillJson, GovernanceJson, StartBackfill};
pub use orders::{OrderLinkJson, ScanRenewals, SyncResultsJson};
pub use sync::{FieldChangeJson, SyncResultJson};

pub fn router(gateway: Gateway) -> Router {
    let limit = gateway.settings.max_body_bytes;
    let console = if gateway.console.as_ref().is_some_and(|c| !c.own_listener) {
        crate::console::router()
    } else {
        Router::new()
    };
    let api = Router::new()
        .route(
            "/v1/salesforce/accounts/{id}/sync",
            post(sync::sync_account),
        )
        .route(
            "/v1/salesforce/opportunities/{id}/sync",
            post(orders::sync_opportunity),
        )
        .route("/v1/salesforce/quotes/{id}/sync", post(orders::sync_quote))
        .route(
            "/v1/salesforce/accounts/{id}/financial-summary",
            post(finance::account_summary),
        )
        .route(
            "/v1/salesforce/records/{id}/status",
            get(records::record_status),
        )
        .route(
            "/v1/salesforce/conflicts/{id}/resolve",
            post(conflicts::resolve_conflict),
        )
        .route("/v1/stats", get(stats::stats))
        .route("/v1/netsuite/events", post(events::netsuite_event))
        .route("/v1/links/orders/{id}", get(orders::get_order_link))
        .route("/v1/renewals/scan", post(orders::scan_renewals))
        .route("/v1/subsidiaries/sync", post(finance::sync_subsidiaries))
        .route("/v1/links/customers/{id}", get(links::get_link))
        .route("/v1/links/products/{id}", get(catalog::get_product_link))
        .route("/v1/catalog/runs", post(catalog::start_catalog_run))
        .route("/v1/catalog/runs/latest", get(catalog::latest_catalog_run))
        .route("/v1/catalog/runs/{id}", get(catalog::get_catalog_run))
        .route("/v1/backfills/accounts", post(ops::start_account_backfill))
        .route("/v1/backfills/latest", get(ops::latest_backfill))
        .route("/v1/backfills/{id}", get(ops::get_backfill))
        .route("/v1/governance", get(ops::governance))
        .route("/v1/doctor", get(doctor::last_doctor_report))
        .route("/v1/jobs/{id}", get(jobs::get_job))
        .route("/v1/dead-letters", get(jobs::list_dead_letters))
        .route(
            "/v1/dead-letters/{id}",
            get(jobs::get_dead_letter).delete(jobs::discard_dead_letter),
        )
        .route(
            "/v1/dead-letters/{id}/replay",
            post(jobs::replay_dead_letter),
        )
        .route("/v1/queue", get(jobs::queue_depth))
        .route("/v1/conflicts", get(conflicts::list_conflicts))
        .route("/v1/conflicts/{id}", get(conflicts::get_conflict))
        .route(
            "/v1/conflicts/{id}/resolve",
            post(conflicts::resolve_conflict),
        )
        .route("/v1/audit", get(audit::audit))
        .route("/v1/erasures", post(erasures::erase_person))
        .route("/v1/reconcile", get(reconcile::last_runs))
        .route("/v1/reconcile/{flow}", post(reconcile::reconcile_flow))
        .route("/v1/reconcile/{flow}/repair", post(reconcile::repair_drift))
        .route("/v1/reconcile/{flow}/progress", get(reconcile::progress))
        .route("/v1/reconcile/{flow}/report", get(reconcile::last_report))
        .route("/v1/reconcile/{flow}/history", get(reconcile::history))
        .route("/v1/schedules", get(observe::schedules))
        .route("/v1/schedules/{name}/run", post(observe::run_schedule))
        .route("/metrics", get(observe::metrics))
        .route("/healthz", get(observe::healthz))
        .route("/readyz", get(observe::readyz))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        // After routing, on the API's routes only: the console's forms are bodies.
        .route_layer(axum::middleware::from_fn(middleware::refuse_bodies));
    console
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            crate::limits::allocation::allocation_retry_after,
        ))
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            crate::limits::per_key,
        ))
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            crate::limits::edge,
        ))
        .layer(axum::middleware::from_fn(middleware::trace))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(gateway)
}

/// The console alone, with the gateway's trace and body limit layers.
pub fn console_only(gateway: Gateway) -> Router {
    let limit = gateway.settings.max_body_bytes;
    crate::console::router()
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            crate::limits::edge,
        ))
        .layer(axum::middleware::from_fn(middleware::trace))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(gateway)
}

/// A gRPC request with the sync deadline (its trace context is set by the clients'
/// interceptor).
pub(crate) fn grpc_request<T>(gateway: &Gateway, message: T) -> tonic::Request<T> {
    crate::limits::budget::note_service_call();
    let mut request = tonic::Request::new(message);
    request.set_timeout(gateway.settings.sync_deadline);
    request
}

fn query_or_error<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded_query(raw.unwrap_or(""))
        .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, format!("query string: {e}")))
}

fn serde_urlencoded_query<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, String> {
    Query::<T>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| "malformed query string".to_string())?,
    )
    .map(|q| q.0)
    .map_err(|e| e.body_text())
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}

/// A failed read of what the store keeps (directly or through the engine): logged, and answered
/// `503` without the store's own words.
fn store_unavailable(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(%err, "store unavailable");
    ApiError::new(ErrorCode::Unavailable, "the store is unavailable")
}

/// An id of `object` (checksum and key prefix checked), or a 400 saying what is wrong with it.
fn salesforce_id(raw: &str, object: SObject) -> Result<SalesforceId, ApiError> {
    SalesforceId::parse_as(raw, object).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            rejected(raw, &object.id_noun(), e),
        )
    })
}

/// A NetSuite internal id of a `record` (`customer`, `item`, …), or a 400.
fn netsuite_id(raw: &str, record: &str) -> Result<NetSuiteId, ApiError> {
    NetSuiteId::parse(raw).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            rejected(raw, &format!("a NetSuite {record} id"), e),
        )
    })
}

/// The id of a job, run or conflict Isthmus made (`what`: "a job id", …), or a 400.
fn record_id(raw: &str, what: &str) -> Result<RecordId, ApiError> {
    RecordId::parse(raw)
        .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, rejected(raw, what, e)))
}

/// The key of a link route: a NetSuite internal id when `raw` is one, else an id of `object`.
enum LinkKey {
    NetSuite(NetSuiteId),
    Salesforce(SalesforceId),
}

fn link_key(raw: &str, object: SObject, record: &str) -> Result<LinkKey, ApiError> {
    if let Ok(id) = NetSuiteId::parse(raw) {
        return Ok(LinkKey::NetSuite(id));
    }
    SalesforceId::parse_as(raw, object)
        .map(LinkKey::Salesforce)
        .map_err(|e| {
            let what = format!("a NetSuite {record} id or {}", object.id_noun());
            ApiError::new(ErrorCode::InvalidArgument, rejected(raw, &what, e))
        })
}

/// A JSON body: `Content-Type: application/json`, within the body limit, well-formed; every
/// failure is an [`ApiError`] with a stable code (413 `PAYLOAD_TOO_LARGE`, else 400).
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json_type = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_media_type);
        if !json_type {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Content-Type must be application/json",
            ));
        }
        let body = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the body is larger than this route accepts",
                )
            } else {
                ApiError::new(ErrorCode::InvalidArgument, e.body_text())
            }
        })?;
        // A struct deserializes from a JSON array by position too: refuse anything but an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "the body must be a JSON object",
            ));
        }
        serde_json::from_slice(&body)
            .map(ApiJson)
            .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, format!("malformed body: {e}")))
    }
}

/// `application/json`, with parameters (`; charset=utf-8`) or not, in any case; nothing else
/// (`application/jsonx`, `application/json-patch+json`).
fn is_json_media_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The API routes that take a JSON body; every other API route refuses one.
pub(crate) const TAKES_BODY: [&str; 9] = [
    "/v1/netsuite/events",
    "/v1/renewals/scan",
    "/v1/catalog/runs",
    "/v1/backfills/accounts",
    "/v1/conflicts/{id}/resolve",
    "/v1/salesforce/conflicts/{id}/resolve",
    "/v1/reconcile/{flow}",
    "/v1/reconcile/{flow}/repair",
    "/v1/erasures",
];

/// A `NOT_FOUND` answer as "none"; any other error stays one.
pub(crate) fn found<T>(answer: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.code == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`found`] of a handler's JSON answer.
pub(crate) fn found_json<T>(answer: Result<Json<T>, ApiError>) -> Result<Option<T>, ApiError> {
    found(answer.map(|Json(found)| found))
}

/// The message of a service's answer, or the service's error as the gateway's.
pub(crate) async fn answer<T>(
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, ApiError> {
    call.await
        .map(tonic::Response::into_inner)
        .map_err(|s| ApiError::from_status(&s))
}

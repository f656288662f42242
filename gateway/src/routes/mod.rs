//! The gateway's routes. Every handler validates its input completely before the first gRPC
//! call, so malformed input never reaches a service, a vendor or Redis.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use isthmus_proto::ErrorCode;
use isthmus_telemetry::TRACEPARENT;
use tonic::metadata::MetadataValue;

use crate::middleware::{self, Trace};
use crate::{ApiError, Gateway};

pub(crate) mod catalog;
pub(crate) mod conflicts;
pub(crate) mod finance;
pub(crate) mod jobs;
pub(crate) mod links;
pub(crate) mod ops;
pub(crate) mod orders;
pub(crate) mod reconcile;
pub(crate) mod sync;

pub use catalog::{CatalogRunJson, CatalogRunMode, ProductLinkJson, StartCatalogRun};
pub use jobs::{AuditEntryJson, DeadLetterJson, JobJson, QueueDepthJson, QueueOwner};
pub use links::LinkJson;
pub use ops::{BackfillJson, GovernanceJson, StartBackfill};
pub use orders::{OrderLinkJson, ScanRenewals, SyncResultsJson};
pub use sync::{FieldChangeJson, NetSuiteEvent, SyncResultJson};

pub fn router(gateway: Gateway) -> Router {
    let limit = gateway.settings.max_body_bytes;
    Router::new()
        .route(
            "/v1/salesforce/accounts/{id}/sync",
            post(sync::sync_account),
        )
        .route(
            "/v1/salesforce/opportunities/{id}/sync",
            post(orders::sync_opportunity),
        )
        .route(
            "/v1/salesforce/accounts/{id}/financial-summary",
            post(finance::account_summary),
        )
        .route("/v1/netsuite/events", post(sync::netsuite_event))
        .route("/v1/links/orders/{id}", get(orders::get_order_link))
        .route("/v1/renewals/scan", post(orders::scan_renewals))
        .route("/v1/subsidiaries/sync", post(finance::sync_subsidiaries))
        .route("/v1/links/customers/{id}", get(links::get_link))
        .route("/v1/links/products/{id}", get(catalog::get_product_link))
        .route("/v1/catalog/runs", post(catalog::start_catalog_run))
        .route("/v1/catalog/runs/{id}", get(catalog::get_catalog_run))
        .route("/v1/backfills/accounts", post(ops::start_account_backfill))
        .route("/v1/backfills/{id}", get(ops::get_backfill))
        .route("/v1/governance", get(ops::governance))
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
        .route("/v1/audit", get(jobs::audit))
        .route("/v1/reconcile", get(reconcile::last_runs))
        .route("/v1/reconcile/{flow}", post(reconcile::reconcile_flow))
        .route("/v1/reconcile/{flow}/repair", post(reconcile::repair_drift))
        .route("/v1/schedules", get(reconcile::schedules))
        .route("/metrics", get(reconcile::metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn(middleware::trace))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(gateway)
}

/// A gRPC request carrying the trace context and the sync deadline.
fn grpc_request<T>(gateway: &Gateway, trace: &Trace, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(gateway.settings.sync_deadline);
    if let Ok(value) = MetadataValue::try_from(trace.0.to_header()) {
        request.metadata_mut().insert(TRACEPARENT, value);
    }
    request
}

fn query_or_error<T: serde::de::DeserializeOwned>(
    raw: Option<&str>,
    trace_id: &str,
) -> Result<T, ApiError> {
    serde_urlencoded_query(raw.unwrap_or("")).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            format!("query string: {e}"),
            trace_id,
        )
    })
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

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the process is up")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when Redis answers and every service reports SERVING over gRPC health.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down")))]
pub async fn readyz(State(gateway): State<Gateway>) -> Response {
    let store = match gateway.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("down: {e}"),
    };
    let customers = serving(
        &gateway.customers_channel,
        "isthmus.customers.v1.CustomerSync",
    )
    .await;
    let catalog = serving(&gateway.catalog_channel, "isthmus.catalog.v1.CatalogSync").await;
    let orders = serving(&gateway.orders_channel, "isthmus.orders.v1.OrderSync").await;
    let finance = serving(&gateway.finance_channel, "isthmus.finance.v1.FinanceSync").await;
    let ready =
        store == "ok" && customers == "ok" && catalog == "ok" && orders == "ok" && finance == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": ready,
        "checks": { "store": store, "customers": customers, "catalog": catalog, "orders": orders, "finance": finance },
    });
    (status, Json(body)).into_response()
}

/// "ok" when `service` reports SERVING over gRPC health on `channel`, else what is wrong.
async fn serving(channel: &tonic::transport::Channel, service: &str) -> String {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
        service: service.into(),
    });
    request.set_timeout(std::time::Duration::from_secs(2));
    match health.check(request).await {
        Ok(r)
            if r.get_ref().status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 =>
        {
            "ok".to_string()
        }
        Ok(r) => format!("not serving ({})", r.get_ref().status),
        Err(s) => format!("down: {}", s.message()),
    }
}

async fn not_found(Extension(trace): Extension<Trace>) -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route", &trace.0.trace_id)
}

async fn method_not_allowed(Extension(trace): Extension<Trace>) -> Response {
    let mut response = ApiError::new(
        ErrorCode::InvalidArgument,
        "method not allowed on this route",
        &trace.0.trace_id,
    )
    .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

fn store_error(err: isthmus_store::StoreError, trace_id: &str) -> ApiError {
    tracing::error!(%err, "store unavailable");
    ApiError::new(ErrorCode::Unavailable, "the store is unavailable", trace_id)
}

/// A Salesforce id of one object (`prefix`: its key prefix, e.g. `001` for Account), or a 400
/// saying what is wrong with `raw`.
fn salesforce_id(
    raw: &str,
    prefix: &str,
    object: &str,
    trace_id: &str,
) -> Result<isthmus_salesforce::id::SalesforceId, ApiError> {
    let id = isthmus_salesforce::id::SalesforceId::parse(raw).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            format!("'{}' is not a Salesforce id: {e}", shown(raw)),
            trace_id,
        )
    })?;
    if id.key_prefix() != prefix {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "'{}' is not an {object} id ({object} ids start with {prefix})",
                shown(raw)
            ),
            trace_id,
        ));
    }
    Ok(id)
}

/// Caller input as it may appear in a message: at most 40 characters, escaped.
fn shown(raw: &str) -> String {
    raw.chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string()
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
        let trace_id = request
            .extensions()
            .get::<Trace>()
            .map(|t| t.0.trace_id.clone())
            .unwrap_or_default();
        let json_type = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "Content-Type must be application/json",
                &trace_id,
            ));
        }
        let body = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the body is larger than this route accepts",
                    &trace_id,
                )
            } else {
                ApiError::new(ErrorCode::InvalidArgument, e.body_text(), &trace_id)
            }
        })?;
        serde_json::from_slice(&body).map(ApiJson).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidArgument,
                format!("malformed body: {e}"),
                &trace_id,
            )
        })
    }
}

/// The message of a service's answer, or the service's error as the gateway's.
async fn answer<T>(
    trace_id: &str,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, ApiError> {
    call.await
        .map(tonic::Response::into_inner)
        .map_err(|s| ApiError::from_status(&s, trace_id))
}

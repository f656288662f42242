//! The gateway's routes. Every handler validates its input completely before the first gRPC
//! call, so malformed input never reaches a service, a vendor or Redis.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use isthmus_proto::common::v1::{SyncOptions, SyncResult};
use isthmus_proto::customers::v1::{
    get_link_request, ChangeType, GetLinkRequest, SyncAccountRequest, SyncCustomerRequest,
};
use isthmus_proto::trace::TRACEPARENT;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::id::SalesforceId;
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataValue;
use utoipa::{IntoParams, ToSchema};

use crate::middleware::{self, Trace};
use crate::{ApiError, Gateway};

pub fn router(gateway: Gateway) -> Router {
    let limit = gateway.settings.max_body_bytes;
    Router::new()
        .route("/v1/salesforce/accounts/{id}/sync", post(sync_account))
        .route("/v1/netsuite/events", post(netsuite_event))
        .route("/v1/links/customers/{id}", get(get_link))
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

/// A sync result as JSON: field values are JSON values, the outcome a lower-case word.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncResultJson {
    /// created | updated | unchanged | skipped | conflict | failed
    pub outcome: String,
    pub flow: String,
    pub salesforce_id: String,
    pub netsuite_id: String,
    pub matched_rule: String,
    pub dry_run: bool,
    pub changes: Vec<FieldChangeJson>,
    pub warnings: Vec<String>,
    pub trace_id: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldChangeJson {
    pub record: String,
    pub field: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<SyncResult> for SyncResultJson {
    fn from(r: SyncResult) -> Self {
        let outcome = isthmus_proto::common::v1::Outcome::try_from(r.outcome)
            .map(|o| {
                o.as_str_name()
                    .trim_start_matches("OUTCOME_")
                    .to_lowercase()
            })
            .unwrap_or_else(|_| "unspecified".into());
        let value = |s: Option<String>| {
            s.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
        };
        Self {
            outcome,
            flow: r.flow,
            salesforce_id: r.salesforce_id,
            netsuite_id: r.netsuite_id,
            matched_rule: r.matched_rule,
            dry_run: r.dry_run,
            changes: r
                .changes
                .into_iter()
                .map(|c| FieldChangeJson {
                    record: c.record,
                    field: c.field,
                    before: value(c.before),
                    after: value(c.after),
                })
                .collect(),
            warnings: r.warnings,
            trace_id: r.trace_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Return the diff and the matching rule; write nothing.
    #[serde(default)]
    pub dry_run: bool,
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

/// "Sync to NetSuite" for one account.
#[utoipa::path(post, path = "/v1/salesforce/accounts/{id}/sync",
    params(("id" = String, Path, description = "Salesforce Account id, 15 or 18 characters"), SyncQuery,
           ("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key")),
    responses((status = 200, body = SyncResultJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_account(
    State(gateway): State<Gateway>,
    Extension(trace): Extension<Trace>,
    Path(raw_id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let query: SyncQuery = query_or_error(uri.query(), &trace_id)?;
    let id = SalesforceId::parse(&raw_id).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            format!("'{}' is not a Salesforce id: {e}", shown(&raw_id)),
            &trace_id,
        )
    })?;
    if id.key_prefix() != "001" {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "'{}' is not an Account id (Account ids start with 001)",
                shown(&raw_id)
            ),
            &trace_id,
        ));
    }
    let idempotency = idempotency_key(&headers, &trace_id)?;
    let store_key = idempotency.map(|k| format!("accounts-sync:{id}:{}:{k}", query.dry_run));
    if let Some(key) = &store_key {
        if let Some(stored) = gateway
            .store
            .idempotency_get(key)
            .await
            .map_err(|e| store_error(e, &trace_id))?
        {
            let mut response = (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                stored,
            )
                .into_response();
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            return Ok(response);
        }
    }
    let message = SyncAccountRequest {
        account_id: id.to_string(),
        options: Some(SyncOptions {
            dry_run: query.dry_run,
        }),
    };
    let result = gateway
        .customers
        .clone()
        .sync_account(grpc_request(&gateway, &trace, message))
        .await
        .map_err(|s| ApiError::from_status(&s, &trace_id))?
        .into_inner();
    let body = serde_json::to_vec(&SyncResultJson::from(result)).unwrap_or_default();
    if let Some(key) = &store_key {
        gateway
            .store
            .idempotency_put(key, &body, gateway.settings.idempotency_ttl)
            .await
            .map_err(|e| store_error(e, &trace_id))?;
    }
    Ok((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// An event from a NetSuite User Event script or RESTlet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetSuiteEvent {
    /// NetSuite record type; `customer` for now.
    pub record_type: String,
    /// Internal id of the record (string or number).
    #[schema(value_type = String)]
    pub id: serde_json::Value,
    /// `create`, `edit`, `xedit` or `delete` (the User Event script's `context.type`).
    pub event_type: String,
}

#[utoipa::path(post, path = "/v1/netsuite/events", request_body = NetSuiteEvent, params(SyncQuery),
    responses((status = 200, body = SyncResultJson), (status = 400, body = crate::ErrorBody),
              (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
              (status = 404, body = crate::ErrorBody), (status = 413, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn netsuite_event(
    State(gateway): State<Gateway>,
    Extension(trace): Extension<Trace>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<SyncResultJson>, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let query: SyncQuery = query_or_error(uri.query(), &trace_id)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the body is larger than {} bytes",
                    gateway.settings.max_body_bytes
                ),
                &trace_id,
            )
        } else {
            ApiError::new(ErrorCode::InvalidArgument, e.body_text(), &trace_id)
        }
    })?;
    let json_type = headers
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
    let event: NetSuiteEvent = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            format!("malformed event: {e}"),
            &trace_id,
        )
    })?;
    let id = match &event.id {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                "`id` must be a NetSuite internal id",
                &trace_id,
            ))
        }
    };
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "'{}' is not a NetSuite internal id (digits only)",
                shown(&id)
            ),
            &trace_id,
        ));
    }
    if event.record_type != "customer" {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!(
                "record type '{}' is not synced (supported: customer)",
                shown(&event.record_type)
            ),
            &trace_id,
        ));
    }
    let change = match event.event_type.as_str() {
        "create" => ChangeType::Create,
        "edit" | "xedit" => ChangeType::Edit,
        "delete" => ChangeType::Delete,
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "unknown event type '{}' (supported: create, edit, xedit, delete)",
                    shown(other)
                ),
                &trace_id,
            ))
        }
    };
    let message = SyncCustomerRequest {
        customer_id: id,
        options: Some(SyncOptions {
            dry_run: query.dry_run,
        }),
        change: change as i32,
    };
    let result = gateway
        .customers
        .clone()
        .sync_customer(grpc_request(&gateway, &trace, message))
        .await
        .map_err(|s| ApiError::from_status(&s, &trace_id))?
        .into_inner();
    Ok(Json(result.into()))
}

/// An ID-map entry, by the Salesforce Account id or the NetSuite customer internal id.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkJson {
    pub salesforce_id: String,
    pub netsuite_id: String,
    pub salesforce_hash: String,
    pub netsuite_hash: String,
    pub salesforce_modstamp: String,
    pub netsuite_modstamp: String,
    pub synced_at_ms: i64,
}

#[utoipa::path(get, path = "/v1/links/customers/{id}",
    params(("id" = String, Path, description = "Salesforce Account id or NetSuite customer internal id")),
    responses((status = 200, body = LinkJson), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_link(
    State(gateway): State<Gateway>,
    Extension(trace): Extension<Trace>,
    Path(raw_id): Path<String>,
) -> Result<Json<LinkJson>, ApiError> {
    let trace_id = trace.0.trace_id.clone();
    let key =
        if !raw_id.is_empty() && raw_id.len() <= 20 && raw_id.bytes().all(|b| b.is_ascii_digit()) {
            get_link_request::Key::NetsuiteId(raw_id)
        } else {
            let id = SalesforceId::parse(&raw_id).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "'{}' is neither a NetSuite internal id nor a Salesforce id: {e}",
                        shown(&raw_id)
                    ),
                    &trace_id,
                )
            })?;
            get_link_request::Key::SalesforceId(id.to_string())
        };
    let link = gateway
        .customers
        .clone()
        .get_link(grpc_request(
            &gateway,
            &trace,
            GetLinkRequest { key: Some(key) },
        ))
        .await
        .map_err(|s| ApiError::from_status(&s, &trace_id))?
        .into_inner();
    Ok(Json(LinkJson {
        salesforce_id: link.salesforce_id,
        netsuite_id: link.netsuite_id,
        salesforce_hash: link.salesforce_hash,
        netsuite_hash: link.netsuite_hash,
        salesforce_modstamp: link.salesforce_modstamp,
        netsuite_modstamp: link.netsuite_modstamp,
        synced_at_ms: link.synced_at_ms,
    }))
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
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(gateway.customers_channel.clone());
    let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
        service: "isthmus.customers.v1.CustomerSync".into(),
    });
    request.set_timeout(std::time::Duration::from_secs(2));
    let customers = match health.check(request).await {
        Ok(r)
            if r.get_ref().status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 =>
        {
            "ok".to_string()
        }
        Ok(r) => format!("not serving ({})", r.get_ref().status),
        Err(s) => format!("down: {}", s.message()),
    };
    let ready = store == "ok" && customers == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body =
        serde_json::json!({ "ready": ready, "checks": { "store": store, "customers": customers } });
    (status, Json(body)).into_response()
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

/// Caller input as it may appear in a message: at most 40 characters, escaped.
fn shown(raw: &str) -> String {
    raw.chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string()
}

/// The `Idempotency-Key` header, when present: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap, trace_id: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_string())).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            trace_id,
        )
    })
}

//! Tower layers of the gateway: trace context and API-key authentication.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use isthmus_proto::trace::{TraceContext, TRACEPARENT};
use isthmus_proto::ErrorCode;

use crate::keys::{Caller, Scope};
use crate::{scope_error, ApiError, Gateway};

/// The request's trace, continued from `traceparent` or new; set on the response too.
#[derive(Debug, Clone)]
pub struct Trace(pub TraceContext);

pub async fn trace(mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok());
    let context = TraceContext::from_header_or_new(header);
    let value = HeaderValue::from_str(&context.to_header()).ok();
    request.extensions_mut().insert(Trace(context));
    let mut response = next.run(request).await;
    if let Some(value) = value {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    response
}

/// The scope a path needs; `None` for open routes (health, readiness, the OpenAPI document).
fn required_scope(path: &str) -> Option<Option<Scope>> {
    if matches!(path, "/healthz" | "/readyz" | "/openapi.json" | "/metrics") {
        return None;
    }
    if path.starts_with("/v1/salesforce/") {
        Some(Some(Scope::Salesforce))
    } else if path.starts_with("/v1/netsuite/") {
        Some(Some(Scope::NetSuite))
    } else if path.starts_with("/v1/backfills")
        || path.starts_with("/v1/governance")
        || path.starts_with("/v1/dead-letters")
        || path.starts_with("/v1/queue")
        || path.starts_with("/v1/conflicts")
        || path.starts_with("/v1/audit")
        || path.starts_with("/v1/catalog")
        || path.starts_with("/v1/renewals")
        || path.starts_with("/v1/subsidiaries")
        || path.starts_with("/v1/reconcile")
        || path.starts_with("/v1/schedules")
    {
        Some(Some(Scope::Admin))
    } else {
        // Other /v1 routes (links) take any valid key.
        Some(None)
    }
}

pub async fn authenticate(
    State(gateway): State<Gateway>,
    mut request: Request,
    next: Next,
) -> Response {
    let trace_id = request
        .extensions()
        .get::<Trace>()
        .map(|t| t.0.trace_id.clone())
        .unwrap_or_default();
    let Some(scope) = required_scope(request.uri().path()) else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(presented) = presented.filter(|p| !p.is_empty()) else {
        return ApiError::new(
            ErrorCode::Unauthenticated,
            "missing `Authorization: Bearer <API key>`",
            &trace_id,
        )
        .into_response();
    };
    let Some(caller) = gateway.keys.caller(presented).cloned() else {
        return ApiError::new(ErrorCode::Unauthenticated, "unknown API key", &trace_id)
            .into_response();
    };
    if let Some(scope) = scope {
        if !caller.may(scope) {
            return scope_error(scope, &trace_id).into_response();
        }
    }
    request.extensions_mut().insert::<Caller>(caller);
    next.run(request).await
}

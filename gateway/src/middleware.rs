//! Tower layers of the gateway: trace context and authentication (API key; for NetSuite events
//! also their HMAC signature when the gateway has a signing secret).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use isthmus_proto::ErrorCode;
use isthmus_telemetry::{TraceContext, TRACEPARENT};

use crate::keys::{Caller, Scope};
use crate::signature::{EventSigning, SignatureHeaders};
use crate::{scope_error, ApiError, Gateway};

/// The route NetSuite's User Event script posts signed events to.
const NETSUITE_EVENTS: &str = "/v1/netsuite/events";

/// Runs the request in its trace (continued from `traceparent` or new): a server span, the
/// trace [`scope`](isthmus_telemetry::scope) every gRPC call below inherits, `traceparent` on
/// the answer, and the body of an error answer written with the trace id.
pub async fn trace(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let header = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // The request's server span: it continues the caller's trace, and its context is what the
    // services (and through them the vendors) receive, so one click is one trace.
    let span = tracing::info_span!(
        "gateway.request",
        otel.name = %format!("{} {route}", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(header) = &header {
        isthmus_telemetry::set_remote_parent(&span, header);
    }
    let context = isthmus_telemetry::span_traceparent(&span)
        .and_then(|own| TraceContext::parse(&own))
        .unwrap_or_else(|| TraceContext::from_header_or_new(header.as_deref()));
    let value = HeaderValue::from_str(&context.to_header()).ok();
    let trace_id = context.trace_id.clone();
    let response = isthmus_telemetry::scope(context, next.run(request))
        .instrument(span.clone())
        .await;
    // An error answer gets its body here, with the request's trace id.
    let mut response = match response.extensions().get::<ApiError>().cloned() {
        Some(error) => {
            let status = response.status();
            let mut rendered = error.render(&trace_id);
            *rendered.status_mut() = status;
            for (name, value) in response.headers() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    rendered.headers_mut().insert(name, value.clone());
                }
            }
            rendered
        }
        None => response,
    };
    span.record("http.response.status_code", response.status().as_u16());
    if let Some(value) = value {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    response
}

/// Refuses a body sent to an API route that takes none (`400`, before it is read): such a body
/// was read and ignored, up to the body limit. A route layer: it sees matched API routes only.
pub async fn refuse_bodies(request: Request, next: Next) -> Response {
    let takes_body = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| crate::routes::TAKES_BODY.contains(&route.as_str()));
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body && !takes_body {
        return ApiError::new(ErrorCode::InvalidArgument, "this route takes no body")
            .into_response();
    }
    next.run(request).await
}

/// The scope a request needs; `None` for open routes (health, readiness, the OpenAPI
/// document) and the console (which signs in with its own session, see `console`). A `GET` of
/// an admin route needs only `viewer`.
fn required_scope(method: &Method, path: &str) -> Option<Option<Scope>> {
    if matches!(path, "/healthz" | "/readyz" | "/openapi.json" | "/metrics")
        || path == "/console"
        || path.starts_with("/console/")
    {
        return None;
    }
    let admin = if method == Method::GET {
        Scope::Viewer
    } else {
        Scope::Admin
    };
    if path.starts_with("/v1/salesforce/") {
        Some(Some(Scope::Salesforce))
    } else if path.starts_with("/v1/netsuite/") {
        Some(Some(Scope::NetSuite))
    } else if path.starts_with("/v1/backfills")
        || path.starts_with("/v1/governance")
        || path.starts_with("/v1/doctor")
        || path.starts_with("/v1/dead-letters")
        || path.starts_with("/v1/queue")
        || path.starts_with("/v1/conflicts")
        || path.starts_with("/v1/audit")
        || path.starts_with("/v1/catalog")
        || path.starts_with("/v1/renewals")
        || path.starts_with("/v1/subsidiaries")
        || path.starts_with("/v1/reconcile")
        || path.starts_with("/v1/schedules")
        || path.starts_with("/v1/stats")
        || path.starts_with("/v1/erasures")
    {
        Some(Some(admin))
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
    let Some(scope) = required_scope(request.method(), request.uri().path()) else {
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
        )
        .into_response();
    };
    let Some(caller) = gateway.keys.caller(presented).cloned() else {
        return ApiError::new(ErrorCode::Unauthenticated, "unknown API key").into_response();
    };
    if let Some(scope) = scope {
        if !caller.may(scope) {
            return scope_error(scope).into_response();
        }
    }
    request.extensions_mut().insert::<Caller>(caller);
    if let Some(signing) = &gateway.netsuite_signing {
        let route = request.extensions().get::<MatchedPath>();
        if request.method() == Method::POST && route.is_some_and(|r| r.as_str() == NETSUITE_EVENTS)
        {
            request = match signed_event(&gateway, signing, request).await {
                Ok(request) => request,
                Err(refused) => return refused.into_response(),
            };
        }
    }
    next.run(request).await
}

/// A NetSuite event whose signature verifies and was not seen before, with its body read once
/// (within `gateway.max_body_bytes`) and put back for the route; else the refusal. Headers and
/// time are checked before the body is read; the store is touched only for a verified event.
async fn signed_event(
    gateway: &Gateway,
    signing: &EventSigning,
    request: Request,
) -> Result<Request, ApiError> {
    let refused = |reason: String| {
        tracing::warn!(%reason, "NetSuite event refused");
        ApiError::new(ErrorCode::Unauthenticated, reason)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let headers =
        SignatureHeaders::from_headers(request.headers()).map_err(|e| refused(e.to_string()))?;
    signing
        .check_time(&headers, now)
        .map_err(|e| refused(e.to_string()))?;

    let (parts, body) = request.into_parts();
    // Through `Bytes`, so the route's body limit (`DefaultBodyLimit`, in the extensions) holds.
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), &())
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the body is larger than this route accepts",
                )
            } else {
                ApiError::new(ErrorCode::InvalidArgument, e.body_text())
            }
        })?;
    // The target as sent: the path, and `?query` when there is one.
    let target = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let verified = signing
        .verify(&headers, parts.method.as_str(), &target, &body, now)
        .map_err(|e| refused(e.to_string()))?;
    let first = gateway
        .store
        .idempotency_put(&verified.replay_key, b"1", verified.remember_for)
        .await
        .map_err(|err| {
            tracing::error!(%err, "store unavailable");
            ApiError::new(ErrorCode::Unavailable, "the store is unavailable")
        })?;
    if !first {
        return Err(refused(
            "replayed event: this signature was already accepted".to_string(),
        ));
    }
    Ok(Request::from_parts(parts, Body::from(body)))
}

//! Cross-cutting behaviour of both simulated systems, one layer around every API route:
//!
//! 1. the call is counted under its `"METHOD /route-pattern"` key;
//! 2. the request is marked with the scheme it arrived on (`X-Forwarded-Proto`, as a
//!    TLS-terminating proxy would), so links and TBA base strings say `https` when served over TLS;
//! 3. it takes a place in the system's in-flight window ([`crate::governance`]), or is refused at
//!    once when the concurrency limit is reached (NetSuite: 429 for REST, 400
//!    `SSS_REQUEST_LIMIT_EXCEEDED` for RESTlets);
//! 4. an injected fault ([`crate::faults`]) may answer instead;
//! 5. the configured latency passes, still inside the window;
//! 6. the handler runs; a lost-answer fault lets it run and commit, then loses its answer (reset,
//!    hang past the client's deadline, or a proxy's 502/504).
//!
//! The unauthenticated `/__sandbox/` control endpoints live in [`endpoints`], and those that
//! create, change and read records as the vendor's own users do in [`records`]; none of them
//! passes through this layer.

mod endpoints;
mod records;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;

use crate::calls::{route_pattern, System};
use crate::faults::FaultKind;
use crate::transport::Connection;
use crate::{netsuite, Sandbox};

/// The header carrying the scheme a request arrived on.
const FORWARDED_PROTO: &str = "x-forwarded-proto";

/// Counts, governs, maybe faults, delays, then runs the call.
pub async fn govern(
    State((sandbox, system)): State<(Sandbox, System)>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let pattern = route_pattern(system, &path);
    sandbox.inner.calls.record_key(system, &method, &pattern);
    let connection = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|info| info.0.clone());
    if let Some(connection) = &connection {
        request.headers_mut().insert(
            FORWARDED_PROTO,
            HeaderValue::from_static(connection.scheme.as_str()),
        );
    }
    let governor = sandbox.governor(system);
    let Some(_slot) = governor.enter() else {
        return over_limit(&sandbox, system, &path);
    };
    let fault = sandbox.fault_set(system).decide(&method, &pattern);
    if let Some(fault) = &fault {
        governor.count_fault();
        if !fault.runs_the_call() {
            return inject(fault.clone(), system, connection.as_ref()).await;
        }
    }
    let latency = governor.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = next.run(request).await;
    match fault {
        Some(FaultKind::LostAnswer { status, hold_ms }) => {
            lose(answer, status, hold_ms, system, connection.as_ref()).await
        }
        _ => answer,
    }
}

/// The committed call's `answer` never reaches the client: a proxy's `status` instead, or the
/// connection closed (after `hold_ms`, when set). The body is read first, so a handler that
/// streams its answer has finished its work.
async fn lose(
    answer: Response,
    status: Option<u16>,
    hold_ms: Option<u64>,
    system: System,
    connection: Option<&Connection>,
) -> Response {
    let _ = axum::body::to_bytes(answer.into_body(), usize::MAX).await;
    if let Some(status) = status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        return proxy_error(status, system);
    }
    if let Some(hold_ms) = hold_ms {
        tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    }
    drop_connection(connection)
}

/// What a load balancer in front of the vendor answers when the call behind it went quiet: an
/// HTML page, not the vendor's JSON error.
fn proxy_error(status: StatusCode, system: System) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let server = match system {
        System::Salesforce => "Salesforce",
        System::NetSuite => "NetSuite",
    };
    let page = format!(
        "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1>\
         <p>The {server} edge did not get an answer in time.</p></body></html>",
        code = status.as_u16()
    );
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn over_limit(sandbox: &Sandbox, system: System, path: &str) -> Response {
    match system {
        System::NetSuite => netsuite::over_limit(&sandbox.config().netsuite_over_limit, path),
        // Salesforce runs without a concurrency limit here, so this answer is never reached.
        System::Salesforce => salesforce_error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        ),
    }
}

async fn inject(fault: FaultKind, system: System, connection: Option<&Connection>) -> Response {
    match fault {
        FaultKind::Error { status, body } => {
            let status = status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            match (body, system) {
                (Some(body), _) => (status, Json(body)).into_response(),
                (None, System::NetSuite) => netsuite::fault_response(status),
                (None, System::Salesforce) => salesforce_fault(status),
            }
        }
        FaultKind::Timeout { hold_ms } => {
            tokio::time::sleep(Duration::from_millis(hold_ms)).await;
            drop_connection(connection)
        }
        FaultKind::DropConnection | FaultKind::LostAnswer { .. } => drop_connection(connection),
    }
}

/// Severs the connection so no answer is written. Served by something other than
/// [`crate::serve`], the request has no [`Connection`]; then the answer's body fails at once,
/// which makes hyper abort the connection.
fn drop_connection(connection: Option<&Connection>) -> Response {
    if let Some(connection) = connection {
        connection.sever();
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let failing = futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the sandbox",
        ))
    });
    Response::new(Body::from_stream(failing))
}

fn salesforce_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!([{ "message": message, "errorCode": code }])),
    )
        .into_response()
}

/// Salesforce's body for a server-side failure.
fn salesforce_fault(status: StatusCode) -> Response {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => salesforce_error(
            status,
            "SERVER_UNAVAILABLE",
            "The server is unavailable to handle the request. Please try again later.",
        ),
        _ => salesforce_error(
            status,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
        ),
    }
}

/// Wraps `api` in the governing layer and adds the control endpoints, outside it.
pub fn with_control(api: Router, sandbox: &Sandbox, system: System) -> Router {
    let api = api.layer(axum::middleware::from_fn_with_state(
        (sandbox.clone(), system),
        govern,
    ));
    api.merge(endpoints::router(sandbox, system))
        .merge(records::router(sandbox))
}

/// The scheme a request arrived on: `https` when served over TLS.
pub fn scheme(headers: &HeaderMap) -> &'static str {
    match headers.get(FORWARDED_PROTO).and_then(|h| h.to_str().ok()) {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// `{scheme}://{Host}`: the base URL a client reached us on.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", scheme(headers))
}

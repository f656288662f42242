//! Cross-cutting behaviour of both simulated systems: the call-counting and latency layer applied to
//! every API route, and the unauthenticated `/__sandbox/` control endpoints (`GET /__sandbox/calls`,
//! `POST /__sandbox/calls/reset`). Fault injection will join these endpoints later.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::calls::System;
use crate::Sandbox;

/// Counts the call, then waits the configured latency, then runs it.
pub async fn count_and_delay(
    State((sandbox, system)): State<(Sandbox, System)>,
    request: Request,
    next: Next,
) -> Response {
    sandbox
        .inner
        .calls
        .record(system, request.method().as_str(), request.uri().path());
    let latency = sandbox.config().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}

/// Wraps `api` in the counting layer and adds the control endpoints.
pub fn with_control(api: Router, sandbox: &Sandbox, system: System) -> Router {
    let api = api.layer(axum::middleware::from_fn_with_state(
        (sandbox.clone(), system),
        count_and_delay,
    ));
    let control = Router::new()
        .route("/__sandbox/calls", get(calls))
        .route("/__sandbox/calls/reset", post(reset_calls))
        .with_state(sandbox.clone());
    api.merge(control)
}

async fn calls(State(sandbox): State<Sandbox>) -> impl IntoResponse {
    Json(sandbox.calls())
}

async fn reset_calls(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.reset_calls();
    StatusCode::NO_CONTENT
}

/// `http://{Host}`: the base URL a client reached us on (the sandbox serves plain HTTP).
pub fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

//! `Retry-After` on a `503 SALESFORCE_ALLOCATION_EXHAUSTED`: a click that met a spent
//! Salesforce allocation wrote nothing and may be sent again once the allocation allows. The
//! wait is the time until held work next tries Salesforce (the hold the workers publish, see
//! `isthmus_engine::governance::AllocationHold`), else the configured hold pause
//! (`queue.hold_pause_ms`). It reads the store only on such an answer.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use isthmus_engine::governance::current_hold;
use isthmus_proto::ErrorCode;

use crate::{ApiError, Gateway};

/// Adds `Retry-After` (seconds) to an answer whose error is `SALESFORCE_ALLOCATION_EXHAUSTED`.
pub async fn allocation_retry_after(
    State(gateway): State<Gateway>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let exhausted = response
        .extensions()
        .get::<ApiError>()
        .is_some_and(|e| e.code == ErrorCode::SalesforceAllocationExhausted);
    if !exhausted || response.headers().contains_key(http::header::RETRY_AFTER) {
        return response;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    let wait = match current_hold(gateway.store.as_ref()).await {
        Ok(Some(hold)) => Duration::from_secs(hold.retry_after_secs(now_ms)),
        _ => gateway.settings.limits.allocation_retry_after,
    };
    with_retry_after(response, wait)
}

fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = http::HeaderValue::from_str(&seconds.max(1).to_string()) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

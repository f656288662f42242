//! NetSuite's answers when governance or an injected fault stops a call.
//!
//! Over the account's concurrency limit, RESTlets answer 400 with the SuiteScript error
//! `SSS_REQUEST_LIMIT_EXCEEDED` (documented). For REST web services the docs say only "Too Many
//! Requests": the status 429, the `o:errorCode` and the `Retry-After` header are *unconfirmed*, so
//! they are configurable ([`OverLimitAnswer`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::restlets::{restlet_error, RESTLET_PATH};

/// How REST web services refuse a call over the concurrency limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimitAnswer {
    /// The `o:errorCode` of the 429 body. Default `CONCURRENCY_LIMIT_EXCEEDED`.
    pub error_code: String,
    /// `Retry-After` seconds, or `None` to send no such header. Default `Some(1)`.
    pub retry_after_seconds: Option<u64>,
}

impl Default for OverLimitAnswer {
    fn default() -> Self {
        Self {
            error_code: "CONCURRENCY_LIMIT_EXCEEDED".to_owned(),
            retry_after_seconds: Some(1),
        }
    }
}

const OVER_LIMIT_DETAIL: &str = "The request could not be processed because the concurrency limit for the account was exceeded. Try again later.";

/// The answer to a call over the concurrency limit.
pub fn over_limit(answer: &OverLimitAnswer, path: &str) -> Response {
    if path == RESTLET_PATH {
        return restlet_error(
            StatusCode::BAD_REQUEST,
            "SSS_REQUEST_LIMIT_EXCEEDED",
            "The request could not be processed because the account concurrency limit was exceeded.",
        );
    }
    let mut body = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "", OVER_LIMIT_DETAIL).body();
    body["o:errorDetails"][0]["o:errorCode"] = json!(answer.error_code);
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    if let Some(seconds) = answer.retry_after_seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// An injected failure with NetSuite's error body (codes for 5xx answers are *unconfirmed*).
pub fn fault_response(status: StatusCode) -> Response {
    let code = match status {
        StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE",
        StatusCode::TOO_MANY_REQUESTS => "CONCURRENCY_LIMIT_EXCEEDED",
        s if s.is_server_error() => "UNEXPECTED_ERROR",
        _ => "USER_ERROR",
    };
    let detail = match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            "The service is temporarily unavailable. Try again later.".to_owned()
        }
        _ => format!(
            "An unexpected error occurred ({}).",
            status.canonical_reason().unwrap_or("error")
        ),
    };
    ApiError::new(status, code, detail).into_response()
}

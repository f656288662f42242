//! The gateway's JSON error: `{code, message, trace_id}` with the HTTP status of its
//! [`ErrorCode`], the same code a gRPC caller of the service would see.
//!
//! Handlers and extractors return an [`ApiError`] without knowing the request's trace: its
//! response carries the error in its extensions with an empty body, and the trace middleware
//! (the outermost layer) writes the body with the request's trace id ([`ApiError::render`]).

use axum::response::{IntoResponse, Response};
use axum::Json;
use isthmus_proto::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code: INVALID_ARGUMENT, PAYLOAD_TOO_LARGE, UNAUTHENTICATED, PERMISSION_DENIED,
    /// NOT_FOUND, UNPROCESSABLE, LOCKED, RATE_LIMITED, UPSTREAM_ERROR, UPSTREAM_UNAVAILABLE,
    /// INTERNAL, UNAVAILABLE, METHOD_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE, REQUEST_TIMEOUT,
    /// URI_TOO_LONG, HEADERS_TOO_LARGE, SALESFORCE_ALLOCATION_EXHAUSTED (503 with `Retry-After`),
    /// LEGAL_HOLD (409: an erasure refused by a configured legal hold).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// W3C trace id of the request.
    pub trace_id: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A service's gRPC status as the same stable code.
    pub fn from_status(status: &tonic::Status) -> Self {
        let code = match status.code() {
            tonic::Code::DeadlineExceeded => ErrorCode::UpstreamUnavailable,
            _ => ErrorCode::from_status(status),
        };
        let message = match status.code() {
            tonic::Code::DeadlineExceeded => {
                "the sync did not finish within the deadline".to_string()
            }
            tonic::Code::Unavailable
                if status
                    .metadata()
                    .get(isthmus_proto::error::ERROR_CODE_METADATA)
                    .is_none() =>
            {
                "the service is unreachable".to_string()
            }
            _ => status.message().to_string(),
        };
        Self::new(code, message)
    }

    /// The error's answer for the request of `trace_id`.
    pub fn render(self, trace_id: &str) -> Response {
        let body = ErrorBody {
            code: self.code.as_str(),
            message: self.message,
            trace_id: trace_id.to_string(),
        };
        (self.code.http_status(), Json(body)).into_response()
    }
}

/// The status now; the body once the trace middleware knows the trace id (see the module doc).
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.code.http_status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

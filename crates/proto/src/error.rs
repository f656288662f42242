//! One error-code enum mapped to both `tonic::Code` and HTTP status, so the gateway and the gRPC
//! services agree on what went wrong. Codes are stable strings: clients may match on them.

use serde::Serialize;

/// Metadata key that carries the stable code on a gRPC error.
pub const ERROR_CODE_METADATA: &str = "isthmus-error-code";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A path or body field is malformed (bad id, bad JSON, wrong type).
    InvalidArgument,
    /// The body is larger than the route accepts.
    PayloadTooLarge,
    /// No or unknown credentials.
    Unauthenticated,
    /// Valid credentials without the scope the route needs.
    PermissionDenied,
    /// The record does not exist on the source side (or the link does not exist).
    NotFound,
    /// The record cannot be synced as it stands (a required value is missing or rejected).
    Unprocessable,
    /// Another sync of the same record holds the lock.
    Locked,
    /// Too many requests, or an upstream limit was reached.
    RateLimited,
    /// Salesforce or NetSuite answered with an error we could not recover from.
    UpstreamError,
    /// Salesforce or NetSuite did not answer in time, or could not be reached.
    UpstreamUnavailable,
    /// Something in Isthmus failed (Redis unreachable, a bug).
    Internal,
    /// Isthmus is not ready (starting or a dependency is down), or sheds load.
    Unavailable,
    /// The route exists but not with this HTTP method.
    MethodNotAllowed,
    /// The body is not of the media type the route takes (`application/json`).
    UnsupportedMediaType,
    /// The request (its headers or body) did not arrive within the server's timeout.
    RequestTimeout,
    /// The request's URI is longer than the server accepts.
    UriTooLong,
    /// The request's headers are larger than the server accepts.
    HeadersTooLarge,
    /// Salesforce's daily API allocation is spent (`REQUEST_LIMIT_EXCEEDED`): nothing was
    /// written; the same request succeeds once the allocation allows again (a wait, not a
    /// failure: HTTP 503 with `Retry-After`).
    SalesforceAllocationExhausted,
    /// An erasure of a person under a configured legal hold: refused, nothing changed.
    LegalHold,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        Self::InvalidArgument,
        Self::PayloadTooLarge,
        Self::Unauthenticated,
        Self::PermissionDenied,
        Self::NotFound,
        Self::Unprocessable,
        Self::Locked,
        Self::RateLimited,
        Self::UpstreamError,
        Self::UpstreamUnavailable,
        Self::Internal,
        Self::Unavailable,
        Self::MethodNotAllowed,
        Self::UnsupportedMediaType,
        Self::RequestTimeout,
        Self::UriTooLong,
        Self::HeadersTooLarge,
        Self::SalesforceAllocationExhausted,
        Self::LegalHold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::Unprocessable => "UNPROCESSABLE",
            Self::Locked => "LOCKED",
            Self::RateLimited => "RATE_LIMITED",
            Self::UpstreamError => "UPSTREAM_ERROR",
            Self::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::Unavailable => "UNAVAILABLE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::UriTooLong => "URI_TOO_LONG",
            Self::HeadersTooLarge => "HEADERS_TOO_LARGE",
            Self::SalesforceAllocationExhausted => "SALESFORCE_ALLOCATION_EXHAUSTED",
            Self::LegalHold => "LEGAL_HOLD",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::InvalidArgument => Code::InvalidArgument,
            Self::PayloadTooLarge => Code::ResourceExhausted,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::PermissionDenied => Code::PermissionDenied,
            Self::NotFound => Code::NotFound,
            Self::Unprocessable => Code::FailedPrecondition,
            Self::Locked => Code::Aborted,
            Self::RateLimited => Code::ResourceExhausted,
            Self::UpstreamError => Code::Unknown,
            Self::UpstreamUnavailable => Code::Unavailable,
            Self::Internal => Code::Internal,
            Self::Unavailable => Code::Unavailable,
            Self::MethodNotAllowed => Code::Unimplemented,
            Self::UnsupportedMediaType | Self::UriTooLong | Self::HeadersTooLarge => {
                Code::InvalidArgument
            }
            Self::RequestTimeout => Code::DeadlineExceeded,
            Self::SalesforceAllocationExhausted => Code::ResourceExhausted,
            Self::LegalHold => Code::FailedPrecondition,
        }
    }

    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::InvalidArgument => S::BAD_REQUEST,
            Self::PayloadTooLarge => S::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated => S::UNAUTHORIZED,
            Self::PermissionDenied => S::FORBIDDEN,
            Self::NotFound => S::NOT_FOUND,
            Self::Unprocessable => S::UNPROCESSABLE_ENTITY,
            Self::Locked => S::CONFLICT,
            Self::RateLimited => S::TOO_MANY_REQUESTS,
            Self::UpstreamError => S::BAD_GATEWAY,
            Self::UpstreamUnavailable => S::GATEWAY_TIMEOUT,
            Self::Internal => S::INTERNAL_SERVER_ERROR,
            Self::Unavailable => S::SERVICE_UNAVAILABLE,
            Self::MethodNotAllowed => S::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => S::REQUEST_TIMEOUT,
            Self::UriTooLong => S::URI_TOO_LONG,
            Self::HeadersTooLarge => S::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::SalesforceAllocationExhausted => S::SERVICE_UNAVAILABLE,
            Self::LegalHold => S::CONFLICT,
        }
    }

    /// A gRPC status carrying this code in metadata and `message` as its text.
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        let mut status = tonic::Status::new(self.grpc_code(), message);
        status.metadata_mut().insert(
            ERROR_CODE_METADATA,
            tonic::metadata::MetadataValue::from_static(self.as_str()),
        );
        status
    }

    /// The stable code of a gRPC status: from metadata when an Isthmus service set it, otherwise
    /// derived from the gRPC code (a status from the transport itself).
    pub fn from_status(status: &tonic::Status) -> Self {
        if let Some(code) = status
            .metadata()
            .get(ERROR_CODE_METADATA)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
        {
            return code;
        }
        use tonic::Code;
        match status.code() {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument,
            Code::NotFound => Self::NotFound,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::PermissionDenied => Self::PermissionDenied,
            Code::FailedPrecondition => Self::Unprocessable,
            Code::Aborted | Code::AlreadyExists => Self::Locked,
            Code::ResourceExhausted => Self::RateLimited,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// The message for a caller's value that is not what it should be: `'<value>' is not <what>:
/// <why>`, with the value shown as it may safely appear in a message (at most 40 characters,
/// escaped). The one way every edge shows bad input.
pub fn rejected(raw: &str, what: &str, why: impl std::fmt::Display) -> String {
    format!("'{}' is not {what}: {why}", shown(raw))
}

/// A caller's value as it may appear in a message: at most 40 characters, escaped.
pub fn shown(raw: &str) -> String {
    raw.chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string()
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_survives_a_trip_through_grpc_status() {
        for code in ErrorCode::ALL {
            let status = code.status("x");
            assert_eq!(ErrorCode::from_status(&status), code);
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn a_spent_salesforce_allocation_is_a_wait_on_both_wires() {
        let code = ErrorCode::SalesforceAllocationExhausted;
        assert_eq!(code.http_status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code.grpc_code(), tonic::Code::ResourceExhausted);
        assert_eq!(code.as_str(), "SALESFORCE_ALLOCATION_EXHAUSTED");
    }
}

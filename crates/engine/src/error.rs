//! The engine's one error type, and how each case maps to the shared [`ErrorCode`]. A spent
//! Salesforce allocation (`REQUEST_LIMIT_EXCEEDED`) is its own code,
//! `SALESFORCE_ALLOCATION_EXHAUSTED`: neither retryable now nor permanent, but a wait.

use isthmus_netsuite::NetSuiteError;
use isthmus_proto::ErrorCode;
use isthmus_salesforce::{ErrorClass, SalesforceError};
use isthmus_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("another sync of {0} is in progress; try again shortly")]
    Locked(String),
    /// A configured legal hold refuses an erasure (the message names only ids).
    #[error("{0}")]
    LegalHold(String),
    #[error("Salesforce: {0}")]
    Salesforce(#[from] SalesforceError),
    #[error("NetSuite: {0}")]
    NetSuite(#[from] NetSuiteError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Another Isthmus service answered with an error (its stable code kept).
    #[error("{message}")]
    Service { code: ErrorCode, message: String },
}

impl EngineError {
    /// Whether trying again later may succeed: an upstream that is unavailable or limiting, a
    /// record another sync holds, the store unreachable. A rejected or missing record is
    /// permanent.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::Locked
                | ErrorCode::RateLimited
                | ErrorCode::UpstreamUnavailable
                | ErrorCode::Unavailable
        )
    }

    /// Whether Salesforce's daily API allocation is spent (here or in a service this one
    /// called): not a failure of the work but a wait. Queued work holds (see
    /// `work::worker`), a click answers 503 with `Retry-After`.
    pub fn is_allocation_exhausted(&self) -> bool {
        self.code() == ErrorCode::SalesforceAllocationExhausted
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Unprocessable(_) => ErrorCode::Unprocessable,
            Self::Locked(_) => ErrorCode::Locked,
            Self::LegalHold(_) => ErrorCode::LegalHold,
            Self::Salesforce(e) if e.class() == ErrorClass::Limit => {
                ErrorCode::SalesforceAllocationExhausted
            }
            Self::Salesforce(e) => upstream_code(e.status(), e.is_retryable()),
            Self::NetSuite(e) => upstream_code(e.status(), e.is_retryable()),
            Self::Store(StoreError::StaleFence { .. }) => ErrorCode::Locked,
            Self::Store(_) => ErrorCode::Unavailable,
            Self::Service { code, .. } => *code,
        }
    }
}

/// A vendor's rejection of our write (4xx) means the record cannot be synced as it stands; a
/// limit is a rate limit; anything retryable (5xx, timeouts) is the vendor being unavailable.
fn upstream_code(status: Option<u16>, retryable: bool) -> ErrorCode {
    match status {
        Some(429) => ErrorCode::RateLimited,
        Some(400 | 404 | 409 | 422) => ErrorCode::Unprocessable,
        _ if retryable => ErrorCode::UpstreamUnavailable,
        _ => ErrorCode::UpstreamError,
    }
}

impl From<EngineError> for tonic::Status {
    fn from(err: EngineError) -> Self {
        err.code().status(err.to_string())
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

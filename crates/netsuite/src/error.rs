//! The crate's one error type. NetSuite error bodies
//! (`{"type","title","status","o:errorDetails":[{"detail","o:errorCode","o:errorPath"}]}`) are reduced
//! to their first detail; HTTP errors carry no URL and no credentials (those live in headers only).
//!
//! [`NetSuiteError::class`] sorts every error into an [`ErrorClass`], which is what callers decide
//! on: retry now (`Retryable`), back off for the account's concurrency limit (`Limit`), fix the
//! credentials (`Auth`) or give up on this input (`Permanent`).

use std::time::Duration;

use serde::Deserialize;

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// A transient failure (connection, timeout, 5xx): the same call may succeed soon.
    Retryable,
    /// Bad input or a state the call cannot change (validation, missing record, permission).
    Permanent,
    /// The credentials or the token were refused.
    Auth,
    /// The account's concurrency limit: retry after a backoff.
    Limit,
}

/// `o:errorCode`s NetSuite uses when the account's concurrency limit is reached.
pub(crate) const CONCURRENCY_CODES: [&str; 2] =
    ["CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"];

#[derive(Debug, thiserror::Error)]
pub enum NetSuiteError {
    /// NetSuite answered with an error status.
    #[error("NetSuite API error {status} {code}: {detail}{}", path_suffix(.path))]
    Api {
        status: u16,
        code: String,
        detail: String,
        path: Option<String>,
        /// The `Retry-After` header of the answer, when it had one.
        retry_after: Option<Duration>,
    },
    /// The OAuth 2.0 token endpoint refused the client assertion (`invalid_client`, …).
    #[error("NetSuite token request refused: {error}: {description}")]
    Auth { error: String, description: String },
    /// The concurrency gate could not hand out a slot (its backend failed).
    #[error("NetSuite concurrency gate failed: {0}")]
    Gate(String),
    /// An asynchronous job finished without success (or did not finish in time); `code` is the
    /// failed request's `o:errorCode`, empty when there was none.
    #[error("NetSuite async job {job_id} failed: {detail}{}", code_suffix(.code))]
    Job {
        job_id: String,
        code: String,
        detail: String,
    },
    /// An async request reused an idempotency key (400 `IDEMPOTENCY_ERROR`): nothing new ran;
    /// `job_id` is the job the key submitted first.
    #[error("NetSuite refused a repeated idempotency key (IDEMPOTENCY_ERROR): it submitted job {job_id}")]
    IdempotencyKeyUsed { job_id: String },
    /// The request did not complete (connect, timeout, TLS, body read).
    #[error("HTTP request to NetSuite failed: {0}")]
    Http(#[source] reqwest::Error),
    /// A response did not have the expected shape.
    #[error("unexpected response from NetSuite: {0}")]
    Decode(String),
    /// The client cannot be built from its configuration.
    #[error("invalid NetSuite configuration: {0}")]
    Config(String),
    /// An external id outside `[A-Za-z0-9_-]+`; found before any request is sent.
    #[error("invalid NetSuite external id {0:?}: only letters, digits, '_' and '-' are allowed")]
    InvalidExternalId(String),
}

fn code_suffix(code: &str) -> String {
    match code {
        "" => String::new(),
        code => format!(" ({code})"),
    }
}

fn path_suffix(path: &Option<String>) -> String {
    path.as_ref()
        .map(|p| format!(" (at {p})"))
        .unwrap_or_default()
}

/// The token endpoint's refusal: `{"error":"invalid_client","error_description":…}`.
#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// A RESTlet's SuiteScript error: `{"error":{"code","message"}}`.
#[derive(Deserialize)]
struct ScriptErrorBody {
    error: ScriptError,
}

#[derive(Deserialize)]
struct ScriptError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    title: String,
    #[serde(rename = "o:errorDetails", default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    detail: String,
    #[serde(rename = "o:errorCode", default)]
    code: String,
    #[serde(rename = "o:errorPath")]
    path: Option<String>,
}

impl From<reqwest::Error> for NetSuiteError {
    fn from(err: reqwest::Error) -> Self {
        Self::Http(err.without_url())
    }
}

/// A private key that cannot be loaded, or a signature that cannot be made, is a configuration
/// error (the message never quotes the key).
impl From<isthmus_jwt::JwtError> for NetSuiteError {
    fn from(err: isthmus_jwt::JwtError) -> Self {
        Self::Config(err.to_string())
    }
}

impl NetSuiteError {
    /// Builds an [`NetSuiteError::Api`] from a status and a raw body: the REST web services shape
    /// (`o:errorDetails`) or a RESTlet's SuiteScript error (`{"error":{"code","message"}}`). Any
    /// other body (a proxy's HTML page, say) keeps its title or its start as the detail.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        if let Ok(refused) = serde_json::from_slice::<OAuthErrorBody>(body) {
            return Self::Auth {
                error: refused.error,
                description: refused.error_description,
            };
        }
        if let Ok(ScriptErrorBody { error }) = serde_json::from_slice(body) {
            return Self::Api {
                status,
                code: error.code,
                detail: error.message,
                path: None,
                retry_after: None,
            };
        }
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { title, details }) => match details.into_iter().next() {
                Some(first) => Self::Api {
                    status,
                    code: first.code,
                    detail: first.detail,
                    path: first.path,
                    retry_after: None,
                },
                None => Self::Api {
                    status,
                    code: String::new(),
                    detail: title,
                    path: None,
                    retry_after: None,
                },
            },
            Err(_) => Self::Api {
                status,
                code: String::new(),
                detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                path: None,
                retry_after: None,
            },
        }
    }

    /// The HTTP status NetSuite answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::IdempotencyKeyUsed { .. } => Some(400),
            Self::Http(err) => err.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The `o:errorCode` of an API error or a failed job (`NONEXISTENT_ID`, `USER_ERROR`, …),
    /// `IDEMPOTENCY_ERROR` for a repeated idempotency key, or the OAuth `error` of a refused token
    /// request.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } | Self::Job { code, .. } if !code.is_empty() => Some(code),
            Self::IdempotencyKeyUsed { .. } => Some("IDEMPOTENCY_ERROR"),
            Self::Auth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The record does not exist (404, `NONEXISTENT_ID`).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404) || self.error_code() == Some("NONEXISTENT_ID")
    }

    /// The `Retry-After` the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The account's concurrency limit refused the call: 429, `CONCURRENCY_LIMIT_EXCEEDED` (REST)
    /// or `SSS_REQUEST_LIMIT_EXCEEDED` (RESTlets).
    ///
    /// An over-limit call has also been seen to fail as `INVALID_LOGIN` after a long wait; that is
    /// not counted here, since a real credential problem would then be retried forever. The client
    /// retries it only when its retry policy says the case is plausible (see
    /// [`crate::ConcurrencyRetry::invalid_login_after`]).
    pub fn is_concurrency_limit(&self) -> bool {
        self.status() == Some(429)
            || self
                .error_code()
                .is_some_and(|code| CONCURRENCY_CODES.contains(&code))
    }

    /// What a caller should do about this error (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Http(err) => {
                if err.is_timeout() || err.is_connect() || err.is_request() || err.is_body() {
                    ErrorClass::Retryable
                } else {
                    ErrorClass::Permanent
                }
            }
            Self::Api { status, .. } => {
                if self.is_concurrency_limit() {
                    ErrorClass::Limit
                } else if *status == 401 || self.error_code() == Some("INVALID_LOGIN") {
                    ErrorClass::Auth
                } else if *status >= 500 {
                    ErrorClass::Retryable
                } else {
                    ErrorClass::Permanent
                }
            }
            Self::Auth { .. } => ErrorClass::Auth,
            Self::Gate(_) => ErrorClass::Retryable,
            Self::Job { .. }
            | Self::IdempotencyKeyUsed { .. }
            | Self::Decode(_)
            | Self::Config(_)
            | Self::InvalidExternalId(_) => ErrorClass::Permanent,
        }
    }

    /// Trying again later may succeed: the [`ErrorClass::Retryable`] and [`ErrorClass::Limit`]
    /// classes (the concurrency limit frees up within seconds).
    pub fn is_retryable(&self) -> bool {
        matches!(self.class(), ErrorClass::Retryable | ErrorClass::Limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_first_error_detail() {
        let body = br#"{"type":"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5","title":"Not Found","status":404,"o:errorDetails":[{"detail":"The record instance does not exist. Provide a valid record instance ID.","o:errorCode":"NONEXISTENT_ID"}]}"#;
        let err = NetSuiteError::from_response(404, body);
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.error_code(), Some("NONEXISTENT_ID"));
        assert!(err.is_not_found());
        assert!(!err.is_retryable());
    }

    #[test]
    fn keeps_the_error_path() {
        let body = br#"{"title":"Bad Request","status":400,"o:errorDetails":[{"detail":"Invalid field value","o:errorCode":"USER_ERROR","o:errorPath":"subsidiary"}]}"#;
        let err = NetSuiteError::from_response(400, body);
        let NetSuiteError::Api { path, .. } = &err else {
            panic!("expected an API error, got {err:?}");
        };
        assert_eq!(path.as_deref(), Some("subsidiary"));
        assert_eq!(
            err.to_string(),
            "NetSuite API error 400 USER_ERROR: Invalid field value (at subsidiary)"
        );
    }

    #[test]
    fn tolerates_bodies_without_details() {
        let err =
            NetSuiteError::from_response(429, br#"{"title":"Too Many Requests","status":429}"#);
        assert_eq!(err.error_code(), None);
        assert!(err.to_string().contains("Too Many Requests"));
        assert!(err.is_retryable());

        let err = NetSuiteError::from_response(503, b"<html>Service Unavailable</html>");
        assert!(err.to_string().contains("Service Unavailable"));
        assert!(err.is_retryable());
    }

    #[test]
    fn concurrency_limit_is_retryable_but_bad_login_is_not() {
        let limit = br#"{"status":400,"o:errorDetails":[{"detail":"limit","o:errorCode":"SSS_REQUEST_LIMIT_EXCEEDED"}]}"#;
        assert!(NetSuiteError::from_response(400, limit).is_retryable());
        let login = br#"{"status":401,"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}"#;
        assert!(!NetSuiteError::from_response(401, login).is_retryable());
    }

    #[test]
    fn token_endpoint_refusals_are_auth_errors() {
        let err = NetSuiteError::from_response(400, br#"{"error":"invalid_client"}"#);
        assert!(matches!(&err, NetSuiteError::Auth { error, .. } if error == "invalid_client"));
        assert_eq!(err.class(), ErrorClass::Auth);
    }

    #[test]
    fn restlet_script_errors_are_parsed() {
        let body = br#"{"error":{"code":"SSS_REQUEST_LIMIT_EXCEEDED","message":"limit exceeded"}}"#;
        let err = NetSuiteError::from_response(400, body);
        assert_eq!(err.error_code(), Some("SSS_REQUEST_LIMIT_EXCEEDED"));
        assert_eq!(err.class(), ErrorClass::Limit);
        assert!(err.to_string().contains("limit exceeded"), "{err}");
    }

    #[test]
    fn classes_follow_status_and_code() {
        let class = |status, body: &[u8]| NetSuiteError::from_response(status, body).class();
        let detail = |code: &str| {
            format!(
                r#"{{"status":400,"o:errorDetails":[{{"detail":"d","o:errorCode":"{code}"}}]}}"#
            )
        };
        assert_eq!(class(429, b"{}"), ErrorClass::Limit);
        assert_eq!(
            class(400, detail("SSS_REQUEST_LIMIT_EXCEEDED").as_bytes()),
            ErrorClass::Limit
        );
        assert_eq!(
            class(400, detail("CONCURRENCY_LIMIT_EXCEEDED").as_bytes()),
            ErrorClass::Limit
        );
        assert_eq!(
            class(401, detail("INVALID_LOGIN").as_bytes()),
            ErrorClass::Auth
        );
        assert_eq!(
            class(400, detail("USER_ERROR").as_bytes()),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(404, detail("NONEXISTENT_ID").as_bytes()),
            ErrorClass::Permanent
        );
        assert_eq!(class(503, b"down"), ErrorClass::Retryable);
        assert_eq!(
            NetSuiteError::Gate("redis".into()).class(),
            ErrorClass::Retryable
        );
        let refused = NetSuiteError::Auth {
            error: "invalid_client".into(),
            description: "bad assertion".into(),
        };
        assert_eq!(refused.class(), ErrorClass::Auth);
        assert!(!refused.is_retryable());
    }
}

//! The crate's one error type. NetSuite error bodies
//! (`{"type","title","status","o:errorDetails":[{"detail","o:errorCode","o:errorPath"}]}`) are reduced
//! to their first detail; HTTP errors carry no URL and no credentials (those live in headers only).

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum NetSuiteError {
    /// NetSuite answered with an error status.
    #[error("NetSuite API error {status} {code}: {detail}{}", path_suffix(.path))]
    Api {
        status: u16,
        code: String,
        detail: String,
        path: Option<String>,
    },
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

fn path_suffix(path: &Option<String>) -> String {
    path.as_ref()
        .map(|p| format!(" (at {p})"))
        .unwrap_or_default()
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

impl NetSuiteError {
    /// Builds an [`NetSuiteError::Api`] from a status and a raw body. A body without
    /// `o:errorDetails` (a proxy's HTML page, say) keeps its title or its start as the detail.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { title, details }) => match details.into_iter().next() {
                Some(first) => Self::Api {
                    status,
                    code: first.code,
                    detail: first.detail,
                    path: first.path,
                },
                None => Self::Api {
                    status,
                    code: String::new(),
                    detail: title,
                    path: None,
                },
            },
            Err(_) => Self::Api {
                status,
                code: String::new(),
                detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                path: None,
            },
        }
    }

    /// The HTTP status NetSuite answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Http(err) => err.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The `o:errorCode` of an API error (`NONEXISTENT_ID`, `USER_ERROR`, …).
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// The record does not exist (404, `NONEXISTENT_ID`).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404) || self.error_code() == Some("NONEXISTENT_ID")
    }

    /// Trying again later may succeed: connection failures and timeouts, 429, 5xx, and the
    /// concurrency limit (`SSS_REQUEST_LIMIT_EXCEEDED`, `CONCURRENCY_LIMIT_EXCEEDED`).
    ///
    /// An over-limit call has been seen to fail as `INVALID_LOGIN` after a long wait; that is not
    /// retryable here, since a real credential problem would then be retried forever. A caller that
    /// knows it is near the concurrency limit can decide otherwise.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http(err) => {
                err.is_timeout() || err.is_connect() || err.is_request() || err.is_body()
            }
            Self::Api { status, .. } => {
                *status == 429
                    || *status >= 500
                    || matches!(
                        self.error_code(),
                        Some("SSS_REQUEST_LIMIT_EXCEEDED" | "CONCURRENCY_LIMIT_EXCEEDED")
                    )
            }
            Self::Decode(_) | Self::Config(_) | Self::InvalidExternalId(_) => false,
        }
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
}

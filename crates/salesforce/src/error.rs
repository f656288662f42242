//! The crate's one error type. Salesforce error bodies (`[{"message","errorCode","fields"}]`) are
//! parsed into [`ApiError`]s; HTTP errors carry no URL (a SOQL query can hold record data) and no
//! credentials, which are only ever sent in headers and form bodies.
//!
//! [`SalesforceError::class`] sorts every error into an [`ErrorClass`], which is what callers
//! decide on: retry (`Retryable`), stop batch work until the daily allocation recovers (`Limit`),
//! fix the credentials (`Auth`) or give up on this input (`Permanent`).

use serde::Deserialize;

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// A transient failure (connection, timeout, 5xx, a row lock): the same call may succeed soon.
    Retryable,
    /// Bad input or a state the call cannot change (validation, missing record, no access).
    Permanent,
    /// The credentials or the session were refused.
    Auth,
    /// An org limit is spent (`REQUEST_LIMIT_EXCEEDED`: the daily API allocation, or too many
    /// long-running requests at once): retrying soon only spends more.
    Limit,
}

/// One entry of a Salesforce error body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// `errorCode` in REST error bodies, `statusCode` in sObject Collections results.
    #[serde(default, alias = "statusCode")]
    pub error_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    /// Salesforce answered with an error status.
    #[error("Salesforce API error {status}: {}", summary(.errors))]
    Api { status: u16, errors: Vec<ApiError> },
    /// The token endpoint refused the credentials (`invalid_client`, `invalid_grant`).
    #[error("Salesforce token request refused: {error}: {description}")]
    Auth { error: String, description: String },
    /// The request did not complete (connect, timeout, TLS, body read).
    #[error("HTTP request to Salesforce failed: {0}")]
    Http(#[source] reqwest::Error),
    /// A response did not have the expected shape.
    #[error("unexpected response from Salesforce: {0}")]
    Decode(String),
    /// The client cannot be built from its configuration.
    #[error("invalid Salesforce configuration: {0}")]
    Config(String),
    /// A request the API would refuse (too many subrequests, a missing key field, a field name
    /// that is not an identifier); found before anything is sent.
    #[error("invalid Salesforce request: {0}")]
    InvalidRequest(String),
    /// A Bulk API 2.0 job ended `Failed` or `Aborted`, or did not end in time; `message` is the
    /// job's `errorMessage`.
    #[error("Salesforce bulk job {job_id} ended {state}: {message}")]
    BulkJob {
        job_id: String,
        state: String,
        message: String,
    },
}

fn summary(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "no error details".to_owned();
    }
    errors
        .iter()
        .map(|e| {
            if e.fields.is_empty() {
                format!("{}: {}", e.error_code, e.message)
            } else {
                format!("{}: {} [{}]", e.error_code, e.message, e.fields.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A 300 answer (an external id matching several records) lists the records' URLs.
fn multiple_choices(body: &[u8]) -> ApiError {
    let urls: Vec<String> = serde_json::from_slice(body).unwrap_or_default();
    ApiError {
        error_code: "MULTIPLE_CHOICES".to_owned(),
        message: format!(
            "the external id matches {} records: {}",
            urls.len(),
            urls.join(", ")
        ),
        fields: Vec::new(),
    }
}

impl From<reqwest::Error> for SalesforceError {
    fn from(err: reqwest::Error) -> Self {
        Self::Http(err.without_url())
    }
}

/// A private key that cannot be loaded, or a signature that cannot be made, is a configuration
/// error (the message never quotes the key).
impl From<isthmus_jwt::JwtError> for SalesforceError {
    fn from(err: isthmus_jwt::JwtError) -> Self {
        Self::Config(err.to_string())
    }
}

impl SalesforceError {
    /// Builds an [`SalesforceError::Api`] from a status and a raw error body. A body that is not
    /// the documented array (an HTML error page from a proxy, say) yields one entry with its start.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        let errors = match serde_json::from_slice::<Vec<ApiError>>(body) {
            Ok(errors) => errors,
            Err(_) if status == 300 => vec![multiple_choices(body)],
            Err(_) => match serde_json::from_slice::<ApiError>(body) {
                Ok(error) => vec![error],
                Err(_) => vec![ApiError {
                    error_code: String::new(),
                    message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                    fields: Vec::new(),
                }],
            },
        };
        Self::Api { status, errors }
    }

    /// The HTTP status Salesforce answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Http(err) => err.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The first `errorCode` of an API error, or the OAuth `error` of a refused token request.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { errors, .. } => errors
                .iter()
                .map(|e| e.error_code.as_str())
                .find(|code| !code.is_empty()),
            Self::Auth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The record or resource does not exist (404 `NOT_FOUND`, or a deleted entity).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
            || matches!(self.error_code(), Some("NOT_FOUND" | "ENTITY_IS_DELETED"))
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
            Self::Api { status, .. } => match self.error_code() {
                Some("REQUEST_LIMIT_EXCEEDED") => ErrorClass::Limit,
                Some("UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE") => ErrorClass::Retryable,
                Some("INVALID_SESSION_ID") => ErrorClass::Auth,
                _ if *status == 401 => ErrorClass::Auth,
                _ if *status >= 500 || *status == 429 => ErrorClass::Retryable,
                _ => ErrorClass::Permanent,
            },
            Self::Auth { .. } => ErrorClass::Auth,
            Self::Decode(_) | Self::Config(_) | Self::InvalidRequest(_) => ErrorClass::Permanent,
            // A job still running at the deadline may finish if asked again later.
            Self::BulkJob { state, .. } if state == "InProgress" || state == "UploadComplete" => {
                ErrorClass::Retryable
            }
            Self::BulkJob { .. } => ErrorClass::Permanent,
        }
    }

    /// Trying again later may succeed ([`ErrorClass::Retryable`]): connection failures and
    /// timeouts, 5xx, 429, and `UNABLE_TO_LOCK_ROW` (a record lock held by another transaction).
    /// A spent daily allocation (403 `REQUEST_LIMIT_EXCEEDED`) is not: it only recovers over the
    /// next 24 hours.
    /// The query cursor behind a `nextRecordsUrl` is gone (400 `INVALID_QUERY_LOCATOR`): a user
    /// holds at most 10, and each expires after 15 idle minutes.
    pub fn is_invalid_query_locator(&self) -> bool {
        self.error_code() == Some("INVALID_QUERY_LOCATOR")
    }

    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_error_array() {
        let body = br#"[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]"#;
        let err = SalesforceError::from_response(400, body);
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.error_code(), Some("REQUIRED_FIELD_MISSING"));
        let SalesforceError::Api { errors, .. } = &err else {
            panic!("expected an API error, got {err:?}");
        };
        assert_eq!(errors[0].fields, vec!["Name".to_owned()]);
        assert_eq!(
            err.to_string(),
            "Salesforce API error 400: REQUIRED_FIELD_MISSING: Required fields are missing: [Name] [Name]"
        );
    }

    #[test]
    fn tolerates_missing_fields_and_non_json_bodies() {
        let err = SalesforceError::from_response(
            401,
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        );
        assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"));

        let err = SalesforceError::from_response(502, b"<html>Bad Gateway</html>");
        assert_eq!(err.error_code(), None);
        assert!(err.to_string().contains("Bad Gateway"));
        assert!(err.is_retryable());
    }

    #[test]
    fn multiple_matches_become_one_multiple_choices_error() {
        let body = br#"["/services/data/v61.0/sobjects/Account/001000000000001AAA","/services/data/v61.0/sobjects/Account/001000000000002AAA"]"#;
        let err = SalesforceError::from_response(300, body);
        assert_eq!(err.status(), Some(300));
        assert_eq!(err.error_code(), Some("MULTIPLE_CHOICES"));
        assert!(err.to_string().contains("matches 2 records"), "{err}");
    }

    #[test]
    fn not_found_is_recognised_by_status_or_code() {
        let err = SalesforceError::from_response(
            404,
            br#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#,
        );
        assert!(err.is_not_found());
        assert!(!err.is_retryable());
    }

    #[test]
    fn spent_daily_allocation_is_not_retryable_but_row_locks_are() {
        let spent = SalesforceError::from_response(403, br#"[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]"#);
        assert!(!spent.is_retryable());
        let locked = SalesforceError::from_response(400, br#"[{"errorCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access to this record"}]"#);
        assert!(locked.is_retryable());
    }

    #[test]
    fn auth_errors_expose_the_oauth_error_code() {
        let err = SalesforceError::Auth {
            error: "invalid_client".into(),
            description: "invalid client credentials".into(),
        };
        assert_eq!(err.error_code(), Some("invalid_client"));
        assert!(!err.is_retryable());
        assert_eq!(err.class(), ErrorClass::Auth);
    }

    #[test]
    fn classes_follow_code_then_status() {
        let class = |status, body: &[u8]| SalesforceError::from_response(status, body).class();
        let code = |c: &str| format!(r#"[{{"errorCode":"{c}","message":"m"}}]"#);
        assert_eq!(
            class(403, code("REQUEST_LIMIT_EXCEEDED").as_bytes()),
            ErrorClass::Limit
        );
        assert_eq!(
            class(403, code("INSUFFICIENT_ACCESS").as_bytes()),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(401, code("INVALID_SESSION_ID").as_bytes()),
            ErrorClass::Auth
        );
        assert_eq!(
            class(400, code("UNABLE_TO_LOCK_ROW").as_bytes()),
            ErrorClass::Retryable
        );
        assert_eq!(
            class(400, code("DUPLICATE_VALUE").as_bytes()),
            ErrorClass::Permanent
        );
        assert_eq!(class(503, b"down"), ErrorClass::Retryable);
        assert_eq!(
            SalesforceError::InvalidRequest("x".into()).class(),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn collection_errors_read_status_code_as_the_error_code() {
        let error: ApiError = serde_json::from_str(
            r#"{"statusCode":"DUPLICATE_VALUE","message":"duplicate","fields":["Name"]}"#,
        )
        .unwrap();
        assert_eq!(error.error_code, "DUPLICATE_VALUE");
    }
}

//! The NetSuite REST error shape:
//! `{"type","title","status","o:errorDetails":[{"detail","o:errorCode","o:errorPath"?}]}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::SandboxError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub path: Option<String>,
}

pub const INVALID_LOGIN_DETAIL: &str = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.";

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            path: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn invalid_login() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_LOGIN",
            INVALID_LOGIN_DETAIL,
        )
    }

    pub fn nonexistent_id(record_type: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NONEXISTENT_ID",
            format!("The record instance does not exist. Provide a valid record instance ID. Record type: {record_type}, id: {id}."),
        )
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "INVALID_URL",
            format!(
                "The requested resource {path} could not be found. Check the URL and try again."
            ),
        )
    }

    pub fn user_error(detail: impl Into<String>) -> Self {
        Self::bad_request(
            "USER_ERROR",
            format!("Error while accessing a resource. {}", detail.into()),
        )
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNEXPECTED_ERROR",
            err.to_string(),
        )
    }

    pub fn body(&self) -> serde_json::Value {
        let mut detail = json!({ "detail": self.detail, "o:errorCode": self.code });
        if let Some(path) = &self.path {
            detail["o:errorPath"] = json!(path);
        }
        json!({
            "type": type_uri(self.status),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "o:errorDetails": [detail],
        })
    }
}

fn type_uri(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        401 => "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
        403 => "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4",
        404 => "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5",
        405 => "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6",
        429 => "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
        _ => "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1",
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        Self::internal(err)
    }
}

impl From<ApiError> for SandboxError {
    fn from(err: ApiError) -> Self {
        SandboxError::NetSuite {
            code: err.code.to_owned(),
            message: err.detail,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

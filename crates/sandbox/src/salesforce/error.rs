//! The Salesforce error shape: an HTTP status plus a JSON array `[{"message","errorCode","fields"}]`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::SandboxError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    pub fn invalid_type(name: &str) -> Self {
        Self::bad_request(
            "INVALID_TYPE",
            format!(
                "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            err.to_string(),
        )
    }

    pub fn body(&self) -> serde_json::Value {
        let mut entry = json!({ "message": self.message, "errorCode": self.code });
        if !self.fields.is_empty() {
            entry["fields"] = json!(self.fields);
        }
        json!([entry])
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        Self::internal(err)
    }
}

impl From<ApiError> for SandboxError {
    fn from(err: ApiError) -> Self {
        SandboxError::Salesforce {
            code: err.code.to_owned(),
            message: err.message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

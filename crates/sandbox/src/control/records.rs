//! Record edits as a person in the vendor's UI makes them, over HTTP, so that a walk-through can
//! say "the warehouse shipped it" or "sales closed the deal" with a pasted `curl`:
//!
//! | endpoint | does | answers |
//! | --- | --- | --- |
//! | `POST /__sandbox/salesforce/records/{sobject}` | [`Sandbox::sf_insert`] | 201 `{"id": "<18-char id>"}` |
//! | `PATCH /__sandbox/salesforce/records/{sobject}/{id}` | [`Sandbox::sf_update`] | 204 |
//! | `GET /__sandbox/salesforce/records/{sobject}/{id}` | [`Sandbox::sf_record`] | 200 the record |
//! | `POST /__sandbox/netsuite/records/{type}` | [`Sandbox::ns_insert`] | 201 `{"id": "<internal id>"}` |
//! | `PATCH /__sandbox/netsuite/records/{type}/{id}` | [`Sandbox::ns_update`] | 204 |
//! | `GET /__sandbox/netsuite/records/{type}/{id}` | [`Sandbox::ns_record`] | 200 the record |
//!
//! The body is the record's fields as a JSON object, whatever the `Content-Type` (so `curl -d`
//! works without a header). Salesforce writes are made by the org's admin user, not the
//! integration user; NetSuite writes as a user of the account. Both go through the same validation
//! and bookkeeping as the vendor's API (Salesforce's derived fields, NetSuite's ledger).
//!
//! Failures answer `{"error": "<message>", "code": "<vendor error code>"}` (`code` only when the
//! vendor gives one): 400 for an unknown sObject or record type, a bad field or a body that is not
//! a JSON object, 404 for a record that does not exist, 500 for a fault of the sandbox itself.
//!
//! Like every `/__sandbox/` endpoint they sit outside the governing layer ([`super::govern`]):
//! unauthenticated, not counted as API calls, not in the daily API allocation or the in-flight
//! window, and never faulted or delayed.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::{netsuite, salesforce, Sandbox, SandboxError};

pub fn router(sandbox: &Sandbox) -> Router {
    Router::new()
        .route("/__sandbox/salesforce/records/{sobject}", post(sf_create))
        .route(
            "/__sandbox/salesforce/records/{sobject}/{id}",
            get(sf_read).patch(sf_update),
        )
        .route("/__sandbox/netsuite/records/{record_type}", post(ns_create))
        .route(
            "/__sandbox/netsuite/records/{record_type}/{id}",
            get(ns_read).patch(ns_update),
        )
        .route(
            "/__sandbox/netsuite/records/{record_type}/{id}/!transform/{target}",
            post(ns_transform),
        )
        .with_state(sandbox.clone())
}

/// Why a record call failed, with the status it answers.
#[derive(Debug)]
struct ControlError {
    status: StatusCode,
    code: Option<String>,
    message: String,
}

impl ControlError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: None,
            message: message.into(),
        }
    }

    fn not_found(what: &str, id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: None,
            message: format!("no {what} with id '{id}'"),
        }
    }
}

impl From<SandboxError> for ControlError {
    fn from(err: SandboxError) -> Self {
        let message = err.to_string();
        let (status, code) = match err {
            SandboxError::Salesforce { code, .. } | SandboxError::NetSuite { code, .. } => {
                (vendor_status(&code), Some(code))
            }
            SandboxError::Database(_) | SandboxError::Tls(_) | SandboxError::Io(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        Self {
            status,
            code,
            message,
        }
    }
}

/// The status for a vendor error code: the codes the direct API uses for a missing record (404)
/// and for its own faults (500); every other code is a rejected request.
fn vendor_status(code: &str) -> StatusCode {
    match code {
        "NOT_FOUND" | "NONEXISTENT_ID" => StatusCode::NOT_FOUND,
        "UNKNOWN_EXCEPTION" | "UNEXPECTED_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<PathRejection> for ControlError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(code) = self.code {
            body["code"] = Value::String(code);
        }
        (self.status, Json(body)).into_response()
    }
}

type Answer<T> = Result<T, ControlError>;

/// The body as a record's fields: a JSON object, whatever the `Content-Type`.
fn fields(body: &Bytes) -> Answer<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ControlError::bad_request(
            "the body must be a JSON object of the record's fields",
        )),
        Err(e) => Err(ControlError::bad_request(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

fn created(id: String) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({ "id": id })))
}

async fn sf_create(
    State(sandbox): State<Sandbox>,
    sobject: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer<(StatusCode, Json<Value>)> {
    let Path(sobject) = sobject?;
    let fields = fields(&body)?;
    Ok(created(sandbox.sf_insert(&sobject, fields)?))
}

async fn sf_update(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Answer<StatusCode> {
    let Path((sobject, id)) = path?;
    let fields = fields(&body)?;
    sandbox.sf_update(&sobject, &id, fields)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sf_read(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Answer<Json<Map<String, Value>>> {
    let Path((sobject, id)) = path?;
    salesforce::check_sobject(&sobject)?;
    sandbox
        .sf_record(&sobject, &id)
        .map(Json)
        .ok_or_else(|| ControlError::not_found(&sobject, &id))
}

async fn ns_create(
    State(sandbox): State<Sandbox>,
    record_type: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer<(StatusCode, Json<Value>)> {
    let Path(record_type) = record_type?;
    let fields = fields(&body)?;
    Ok(created(sandbox.ns_insert(&record_type, fields)?))
}

async fn ns_update(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Answer<StatusCode> {
    let Path((record_type, id)) = path?;
    let fields = fields(&body)?;
    sandbox.ns_update(&record_type, &id, fields)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A transform as a NetSuite user makes it in the UI ("Fulfill" on a sales order, "Bill", "Accept
/// Payment"): the record created from another, as `POST record/v1/{type}/{id}/!transform/{target}`
/// creates it; an empty body takes the copied values as they are.
async fn ns_transform(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Bytes,
) -> Answer<(StatusCode, Json<Value>)> {
    let Path((record_type, id, target)) = path?;
    let overrides = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        fields(&body)?
    };
    let (new_id, _) = crate::netsuite::transform::transform_record(
        &sandbox,
        &record_type,
        &id,
        &target,
        overrides,
        crate::netsuite::validation::NameValidation::Error,
    )
    .map_err(SandboxError::from)?;
    Ok(created(new_id.to_string()))
}

async fn ns_read(
    State(sandbox): State<Sandbox>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Answer<Json<Map<String, Value>>> {
    let Path((record_type, id)) = path?;
    netsuite::check_record_type(&record_type)?;
    sandbox
        .ns_record(&record_type, &id)
        .map(Json)
        .ok_or_else(|| ControlError::not_found(&record_type, &id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_records_are_404_sandbox_faults_500_and_other_vendor_errors_400() {
        let status = |err: SandboxError| ControlError::from(err).status;
        let vendor = |code: &str| SandboxError::NetSuite {
            code: code.to_owned(),
            message: String::new(),
        };
        assert_eq!(status(vendor("NONEXISTENT_ID")), StatusCode::NOT_FOUND);
        assert_eq!(status(vendor("USER_ERROR")), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(vendor("UNEXPECTED_ERROR")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(SandboxError::Salesforce {
                code: "NOT_FOUND".to_owned(),
                message: String::new(),
            }),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(SandboxError::Tls("no key".to_owned())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}

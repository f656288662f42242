//! The record API, `record/v1/{type}[/{id}|/eid:{externalId}]`: create (204 + `Location`), read,
//! update, delete, and upsert by external id with `PUT` (transforms are in [`super::transform`]).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::render::{record_href, View};
use super::schema::{self, RecordType};
use super::store::valid_external_id;
use super::validation::{with_warnings, NameValidation};
use crate::control::base_url;
use crate::time::{now, ns_timestamp};
use crate::Sandbox;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RecordParams {
    expand_sub_resources: Option<bool>,
    fields: Option<String>,
    replace: Option<String>,
}

pub(super) fn record_type_of(name: &str) -> Result<&'static RecordType, ApiError> {
    schema::record_type(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "INVALID_URL",
            format!("Record type '{name}' does not exist or is not supported by the REST record service."),
        )
    })
}

pub(super) fn parse_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "INVALID_CONTENT",
            "Error while accessing a resource. The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::bad_request(
            "INVALID_CONTENT",
            format!("Error while accessing a resource. The request body is not valid JSON: {e}."),
        )),
    }
}

/// How a path names a record: internal id or `eid:` external id.
enum RecordKey {
    Internal(i64),
    External(String),
}

fn record_key(record_type: &RecordType, raw: &str) -> Result<RecordKey, ApiError> {
    if let Some(eid) = raw.strip_prefix("eid:") {
        if !valid_external_id(eid) {
            return Err(ApiError::bad_request(
                "INVALID_PARAMETER",
                format!("Invalid external ID '{eid}'. An external ID may contain only letters, digits, '_' and '-'."),
            ));
        }
        return Ok(RecordKey::External(eid.to_owned()));
    }
    raw.parse()
        .map(RecordKey::Internal)
        .map_err(|_| ApiError::nonexistent_id(record_type.name, raw))
}

impl Sandbox {
    /// The internal id a path names, or 404 NONEXISTENT_ID.
    pub(super) fn ns_resolve(&self, record_type: &RecordType, raw: &str) -> Result<i64, ApiError> {
        let db = self.inner.account.db();
        match record_key(record_type, raw)? {
            RecordKey::Internal(id) if db.exists(record_type, id)? => Ok(id),
            RecordKey::External(eid) => db
                .id_by_external_id(record_type, &eid)?
                .ok_or_else(|| ApiError::nonexistent_id(record_type.name, raw)),
            RecordKey::Internal(_) => Err(ApiError::nonexistent_id(record_type.name, raw)),
        }
    }
}

pub(super) fn created(headers: &HeaderMap, record_type: &RecordType, id: i64) -> Response {
    let location = record_href(&base_url(headers), record_type.name, id);
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn replaced(params: &RecordParams) -> Vec<&str> {
    params
        .replace
        .as_deref()
        .map(|r| r.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

pub async fn create(
    State(sandbox): State<Sandbox>,
    Path(record_type): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record_type = record_type_of(&record_type)?;
    let names = NameValidation::of(&headers)?;
    let fields = parse_body(&body)?;
    let (id, dropped) = sandbox.inner.account.db().insert_checked(
        record_type,
        &fields,
        &ns_timestamp(now()),
        names,
    )?;
    Ok(with_warnings(
        created(&headers, record_type, id),
        names,
        &dropped,
    ))
}

pub async fn read(
    State(sandbox): State<Sandbox>,
    Path((record_type, key)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let record_type = record_type_of(&record_type)?;
    let id = sandbox.ns_resolve(record_type, &key)?;
    let fields: Option<Vec<String>> = params
        .fields
        .as_deref()
        .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
    let base = base_url(&headers);
    let view = View {
        base: Some(&base),
        expand: params.expand_sub_resources.unwrap_or(false),
        fields: fields.as_deref(),
    };
    let record = sandbox.inner.account.db().render(record_type, id, &view)?;
    record
        .map(|r| Json(Value::Object(r)))
        .ok_or_else(|| ApiError::nonexistent_id(record_type.name, &key))
}

pub async fn update(
    State(sandbox): State<Sandbox>,
    Path((record_type, key)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record_type = record_type_of(&record_type)?;
    let names = NameValidation::of(&headers)?;
    let id = sandbox.ns_resolve(record_type, &key)?;
    let fields = parse_body(&body)?;
    let dropped = sandbox.inner.account.db().update_checked(
        record_type,
        id,
        &fields,
        &replaced(&params),
        &ns_timestamp(now()),
        names,
    )?;
    Ok(with_warnings(
        StatusCode::NO_CONTENT.into_response(),
        names,
        &dropped,
    ))
}

/// `PUT {type}/eid:{externalId}`: creates the record with that external id, or updates it.
pub async fn upsert(
    State(sandbox): State<Sandbox>,
    Path((record_type, key)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record_type = record_type_of(&record_type)?;
    let RecordKey::External(eid) = record_key(record_type, &key)? else {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "INVALID_PARAMETER",
            "Error while accessing a resource. PUT is supported only with an external ID (eid:) in the URL.",
        ));
    };
    let names = NameValidation::of(&headers)?;
    let mut fields = parse_body(&body)?;
    fields.insert("externalId".into(), Value::String(eid.clone()));
    let at = ns_timestamp(now());
    let mut db = sandbox.inner.account.db();
    let (id, dropped) = match db.id_by_external_id(record_type, &eid)? {
        Some(id) => (
            id,
            db.update_checked(record_type, id, &fields, &replaced(&params), &at, names)?,
        ),
        None => db.insert_checked(record_type, &fields, &at, names)?,
    };
    Ok(with_warnings(
        created(&headers, record_type, id),
        names,
        &dropped,
    ))
}

pub async fn delete(
    State(sandbox): State<Sandbox>,
    Path((record_type, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let record_type = record_type_of(&record_type)?;
    let id = sandbox.ns_resolve(record_type, &key)?;
    sandbox.inner.account.db().delete(record_type, id)?;
    Ok(StatusCode::NO_CONTENT)
}

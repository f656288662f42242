//! sObject rows: `POST sobjects/{Object}`, `GET|PATCH|DELETE sobjects/{Object}/{id}`, and by
//! external id `GET|PATCH|DELETE sobjects/{Object}/{Field}/{value}` (PATCH is the upsert).
//! API writes are made as the integration user.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::query::attributes;
use super::schema::{self, Field, SObject};
use super::store::Stamp;
use super::{ids, version_of, Org};
use crate::time::{now, sf_timestamp};
use crate::Sandbox;

/// First API version whose upsert answers 200 with a body (rather than 204) on update.
const UPSERT_BODY_SINCE: u32 = 46;

#[derive(Deserialize)]
pub struct FieldsParam {
    fields: Option<String>,
}

fn object_of(name: &str) -> Result<&'static SObject, ApiError> {
    schema::sobject(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    })
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of an sObject from a non-object value",
        )),
        Err(e) => Err(ApiError::bad_request(
            "JSON_PARSER_ERROR",
            format!("Unexpected character in the request body: {e}"),
        )),
    }
}

/// A path id in canonical form, of the right object, or 404 as Salesforce answers.
fn record_id(object: &SObject, raw: &str) -> Result<String, ApiError> {
    let id = ids::normalize(raw).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {raw}"),
        )
    })?;
    if id.starts_with(object.key_prefix) {
        Ok(id)
    } else {
        Err(ApiError::not_found())
    }
}

fn external_id_field(object: &SObject, name: &str) -> Result<&'static Field, ApiError> {
    object.field(name).filter(|f| f.external_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {name}"),
        )
    })
}

impl Org {
    fn write_stamp(&self) -> String {
        sf_timestamp(now())
    }

    fn read_record(
        &self,
        object: &'static SObject,
        id: &str,
        fields: Option<&str>,
        version: &str,
    ) -> Result<Value, ApiError> {
        let selected: Vec<&'static Field> = match fields {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| {
                    object.field(f).ok_or_else(|| {
                        ApiError::bad_request(
                            "INVALID_FIELD",
                            format!("No such column '{f}' on sobject of type {}", object.name),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let record = self
            .db()
            .fetch(object, id, &selected)?
            .ok_or_else(ApiError::not_found)?;
        let mut out = Map::new();
        out.insert("attributes".into(), attributes(object.name, id, version));
        out.extend(record);
        Ok(Value::Object(out))
    }
}

pub async fn create(
    State(sandbox): State<Sandbox>,
    Path((version, object)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    version_of(&version)?;
    let object = object_of(&object)?;
    let fields = parse_body(&body)?;
    let org = &sandbox.inner.org;
    let at = org.write_stamp();
    let id = org.db().insert(
        object,
        &fields,
        &Stamp {
            user_id: &org.integration_user_id,
            at: &at,
        },
    )?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "success": true, "errors": [] })),
    )
        .into_response())
}

pub async fn read(
    State(sandbox): State<Sandbox>,
    Path((version, object, id)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
) -> Result<Json<Value>, ApiError> {
    let version = version_of(&version)?;
    let object = object_of(&object)?;
    let id = record_id(object, &id)?;
    Ok(Json(sandbox.inner.org.read_record(
        object,
        &id,
        params.fields.as_deref(),
        version,
    )?))
}

pub async fn update(
    State(sandbox): State<Sandbox>,
    Path((version, object, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    version_of(&version)?;
    let object = object_of(&object)?;
    let id = record_id(object, &id)?;
    let fields = parse_body(&body)?;
    let org = &sandbox.inner.org;
    let at = org.write_stamp();
    org.db().update(
        object,
        &id,
        &fields,
        &Stamp {
            user_id: &org.integration_user_id,
            at: &at,
        },
    )?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(sandbox): State<Sandbox>,
    Path((version, object, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    version_of(&version)?;
    let object = object_of(&object)?;
    let id = record_id(object, &id)?;
    if sandbox.inner.org.db().delete(object, &id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn read_by_external_id(
    State(sandbox): State<Sandbox>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    Query(params): Query<FieldsParam>,
) -> Result<Response, ApiError> {
    let version = version_of(&version)?;
    let object = object_of(&object)?;
    let field = external_id_field(object, &field)?;
    let org = &sandbox.inner.org;
    let ids = org.db().ids_by_external_id(object, field, &value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found()),
        [id] => Ok(
            Json(org.read_record(object, id, params.fields.as_deref(), version)?).into_response(),
        ),
        many => Ok(multiple_choices(object, many, version)),
    }
}

/// `PATCH sobjects/{Object}/{Field}/{value}`: create (201) when nothing matches, update (200, or
/// 204 before API 46) when one record matches, 300 with the candidates when several match.
pub async fn upsert(
    State(sandbox): State<Sandbox>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let version = version_of(&version)?;
    let object = object_of(&object)?;
    let field = external_id_field(object, &field)?;
    let mut fields = parse_body(&body)?;
    fields.retain(|name, _| !name.eq_ignore_ascii_case(field.name));
    let org = &sandbox.inner.org;
    let at = org.write_stamp();
    let stamp = Stamp {
        user_id: &org.integration_user_id,
        at: &at,
    };
    let with_body = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0)
        >= UPSERT_BODY_SINCE;
    let mut db = org.db();
    let ids = db.ids_by_external_id(object, field, &value)?;
    match ids.as_slice() {
        [] => {
            fields.insert(field.name.to_owned(), Value::String(value));
            let id = db.insert(object, &fields, &stamp)?;
            let mut body = json!({ "id": id, "success": true, "errors": [] });
            if with_body {
                body["created"] = json!(true);
            }
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        [id] => {
            db.update(object, id, &fields, &stamp)?;
            if with_body {
                let body = json!({ "id": id, "success": true, "errors": [], "created": false });
                Ok((StatusCode::OK, Json(body)).into_response())
            } else {
                Ok(StatusCode::NO_CONTENT.into_response())
            }
        }
        many => Ok(multiple_choices(object, many, version)),
    }
}

pub async fn delete_by_external_id(
    State(sandbox): State<Sandbox>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let version = version_of(&version)?;
    let object = object_of(&object)?;
    let field = external_id_field(object, &field)?;
    let mut db = sandbox.inner.org.db();
    let ids = db.ids_by_external_id(object, field, &value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found()),
        [id] => {
            db.delete(object, id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        many => Ok(multiple_choices(object, many, version)),
    }
}

/// 300 Multiple Choices: the URLs of the records an external id matched.
fn multiple_choices(object: &SObject, ids: &[String], version: &str) -> Response {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("/services/data/v{version}/sobjects/{}/{id}", object.name))
        .collect();
    (StatusCode::MULTIPLE_CHOICES, Json(urls)).into_response()
}

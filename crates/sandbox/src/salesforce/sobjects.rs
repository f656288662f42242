//! sObject rows: `POST sobjects/{Object}`, `GET|PATCH|DELETE sobjects/{Object}/{id}`, and by
//! external id `GET|PATCH|DELETE sobjects/{Object}/{Field}/{value}` (PATCH is the upsert).
//! API writes are made as the integration user.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::ids;
use super::query::attributes;
use super::rest::{record_body, Call, Reply, Request};
use super::schema::{self, Field, SObject};

/// First API version whose upsert answers 200 with a body (rather than 204) on update.
const UPSERT_BODY_SINCE: u32 = 46;

pub fn object_of(name: &str) -> Result<&'static SObject, ApiError> {
    schema::sobject(name).ok_or_else(ApiError::not_found)
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

pub fn external_id_field(object: &SObject, name: &str) -> Result<&'static Field, ApiError> {
    object.field(name).filter(|f| f.external_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {name}"),
        )
    })
}

/// The fields named in a `fields=a,b` list (all fields when `None`).
pub fn selected_fields(
    object: &'static SObject,
    list: Option<&str>,
) -> Result<Vec<&'static Field>, ApiError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    list.split(',')
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
        .collect()
}

/// A record with `attributes`, or `None` when there is none.
pub fn fetch_record(
    call: &Call,
    object: &'static SObject,
    id: &str,
    fields: &[&'static Field],
) -> Result<Option<Value>, ApiError> {
    let Some(record) = call.db.fetch(object, id, fields)? else {
        return Ok(None);
    };
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(object.name, id, &call.version),
    );
    out.extend(record);
    Ok(Some(Value::Object(out)))
}

pub fn create(call: &mut Call, object: &str, body: Option<&Value>) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let fields = record_body(body)?;
    let id = call.insert(object, &fields)?;
    let location = call.record_url(object.name, &id);
    Ok(Reply::json(
        StatusCode::CREATED,
        json!({ "id": id, "success": true, "errors": [] }),
    )
    .with_header("Location", location))
}

pub fn read(call: &mut Call, object: &str, id: &str, request: &Request) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let id = record_id(object, id)?;
    let fields = selected_fields(object, request.param("fields"))?;
    let record = fetch_record(call, object, &id, &fields)?.ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(record))
}

pub fn update(
    call: &mut Call,
    object: &str,
    id: &str,
    body: Option<&Value>,
) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let id = record_id(object, id)?;
    let fields = record_body(body)?;
    call.update(object, &id, &fields)?;
    Ok(Reply::no_content())
}

pub fn delete(call: &mut Call, object: &str, id: &str) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let id = record_id(object, id)?;
    if call.db.delete(object, &id)? {
        Ok(Reply::no_content())
    } else {
        Err(ApiError::not_found())
    }
}

pub fn read_by_external_id(
    call: &mut Call,
    object: &str,
    field: &str,
    value: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let field = external_id_field(object, field)?;
    let fields = selected_fields(object, request.param("fields"))?;
    let ids = call.db.ids_by_external_id(object, field, value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found()),
        [id] => Ok(Reply::ok(
            fetch_record(call, object, id, &fields)?.ok_or_else(ApiError::not_found)?,
        )),
        many => Ok(multiple_choices(call, object, many)),
    }
}

/// `PATCH sobjects/{Object}/{Field}/{value}`: create (201) when nothing matches, update (200, or
/// 204 before API 46) when one record matches, 300 with the candidates when several match.
pub fn upsert(
    call: &mut Call,
    object: &str,
    field: &str,
    value: &str,
    body: Option<&Value>,
) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let field = external_id_field(object, field)?;
    let mut fields = record_body(body)?;
    fields.retain(|name, _| !name.eq_ignore_ascii_case(field.name));
    let with_body = call
        .version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0)
        >= UPSERT_BODY_SINCE;
    let ids = call.db.ids_by_external_id(object, field, value)?;
    match ids.as_slice() {
        [] => {
            fields.insert(field.name.to_owned(), Value::String(value.to_owned()));
            let id = call.insert(object, &fields)?;
            let location = call.record_url(object.name, &id);
            let mut body = json!({ "id": id, "success": true, "errors": [] });
            if with_body {
                body["created"] = json!(true);
            }
            Ok(Reply::json(StatusCode::CREATED, body).with_header("Location", location))
        }
        [id] => {
            call.update(object, id, &fields)?;
            if with_body {
                let body = json!({ "id": id, "success": true, "errors": [], "created": false });
                Ok(Reply::ok(body))
            } else {
                Ok(Reply::no_content())
            }
        }
        many => Ok(multiple_choices(call, object, many)),
    }
}

pub fn delete_by_external_id(
    call: &mut Call,
    object: &str,
    field: &str,
    value: &str,
) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let field = external_id_field(object, field)?;
    let ids = call.db.ids_by_external_id(object, field, value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found()),
        [id] => {
            call.db.delete(object, id)?;
            Ok(Reply::no_content())
        }
        many => Ok(multiple_choices(call, object, many)),
    }
}

/// 300 Multiple Choices: the URLs of the records an external id matched.
fn multiple_choices(call: &Call, object: &SObject, ids: &[String]) -> Reply {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| call.record_url(object.name, id))
        .collect();
    Reply::json(StatusCode::MULTIPLE_CHOICES, json!(urls))
}

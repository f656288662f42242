//! sObject Collections: `POST composite/sobjects` (create), `PATCH composite/sobjects` (update),
//! `PATCH composite/sobjects/{Object}/{ExtIdField}` (upsert), `DELETE composite/sobjects?ids=`
//! and `GET composite/sobjects/{Object}?ids=&fields=` (retrieve). At most 200 records a request;
//! a well-formed request answers 200 with one save result per record, in request order.
//!
//! `allOrNone: true` runs the records inside one savepoint: when any record fails, every write is
//! undone, each failing record reports its own error and every other record reports
//! `ALL_OR_NONE_OPERATION_ROLLED_BACK`. With `false`, each record stands alone.
//!
//! One request never names a record twice: every record of an update whose `Id` appears more
//! than once, and every record of an upsert whose external id value appears more than once,
//! fails on its own with `DUPLICATE_VALUE` ("duplicate id in list", "Duplicate external id
//! specified"), and is neither merged nor saved; the other records run as usual. (Salesforce's
//! upsert: "If the key is matched multiple times, then an error is generated and the object
//! record is neither inserted or updated.")

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::ids;
use super::rest::{Call, Reply, Request};
use super::schema::{self, SObject, SOBJECTS};
use super::sobjects::{external_id_field, fetch_record, object_of, selected_fields};

/// Records (or ids) one request may carry.
pub const MAX_RECORDS: usize = 200;

/// What one record's save produced: its id and, for an upsert, whether it was created.
struct Saved {
    id: String,
    created: Option<bool>,
}

impl Saved {
    /// The id of a record that existed before this request (kept in a rolled-back result).
    fn existing_id(&self, creates: bool) -> Option<String> {
        (!creates && self.created != Some(true)).then(|| self.id.clone())
    }
}

/// A record's failure, with the id when the request named one.
struct Failed {
    id: Option<String>,
    error: ApiError,
}

impl Failed {
    fn new(id: Option<String>, error: ApiError) -> Self {
        Self { id, error }
    }
}

type Outcome = Result<Saved, Failed>;

pub fn create(call: &mut Call, body: Option<&Value>) -> Result<Reply, ApiError> {
    let (all_or_none, records) = records_of(body)?;
    save_all(call, true, all_or_none, &records, |call, record| {
        let object = typed_object(record).map_err(|e| Failed::new(None, e))?;
        if record.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
            let error =
                ApiError::bad_request("INVALID_FIELD", "cannot specify Id in an insert call")
                    .with_fields(&["Id"]);
            return Err(Failed::new(None, error));
        }
        let id = call
            .insert(object, record)
            .map_err(|e| Failed::new(None, e))?;
        Ok(Saved { id, created: None })
    })
}

pub fn update(call: &mut Call, body: Option<&Value>) -> Result<Reply, ApiError> {
    let (all_or_none, records) = records_of(body)?;
    let record_id = |record: &Map<String, Value>| {
        record
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Id"))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    let repeated = repeated(
        records
            .iter()
            .map(|r| record_id(r).and_then(|raw| ids::normalize(&raw))),
    );
    save_all(call, false, all_or_none, &records, |call, record| {
        let raw = record_id(record);
        let Some(raw) = raw else {
            let error =
                ApiError::bad_request("MISSING_ARGUMENT", "Id not specified in an update call");
            return Err(Failed::new(None, error));
        };
        let fail = |e| Failed::new(Some(raw.clone()), e);
        let object = typed_object(record).map_err(fail)?;
        let id = ids::normalize(&raw)
            .filter(|id| id.starts_with(object.key_prefix))
            .ok_or_else(|| fail(malformed_id(&raw)))?;
        if repeated.contains(&id) {
            let error =
                ApiError::bad_request("DUPLICATE_VALUE", format!("duplicate id in list: {id}"));
            return Err(Failed::new(Some(id), error));
        }
        let mut fields = record.clone();
        fields.retain(|k, _| !k.eq_ignore_ascii_case("Id"));
        call.update(object, &id, &fields).map_err(|e| {
            let e = if e.code == "NOT_FOUND" {
                entity_deleted()
            } else {
                e
            };
            Failed::new(Some(id.clone()), e)
        })?;
        Ok(Saved { id, created: None })
    })
}

pub fn upsert(
    call: &mut Call,
    object: &str,
    field: &str,
    body: Option<&Value>,
) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let field = external_id_field(object, field)?;
    let (all_or_none, records) = records_of(body)?;
    let key_of = |record: &Map<String, Value>| {
        record
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field.name))
            .and_then(|(_, v)| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    let repeated = repeated(records.iter().map(key_of));
    save_all(call, false, all_or_none, &records, |call, record| {
        let no_id = |e| Failed::new(None, e);
        let declared = typed_object(record).map_err(no_id)?;
        if declared.name != object.name {
            return Err(no_id(ApiError::bad_request(
                "INVALID_TYPE",
                format!(
                    "Record type {} does not match the upsert type {}",
                    declared.name, object.name
                ),
            )));
        }
        let value = key_of(record).ok_or_else(|| {
            no_id(ApiError::bad_request(
                "MISSING_ARGUMENT",
                format!("{} not specified", field.name),
            ))
        })?;
        if repeated.contains(&value) {
            return Err(no_id(
                ApiError::bad_request(
                    "DUPLICATE_VALUE",
                    format!("Duplicate external id specified: {value}"),
                )
                .with_fields(&[field.name]),
            ));
        }
        let matches = call
            .db
            .ids_by_external_id(object, field, &value)
            .map_err(|e| no_id(e.into()))?;
        match matches.as_slice() {
            [] => {
                let id = call.insert(object, record).map_err(no_id)?;
                Ok(Saved {
                    id,
                    created: Some(true),
                })
            }
            [id] => {
                let mut fields = record.clone();
                fields.retain(|k, _| !k.eq_ignore_ascii_case(field.name));
                call.update(object, id, &fields)
                    .map_err(|e| Failed::new(Some(id.clone()), e))?;
                Ok(Saved {
                    id: id.clone(),
                    created: Some(false),
                })
            }
            many => Err(no_id(ApiError::new(
                StatusCode::MULTIPLE_CHOICES,
                "DUPLICATE_EXTERNAL_ID",
                format!(
                    "{}: more than one record found for external id field: {:?}",
                    field.name, many
                ),
            ))),
        }
    })
}

pub fn delete(call: &mut Call, request: &Request) -> Result<Reply, ApiError> {
    let ids = id_list(request.param("ids"))?;
    let all_or_none = request
        .param("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    save_all(call, false, all_or_none, &ids, |call, raw| {
        let fail = |e| Failed::new(Some(raw.clone()), e);
        let id = ids::normalize(raw).ok_or_else(|| fail(malformed_id(raw)))?;
        let object = object_by_prefix(&id).ok_or_else(|| fail(malformed_id(raw)))?;
        match call.db.delete(object, &id) {
            Ok(true) => Ok(Saved { id, created: None }),
            Ok(false) => Err(Failed::new(Some(id), entity_deleted())),
            Err(e) => Err(Failed::new(Some(id), e)),
        }
    })
}

/// `GET composite/sobjects/{Object}?ids=&fields=`: the records in id order, `null` for missing ones.
pub fn retrieve(call: &mut Call, object: &str, request: &Request) -> Result<Reply, ApiError> {
    let ids = id_list(request.param("ids"))?;
    let fields = request.param("fields").map(str::to_owned);
    retrieve_ids(call, object, &ids, fields.as_deref())
}

/// `POST composite/sobjects/{Object}` with `{"ids":[…],"fields":[…]}`.
pub fn retrieve_by_body(
    call: &mut Call,
    object: &str,
    body: Option<&Value>,
) -> Result<Reply, ApiError> {
    let strings = |key: &str| -> Vec<String> {
        body.and_then(|b| b[key].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = strings("ids");
    let fields = strings("fields").join(",");
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "MISSING_ARGUMENT",
            "ids must be specified",
        ));
    }
    retrieve_ids(call, object, &ids, Some(&fields))
}

fn retrieve_ids(
    call: &mut Call,
    object: &str,
    ids: &[String],
    fields: Option<&str>,
) -> Result<Reply, ApiError> {
    let object = object_of(object)?;
    let fields = match fields.filter(|f| !f.trim().is_empty()) {
        Some(list) => selected_fields(object, Some(list))?,
        None => {
            return Err(ApiError::bad_request(
                "MISSING_ARGUMENT",
                "fields must be specified",
            ))
        }
    };
    let mut records = Vec::with_capacity(ids.len());
    for raw in ids {
        let id = ids::normalize(raw)
            .filter(|id| id.starts_with(object.key_prefix))
            .ok_or_else(|| malformed_id(raw))?;
        records.push(fetch_record(call, object, &id, &fields)?.unwrap_or(Value::Null));
    }
    Ok(Reply::ok(Value::Array(records)))
}

/// Runs `save` on every item in order, inside one savepoint, and shapes the save results.
fn save_all<T>(
    call: &mut Call,
    creates: bool,
    all_or_none: bool,
    items: &[T],
    save: impl Fn(&mut Call, &T) -> Outcome,
) -> Result<Reply, ApiError> {
    let all_or_none = all_or_none || call.force_all_or_none;
    call.db.savepoint()?;
    let outcomes: Vec<Outcome> = items.iter().map(|item| save(call, item)).collect();
    let failed = outcomes.iter().any(Result::is_err);
    let rolled_back = all_or_none && failed;
    call.db.release(!rolled_back)?;
    let results = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Err(failure) => error_result(failure.id, &failure.error),
            Ok(saved) if rolled_back => {
                error_result(saved.existing_id(creates), &rolled_back_error())
            }
            Ok(saved) => {
                let mut result = json!({ "id": saved.id, "success": true, "errors": [] });
                if let Some(created) = saved.created {
                    result["created"] = json!(created);
                }
                result
            }
        })
        .collect();
    Ok(Reply::ok(Value::Array(results)))
}

fn error_result(id: Option<String>, error: &ApiError) -> Value {
    let mut result = json!({
        "success": false,
        "errors": [{ "statusCode": error.code, "message": error.message, "fields": error.fields }],
    });
    if let Some(id) = id {
        result["id"] = json!(id);
    }
    result
}

fn rolled_back_error() -> ApiError {
    ApiError::bad_request(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

fn entity_deleted() -> ApiError {
    ApiError::bad_request("ENTITY_IS_DELETED", "entity is deleted")
}

fn malformed_id(raw: &str) -> ApiError {
    ApiError::bad_request("MALFORMED_ID", format!("malformed id {raw}"))
}

fn too_many() -> ApiError {
    ApiError::bad_request(
        "EXCEEDED_ID_LIMIT",
        format!(
            "record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
        ),
    )
}

/// `{"allOrNone": bool, "records": [ {…}, … ]}`.
fn records_of(body: Option<&Value>) -> Result<(bool, Vec<Map<String, Value>>), ApiError> {
    let records = body
        .and_then(|b| b.get("records"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_request(
                "JSON_PARSER_ERROR",
                "The request body must carry a records array",
            )
        })?;
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    let records = records
        .iter()
        .map(|r| {
            r.as_object().cloned().ok_or_else(|| {
                ApiError::bad_request(
                    "JSON_PARSER_ERROR",
                    "Cannot deserialize instance of an sObject from a non-object value",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let all_or_none = body
        .and_then(|b| b.get("allOrNone"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((all_or_none, records))
}

/// The object named in `attributes.type`.
fn typed_object(record: &Map<String, Value>) -> Result<&'static SObject, ApiError> {
    let name = record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request("INVALID_TYPE", "No SObject type found in attributes")
        })?;
    schema::sobject(name).ok_or_else(|| ApiError::invalid_type(name))
}

/// The keys that appear more than once among `keys`.
fn repeated(keys: impl Iterator<Item = Option<String>>) -> HashSet<String> {
    let mut seen = HashSet::new();
    keys.flatten()
        .filter(|key| !seen.insert(key.clone()))
        .collect()
}

fn object_by_prefix(id: &str) -> Option<&'static SObject> {
    SOBJECTS.iter().find(|o| id.starts_with(o.key_prefix))
}

fn id_list(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "MISSING_ARGUMENT",
            "ids must be specified",
        ));
    }
    if ids.len() > MAX_RECORDS {
        return Err(too_many());
    }
    Ok(ids)
}

//! Discovery endpoints clients call before data: `GET /services/data` (versions),
//! `GET limits`, `GET sobjects` (describe global), `GET sobjects/{Object}` (basic info) and
//! `GET sobjects/{Object}/describe`, all derived from the schema tables.

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::schema::{self, Field, Kind, SObject, SOBJECTS};
use super::{version_of, DAILY_API_LIMIT};
use crate::Sandbox;

pub async fn versions(State(sandbox): State<Sandbox>) -> Json<Value> {
    let version = &sandbox.config().api_version;
    Json(
        json!([{ "label": format!("API v{version}"), "url": format!("/services/data/v{version}"), "version": version }]),
    )
}

pub async fn limits(
    State(sandbox): State<Sandbox>,
    Path(version): Path<String>,
) -> Result<Json<Value>, ApiError> {
    version_of(&version)?;
    let used = sandbox.inner.org.api_usage.load(Ordering::Relaxed);
    Ok(Json(json!({
        "DailyApiRequests": { "Max": DAILY_API_LIMIT, "Remaining": DAILY_API_LIMIT.saturating_sub(used) },
    })))
}

fn object_summary(object: &SObject, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    json!({
        "name": object.name,
        "label": object.name,
        "keyPrefix": object.key_prefix,
        "custom": false,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "urls": { "sobject": base, "describe": format!("{base}/describe"), "rowTemplate": format!("{base}/{{ID}}") },
    })
}

pub async fn describe_global(Path(version): Path<String>) -> Result<Json<Value>, ApiError> {
    let version = version_of(&version)?;
    let sobjects: Vec<Value> = SOBJECTS
        .iter()
        .map(|o| object_summary(o, version))
        .collect();
    Ok(Json(
        json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects }),
    ))
}

pub async fn basic_info(
    Path((version, object)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let version = version_of(&version)?;
    let object = schema::sobject(&object).ok_or_else(ApiError::not_found)?;
    Ok(Json(
        json!({ "objectDescribe": object_summary(object, version), "recentItems": [] }),
    ))
}

fn describe_field(field: &Field) -> Value {
    let (kind, reference_to, relationship) = match field.kind {
        Kind::Id => ("id", vec![], None),
        Kind::Text => ("string", vec![], None),
        Kind::Bool => ("boolean", vec![], None),
        Kind::DateTime => ("datetime", vec![], None),
        Kind::Reference {
            target,
            relationship,
        } => ("reference", vec![target], Some(relationship)),
    };
    json!({
        "name": field.name,
        "label": field.name,
        "type": kind,
        "nillable": !field.required && field.kind != Kind::Bool && !field.read_only,
        "createable": !field.read_only,
        "updateable": !field.read_only,
        "externalId": field.external_id,
        "unique": field.unique,
        "idLookup": field.kind == Kind::Id || field.external_id,
        "referenceTo": reference_to,
        "relationshipName": relationship,
        "custom": field.name.ends_with("__c"),
    })
}

pub async fn describe(
    Path((version, object)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let version = version_of(&version)?;
    let object = schema::sobject(&object).ok_or_else(ApiError::not_found)?;
    let mut body = object_summary(object, version);
    body["fields"] = object.fields.iter().map(describe_field).collect();
    body["childRelationships"] = object
        .children
        .iter()
        .map(|c| json!({ "childSObject": c.child, "field": c.field, "relationshipName": c.name, "cascadeDelete": true }))
        .collect();
    Ok(Json(body))
}

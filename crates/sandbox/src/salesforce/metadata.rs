//! Discovery endpoints clients call before data: `GET /services/data` (versions),
//! `GET limits`, `GET sobjects` (describe global), `GET sobjects/{Object}` (basic info) and
//! `GET sobjects/{Object}/describe`, all derived from the schema tables; `describe` shows the
//! org's [`crate::drift`] (fields renamed or deleted, picklist values removed).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::rest::Reply;
use super::schema::{self, Field, Kind, NumberType, SObject, CORPORATE_CURRENCY, SOBJECTS};
use super::Org;
use crate::drift::SchemaDrift;
use crate::Sandbox;

pub async fn versions(State(sandbox): State<Sandbox>) -> Json<Value> {
    let version = &sandbox.config().api_version;
    Json(
        json!([{ "label": format!("API v{version}"), "url": format!("/services/data/v{version}"), "version": version }]),
    )
}

/// `GET limits`: the daily API allocation as it stands.
pub fn limits(org: &Org) -> Reply {
    let (max, used) = org.api_allocation();
    let ((query_jobs, query_jobs_left), (batches, batches_left)) = org.bulk_limits_left();
    Reply::ok(json!({
        "DailyApiRequests": { "Max": max, "Remaining": max.saturating_sub(used) },
        "DailyBulkApiBatches": { "Max": batches, "Remaining": batches_left },
        "DailyBulkV2QueryJobs": { "Max": query_jobs, "Remaining": query_jobs_left },
    }))
}

fn object_summary(object: &SObject, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    json!({
        "name": object.name,
        "label": object.name,
        "keyPrefix": object.key_prefix,
        "custom": object.name.ends_with("__c"),
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "urls": { "sobject": base, "describe": format!("{base}/describe"), "rowTemplate": format!("{base}/{{ID}}") },
    })
}

pub fn describe_global(version: &str) -> Reply {
    let sobjects: Vec<Value> = SOBJECTS
        .iter()
        .map(|o| object_summary(o, version))
        .collect();
    Reply::ok(json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects }))
}

pub fn basic_info(object: &str, version: &str) -> Result<Reply, ApiError> {
    let object = schema::sobject(object).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(
        json!({ "objectDescribe": object_summary(object, version), "recentItems": [] }),
    ))
}

fn describe_field(object: &str, field: &Field, drift: &SchemaDrift) -> Option<Value> {
    let name = drift.shown_name(object, field.name)?;
    let (kind, reference_to, relationship) = match field.kind {
        Kind::Id => ("id", vec![], None),
        Kind::Text => ("string", vec![], None),
        Kind::Picklist { .. } => ("picklist", vec![], None),
        Kind::Bool => ("boolean", vec![], None),
        Kind::Number(NumberType::Currency) => ("currency", vec![], None),
        Kind::Number(NumberType::Double) => ("double", vec![], None),
        Kind::Number(NumberType::Percent) => ("percent", vec![], None),
        Kind::Date => ("date", vec![], None),
        Kind::DateTime => ("datetime", vec![], None),
        Kind::Reference {
            target,
            relationship,
        } => ("reference", vec![target], Some(relationship)),
    };
    Some(json!({
        "name": name,
        "label": name,
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
        "picklistValues": picklist_values(field.kind, |v| drift.value_offered(object, field.name, v)),
        "restrictedPicklist": matches!(field.kind, Kind::Picklist { restricted: true, .. }),
        "defaultedOnCreate": field.kind == Kind::Bool || field.name == "CurrencyIsoCode",
    }))
}

fn picklist_values(kind: Kind, offered: impl Fn(&str) -> bool) -> Vec<Value> {
    let Kind::Picklist { values, .. } = kind else {
        return Vec::new();
    };
    values
        .iter()
        .filter(|v| offered(v))
        .map(|v| json!({ "value": v, "label": v, "active": true, "defaultValue": *v == CORPORATE_CURRENCY }))
        .collect()
}

pub fn describe(object: &str, version: &str, drift: &SchemaDrift) -> Result<Reply, ApiError> {
    let object = schema::sobject(object).ok_or_else(ApiError::not_found)?;
    let mut body = object_summary(object, version);
    body["fields"] = object
        .fields
        .iter()
        .filter_map(|f| describe_field(object.name, f, drift))
        .collect();
    body["childRelationships"] = object
        .children
        .iter()
        .map(|c| json!({ "childSObject": c.child, "field": c.field, "relationshipName": c.name, "cascadeDelete": true }))
        .collect();
    Ok(Reply::ok(body))
}

impl Sandbox {
    /// Renames `object.field` (`Some(new name)`) or deletes it (`None`) as an administrator would:
    /// `describe` shows the drift (see [`crate::drift`] for what it does not change).
    pub fn sf_rename_field(&self, object: &str, field: &str, to: Option<&str>) {
        self.inner.org.drift.rename(object, field, to);
    }

    /// Removes `value` from the picklist `object.field`: `describe` no longer offers it.
    pub fn sf_remove_picklist_value(&self, object: &str, field: &str, value: &str) {
        self.inner.org.drift.remove_value(object, field, value);
    }
}

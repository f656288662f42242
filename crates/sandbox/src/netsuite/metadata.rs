//! The record metadata catalog, `GET /services/rest/record/v1/metadata-catalog` (every record
//! type with its links) and `GET …/metadata-catalog/{recordType}` (one record type as a JSON
//! Schema, `application/schema+json`; NetSuite's other representation, OpenAPI
//! `application/swagger+json`, is not served), derived from the account's record schema
//! ([`super::schema`]) and its [`crate::drift`]. Authenticated and governed like record calls.
//!
//! Shape as documented in "Working with Resource Metadata": each property has `title`, `type`
//! (`string`, `boolean`, `number`, `integer`, `object`), a `format` for dates (`date`,
//! `date-time`), `nullable`, and `readOnly` where the REST API refuses writes; a reference is an
//! `object` with `id`/`refName`; a select field an `object` whose `id` lists its values in `enum`
//! (with `x-ns-filterable`); a sublist an `object` named by the sublist. `?select=` is not served.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::records::record_type_of;
use super::schema::{Field, Kind, RecordType, RECORD_TYPES};
use crate::control::base_url;
use crate::Sandbox;

const CATALOG: &str = "/services/rest/record/v1/metadata-catalog";

/// `GET metadata-catalog`: `{"items":[{"name","links":[…]}]}`.
pub async fn catalog(headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    let items: Vec<Value> = RECORD_TYPES
        .iter()
        .map(|t| {
            let href = format!("{base}{CATALOG}/{}", t.name);
            json!({
                "name": t.name,
                "links": [
                    { "rel": "canonical", "href": href, "mediaType": "application/json" },
                    { "rel": "alternate", "href": href, "mediaType": "application/swagger+json" },
                    { "rel": "alternate", "href": href, "mediaType": "application/schema+json" },
                    { "rel": "describes", "href": format!("{base}/services/rest/record/v1/{}", t.name) },
                ],
            })
        })
        .collect();
    Json(
        json!({ "items": items, "links": [{ "rel": "self", "href": format!("{base}{CATALOG}") }] }),
    )
}

/// `GET metadata-catalog/{recordType}`: the record type as a JSON Schema; an unknown type is the
/// record service's 404 `INVALID_URL`.
pub async fn record_schema(
    State(sandbox): State<Sandbox>,
    Path(record_type): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record_type = record_type_of(&record_type)?;
    let base = base_url(&headers);
    let body = sandbox.inner.account.record_schema(record_type, &base);
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/schema+json; charset=UTF-8",
        )],
        Json(body),
    )
        .into_response())
}

impl super::Account {
    fn record_schema(&self, record_type: &RecordType, base: &str) -> Value {
        let mut properties = Map::new();
        for field in record_type.fields {
            if let Some(name) = self.drift.shown_name(record_type.name, field.name) {
                properties.insert(name, property(field, base));
            }
        }
        for sublist in record_type.sublists {
            properties.insert(
                (*sublist).to_owned(),
                json!({ "title": sublist, "type": "object", "$ref": format!("{base}{CATALOG}/{}-{sublist}Collection", record_type.name) }),
            );
        }
        json!({
            "type": "object",
            "properties": properties,
            "required": record_type.required.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            "x-ns-filterable": record_type.fields.iter().map(|f| f.name).collect::<Vec<_>>(),
            "x-ns-custom-record": false,
            "links": [{ "rel": "self", "href": format!("{base}{CATALOG}/{}", record_type.name) }],
        })
    }
}

fn property(field: &Field, base: &str) -> Value {
    let reference = |target: &str| {
        json!({
            "type": "object",
            "properties": {
                "id": { "title": "Internal identifier", "type": "string" },
                "refName": { "title": "Reference Name", "type": "string" },
            },
            "$ref": format!("{base}{CATALOG}/{target}"),
        })
    };
    let select = |values: &[(&str, &str)]| {
        json!({
            "type": "object",
            "properties": {
                "id": {
                    "title": "Internal identifier",
                    "type": "string",
                    "enum": values.iter().map(|(code, _)| *code).collect::<Vec<_>>(),
                    "x-ns-filterable": true,
                },
                "refName": { "title": "Reference Name", "type": "string" },
            },
            "x-ns-enum": values.iter().map(|(code, name)| json!({ "id": code, "refName": name })).collect::<Vec<_>>(),
        })
    };
    let mut schema = match field.kind {
        Kind::Id => json!({ "type": "string" }),
        Kind::Text => json!({ "type": "string" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::DateTime => json!({ "type": "string", "format": "date-time" }),
        Kind::Date => json!({ "type": "string", "format": "date" }),
        Kind::Number => json!({ "type": "number", "format": "double" }),
        Kind::Ref(target) => reference(target),
        Kind::Select(values) | Kind::Status(values) => select(values),
        Kind::Address => json!({ "type": "object", "$ref": format!("{base}{CATALOG}/address") }),
    };
    schema["title"] = json!(title(field.name));
    schema["nullable"] = json!(field.kind != Kind::Bool && field.kind != Kind::Id);
    if field.read_only {
        schema["readOnly"] = json!(true);
    }
    schema
}

/// `companyName` → `Company Name`: NetSuite titles are the field's label.
fn title(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            if c.is_uppercase() {
                out.push(' ');
            }
            out.push(c);
        }
    }
    out
}

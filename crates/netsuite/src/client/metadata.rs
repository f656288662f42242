//! The record metadata catalog (`record/v1/metadata-catalog/{recordType}`), read as a JSON Schema
//! (`Accept: application/schema+json`): what a record type's fields are, as a check before data
//! (the doctor) needs them. Only the facts a check uses are kept: type, format, read-only,
//! nullable and a select field's values.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{decode, Call, NetSuiteClient};
use crate::error::NetSuiteError;

/// One record type's fields, by REST field name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordMetadata {
    pub fields: BTreeMap<String, FieldMetadata>,
}

/// One field of a record type's JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMetadata {
    /// The JSON Schema `type`: `string`, `number`, `integer`, `boolean`, `object`, `array`.
    pub kind: String,
    /// `date`, `date-time`, … when the schema gives one.
    pub format: Option<String>,
    pub read_only: bool,
    pub nullable: bool,
    /// A select field's values (the `enum` of its `id`); empty for other fields.
    pub values: Vec<String>,
}

#[derive(Deserialize)]
struct WireSchema {
    #[serde(default)]
    properties: BTreeMap<String, Value>,
}

fn field(schema: &Value) -> FieldMetadata {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    FieldMetadata {
        kind: text(&schema["type"]).unwrap_or_default(),
        format: text(&schema["format"]),
        read_only: schema["readOnly"].as_bool().unwrap_or(false),
        nullable: schema["nullable"].as_bool().unwrap_or(true),
        values: schema["properties"]["id"]["enum"]
            .as_array()
            .map(|values| values.iter().filter_map(text).collect())
            .unwrap_or_default(),
    }
}

impl NetSuiteClient {
    /// One record type's metadata (`GET record/v1/metadata-catalog/{recordType}`); an unknown
    /// type is NetSuite's 404 as [`NetSuiteError::Api`].
    pub async fn record_metadata(
        &self,
        record_type: &str,
    ) -> Result<RecordMetadata, NetSuiteError> {
        let pattern = format!("record/v1/metadata-catalog/{record_type}");
        let url = self.url(&["record", "v1", "metadata-catalog", record_type], &[])?;
        let mut call = Call::new(Method::GET, url, &pattern);
        call.accept = "application/schema+json";
        let reply = self.send(call).await?;
        let schema: WireSchema = decode(&reply.body, "record metadata")?;
        Ok(RecordMetadata {
            fields: schema
                .properties
                .iter()
                .map(|(name, schema)| (name.clone(), field(schema)))
                .collect(),
        })
    }
}

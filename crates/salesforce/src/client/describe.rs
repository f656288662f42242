//! `GET sobjects/{Object}/describe`: an object's fields as Salesforce describes them, kept to the
//! facts a check before data (the doctor) uses: type, createable, updateable, external id, id
//! lookup, picklist values.

use reqwest::Method;
use serde::Deserialize;

use super::{decode, SalesforceClient};
use crate::error::SalesforceError;

/// An object's describe, its fields in describe order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SObjectDescribe {
    pub name: String,
    pub fields: Vec<FieldDescribe>,
}

/// One field of a describe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    /// `string`, `picklist`, `boolean`, `currency`, `double`, `date`, `reference`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PicklistValue {
    pub value: String,
    #[serde(default = "active")]
    pub active: bool,
}

fn active() -> bool {
    true
}

impl SObjectDescribe {
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

impl FieldDescribe {
    /// Whether `value` is an active value of this picklist.
    pub fn offers(&self, value: &str) -> bool {
        self.picklist_values
            .iter()
            .any(|v| v.active && v.value == value)
    }
}

impl SalesforceClient {
    /// `GET sobjects/{object}/describe`.
    pub async fn describe(&self, object: &str) -> Result<SObjectDescribe, SalesforceError> {
        let path = format!("sobjects/{object}/describe");
        let reply = self
            .send(Method::GET, &path, &[], None, "sobjects/{object}/describe")
            .await?;
        decode(&reply.body, "describe")
    }
}

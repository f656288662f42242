//! sObject Collections: create, update and upsert up to 200 records a call.
//!
//! Inputs of any length are cut into chunks of 200 (the most one call takes) and the results come
//! back one per input, in input order. `all_or_none` holds within a chunk only: Salesforce commits
//! each call on its own, so when a chunk fails under `all_or_none`, the chunks before it stay
//! committed and the chunks after it are not sent; their inputs report
//! `ALL_OR_NONE_OPERATION_ROLLED_BACK` without an id.
//!
//! A call never names one record twice: Salesforce fails every row of an update whose `Id`, or
//! of an upsert whose external id value, appears more than once in one call (`DUPLICATE_VALUE`),
//! and saves none of them. So updates and upserts are merged by key before they are cut into
//! chunks: the fields of every input for one record, later inputs winning (what sending them
//! one after another would leave), sent once; each of those inputs gets that record's result.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{decode, segment, Record, SalesforceClient};
use crate::error::{ApiError, SalesforceError};

/// The most records one sObject Collections call takes.
pub const COLLECTION_LIMIT: usize = 200;

/// The outcome of one record of a collection call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordResult {
    /// The record's id; `None` when the record was not saved.
    #[serde(default)]
    pub id: Option<String>,
    pub success: bool,
    /// Upserts only: `true` when the record was created, `false` when updated.
    #[serde(default)]
    pub created: Option<bool>,
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

impl RecordResult {
    fn not_sent() -> Self {
        Self {
            id: None,
            success: false,
            created: None,
            errors: vec![ApiError {
                error_code: "ALL_OR_NONE_OPERATION_ROLLED_BACK".to_owned(),
                message: "not sent: an earlier chunk of this all-or-none call failed".to_owned(),
                fields: Vec::new(),
            }],
        }
    }
}

impl SalesforceClient {
    /// Creates records of one type (`POST composite/sobjects`), 200 a call.
    pub async fn create_many(
        &self,
        sobject: &str,
        records: &[Record],
        all_or_none: bool,
    ) -> Result<Vec<RecordResult>, SalesforceError> {
        let path = "composite/sobjects".to_owned();
        self.collection(
            Method::POST,
            path,
            "composite/sobjects",
            sobject,
            records,
            all_or_none,
        )
        .await
    }

    /// Updates records of one type by their `Id` field (`PATCH composite/sobjects`), 200 a call.
    /// Field names are case-insensitive in Salesforce, so `id` works as well.
    pub async fn update_many(
        &self,
        sobject: &str,
        records: &[Record],
        all_or_none: bool,
    ) -> Result<Vec<RecordResult>, SalesforceError> {
        if let Some(at) = records.iter().position(|r| !has_value(r, "Id")) {
            return Err(SalesforceError::InvalidRequest(format!(
                "update_many: record {at} has no Id"
            )));
        }
        let path = "composite/sobjects".to_owned();
        let (merged, slots) = merge_by_key(records, "Id", salesforce_id_key);
        let results = self
            .collection(
                Method::PATCH,
                path,
                "composite/sobjects",
                sobject,
                &merged,
                all_or_none,
            )
            .await?;
        Ok(spread(&results, &slots))
    }

    /// Creates or updates records of one type matched on `ext_field`, which every record must
    /// carry (`PATCH composite/sobjects/{sobject}/{ext_field}`), 200 a call.
    pub async fn upsert_many(
        &self,
        sobject: &str,
        ext_field: &str,
        records: &[Record],
        all_or_none: bool,
    ) -> Result<Vec<RecordResult>, SalesforceError> {
        if let Some(at) = records.iter().position(|r| !has_value(r, ext_field)) {
            return Err(SalesforceError::InvalidRequest(format!(
                "upsert_many: record {at} has no {ext_field}"
            )));
        }
        let path = format!(
            "composite/sobjects/{}/{}",
            segment(sobject),
            segment(ext_field)
        );
        let pattern = format!("composite/sobjects/{sobject}/{ext_field}");
        let (merged, slots) = merge_by_key(records, ext_field, external_id_key);
        let results = self
            .collection(Method::PATCH, path, &pattern, sobject, &merged, all_or_none)
            .await?;
        Ok(spread(&results, &slots))
    }

    async fn collection(
        &self,
        method: Method,
        path: String,
        pattern: &str,
        sobject: &str,
        records: &[Record],
        all_or_none: bool,
    ) -> Result<Vec<RecordResult>, SalesforceError> {
        let mut results = Vec::with_capacity(records.len());
        for chunk in records.chunks(COLLECTION_LIMIT) {
            if all_or_none && results.iter().any(|r: &RecordResult| !r.success) {
                results.extend(chunk.iter().map(|_| RecordResult::not_sent()));
                continue;
            }
            let body = json!({
                "allOrNone": all_or_none,
                "records": chunk.iter().map(|r| typed(sobject, r)).collect::<Vec<_>>(),
            });
            let body = serde_json::to_vec(&body)
                .map_err(|e| SalesforceError::Decode(format!("request body: {e}")))?;
            let reply = self
                .send(method.clone(), &path, &[], Some(body), pattern)
                .await?;
            let chunk_results: Vec<RecordResult> = decode(&reply.body, "collection results")?;
            if chunk_results.len() != chunk.len() {
                return Err(SalesforceError::Decode(format!(
                    "{} results for {} records",
                    chunk_results.len(),
                    chunk.len()
                )));
            }
            results.extend(chunk_results);
        }
        Ok(results)
    }
}

/// Whether `record` holds a non-null value for `field` (matched case-insensitively).
fn has_value(record: &Record, field: &str) -> bool {
    record
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case(field) && !value.is_null())
}

/// The value of `field` in `record` (matched case-insensitively).
fn field_value<'a>(record: &'a Record, field: &str) -> Option<&'a Value> {
    record
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field))
        .map(|(_, value)| value)
}

/// A record id as one key for its 15- and 18-character forms (the first 15 characters are
/// the id; the last 3 only encode their case).
fn salesforce_id_key(value: &Value) -> String {
    let id = value.as_str().unwrap_or_default();
    id.get(..15).unwrap_or(id).to_owned()
}

/// An external id value as Salesforce compares it: text as it is, numbers printed.
fn external_id_key(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The records merged by the key `key_of` makes of `field` (every record carries it: the
/// callers checked), in the order each key first appears, later fields overriding earlier
/// ones; and for each input, the index of its merged record.
fn merge_by_key(
    records: &[Record],
    field: &str,
    key_of: fn(&Value) -> String,
) -> (Vec<Record>, Vec<usize>) {
    let mut merged: Vec<Record> = Vec::with_capacity(records.len());
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut slots = Vec::with_capacity(records.len());
    for record in records {
        let key = field_value(record, field).map(key_of).unwrap_or_default();
        match index.get(&key) {
            Some(&at) => {
                let into = &mut merged[at];
                for (name, value) in record {
                    // Field names are case-insensitive: a later `name` replaces an earlier `Name`.
                    into.retain(|k, _| !k.eq_ignore_ascii_case(name));
                    into.insert(name.clone(), value.clone());
                }
                slots.push(at);
            }
            None => {
                index.insert(key, merged.len());
                slots.push(merged.len());
                merged.push(record.clone());
            }
        }
    }
    (merged, slots)
}

/// One result per input: the result of the merged record each input went into.
fn spread(results: &[RecordResult], slots: &[usize]) -> Vec<RecordResult> {
    slots.iter().map(|&at| results[at].clone()).collect()
}

/// The record with `attributes.type` set, as collections require.
fn typed(sobject: &str, record: &Record) -> Value {
    let mut record = record.clone();
    record.insert("attributes".to_owned(), json!({ "type": sobject }));
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_fields_match_case_insensitively_and_must_not_be_null() {
        let record = |v: Value| match v {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        assert!(has_value(&record(json!({ "id": "001" })), "Id"));
        assert!(has_value(&record(json!({ "Ext__C": 7 })), "Ext__c"));
        assert!(!has_value(&record(json!({ "Id": null })), "Id"));
        assert!(!has_value(&record(json!({ "Name": "x" })), "Id"));
    }

    #[test]
    fn inputs_for_one_record_merge_with_later_fields_winning() {
        let record = |v: Value| match v {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let id = "001000000000001AAA";
        let records = [
            record(json!({ "Id": id, "Name": "First", "Phone": "1" })),
            record(json!({ "Id": "001000000000002AAA", "Name": "Other" })),
            record(json!({ "id": &id[..15], "Name": "Last" })),
        ];
        let (merged, slots) = merge_by_key(&records, "Id", salesforce_id_key);
        assert_eq!(slots, [0, 1, 0]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0]["Name"], "Last");
        assert_eq!(merged[0]["Phone"], "1");
        assert_eq!(
            merged[0]
                .keys()
                .filter(|k| k.eq_ignore_ascii_case("id"))
                .count(),
            1
        );

        let records = [
            record(json!({ "Ext__c": 7, "Name": "Seven" })),
            record(json!({ "Ext__c": "7", "Name": "Seven again" })),
            record(json!({ "Ext__c": "8", "Name": "Eight" })),
        ];
        let (merged, slots) = merge_by_key(&records, "Ext__c", external_id_key);
        assert_eq!(slots, [0, 0, 1]);
        assert_eq!(merged[0]["Name"], "Seven again");
    }

    #[test]
    fn records_carry_their_type() {
        let record = Record::from_iter([("Name".to_owned(), json!("Acme"))]);
        assert_eq!(
            typed("Account", &record),
            json!({ "attributes": { "type": "Account" }, "Name": "Acme" })
        );
    }
}

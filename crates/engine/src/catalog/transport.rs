//! How the catalog's writes reach Salesforce: sObject Collections (200 records a call) for runs
//! at or below `salesforce.bulk_threshold` and single items, Bulk API 2.0 ingest jobs (every
//! record of a step in one job, split only past [`isthmus_salesforce::BULK_INGEST_MAX_BYTES`])
//! for full runs above it.
//!
//! Guarantees: both transports answer one [`RecordResult`] per record, in the records' order, so
//! [`write`](super::write) decides what a result means once, whatever carried it.
//! - An ingest job's refused rows (`failedResults`) are failures with Salesforce's code and
//!   message, its rows never processed (`unprocessedrecords`) failures with the code
//!   [`NOT_PROCESSED`]; each is matched back to its record by the key of the operation
//!   ([`Operation::key`]), since result rows carry no index. A refused row that matches no record
//!   fails the whole write (`Err`): nothing is taken as saved that may not be.
//! - The ids of saved records (`sf__Id`, `sf__Created`) are read from `successfulResults` only
//!   when the caller needs them (new products); otherwise a record neither failed nor
//!   unprocessed is saved, and an update's id is its `Id`.
//! - The same values as REST: an empty text value is sent as null (`#N/A`), because an empty CSV
//!   cell leaves a field as it is where REST's `""` clears it.

use std::collections::HashMap;

use isthmus_salesforce::{ApiError, BulkOperation, BulkPolling, RecordResult};
use serde_json::Value;

use super::item::Record;
use super::CatalogFlows;
use crate::error::{EngineError, Result};

/// The code of a row an ingest job never processed (ours: Salesforce answers the row without
/// an error).
pub const NOT_PROCESSED: &str = "NOT_PROCESSED";

/// What carries a batch's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// sObject Collections, 200 records a call.
    Collections,
    /// Bulk API 2.0 ingest jobs, one a step.
    Ingest,
}

/// A write of records of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    /// By the named external id field.
    Upsert(&'static str),
    /// New records, told apart by the named fields (no two records share their values).
    Insert(&'static [&'static str]),
    /// By `Id`.
    Update,
}

impl Operation {
    /// The fields that name a record among the job's rows.
    fn key(self) -> Vec<&'static str> {
        match self {
            Self::Upsert(field) => vec![field],
            Self::Insert(fields) => fields.to_vec(),
            Self::Update => vec!["Id"],
        }
    }

    fn bulk(self) -> BulkOperation {
        match self {
            Self::Upsert(field) => BulkOperation::Upsert {
                external_id_field: field.to_string(),
            },
            Self::Insert(_) => BulkOperation::Insert,
            Self::Update => BulkOperation::Update,
        }
    }
}

/// A record's key as result rows carry it: each key field's cell, Salesforce ids as their
/// case-sensitive 15-character form (a job may answer either form).
fn key_of<'a>(fields: &[&str], cell: impl Fn(&str) -> Option<&'a str>) -> String {
    fields
        .iter()
        .map(|field| {
            let value = cell(field).unwrap_or_default();
            if field.ends_with("Id") && value.len() == 18 {
                &value[..15]
            } else {
                value
            }
        })
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// A record's value as its CSV cell.
fn cell_text(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        _ => None,
    }
}

fn refused(error: ApiError) -> RecordResult {
    RecordResult {
        id: None,
        success: false,
        created: None,
        errors: vec![error],
    }
}

impl CatalogFlows {
    /// Writes `records` of `object` through `transport`: one result per record, in order.
    /// `ids` asks for the ids of saved records (read from `successfulResults` by an ingest job).
    /// `Err` when a whole call or job failed.
    pub(super) async fn write_records(
        &self,
        transport: Transport,
        object: &str,
        operation: Operation,
        records: &[Record],
        ids: bool,
    ) -> Result<Vec<RecordResult>> {
        let sf = &self.salesforce;
        match (transport, operation) {
            (Transport::Collections, Operation::Upsert(field)) => {
                Ok(sf.upsert_many(object, field, records, false).await?)
            }
            (Transport::Collections, Operation::Insert(_)) => {
                Ok(sf.create_many(object, records, false).await?)
            }
            (Transport::Collections, Operation::Update) => {
                Ok(sf.update_many(object, records, false).await?)
            }
            (Transport::Ingest, _) => self.ingest(object, operation, records, ids).await,
        }
    }

    async fn ingest(
        &self,
        object: &str,
        operation: Operation,
        records: &[Record],
        ids: bool,
    ) -> Result<Vec<RecordResult>> {
        let key = operation.key();
        if key.is_empty() {
            return Err(EngineError::Unprocessable(format!(
                "an ingest of {object} needs a key to match its results to its records"
            )));
        }
        let key = key.as_slice();
        let sent: Vec<Record> = records.iter().map(blank_as_null).collect();
        let outcome = self
            .salesforce
            .bulk_ingest(object, &operation.bulk(), &sent, &BulkPolling::default())
            .await?;
        // Record index by key; a key names one record (the plans never write one twice).
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (at, record) in sent.iter().enumerate() {
            by_key.insert(key_of(key, |f| record.get(f).and_then(cell_text)), at);
        }
        let find = |fields: &HashMap<String, String>| {
            by_key
                .get(&key_of(key, |f| fields.get(f).map(String::as_str)))
                .copied()
        };
        let mut results: Vec<RecordResult> = sent
            .iter()
            .map(|record| RecordResult {
                id: record.get("Id").and_then(cell_text).map(str::to_string),
                success: true,
                created: None,
                errors: Vec::new(),
            })
            .collect();
        let unmatched = || {
            EngineError::Unprocessable(format!(
                "an ingest job of {object} answered a row that matches none of its records"
            ))
        };
        for row in outcome.failed {
            let at = find(&row.fields).ok_or_else(unmatched)?;
            results[at] = refused(row.error);
        }
        for fields in &outcome.unprocessed {
            let at = find(fields).ok_or_else(unmatched)?;
            results[at] = refused(ApiError {
                error_code: NOT_PROCESSED.into(),
                message: "the ingest job ended before this row".into(),
                fields: Vec::new(),
            });
        }
        if ids {
            let mut saved = vec![false; sent.len()];
            for job in &outcome.jobs {
                for row in self.salesforce.bulk_successful_results(job).await? {
                    let at = find(&row.fields).ok_or_else(unmatched)?;
                    results[at].id = Some(row.id);
                    results[at].created = Some(row.created);
                    saved[at] = true;
                }
            }
            for (result, saved) in results.iter_mut().zip(saved) {
                if result.success && !saved {
                    *result = refused(ApiError {
                        error_code: NOT_PROCESSED.into(),
                        message: "the ingest job reports no result for this row".into(),
                        fields: Vec::new(),
                    });
                }
            }
        }
        Ok(results)
    }
}

/// The record with empty text as null, so the job clears what REST's `""` clears.
fn blank_as_null(record: &Record) -> Record {
    record
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) if text.is_empty() => (name.clone(), Value::Null),
            _ => (name.clone(), value.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_either_id_form_and_every_key_field() {
        let fields = ["Pricebook2Id", "Product2Id", "CurrencyIsoCode"];
        let ours = HashMap::from([
            ("Pricebook2Id", "01s000000000001AAA"),
            ("Product2Id", "01t000000000007AAA"),
            ("CurrencyIsoCode", "EUR"),
        ]);
        let echoed = HashMap::from([
            ("Pricebook2Id", "01s000000000001"),
            ("Product2Id", "01t000000000007AAA"),
            ("CurrencyIsoCode", "EUR"),
        ]);
        let a = key_of(&fields, |f| ours.get(f).copied());
        assert_eq!(a, key_of(&fields, |f| echoed.get(f).copied()));
        let mut other = ours.clone();
        other.insert("CurrencyIsoCode", "GBP");
        assert_ne!(a, key_of(&fields, |f| other.get(f).copied()));
        // An external id is not a Salesforce id: never shortened.
        let long = "123456789012345678";
        assert_ne!(
            key_of(&["NetSuite_Id__c"], |_| Some(long)),
            key_of(&["NetSuite_Id__c"], |_| Some(&long[..15]))
        );
    }

    #[test]
    fn blank_text_is_sent_as_null_and_other_values_as_they_are() {
        let record: Record = serde_json::from_value(serde_json::json!({
            "Description": "", "Name": "Gear", "IsActive": false, "UnitPrice": 2.5
        }))
        .unwrap();
        let sent = blank_as_null(&record);
        assert_eq!(sent["Description"], Value::Null);
        assert_eq!(sent["Name"], "Gear");
        assert_eq!(sent["IsActive"], false);
        assert_eq!(sent["UnitPrice"], 2.5);
    }
}

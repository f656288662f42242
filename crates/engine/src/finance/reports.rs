//! Writing report rows (receivables aging, GL balances) to their Salesforce objects: each row is
//! upserted by its external id `NetSuite_Key__c` in sObject Collections calls of up to 200 rows
//! (`all_or_none = false`), and its content hash kept on a link of the report's kind (Salesforce
//! record id ↔ the row's key). A row whose hash equals its link's is not sent, so a run that
//! finds nothing changed writes nothing; a row Salesforce refuses fails alone, keeps its old
//! hash, and is tried again by the next run.
//!
//! The caller holds the report's lock (one run of a report at a time) and passes its lease:
//! every link is written under it (fenced), and the lease is checked before each call.

use std::collections::BTreeMap;
use std::time::Duration;

use isthmus_salesforce::COLLECTION_LIMIT;
use isthmus_store::{Lease, Link};
use serde_json::{Map, Value};

use super::FinanceFlows;
use crate::error::{EngineError, Result};
use crate::lock::ensure_held;
use crate::mirror::netsuite_owned_link;
use crate::orders::hash;

/// The external-id field of every report object.
pub const REPORT_KEY_FIELD: &str = "NetSuite_Key__c";

/// One report row: its key and the fields it holds (without the key), and what its link keeps
/// of it (`snapshot`, e.g. a GL row's account and period start, for a later run to place it).
#[derive(Debug, Clone)]
pub(super) struct ReportRow {
    pub key: String,
    pub fields: Map<String, Value>,
    pub snapshot: BTreeMap<String, Option<String>>,
}

/// What writing a report did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReportRun {
    pub written: u64,
    pub unchanged: u64,
    pub failed: u64,
}

/// A report row's hash: its fields but the `undated` ones (written, yet left out of the hash: the
/// day a row was computed does not make it new).
fn row_hash(fields: &Map<String, Value>, undated: &[&str]) -> String {
    let mut hashed = fields.clone();
    hashed.retain(|field, _| !undated.contains(&field.as_str()));
    hash(&Value::Object(hashed))
}

impl FinanceFlows {
    /// The rows whose hash differs from their link's (or that have no link), with those hashes;
    /// the others are counted as unchanged. One ID-map read for all of them.
    pub(super) async fn changed_rows(
        &self,
        kind: &str,
        rows: Vec<ReportRow>,
        undated: &[&str],
        run: &mut ReportRun,
    ) -> Result<Vec<(ReportRow, String)>> {
        let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
        let links = self.store.links_by_netsuite_many(kind, &keys).await?;
        let mut changed = Vec::new();
        for (row, link) in rows.into_iter().zip(links) {
            let hash = row_hash(&row.fields, undated);
            if link.is_some_and(|l| l.netsuite_hash == hash) {
                run.unchanged += 1;
            } else {
                changed.push((row, hash));
            }
        }
        Ok(changed)
    }

    /// Upserts `rows` into `sobject` by [`REPORT_KEY_FIELD`], 200 a call, and records each saved
    /// row's link of `kind` with its hash, under `lease`.
    pub(super) async fn write_rows(
        &self,
        (sobject, kind): (&str, &str),
        rows: Vec<(ReportRow, String)>,
        lease: &Lease,
        run: &mut ReportRun,
    ) -> Result<()> {
        let ttl: Duration = self.config.lock_ttl();
        for chunk in rows.chunks(COLLECTION_LIMIT) {
            ensure_held(&self.store, lease, ttl).await?;
            let records: Vec<Map<String, Value>> = chunk
                .iter()
                .map(|(row, _)| {
                    let mut record = row.fields.clone();
                    record.insert(REPORT_KEY_FIELD.into(), Value::String(row.key.clone()));
                    record
                })
                .collect();
            let saved = self
                .salesforce
                .upsert_many(sobject, REPORT_KEY_FIELD, &records, false)
                .await?;
            for ((row, hash), saved) in chunk.iter().zip(saved) {
                match (saved.success, saved.id) {
                    (true, Some(id)) => {
                        let mut link: Link =
                            netsuite_owned_link(kind, &id, &row.key, hash.clone(), String::new());
                        link.fields = row.snapshot.clone();
                        self.store.put_link(&link, lease).await?;
                        run.written += 1;
                    }
                    _ => {
                        let err = EngineError::Unprocessable(format!(
                            "Salesforce refused {sobject} {}: {:?}",
                            row.key, saved.errors
                        ));
                        tracing::warn!(%err, "a report row failed");
                        run.failed += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

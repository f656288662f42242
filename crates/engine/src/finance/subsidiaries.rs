//! NetSuite subsidiaries → `Subsidiary__c` records (upsert by `NetSuite_Id__c`), with the parent
//! (`Parent__c`), currency and inactive flag. One SuiteQL read, one Collections upsert of the
//! records that changed, and one Collections update of the parents that changed; an unchanged
//! subsidiary (its hash on the link) costs nothing.

use std::collections::HashMap;

use crate::result::{FieldChange, Outcome, SyncResult};
use serde_json::{json, Value};

use super::FinanceFlows;
use crate::customers::mapping::{text, Record};
use crate::error::{EngineError, Result};
use crate::lock::{ensure_held, with_lock};
use crate::mirror::netsuite_owned_link;
use crate::orders::hash;

/// ID-map kind of `Subsidiary__c` ↔ subsidiary.
pub const SUBSIDIARY_LINK_KIND: &str = "subsidiary";
pub const FLOW_SUBSIDIARIES: &str = "finance.subsidiaries";
const LOCK: &str = "subsidiaries:sync";

impl FinanceFlows {
    /// Syncs every subsidiary, under one lock; one result per subsidiary.
    pub async fn sync_subsidiaries(
        &self,
        dry_run: bool,
        trace_id: &str,
    ) -> Result<Vec<SyncResult>> {
        let rows = self
            .netsuite
            .suiteql("SELECT s.id, s.name, s.parent, s.currency, s.isinactive FROM subsidiary s ORDER BY s.id")
            .await?;
        let ids: Vec<String> = rows.iter().filter_map(|r| text(r, "id")).collect();
        let links = self
            .store
            .links_by_netsuite_many(SUBSIDIARY_LINK_KIND, &ids)
            .await?;
        let mut results = Vec::new();
        let mut changed = Vec::new();
        for (row, link) in rows.iter().zip(&links) {
            let id = text(row, "id").unwrap_or_default();
            let fields = subsidiary_fields(self, row);
            let new_hash = hash(&fields);
            let mut out = SyncResult::new(FLOW_SUBSIDIARIES, Outcome::Unchanged, dry_run, trace_id);
            out.netsuite_id = id.clone();
            out.salesforce_id = link
                .as_ref()
                .map(|l| l.salesforce_id.clone())
                .unwrap_or_default();
            if link.as_ref().is_none_or(|l| l.netsuite_hash != new_hash) {
                out.outcome = if link.is_some() {
                    Outcome::Updated
                } else {
                    Outcome::Created
                };
                for (field, value) in fields.as_object().into_iter().flatten() {
                    out.changes.push(FieldChange {
                        record: "salesforce.Subsidiary__c".into(),
                        field: field.clone(),
                        before: None,
                        after: (!value.is_null()).then(|| value.clone()),
                    });
                }
                changed.push((results.len(), id, fields, new_hash));
            }
            results.push(out);
        }
        if dry_run || changed.is_empty() {
            return Ok(results);
        }
        with_lock(
            &self.store,
            LOCK,
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| async move {
                ensure_held(&self.store, &lease, self.config.lock_ttl()).await?;
                // The records first, without parents (a parent may be new too) …
                let records: Vec<Record> = changed
                    .iter()
                    .map(|(_, id, fields, _)| {
                        let mut record = fields.as_object().cloned().unwrap_or_default();
                        record.remove("Parent__c");
                        record.retain(|_, v| !v.is_null());
                        record.insert("NetSuite_Id__c".into(), json!(id));
                        record
                    })
                    .collect();
                let saved = self
                    .salesforce
                    .upsert_many("Subsidiary__c", "NetSuite_Id__c", &records, true)
                    .await?;
                if let Some(failed) = saved.iter().find(|r| !r.success) {
                    return Err(EngineError::Unprocessable(format!(
                        "Salesforce refused a subsidiary: {:?}",
                        failed.errors
                    )));
                }
                // … then every parent by the Salesforce ids now known.
                let mut sf_ids: HashMap<String, String> = ids
                    .iter()
                    .zip(&links)
                    .filter_map(|(id, link)| {
                        link.as_ref().map(|l| (id.clone(), l.salesforce_id.clone()))
                    })
                    .collect();
                for ((_, id, _, _), saved) in changed.iter().zip(&saved) {
                    if let Some(sf) = &saved.id {
                        sf_ids.insert(id.clone(), sf.clone());
                    }
                }
                let parents: Vec<Record> = changed
                    .iter()
                    .filter_map(|(_, id, fields, _)| {
                        let parent = fields.get("Parent__c")?.as_str()?;
                        let mut record = serde_json::Map::new();
                        record.insert("Id".into(), json!(sf_ids.get(id)?));
                        record.insert("Parent__c".into(), json!(sf_ids.get(parent)?));
                        Some(record)
                    })
                    .collect();
                if !parents.is_empty() {
                    self.salesforce
                        .update_many("Subsidiary__c", &parents, true)
                        .await?;
                }
                for (at, id, _, new_hash) in &changed {
                    let sf = sf_ids.get(id).cloned().unwrap_or_default();
                    results[*at].salesforce_id = sf.clone();
                    let link = netsuite_owned_link(
                        SUBSIDIARY_LINK_KIND,
                        &sf,
                        id,
                        new_hash.clone(),
                        String::new(),
                    );
                    self.store.put_link(&link, &lease).await?;
                }
                Ok(results)
            },
        )
        .await
    }
}

/// The `Subsidiary__c` fields of a SuiteQL row; `Parent__c` holds the parent's NetSuite id until
/// it is resolved to the parent record's Salesforce id.
fn subsidiary_fields(flows: &FinanceFlows, row: &Record) -> Value {
    json!({
        "Name": text(row, "name"),
        "Parent__c": text(row, "parent"),
        "CurrencyIsoCode": text(row, "currency").and_then(|c| flows.iso_currency(&c)),
        "Is_Inactive__c": text(row, "isinactive").as_deref() == Some("T"),
    })
}

//! Salesforce records that mirror a NetSuite record (a fulfilment, an invoice, a payment): one
//! path to upsert a mirror and one to delete it.
//!
//! - [`Mirror::upsert`]: the mirror (upserted by `NetSuite_Id__c`) and the related records it
//!   moves (an opportunity's billing or ship fields) go to Salesforce in one all-or-none
//!   Composite call, under the NetSuite record's lease; the link keeps the content hash, so a
//!   record whose hash is unchanged costs no write (echo suppression); a dry run (no lease)
//!   reports the fields it would write.
//! - [`Mirror::deleted`]: when the NetSuite record is deleted, its mirror goes too, and the link.

use std::sync::Arc;
use std::time::Duration;

use isthmus_salesforce::{CompositeSubrequest, SalesforceClient};
use isthmus_store::{Lease, Link, Store};
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::lock::ensure_held;
use crate::result::{FieldChange, Outcome, SyncResult};

/// Where a mirror lives: its sObject and the link kind that maps it.
pub struct Mirror<'a> {
    pub salesforce: &'a SalesforceClient,
    pub store: &'a Arc<dyn Store>,
    pub sobject: &'a str,
    pub link_kind: &'a str,
    pub lock_ttl: Duration,
}

/// What one upsert of a mirror writes.
pub struct MirrorWrite {
    /// The NetSuite record's internal id (the mirror's `NetSuite_Id__c`).
    pub netsuite_id: String,
    /// The NetSuite record's `lastModifiedDate`, kept on the link.
    pub netsuite_modstamp: String,
    /// The mirror's fields (a JSON object). `NetSuite_Id__c` among them is the upsert key and is
    /// not sent in the body.
    pub fields: Value,
    /// Other records updated in the same call: `(sObject, record id, fields)`.
    pub related: Vec<(&'static str, String, Value)>,
    /// The content hash of all of it, compared with the link's NetSuite hash.
    pub hash: String,
    /// What the mirror is, for messages ("Invoice #INV-7").
    pub what: String,
}

/// A link of a Salesforce record that NetSuite owns: only the NetSuite side's hash is kept.
pub(crate) fn netsuite_owned_link(
    kind: &str,
    salesforce_id: &str,
    netsuite_id: &str,
    netsuite_hash: String,
    netsuite_modstamp: String,
) -> Link {
    Link {
        kind: kind.into(),
        salesforce_id: salesforce_id.into(),
        netsuite_id: netsuite_id.into(),
        salesforce_hash: String::new(),
        netsuite_hash,
        salesforce_modstamp: String::new(),
        netsuite_modstamp,
        synced_at_ms: chrono::Utc::now().timestamp_millis(),
        fields: Default::default(),
        parked: Vec::new(),
    }
}

impl Mirror<'_> {
    /// Upserts the mirror described by `write` (see the module doc). `out` comes in `unchanged`
    /// and leaves `created` or `updated` with the fields written, unless the hash is unchanged.
    pub async fn upsert(
        &self,
        mut out: SyncResult,
        link: Option<Link>,
        lease: Option<Lease>,
        write: MirrorWrite,
    ) -> Result<SyncResult> {
        out.salesforce_id = link
            .as_ref()
            .map(|l| l.salesforce_id.clone())
            .unwrap_or_default();
        out.matched_rule = if link.is_some() { "id_map" } else { "none" }.into();
        if link.as_ref().is_some_and(|l| l.netsuite_hash == write.hash) {
            return Ok(out);
        }
        out.outcome = if link.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let mut written = vec![(self.sobject, &write.fields)];
        written.extend(
            write
                .related
                .iter()
                .map(|(sobject, _, fields)| (*sobject, fields)),
        );
        for (sobject, fields) in written {
            for (field, value) in fields.as_object().into_iter().flatten() {
                out.changes.push(FieldChange::set(
                    format!("salesforce.{sobject}"),
                    field,
                    value,
                ));
            }
        }
        let Some(lease) = lease else {
            return Ok(out);
        };
        ensure_held(self.store, &lease, self.lock_ttl).await?;
        let mut body = write.fields.clone();
        body.as_object_mut().map(|b| b.remove("NetSuite_Id__c"));
        let mut requests = vec![CompositeSubrequest::new(
            "PATCH",
            format!(
                "sobjects/{}/NetSuite_Id__c/{}",
                self.sobject, write.netsuite_id
            ),
            "record",
        )
        .with_body(body)];
        for (sobject, id, fields) in &write.related {
            requests.push(
                CompositeSubrequest::new(
                    "PATCH",
                    format!("sobjects/{sobject}/{id}"),
                    sobject.to_ascii_lowercase(),
                )
                .with_body(fields.clone()),
            );
        }
        let answers = self.salesforce.composite(requests, true).await?;
        if let Some(failed) = answers.iter().find(|a| !a.is_success()) {
            return Err(EngineError::Unprocessable(format!(
                "Salesforce refused {} ({}): {}",
                write.what, failed.reference_id, failed.body
            )));
        }
        let salesforce_id = answers
            .first()
            .and_then(|a| a.body.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| link.as_ref().map(|l| l.salesforce_id.clone()))
            .ok_or_else(|| {
                EngineError::Unprocessable(format!("Salesforce returned no id for {}", write.what))
            })?;
        let link = netsuite_owned_link(
            self.link_kind,
            &salesforce_id,
            &write.netsuite_id,
            write.hash,
            write.netsuite_modstamp,
        );
        self.store.put_link(&link, &lease).await?;
        out.salesforce_id = salesforce_id;
        Ok(out)
    }

    /// The NetSuite record of `link` was deleted: delete its Salesforce mirror (already gone is
    /// fine) and the link, under `lease`; a dry run (`lease` absent) only says so. No link: the
    /// record was never synced, nothing to remove (`skipped`).
    pub async fn deleted(
        &self,
        mut out: SyncResult,
        link: Option<Link>,
        lease: Option<Lease>,
    ) -> Result<SyncResult> {
        let Some(link) = link else {
            out.outcome = Outcome::Skipped;
            out.warnings
                .push("the record was never synced to Salesforce; nothing to remove".into());
            return Ok(out);
        };
        out.salesforce_id = link.salesforce_id.clone();
        out.matched_rule = "id_map".into();
        out.outcome = Outcome::Updated;
        out.warnings.push(format!(
            "{} {} is deleted with its NetSuite record",
            self.sobject, link.salesforce_id
        ));
        let Some(lease) = lease else {
            return Ok(out);
        };
        ensure_held(self.store, &lease, self.lock_ttl).await?;
        match self
            .salesforce
            .delete(self.sobject, &link.salesforce_id)
            .await
        {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(err.into()),
        }
        self.store
            .delete_link(self.link_kind, &link.salesforce_id, &lease)
            .await?;
        Ok(out)
    }
}

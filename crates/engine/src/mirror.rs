//! Salesforce records that mirror a NetSuite record (a fulfilment, an invoice, a payment): when
//! the NetSuite record is deleted, its mirror goes too, and the link.

use std::sync::Arc;
use std::time::Duration;

use crate::result::{Outcome, SyncResult};
use isthmus_salesforce::SalesforceClient;
use isthmus_store::{Lease, Link, Store};

use crate::error::Result;
use crate::lock::ensure_held;

/// Where a mirror lives: its sObject and the link kind that maps it.
pub struct Mirror<'a> {
    pub salesforce: &'a SalesforceClient,
    pub store: &'a Arc<dyn Store>,
    pub sobject: &'a str,
    pub link_kind: &'a str,
    pub lock_ttl: Duration,
}

impl Mirror<'_> {
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

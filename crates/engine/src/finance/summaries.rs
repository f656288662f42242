//! The scheduled summaries: every linked customer's financial summary onto its account, walking
//! the customers ID map a page of 200 at a time. A page costs two SuiteQL queries for its figures
//! (with `summary_source = "suiteql"`, [`super::figures`]; if that read fails, or with the
//! RESTlet source, each customer reads its own) and one sObject Collections update for the
//! accounts whose summary changed (`all_or_none = false`), where the one-account path
//! ([`FinanceFlows::sync_account_summary`]) spends one account update each.
//!
//! What the one-account path guarantees, the page keeps:
//! - every account is planned and written under its summary lock (the same resource as the
//!   one-account path's): the page's locks are taken together, each waiting up to
//!   `finance.lock_wait_ms` as one sync would, renewed while the page works, checked (fencing)
//!   just before the write, and released at the end; an account whose lock stays held elsewhere
//!   fails for this run;
//! - a summary whose hash equals its link's is not written;
//! - a row Salesforce refuses inside the call (the account was deleted, say) fails that account
//!   alone: its link keeps the old hash, so the next firing tries it again; the others' links
//!   get their new hash;
//! - every account that finished is logged (`SyncLog::finished`, trigger `schedule`); one that
//!   failed is logged as a warning and counted, and the walk goes on.
//!
//! Not done here: waiting for the batch share of the Salesforce allocation (the run takes no
//! `SalesforceAllocation`; a page costs one call).

use std::collections::HashMap;
use std::fmt::Display;
use std::time::Instant;

use futures::future::join_all;
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::{RecordResult, COLLECTION_LIMIT};
use isthmus_store::{Lease, Link};
use serde_json::Value;

use super::summary::{plan_summary, summary_lock, SummaryWrite, SUMMARY_LINK_KIND};
use super::{figures, FinanceFlows, Summary};
use crate::audit::{SyncLog, Trigger};
use crate::config::SummarySource;
use crate::error::{EngineError, Result};
use crate::lock::{acquire_each, ensure_held, release_all, spawn_renewals};
use crate::result::SyncResult;

/// Customers a page: the most one Collections call updates, and one `IN` list of the page's
/// figure queries.
const PAGE: usize = COLLECTION_LIMIT;

/// What a scheduled run of every account's summary did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SummariesRun {
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}

impl SummariesRun {
    /// Counts a customer whose summary failed for this run, and logs why.
    fn fail(&mut self, customer: &str, err: &dyn Display) {
        tracing::warn!(customer, %err, "a scheduled summary failed");
        self.failed += 1;
    }
}

/// A changed summary on its way to the account, under its lease.
struct Pending<'a> {
    result: SyncResult,
    write: SummaryWrite,
    lease: &'a Lease,
}

impl FinanceFlows {
    /// The scheduled summaries, page by page (see the module doc). `Err` only when the ID map
    /// cannot be read; a customer whose summary fails is counted in [`SummariesRun::failed`].
    pub async fn sync_all_summaries(&self, log: &SyncLog) -> Result<SummariesRun> {
        let trace = isthmus_telemetry::TraceContext::new_root();
        let mut run = SummariesRun::default();
        let mut after: Option<String> = None;
        loop {
            let links = self
                .store
                .links_page(crate::customers::LINK_KIND, after.as_deref(), PAGE)
                .await?;
            let Some(last) = links.last() else {
                break;
            };
            after = Some(last.salesforce_id.clone());
            self.sync_page(&links, log, &trace.trace_id, &mut run).await;
        }
        Ok(run)
    }

    /// One page of customer links: their locks taken, the page synced under them, released.
    async fn sync_page(
        &self,
        links: &[Link],
        log: &SyncLog,
        trace_id: &str,
        run: &mut SummariesRun,
    ) {
        let began = Instant::now();
        let page = self.page_figures(links).await;
        let mut customers = Vec::with_capacity(links.len());
        for link in links {
            match NetSuiteId::parse(&link.netsuite_id) {
                Ok(_) => customers.push(link),
                Err(err) => run.fail(
                    &link.netsuite_id,
                    &format!("the ID map holds customer {:?}: {err}", link.netsuite_id),
                ),
            }
        }
        let resources: Vec<String> = customers
            .iter()
            .map(|l| summary_lock(&l.netsuite_id))
            .collect();
        let ttl = self.config.lock_ttl();
        let acquired = acquire_each(
            self.store.as_ref(),
            &resources,
            ttl,
            self.config.lock_wait(),
        )
        .await;
        let mut held = Vec::with_capacity(customers.len());
        for (link, lease) in customers.into_iter().zip(acquired) {
            match lease {
                Ok(lease) => held.push((link, lease)),
                Err(err) => run.fail(&link.netsuite_id, &err),
            }
        }
        if held.is_empty() {
            return;
        }
        let leases: Vec<Lease> = held.iter().map(|(_, lease)| lease.clone()).collect();
        let renewal = spawn_renewals(&self.store, leases.clone(), ttl);
        self.sync_held(&held, page.as_ref(), (log, trace_id, began), run)
            .await;
        renewal.abort();
        release_all(self.store.as_ref(), &leases).await;
    }

    /// The summaries of customers whose locks are held: planned one by one, the changed ones
    /// written in one Collections call, their links recorded.
    async fn sync_held(
        &self,
        held: &[(&Link, Lease)],
        page: Option<&HashMap<String, Summary>>,
        (log, trace_id, began): (&SyncLog, &str, Instant),
        run: &mut SummariesRun,
    ) {
        let customers: Vec<String> = held.iter().map(|(l, _)| l.netsuite_id.clone()).collect();
        let written = match self
            .store
            .links_by_netsuite_many(SUMMARY_LINK_KIND, &customers)
            .await
        {
            Ok(written) => written,
            Err(err) => {
                customers.iter().for_each(|c| run.fail(c, &err));
                return;
            }
        };
        let mut pending = Vec::new();
        for ((link, lease), written) in held.iter().zip(written) {
            let customer = link.netsuite_id.as_str();
            let summary = match self.read_summary(customer, page).await {
                Ok(summary) => summary,
                Err(err) => {
                    run.fail(customer, &err);
                    continue;
                }
            };
            let plan = plan_summary(
                customer,
                &link.salesforce_id,
                &summary,
                written.as_ref(),
                trace_id,
                false,
            );
            match plan.write {
                None => {
                    log.finished(&plan.result, Trigger::Schedule, began).await;
                    run.unchanged += 1;
                }
                Some(write) => pending.push(Pending {
                    result: plan.result,
                    write,
                    lease,
                }),
            }
        }
        // Fencing: an account whose lease was lost (expired, maybe taken) is not written.
        let ttl = self.config.lock_ttl();
        let still_held = join_all(
            pending
                .iter()
                .map(|p| ensure_held(&self.store, p.lease, ttl)),
        )
        .await;
        let mut sending = Vec::with_capacity(pending.len());
        for (pending, held) in pending.into_iter().zip(still_held) {
            match held {
                Ok(()) => sending.push(pending),
                Err(err) => run.fail(&pending.result.netsuite_id, &err),
            }
        }
        if sending.is_empty() {
            return;
        }
        let records: Vec<_> = sending
            .iter()
            .map(|p| {
                let mut record = p.write.fields.clone();
                record.insert("Id".into(), Value::String(p.result.salesforce_id.clone()));
                record
            })
            .collect();
        let saved = match self
            .salesforce
            .update_many("Account", &records, false)
            .await
        {
            Ok(saved) => saved,
            Err(err) => {
                let err = EngineError::from(err);
                sending
                    .iter()
                    .for_each(|p| run.fail(&p.result.netsuite_id, &err));
                return;
            }
        };
        for (pending, saved) in sending.into_iter().zip(saved) {
            let Pending {
                result,
                write,
                lease,
            } = pending;
            if !saved.success {
                let why = format!(
                    "Salesforce refused account {}: {}",
                    result.salesforce_id,
                    refusal(&saved)
                );
                run.fail(&result.netsuite_id, &why);
                continue;
            }
            match self
                .record_summary(
                    &result.salesforce_id,
                    &result.netsuite_id,
                    write.hash,
                    lease,
                )
                .await
            {
                Ok(()) => {
                    log.finished(&result, Trigger::Schedule, began).await;
                    run.updated += 1;
                }
                Err(err) => run.fail(&result.netsuite_id, &err),
            }
        }
    }

    /// The figures of a page of linked customers, read together (SuiteQL source only); `None`
    /// when each is to read its own.
    async fn page_figures(&self, links: &[Link]) -> Option<HashMap<String, Summary>> {
        if self.config.summary_source != SummarySource::Suiteql {
            return None;
        }
        let customers: Vec<NetSuiteId> = links
            .iter()
            .filter_map(|l| NetSuiteId::parse(&l.netsuite_id).ok())
            .collect();
        let today = chrono::Utc::now().date_naive();
        match figures::summaries(&self.netsuite, &customers, today).await {
            Ok(page) => Some(page),
            Err(err) => {
                tracing::warn!(%err, "a page of summaries could not be read at once; reading each");
                None
            }
        }
    }
}

/// Why Salesforce refused a row: its errors' codes and messages.
fn refusal(result: &RecordResult) -> String {
    result
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

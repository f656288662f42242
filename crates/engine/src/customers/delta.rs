//! The scheduled delta of the customers flows: what changed on either side since the last run,
//! and the accounts deleted in Salesforce.
//!
//! - **Accounts → customers.** Accounts with `SystemModstamp` after the cursor
//!   `customers.accounts` (only linked ones unless `customers.delta_accounts = "all"`), read in
//!   pages of `schedules.delta_page_size` with their contacts (one SOQL call a page) in the unique
//!   order `(SystemModstamp, Id)`, each synced under its lock with no second read. The page's
//!   unlinked accounts are matched against NetSuite together: one candidate query for the whole
//!   page ([`CustomerIndex::for_accounts`]), not three queries an account, so a new account
//!   costs one NetSuite call, its upsert (matching results are the per-account rules').
//! - **Customers → accounts.** Customers with `lastmodifieddate` after the cursor
//!   `customers.customers`, read the same way with SuiteQL (one call a page), each synced as a
//!   customer event would be. SuiteQL's times are wall-clock times of the account's time zone
//!   (`netsuite.time_zone`; see [`crate::schedule::query`]); in the hour a daylight-saving change
//!   repeats, a page's last key reads as the earlier instant, so the next page may start before
//!   rows already read. When a whole page lies in that hour the next one would not move on: the
//!   page is read again twice as wide (up to SuiteQL's 1,000 rows) instead of turning on the spot.
//! - **Deleted accounts.** Salesforce's deleted-records log (`sobjects/Account/deleted`) since
//!   the cursor `customers.account-deletes`; per `customers.account_deleted`, each linked
//!   customer is marked inactive and the link dropped ([`super::account_deletes`], which also
//!   covers a cursor older than the log's 15 days).
//!
//! After each page the cursor moves to the page's last key, so a run cut short resumes there and
//! no record is skipped however many share a timestamp ([`crate::schedule::cursor`]). A record
//! that fails is handed to the batch lane as a job (retried, then dead-lettered), so the cursor
//! can move on without losing it. A spent Salesforce allocation is not such a failure: a page
//! that meets it (a read, a sync, its write-back) stops the run with
//! `SALESFORCE_ALLOCATION_EXHAUSTED` before its cursor is saved, so the scheduled run ends
//! `held` and the next firing reads that page again (its syncs are idempotent), rather than
//! passing it with a job per record that could only wait for the allocation too. With no
//! cursor yet, a delta starts `schedules.delta_overlap_s` before now: history is the backfill's
//! job (`isthmus backfill accounts`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::result::Outcome;
use chrono::{DateTime, NaiveDateTime, Utc};
use futures::stream::{self, StreamExt};
use isthmus_netsuite::NetSuiteId;
use isthmus_salesforce::id::SalesforceId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::candidates::MatchKeys;
use super::index::{CustomerIndex, Matcher};
use super::mapping::{self, text, Record};
use super::{CustomerChange, CustomerFlows, LINK_KIND};
use crate::audit::{SyncLog, Trigger};
use crate::config::DeltaAccounts;
use crate::error::{EngineError, Result};
use crate::governance::SalesforceAllocation;
use crate::schedule::{
    continue_from, order_by, parse_suiteql_datetime, soql_condition, suiteql_condition, window,
    Cursor, CursorPos, ReadFrom,
};
use crate::work::SyncJob;

/// Cursor of the accounts read by the delta.
pub const ACCOUNTS_CURSOR: &str = "customers.accounts";
/// Cursor of the customers read by the delta.
pub const CUSTOMERS_CURSOR: &str = "customers.customers";
/// Cursor of Salesforce's deleted-records log of accounts.
pub const DELETES_CURSOR: &str = "customers.account-deletes";
/// The flow of an account deletion propagated to its customer.
pub const FLOW_ACCOUNT_DELETED: &str = "customers.account_deleted";

/// How one delta run reads.
#[derive(Clone)]
pub struct DeltaOptions {
    /// Records per page (the cursor is saved after each).
    pub page_size: usize,
    /// How far before its cursor a run starts reading again.
    pub overlap: Duration,
    /// Syncs of one page run at once.
    pub concurrency: usize,
    /// Batch work: every Salesforce read and write waits while the daily allocation is past
    /// `salesforce.batch_share`.
    pub allocation: SalesforceAllocation,
}

/// What one side of a delta run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaCounts {
    pub pages: u64,
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub conflicts: u64,
    /// Records that failed and went to the batch lane for retries.
    pub queued: u64,
}

/// What a delta run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaReport {
    pub accounts: DeltaCounts,
    pub customers: DeltaCounts,
    /// Accounts Salesforce reported deleted since the last run.
    pub deleted_accounts: u64,
    /// Customers marked inactive for them.
    pub inactivated_customers: u64,
}

#[derive(Default)]
struct Tally {
    read: AtomicU64,
    created: AtomicU64,
    updated: AtomicU64,
    unchanged: AtomicU64,
    skipped: AtomicU64,
    conflicts: AtomicU64,
    queued: AtomicU64,
    /// The page met a spent Salesforce allocation: the run stops before its cursor moves.
    spent: Mutex<Option<EngineError>>,
}

impl Tally {
    /// Keeps the first allocation error of the page.
    fn note_spent(&self, err: EngineError) {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        spent.get_or_insert(err);
    }

    /// `Err` when the page met a spent allocation (see the module doc).
    fn stop_if_spent(&self) -> Result<()> {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner()).take();
        spent.map_or(Ok(()), Err)
    }

    fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Created => &self.created,
            Outcome::Updated => &self.updated,
            Outcome::Conflict => &self.conflicts,
            Outcome::Skipped => &self.skipped,
            _ => &self.unchanged,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self, pages: u64) -> DeltaCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DeltaCounts {
            pages,
            read: get(&self.read),
            created: get(&self.created),
            updated: get(&self.updated),
            unchanged: get(&self.unchanged),
            skipped: get(&self.skipped),
            conflicts: get(&self.conflicts),
            queued: get(&self.queued),
        }
    }
}

/// A Salesforce datetime (`2026-11-28T10:00:00.000+0000`) or a SuiteQL
/// `TO_CHAR(…, 'YYYY-MM-DD HH24:MI:SS')` value, as UTC.
pub fn parse_modstamp(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(value))
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc()))
        .ok()
}

/// Rows of one SuiteQL page at most.
const MAX_SUITEQL_PAGE: usize = 1000;

/// Whether the window after a page's last key starts past `from`: false when the page's keys
/// read back no later than where it started (a page inside a repeated hour).
fn moves_on(from: &ReadFrom, keys: &[(DateTime<Utc>, String)]) -> bool {
    let start = CursorPos::new(from.since, from.after_id.clone().unwrap_or_default());
    continue_from(keys).is_some_and(|last| last > start)
}

/// The `(modified, id)` keys of a page, refusing a row without them (the cursor cannot pass it).
fn page_keys(
    rows: &[Record],
    modified: &str,
    id: &str,
    parse: impl Fn(&str) -> Option<DateTime<Utc>>,
) -> Result<Vec<(DateTime<Utc>, String)>> {
    rows.iter()
        .map(|row| {
            let key = text(row, modified)
                .and_then(|m| parse(&m))
                .zip(text(row, id));
            key.ok_or_else(|| {
                EngineError::Unprocessable(format!(
                    "a delta row lacks a readable {modified} or {id}: {}",
                    Value::Object(row.clone())
                ))
            })
        })
        .collect()
}

impl CustomerFlows {
    /// One scheduled delta run: accounts, then customers, then deleted accounts.
    pub async fn run_delta(&self, options: &DeltaOptions, log: &SyncLog) -> Result<DeltaReport> {
        let trace = isthmus_telemetry::TraceContext::new_root();
        let accounts = self.delta_accounts(options, log, &trace.trace_id).await?;
        let customers = self.delta_customers(options, log, &trace.trace_id).await?;
        let (deleted_accounts, inactivated_customers) = self
            .propagate_account_deletes(options, log, &trace.trace_id)
            .await?;
        let report = DeltaReport {
            accounts,
            customers,
            deleted_accounts,
            inactivated_customers,
        };
        tracing::info!(report = ?report, "customers delta run done");
        Ok(report)
    }

    /// Where a delta of `cursor` reads from: the saved position less the overlap, or the
    /// overlap before now when there is none.
    pub(super) async fn delta_start(&self, cursor: &Cursor) -> Result<ReadFrom> {
        Ok(match cursor.read_from(&self.store).await? {
            Some(from) => from,
            None => window(&CursorPos::new(Utc::now(), ""), cursor.overlap()),
        })
    }

    /// Changed accounts → customers, page by page (see the module doc).
    pub async fn delta_accounts(
        &self,
        options: &DeltaOptions,
        log: &SyncLog,
        trace_id: &str,
    ) -> Result<DeltaCounts> {
        let cursor = Cursor::new(ACCOUNTS_CURSOR, options.overlap)?;
        let mut from = self.delta_start(&cursor).await?;
        let fields = mapping::account_fields(&self.config).join(", ");
        let scope = match self.config.delta_accounts {
            DeltaAccounts::Linked => " AND NetSuite_Id__c != null",
            DeltaAccounts::All => "",
        };
        let order = order_by("SystemModstamp", "Id")?;
        let tally = Tally::default();
        let mut pages = 0;
        loop {
            options.allocation.wait_for_batch(&self.salesforce).await?;
            let q = format!(
                "SELECT {fields}, (SELECT {} FROM Contacts ORDER BY CreatedDate, Id) FROM Account WHERE {}{scope} {order} LIMIT {}",
                mapping::sf_contact_fields(&self.config).join(", "),
                soql_condition(&from, "SystemModstamp", "Id")?,
                options.page_size
            );
            let rows = self.salesforce.query(&q).await?;
            let keys = page_keys(&rows, "SystemModstamp", "Id", parse_modstamp)?;
            pages += 1;
            let candidates = self.page_candidates(&rows).await?;
            let matcher = Matcher::Index(&candidates);
            // Owned items: a stream of borrowed ones makes the run's future not provably `Send`.
            let write_backs = stream::iter(rows.iter().cloned())
                .map(|account| {
                    let (tally, matcher) = (&tally, &matcher);
                    async move {
                        self.delta_account(&account, tally, trace_id, log, matcher)
                            .await
                    }
                })
                .buffer_unordered(options.concurrency.max(1))
                .filter_map(|write_back| async move { write_back })
                .collect::<Vec<_>>()
                .await;
            tally.stop_if_spent()?;
            self.write_back_page(write_backs, options, &tally, trace_id)
                .await?;
            let Some(last) = continue_from(&keys) else {
                break;
            };
            cursor.save(&self.store, &last).await?;
            if rows.len() < options.page_size {
                break;
            }
            from = window(&last, Duration::ZERO);
        }
        Ok(tally.counts(pages))
    }

    /// Syncs one account of a delta page; the customer id to write back, if any.
    async fn delta_account(
        &self,
        account: &Record,
        tally: &Tally,
        trace_id: &str,
        log: &SyncLog,
        matcher: &Matcher<'_>,
    ) -> Option<(String, String)> {
        tally.read.fetch_add(1, Ordering::Relaxed);
        let raw = text(account, "Id").unwrap_or_default();
        let id = match SalesforceId::parse(&raw) {
            Ok(id) => id,
            Err(err) => {
                // Salesforce never answers such an id; there is no job to make of it.
                tracing::error!(account = %raw, %err, "a delta page held a malformed account id");
                return None;
            }
        };
        let began = Instant::now();
        let synced = self
            .sync_loaded_account_locked(&id, account, trace_id, matcher)
            .await;
        match synced {
            Ok(synced) => {
                log.finished(&synced.result, Trigger::Delta, began).await;
                tally.count(synced.result.outcome);
                synced.write_back.map(|customer| (raw, customer))
            }
            Err(err) => {
                let job = SyncJob::Account { account_id: id };
                self.retry_later(&job, err, tally, trace_id).await;
                None
            }
        }
    }

    /// The NetSuite customers the page's unlinked accounts may match, read for the whole page
    /// at once (one store round trip for the links, then a constant number of SuiteQL queries;
    /// none when every account is linked), so a new account costs its upsert alone.
    async fn page_candidates(&self, rows: &[Record]) -> Result<CustomerIndex> {
        let ids: Vec<String> = rows.iter().filter_map(|r| text(r, "Id")).collect();
        let links = self.store.links_by_salesforce_many(LINK_KIND, &ids).await?;
        let unlinked: std::collections::HashSet<&String> = ids
            .iter()
            .zip(&links)
            .filter(|(_, link)| link.is_none())
            .map(|(id, _)| id)
            .collect();
        let keys: Vec<MatchKeys> = rows
            .iter()
            .filter_map(|row| {
                let raw = text(row, "Id")?;
                let id = SalesforceId::parse(&raw).ok()?;
                unlinked.contains(&raw).then(|| {
                    let doc = mapping::from_account(&self.config, row);
                    MatchKeys::of(&self.config, id.as_str(), row, &doc)
                })
            })
            .collect();
        CustomerIndex::for_accounts(&self.netsuite, &self.config, &keys).await
    }

    /// Writes the page's customer ids back (one sObject Collections call, after waiting for
    /// the batch share of the Salesforce allocation); an account whose write-back fails is
    /// queued for a retry of its whole sync.
    async fn write_back_page(
        &self,
        ids: Vec<(String, String)>,
        options: &DeltaOptions,
        tally: &Tally,
        trace_id: &str,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        options.allocation.wait_for_batch(&self.salesforce).await?;
        let failed = match self.write_back_ids(&ids).await {
            Ok(refused) => refused,
            Err(err) if err.is_allocation_exhausted() => return Err(err),
            Err(err) => ids
                .iter()
                .map(|(account, _)| (account.clone(), err.to_string()))
                .collect(),
        };
        for (account, why) in failed {
            // The page's own ids, parsed when they were synced: a failure here is a bug, said
            // loudly, not a record to drop in silence.
            let account_id = match SalesforceId::parse(&account) {
                Ok(id) => id,
                Err(err) => {
                    tracing::error!(%account, %err, "a write-back named a malformed account id");
                    continue;
                }
            };
            let job = SyncJob::Account { account_id };
            let err = EngineError::Unprocessable(format!("write-back: {why}"));
            self.retry_later(&job, err, tally, trace_id).await;
        }
        Ok(())
    }

    /// Queues a failed record's sync on the batch lane (see the module doc); a spent
    /// allocation is noted for the page to stop at instead.
    async fn retry_later(&self, job: &SyncJob, err: EngineError, tally: &Tally, trace_id: &str) {
        if err.is_allocation_exhausted() {
            tally.note_spent(err);
            return;
        }
        tally.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(queue_err) = self.queue_for_retry(job, &err.to_string(), trace_id).await {
            // The cursor still moves on: the next run's overlap does not reach back that far,
            // so say loudly which record needs a hand.
            tracing::error!(job = ?job, error = %err, queue_error = %queue_err,
                "a delta sync failed and could not be queued for retry");
        }
    }

    /// Changed customers → accounts, page by page (see the module doc).
    pub async fn delta_customers(
        &self,
        options: &DeltaOptions,
        log: &SyncLog,
        trace_id: &str,
    ) -> Result<DeltaCounts> {
        let cursor = Cursor::new(CUSTOMERS_CURSOR, options.overlap)?;
        let mut from = self.delta_start(&cursor).await?;
        let order = order_by("lastmodifieddate", "id")?;
        let zone = self.netsuite.time_zone();
        let tally = Tally::default();
        let mut pages = 0;
        let mut page_size = options.page_size;
        loop {
            let q = format!(
                "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified FROM customer WHERE {} {order}",
                suiteql_condition(&from, "lastmodifieddate", "id", zone)?
            );
            let (rows, more) = self.netsuite.suiteql_page(&q, page_size).await?;
            let keys = page_keys(&rows, "modified", "id", |m| parse_suiteql_datetime(m, zone))?;
            if more && !moves_on(&from, &keys) {
                // The whole page lies in an hour the account's zone repeats (see the module doc).
                if page_size >= MAX_SUITEQL_PAGE {
                    return Err(EngineError::Unprocessable(format!(
                        "over {MAX_SUITEQL_PAGE} customers changed in one repeated hour of {zone}; the delta cannot page past them"
                    )));
                }
                page_size = (page_size.max(1) * 2).min(MAX_SUITEQL_PAGE);
                continue;
            }
            // Each customer's sync writes its account: batch work waits for its share.
            options.allocation.wait_for_batch(&self.salesforce).await?;
            pages += 1;
            let ids = keys.iter().filter_map(|(_, raw)| match NetSuiteId::parse(raw) {
                Ok(id) => Some(id),
                Err(err) => {
                    // NetSuite never answers such an id; there is no job to make of it.
                    tracing::error!(customer = %raw, %err, "a delta page held a malformed customer id");
                    None
                }
            });
            stream::iter(ids)
                .for_each_concurrent(options.concurrency.max(1), |id| {
                    let tally = &tally;
                    async move {
                        tally.read.fetch_add(1, Ordering::Relaxed);
                        let began = Instant::now();
                        match self
                            .sync_customer(&id, CustomerChange::Upsert, false, trace_id)
                            .await
                        {
                            Ok(result) => {
                                log.finished(&result, Trigger::Delta, began).await;
                                tally.count(result.outcome);
                            }
                            Err(err) => {
                                let job = SyncJob::Customer {
                                    customer_id: id,
                                    delete: false,
                                };
                                self.retry_later(&job, err, tally, trace_id).await;
                            }
                        }
                    }
                })
                .await;
            tally.stop_if_spent()?;
            let Some(last) = continue_from(&keys) else {
                break;
            };
            cursor.save(&self.store, &last).await?;
            if !more {
                break;
            }
            from = window(&last, Duration::ZERO);
        }
        Ok(tally.counts(pages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn both_vendors_stamps_parse_to_the_second() {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 5).unwrap();
        assert_eq!(parse_modstamp("2026-11-28T10:00:05.000+0000"), Some(at));
        assert_eq!(parse_modstamp("2026-11-28 10:00:05"), Some(at));
        assert_eq!(parse_modstamp("2026-11-28T10:00:05Z"), Some(at));
        assert_eq!(parse_modstamp("11/28/2026"), None);
    }

    #[test]
    fn a_row_without_its_key_stops_the_page() {
        let rows: Vec<Record> = vec![
            serde_json::from_value(json!({ "id": "7", "modified": "2026-11-28 10:00:05" }))
                .unwrap(),
            serde_json::from_value(json!({ "id": "8" })).unwrap(),
        ];
        assert!(page_keys(&rows, "modified", "id", parse_modstamp).is_err());
        assert_eq!(
            page_keys(&rows[..1], "modified", "id", parse_modstamp)
                .unwrap()
                .len(),
            1
        );
    }
}

//! Account backfill: every unlinked Salesforce account (or every account) to NetSuite, as fast as
//! the vendors allow and never faster.
//!
//! - Salesforce is read in query pages (up to 2,000 accounts with their contacts a call).
//! - Matching uses a [`CustomerIndex`] loaded once, so an account that matches nothing costs one
//!   NetSuite call (the upsert by external id) plus one per contact.
//! - NetSuite is written by `concurrency` workers; the account-wide slot semaphore behind the
//!   NetSuite client keeps in-flight calls at or under the limit across every replica.
//! - Ids are written back in sObject Collections of 200 (one Salesforce call per 200 accounts).
//! - Above `salesforce.bulk_threshold` accounts, Salesforce is read by two Bulk API 2.0 query
//!   jobs and written by ingest jobs of 50,000 ids ([`super::bulk`]): about fifteen calls for
//!   20,000 accounts instead of about 110. Refused rows are requeued the same way either way.
//! - Batch work yields to people: before each Salesforce page and each write-back batch it waits
//!   while the daily API allocation is past the batch share ([`SalesforceAllocation`]).
//! - `shard` (`i` of `n`) splits the accounts by id across processes that share one Redis.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::result::Outcome;
use futures::stream::{self, BoxStream, StreamExt};
use isthmus_salesforce::id::SalesforceId;
use isthmus_salesforce::KeysetQuery;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::account_to_customer::AccountSynced;
use super::bulk::BULK_WRITE_BACK_SIZE;
use super::index::{CustomerIndex, Matcher};
use super::mapping::{self, text, Record};
use super::{CustomerFlows, LINK_KIND};
use crate::audit::{SyncLog, Trigger};
use crate::error::{EngineError, Result};
use crate::governance::SalesforceAllocation;
use crate::lock::with_lock;
use crate::work::{JobRecord, SyncJob};
use isthmus_store::{Lane, NewJob};

/// How long the job record of a requeued account can be read.
const REQUEUED_JOB_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// Ids written back per sObject Collections call (the API's maximum).
const COLLECTION_SIZE: usize = 200;

/// Accounts handed to the workers at a time when they were read by a bulk job (the REST page
/// size, so both paths pace the workers alike).
const BULK_PAGE: usize = 2_000;

#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// NetSuite workers (in-flight calls are still capped by the account-wide semaphore).
    pub concurrency: usize,
    /// Include accounts that already carry a NetSuite id.
    pub all: bool,
    /// Process only accounts whose id falls in shard `.0` of `.1`.
    pub shard: Option<(u32, u32)>,
    /// Stop after this many accounts.
    pub limit: Option<usize>,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            concurrency: 10,
            all: false,
            shard: None,
            limit: None,
        }
    }
}

/// Running totals, reported as the backfill goes.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BackfillProgress {
    /// Accounts to process (known once Salesforce has been read).
    pub total: u64,
    pub seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    pub failed: u64,
    /// Accounts handed to the batch lane after a failure: retried there, dead-lettered if they
    /// keep failing.
    #[serde(default)]
    pub queued: u64,
    pub written_back: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BackfillReport {
    pub progress: BackfillProgress,
    /// Accounts that failed, with the reason.
    pub failures: Vec<(String, String)>,
    /// Per-account sync time in milliseconds, in completion order.
    pub latencies_ms: Vec<f64>,
    pub elapsed_ms: u64,
}

#[derive(Default)]
struct Counters {
    total: AtomicU64,
    seen: AtomicU64,
    created: AtomicU64,
    updated: AtomicU64,
    unchanged: AtomicU64,
    conflicts: AtomicU64,
    failed: AtomicU64,
    queued: AtomicU64,
    written_back: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> BackfillProgress {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BackfillProgress {
            total: get(&self.total),
            seen: get(&self.seen),
            created: get(&self.created),
            updated: get(&self.updated),
            unchanged: get(&self.unchanged),
            conflicts: get(&self.conflicts),
            failed: get(&self.failed),
            queued: get(&self.queued),
            written_back: get(&self.written_back),
        }
    }

    fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Created => &self.created,
            Outcome::Updated => &self.updated,
            Outcome::Conflict => &self.conflicts,
            Outcome::Failed => &self.failed,
            _ => &self.unchanged,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether an account id falls into shard `index` of `count` (FNV-1a of the 18-character id).
pub fn in_shard(id: &str, (index, count): (u32, u32)) -> bool {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    count > 0 && hash % u64::from(count) == u64::from(index)
}

impl CustomerFlows {
    /// Backfills accounts to NetSuite; `on_progress` is called after every account.
    pub async fn backfill_accounts(
        &self,
        options: &BackfillOptions,
        allocation: &SalesforceAllocation,
        log: &SyncLog,
        on_progress: &(dyn Fn(&BackfillProgress) + Send + Sync),
    ) -> Result<BackfillReport> {
        let started = Instant::now();
        let index = CustomerIndex::load(&self.netsuite, &self.config).await?;
        let counters = Counters::default();
        let failures = Mutex::new(Vec::new());
        let latencies = Mutex::new(Vec::new());
        let pending = Mutex::new(Vec::<(String, String)>::new());

        let fields = mapping::account_fields(&self.config).join(", ");
        // One condition for the walk and its count: every account, or the unlinked ones.
        let unlinked = (!options.all).then_some("NetSuite_Id__c = null");
        // Walked in Id order, restarting after the last Id read if Salesforce drops the cursor.
        let mut walk = KeysetQuery::new(format!(
            "SELECT {fields}, (SELECT {} FROM Contacts ORDER BY CreatedDate, Id) FROM Account",
            mapping::sf_contact_fields(&self.config).join(", ")
        ));
        if let Some(condition) = unlinked {
            walk = walk.filter(condition);
        }
        // The total for the progress bar (one COUNT() call); a shard expects its share.
        allocation.wait_for_batch(&self.salesforce).await?;
        let count_soql = format!(
            "SELECT COUNT() FROM Account{}",
            unlinked.map_or(String::new(), |c| format!(" WHERE {c}"))
        );
        let count = self.salesforce.query_count(&count_soql).await? as u64;
        let mut expected = options
            .shard
            .map_or(count, |(_, n)| count.div_ceil(u64::from(n.max(1))));
        if let Some(limit) = options.limit {
            expected = expected.min(limit as u64);
        }
        counters.total.store(expected, Ordering::Relaxed);
        on_progress(&counters.snapshot());
        let bulk = count > self.bulk_threshold;
        let batch_size = if bulk {
            BULK_WRITE_BACK_SIZE
        } else {
            COLLECTION_SIZE
        };

        // Page by page (up to 2,000 accounts a call), so memory stays flat however many there are.
        let workers = options.concurrency.max(1);
        let index = &index;
        // One trace for the whole run: every account's result carries it.
        let trace = isthmus_telemetry::TraceContext::new_root();
        let trace_id = trace.trace_id.as_str();
        let mut pages: BoxStream<'_, std::result::Result<Vec<Record>, _>> = if bulk {
            // Two query jobs read everything; the pages below are cut from memory.
            allocation.wait_for_batch(&self.salesforce).await?;
            let accounts = self.bulk_accounts(&fields, unlinked).await?;
            let pages: Vec<Vec<Record>> =
                accounts.chunks(BULK_PAGE).map(<[Record]>::to_vec).collect();
            stream::iter(pages.into_iter().map(Ok)).boxed()
        } else {
            self.salesforce.query_pages_by_id(walk).boxed()
        };
        let mut left = options.limit.unwrap_or(usize::MAX);
        while left > 0 {
            allocation.wait_for_batch(&self.salesforce).await?;
            let Some(page) = pages.next().await else {
                break;
            };
            let mut accounts = page?;
            if let Some(shard) = options.shard {
                accounts.retain(|a| text(a, "Id").is_some_and(|id| in_shard(&id, shard)));
            }
            accounts.truncate(left);
            left -= accounts.len();
            stream::iter(accounts)
                .for_each_concurrent(workers, |account| {
                    let (counters, failures, latencies, pending) =
                        (&counters, &failures, &latencies, &pending);
                    async move {
                        let id = text(&account, "Id").unwrap_or_default();
                        let began = Instant::now();
                        match self.backfill_one(&id, &account, index, trace_id).await {
                            Ok(synced) => {
                                log.finished(&synced.result, Trigger::Backfill, began).await;
                                counters.count(synced.result.outcome);
                                if let Some(customer_id) = synced.write_back {
                                    pending.lock().await.push((id.clone(), customer_id));
                                }
                            }
                            Err(err) => {
                                self.requeue(&id, &err.to_string(), trace_id, counters, failures)
                                    .await;
                            }
                        }
                        latencies
                            .lock()
                            .await
                            .push(began.elapsed().as_secs_f64() * 1000.0);
                        counters.seen.fetch_add(1, Ordering::Relaxed);
                        // Never more than one write-back call holds: workers push between
                        // one's push and its check, so the pile can pass the size.
                        let batch = {
                            let mut pending = pending.lock().await;
                            (pending.len() >= batch_size)
                                .then(|| pending.drain(..batch_size).collect::<Vec<_>>())
                        };
                        if let Some(batch) = batch {
                            self.write_back(batch, bulk, allocation, counters, failures)
                                .await;
                        }
                        on_progress(&counters.snapshot());
                    }
                })
                .await;
        }
        let rest: Vec<_> = pending.lock().await.drain(..).collect();
        for batch in rest.chunks(batch_size) {
            self.write_back(batch.to_vec(), bulk, allocation, &counters, &failures)
                .await;
            on_progress(&counters.snapshot());
        }
        allocation.publish(&self.salesforce).await?;
        Ok(BackfillReport {
            progress: counters.snapshot(),
            failures: failures.into_inner(),
            latencies_ms: latencies.into_inner(),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn backfill_one(
        &self,
        id: &str,
        account: &Record,
        index: &CustomerIndex,
        trace_id: &str,
    ) -> Result<AccountSynced> {
        let id = SalesforceId::parse(id)
            .map_err(|e| EngineError::Unprocessable(format!("account id {id:?}: {e}")))?;
        self.sync_loaded_account_locked(&id, account, trace_id, &Matcher::Index(index))
            .await
    }

    /// Syncs an account already read (a backfill's or a delta's page) under the account's
    /// lock, as the button does after its own read.
    pub(crate) async fn sync_loaded_account_locked(
        &self,
        id: &SalesforceId,
        account: &Record,
        trace_id: &str,
        matcher: &Matcher<'_>,
    ) -> Result<AccountSynced> {
        with_lock(
            &self.store,
            &format!("{LINK_KIND}:sf:{id}"),
            self.config.lock_ttl(),
            self.config.lock_wait(),
            |lease| self.sync_loaded_account(id, account, trace_id, Some(lease), matcher),
        )
        .await
    }

    /// Hands a failed account to the batch lane as a sync job (retries with backoff, then a
    /// dead letter), so a backfill never drops an account; counts it as failed only when even
    /// that is impossible.
    async fn requeue(
        &self,
        account_id: &str,
        reason: &str,
        trace_id: &str,
        counters: &Counters,
        failures: &Mutex<Vec<(String, String)>>,
    ) {
        let queued = match SalesforceId::parse(account_id) {
            Ok(account_id) => {
                let job = SyncJob::Account { account_id };
                self.queue_for_retry(&job, reason, trace_id).await
            }
            Err(err) => Err(EngineError::InvalidArgument(format!(
                "not an account id: {err}"
            ))),
        };
        match queued {
            Ok(job_id) => {
                counters.queued.fetch_add(1, Ordering::Relaxed);
                failures.lock().await.push((
                    account_id.to_string(),
                    format!("{reason} (queued for retry as job {job_id})"),
                ));
            }
            Err(err) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                failures.lock().await.push((
                    account_id.to_string(),
                    format!("{reason}; queueing failed: {err}"),
                ));
            }
        }
    }

    /// Writes each account's customer id back to its `NetSuite_Id__c` in one sObject
    /// Collections call (`ids`: account, customer; at most 200). `Ok` with the accounts
    /// Salesforce refused and why; `Err` when the call itself failed.
    pub(crate) async fn write_back_ids(
        &self,
        ids: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Record> = ids
            .iter()
            .map(|(account, customer)| {
                let mut record = Map::new();
                record.insert(
                    "attributes".into(),
                    serde_json::json!({ "type": "Account" }),
                );
                record.insert("id".into(), Value::String(account.clone()));
                record.insert("NetSuite_Id__c".into(), Value::String(customer.clone()));
                record
            })
            .collect();
        let results = self
            .salesforce
            .update_many("Account", &records, false)
            .await?;
        Ok(ids
            .iter()
            .zip(results)
            .filter(|(_, r)| !r.success)
            .map(|((account, _), r)| {
                let why = r
                    .errors
                    .first()
                    .map_or_else(String::new, |e| e.message.clone());
                (account.clone(), why)
            })
            .collect())
    }

    /// Hands a sync that failed inside a batch (backfill, scheduled delta) to this service's
    /// batch lane as a job with its record, so it is retried with backoff and dead-lettered if
    /// it keeps failing; returns the job id.
    pub(crate) async fn queue_for_retry(
        &self,
        job: &SyncJob,
        reason: &str,
        trace_id: &str,
    ) -> Result<String> {
        let id = isthmus_store::RecordId::new().to_string();
        let mut record = JobRecord::new(&id, job.kind(), trace_id);
        record.error = Some(reason.to_string());
        let new_job = NewJob {
            id,
            kind: job.kind().to_string(),
            payload: serde_json::to_vec(job).unwrap_or_default(),
            trace_id: trace_id.to_string(),
        };
        record.save(self.store.as_ref(), REQUEUED_JOB_TTL).await?;
        self.retry_queue()
            .await?
            .enqueue(Lane::Batch, &new_job)
            .await?;
        Ok(new_job.id)
    }

    /// Writes `NetSuite_Id__c` back for a batch of accounts (see [`Self::write_back_ids`], and
    /// [`Self::write_back_ids_bulk`] when `bulk`).
    async fn write_back(
        &self,
        batch: Vec<(String, String)>,
        bulk: bool,
        allocation: &SalesforceAllocation,
        counters: &Counters,
        failures: &Mutex<Vec<(String, String)>>,
    ) {
        let outcome = match allocation.wait_for_batch(&self.salesforce).await {
            Ok(()) if bulk => self.write_back_ids_bulk(&batch).await,
            Ok(()) => self.write_back_ids(&batch).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(refused) => {
                let written = batch.len() - refused.len();
                counters
                    .written_back
                    .fetch_add(written as u64, Ordering::Relaxed);
                // A row Salesforce refused (a row lock, say) is linked in the store but does
                // not carry its customer's id: its job writes it back, as for a failed call.
                for (account, reason) in refused {
                    let reason = format!("write-back: {reason}");
                    self.requeue(&account, &reason, "", counters, failures)
                        .await;
                }
            }
            Err(err) => {
                // The per-account job writes the id back itself.
                for (account, _) in &batch {
                    let reason = format!("write-back: {err}");
                    self.requeue(account, &reason, "", counters, failures).await;
                }
            }
        }
    }
}

/// Percentile (0..=100) of latencies in ms, nearest-rank.
pub fn percentile(latencies: &[f64], p: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_ids() {
        let ids: Vec<String> = (0..300).map(|i| format!("001000000000{i:03}AAA")).collect();
        let counts: Vec<usize> = (0..3)
            .map(|s| ids.iter().filter(|id| in_shard(id, (s, 3))).count())
            .collect();
        assert_eq!(
            counts.iter().sum::<usize>(),
            300,
            "every id in exactly one shard"
        );
        assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let l: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&l, 50.0), 50.0);
        assert_eq!(percentile(&l, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn progress_counts_outcomes() {
        let c = Counters::default();
        c.count(Outcome::Created);
        c.count(Outcome::Unchanged);
        c.count(Outcome::Conflict);
        let p = c.snapshot();
        assert_eq!((p.created, p.unchanged, p.conflicts), (1, 1, 1));
    }
}

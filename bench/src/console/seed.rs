//! What the console bench puts in Redis before it measures anything, written straight through
//! the store's traits (setup, not the thing measured): dead letters, parked conflicts, sync
//! statistics over the last day and audit entries. Values are realistic in shape (valid typed
//! ids, the engine's own job payload and audit entry) and deterministic (no randomness: run
//! twice, seed the same).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{StreamExt, TryStreamExt};
use isthmus_engine::audit::{record_key_netsuite, record_key_salesforce, AuditEntry};
use isthmus_engine::work::SyncJob;
use isthmus_engine::{catalog, customers, orders, FieldChange};
use isthmus_salesforce::id::SalesforceId;
use isthmus_store::{
    AuditLog, Conflict, Conflicts, Failure, Lane, NewJob, RecordId, RedisStore, Store, SyncSample,
    SyncStats,
};
use serde_json::json;

/// Store calls in flight while seeding (one multiplexed connection pipelines them).
const IN_FLIGHT: usize = 64;
/// Jobs taken from the queue at once to be dead-lettered.
const DEQUEUE_BATCH: usize = 500;
/// The attempt a seeded dead letter failed on (the default retry policy's last).
const LAST_ATTEMPT: u32 = 5;

/// A deterministic spread of bits for the `i`-th seeded thing (splitmix64).
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A valid 18-character Account id, distinct per `i` (< 10^8), none of the sandbox's.
pub fn account_id(i: usize) -> SalesforceId {
    SalesforceId::parse(&format!("001Bq{i:010}")).expect("15 alphanumerics are an id")
}

/// A trace id as the gateway makes them: 32 hex digits.
fn trace_id(salt: u64, i: u64) -> String {
    format!(
        "{:016x}{:016x}",
        mix(salt ^ i),
        mix(i.wrapping_mul(31) ^ salt)
    )
}

/// The errors the dead letters carry, in turn: one in four mentions a timeout, so the
/// console's error-text filter finds a quarter of any window.
const ERRORS: [(&str, &str); 4] = [
    (
        "NetSuite refused the customer: Please enter a value for Sales Rep. (USER_ERROR)",
        "permanent",
    ),
    (
        "NetSuite call timed out after 30 s (timeout) on PUT customer/eid",
        "permanent",
    ),
    (
        "NetSuite refused the customer: Invalid subsidiary reference key 7. (INVALID_KEY_OR_REF)",
        "permanent",
    ),
    (
        "Salesforce answered 400 INVALID_FIELD: No such column 'NetSuite_Id__c' on Account",
        "permanent",
    ),
];

/// `n` dead letters of `customers.sync_account` in the customers queue, each on its last
/// attempt: enqueued, taken and dead-lettered as a worker would. Returns their job ids.
pub async fn dead_letters(store: &RedisStore, n: usize) -> anyhow::Result<Vec<String>> {
    let queue = store.queue("customers").await?;
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| {
            let job = SyncJob::Account {
                account_id: account_id(i),
            };
            Ok(NewJob {
                id: RecordId::new().to_string(),
                kind: job.kind().to_string(),
                payload: serde_json::to_vec(&job)?,
                trace_id: trace_id(1, i as u64),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let ids = jobs.iter().map(|j| j.id.clone()).collect();
    futures::stream::iter(&jobs)
        .map(|job| queue.enqueue_delayed(Lane::Batch, job, LAST_ATTEMPT, Duration::ZERO))
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    let mut dead = 0;
    while dead < n {
        let taken = queue
            .dequeue("bench-seeder", DEQUEUE_BATCH, Duration::from_secs(1))
            .await?;
        if taken.is_empty() {
            bail!("only {dead} of {n} seeded jobs came back from the queue");
        }
        futures::stream::iter(taken.iter().enumerate())
            .map(|(k, job)| {
                let queue = &queue;
                async move {
                    let (error, class) = ERRORS[(dead + k) % ERRORS.len()];
                    let code = if class == "permanent" {
                        "UNPROCESSABLE"
                    } else {
                        "UPSTREAM_UNAVAILABLE"
                    };
                    queue
                        .dead_letter(job, &Failure::new(error, class).with_code(code))
                        .await
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await?;
        dead += taken.len();
    }
    let depth = queue.queue_depth().await?;
    if depth.dead < n as u64 {
        bail!("{} dead letters kept of {n} seeded", depth.dead);
    }
    Ok(ids)
}

/// Canonical customer fields a conflict can be on, with a Salesforce and a NetSuite value.
const FIELDS: [&str; 5] = ["phone", "email", "company_name", "website", "billing"];

/// `n` parked conflicts (policy `manual`) of the customers flow, found over the last 30 days,
/// in a log long enough to keep them all.
pub async fn parked_conflicts(store: &RedisStore, n: usize) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let max_len = (2 * n).max(20_000);
    futures::stream::iter(0..n)
        .map(|i| {
            let field = FIELDS[i % FIELDS.len()];
            let conflict = Conflict {
                id: format!("{:016x}{:016x}", mix(7 ^ i as u64), i),
                kind: "customer".into(),
                flow: customers::FLOW_ACCOUNT_TO_CUSTOMER.into(),
                salesforce_id: account_id(50_000_000 + i).to_string(),
                netsuite_id: (100_000 + i).to_string(),
                field: field.into(),
                salesforce_value: Some(format!("{field} as edited in Salesforce #{i}")),
                netsuite_value: Some(format!("{field} as edited in NetSuite #{i}")),
                last_synced_value: Some(format!("{field} as last synced #{i}")),
                policy: "manual".into(),
                resolution: None,
                trace_id: trace_id(2, i as u64),
                detected_at_ms: now - (mix(i as u64) % (30 * 86_400_000)) as i64,
            };
            async move { store.record_conflict(&conflict, max_len).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// `n` finished syncs spread over the last 24 hours across four flows (mostly unchanged or
/// updated, some created, a few conflicts and failures), and the Salesforce allocation seen in
/// every five-minute bucket of the day.
pub async fn sync_statistics(store: &RedisStore, n: usize) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let flows = [
        customers::FLOW_ACCOUNT_TO_CUSTOMER,
        customers::FLOW_CUSTOMER_TO_ACCOUNT,
        orders::FLOW_OPPORTUNITY_TO_ORDER,
        catalog::FLOW_ITEM_TO_PRODUCT,
    ];
    let traces: Vec<String> = (0..n as u64).map(|i| trace_id(3, i)).collect();
    futures::stream::iter(0..n)
        .map(|i| {
            let bits = mix(1_000_000 + i as u64);
            let outcome = match bits % 100 {
                0..=44 => "unchanged",
                45..=79 => "updated",
                80..=93 => "created",
                94..=96 => "conflict",
                _ => "failed",
            };
            let sample = SyncSample {
                flow: flows[i % flows.len()],
                outcome,
                at_ms: now - ((bits >> 8) % 86_400_000) as i64,
                latency_ms: 40 + (bits >> 40) % 900,
                error: (outcome == "failed").then_some("NetSuite answered 503 (upstream)"),
                trace_id: &traces[i],
            };
            async move { store.record_sync(&sample).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    futures::stream::iter(0..288_i64)
        .map(|k| {
            store.record_allocation(now - k * 300_000, 40_000 + 100 * (288 - k) as u64, 100_000)
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// An audit entry of an update of `account` (customer `customer`) by the delta, two fields.
fn audit_entry(account: &str, customer: &str, i: usize, at_ms: i64) -> AuditEntry {
    let change = |field: &str, before: String, after: String| FieldChange {
        record: "netsuite.customer".into(),
        field: field.into(),
        before: Some(json!(before)),
        after: Some(json!(after)),
    };
    AuditEntry {
        at_ms,
        flow: customers::FLOW_ACCOUNT_TO_CUSTOMER.into(),
        outcome: "updated".into(),
        salesforce_id: account.into(),
        netsuite_id: customer.into(),
        fields: vec![
            "netsuite.customer.phone".into(),
            "netsuite.customer.email".into(),
        ],
        trace_id: trace_id(4, i as u64),
        job_id: String::new(),
        changes: vec![
            change(
                "phone",
                format!("+1 415 555 {:04}", i % 10_000),
                format!("+1 415 555 {:04}", (i + 1) % 10_000),
            ),
            change(
                "email",
                format!("ap{i}@example.com"),
                format!("billing{i}@example.com"),
            ),
        ],
        trigger: "delta".into(),
        actor: String::new(),
        note: String::new(),
    }
}

async fn append(store: &RedisStore, entry: &AuditEntry) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(entry)?;
    let keys = [
        record_key_salesforce(&entry.salesforce_id),
        record_key_netsuite(&entry.netsuite_id),
    ];
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    store.append_audit(&bytes, AUDIT_MAX_LEN, &keys).await?;
    Ok(())
}

/// The audit log's cap while seeding (above anything seeded).
const AUDIT_MAX_LEN: usize = 100_000;

/// `n` audit entries over 200 other accounts (the log's bulk), then `record_entries` of
/// `account` / `customer` (the record page's history), oldest first.
pub async fn audit(
    store: &RedisStore,
    n: usize,
    account: &str,
    customer: &str,
    record_entries: usize,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    futures::stream::iter(0..n)
        .map(|i| {
            let other = account_id(90_000_000 + i % 200).to_string();
            let entry = audit_entry(&other, &(200_000 + i % 200).to_string(), i, now);
            async move { append(store, &entry).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    // In order, so the history reads newest first as a real one would.
    for i in 0..record_entries {
        let at = now - ((record_entries - i) as i64) * 3_600_000;
        append(store, &audit_entry(account, customer, i, at)).await?;
    }
    Ok(())
}

/// Runs a seeding step and says how long it took.
pub async fn timed<T>(
    what: &str,
    step: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    let out = step.await.with_context(|| format!("seeding {what}"))?;
    eprintln!("seeded {what} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(out)
}

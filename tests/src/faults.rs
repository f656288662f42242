//! Support for the fault tests (`tests/faults_*.rs`): many accounts synced at once, and the
//! proofs that nothing was lost or duplicated, read from the sandbox's state on both sides and
//! from the store. Every wait is bounded: a test that does not converge fails with what it saw.

use std::collections::HashMap;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use isthmus_engine::customers::LINK_KIND;
use isthmus_engine::work::{JobRecord, JobState};
use isthmus_sandbox::Sandbox;
use isthmus_store::{Locks, Queue, QueueDepth, StatusValues};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::{text, TestMesh, ADMIN_KEY, SF_KEY};

/// Requests in flight at once when queueing many syncs.
const QUEUEING_CONCURRENCY: usize = 16;

/// How often the waits look again.
const POLL: Duration = Duration::from_millis(50);

/// NetSuite's customer upsert by external id: the call that creates a customer.
pub const PUT_CUSTOMER: &str = "PUT /services/rest/record/v1/customer/eid:{externalId}";

/// Adds `n` accounts without a NetSuite counterpart; returns their ids. Each name starts with
/// a word of its own (`{prefix}0042 Trading`), so company-name matching finds one row at most.
pub fn add_accounts(sandbox: &Sandbox, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut account = Map::new();
            account.insert("Name".into(), json!(format!("{prefix}{i:04} Trading")));
            account.insert("BillingCity".into(), json!("Porto"));
            account.insert("BillingCountry".into(), json!("Portugal"));
            sandbox.sf_insert("Account", account).expect("account")
        })
        .collect()
}

/// Adds `per_account` contacts to each of `accounts`; returns their e-mail addresses, which
/// are unique and which a duplicate of a contact on the NetSuite side would share.
pub fn add_contacts(sandbox: &Sandbox, accounts: &[String], per_account: usize) -> Vec<String> {
    let mut emails = Vec::new();
    for account in accounts {
        for i in 0..per_account {
            let email = format!("person{i}.{}@example.com", account.to_ascii_lowercase());
            let mut contact = Map::new();
            contact.insert("FirstName".into(), json!(format!("Person{i}")));
            contact.insert("LastName".into(), json!(format!("Of {account}")));
            contact.insert("Email".into(), json!(email));
            contact.insert("AccountId".into(), json!(account));
            sandbox.sf_insert("Contact", contact).expect("contact");
            emails.push(email);
        }
    }
    emails
}

/// Clicks "Sync to NetSuite" in async mode on every account, through the gateway at
/// `gateway`; returns the job ids (each answer must be a 202 with a job).
pub async fn queue_syncs(
    http: &reqwest::Client,
    gateway: &str,
    accounts: &[String],
) -> Vec<String> {
    stream::iter(accounts)
        .map(|account| async move {
            let response = http
                .post(format!(
                    "{gateway}/v1/salesforce/accounts/{account}/sync?mode=async"
                ))
                .bearer_auth(SF_KEY)
                .send()
                .await
                .expect("gateway answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("JSON answer");
            assert_eq!(status, 202, "{account}: {body}");
            body["job_id"].as_str().expect("a job id").to_string()
        })
        .buffer_unordered(QUEUEING_CONCURRENCY)
        .collect()
        .await
}

/// How many of `accounts` carry a NetSuite id in Salesforce (written back).
pub fn written_back(sandbox: &Sandbox, accounts: &[String]) -> usize {
    accounts
        .iter()
        .filter(|id| {
            sandbox
                .sf_record("Account", id)
                .is_some_and(|a| text(a.get("NetSuite_Id__c")).is_some())
        })
        .count()
}

/// Every account has exactly one NetSuite customer, counted both by its `externalId` (the
/// account id) and by its `companyName` (the account's name, which a duplicate created under
/// another external id would share), and the account carries that customer's internal id.
pub fn assert_each_account_synced_once(sandbox: &Sandbox, accounts: &[String]) {
    let customers = sandbox.ns_records("customer");
    let by_external_id = group_by(&customers, "externalId");
    let by_name = group_by(&customers, "companyName");
    for account in accounts {
        let record = sandbox.sf_record("Account", account).expect("account");
        let name = text(record.get("Name")).expect("an account has a name");
        let by_id = by_external_id.get(account).map_or(&[][..], Vec::as_slice);
        assert_eq!(by_id.len(), 1, "customers of account {account}: {by_id:?}");
        let named = by_name.get(&name).map_or(&[][..], Vec::as_slice);
        assert_eq!(named.len(), 1, "customers named {name:?}: {named:?}");
        let id = text(named[0].get("id"));
        assert_eq!(id, text(by_id[0].get("id")), "{name:?}: one customer");
        assert_eq!(
            text(record.get("NetSuite_Id__c")),
            id,
            "the id of account {account}'s customer is written back"
        );
    }
}

/// `records` grouped by the text of `field` (records without it left out).
pub fn group_by(
    records: &[Map<String, Value>],
    field: &str,
) -> HashMap<String, Vec<Map<String, Value>>> {
    let mut groups: HashMap<String, Vec<Map<String, Value>>> = HashMap::new();
    for record in records {
        if let Some(key) = text(record.get(field)) {
            groups.entry(key).or_default().push(record.clone());
        }
    }
    groups
}

/// Each of `names` names exactly one of `records` by `field` (a field a duplicate would share,
/// such as a name); returns those records in the order of `names`.
pub fn assert_each_once(
    records: &[Map<String, Value>],
    field: &str,
    names: &[String],
) -> Vec<Map<String, Value>> {
    let groups = group_by(records, field);
    names
        .iter()
        .map(|name| {
            let found = groups.get(name).map_or(&[][..], Vec::as_slice);
            assert_eq!(found.len(), 1, "records with {field} = {name:?}: {found:?}");
            found[0].clone()
        })
        .collect()
}

/// No sync still holds the lock of any of `accounts`: each can be taken (then is given back).
pub async fn assert_no_lock_held(locks: &dyn Locks, accounts: &[String]) {
    let resources: Vec<String> = accounts
        .iter()
        .map(|account| format!("{LINK_KIND}:sf:{account}"))
        .collect();
    assert_resources_free(locks, &resources).await;
}

/// No one holds the lock of any of `resources` (e.g. `customer:ns:{id}`): each can be taken
/// (then is given back). Works on both stores.
pub async fn assert_resources_free(locks: &dyn Locks, resources: &[String]) {
    for resource in resources {
        let lease = locks
            .acquire(resource, Duration::from_secs(1))
            .await
            .expect("store answers")
            .unwrap_or_else(|| panic!("the lock of {resource} is still held"));
        locks.release(&lease).await.expect("store answers");
    }
}

/// On Redis, waits until no `lock:` key is left, and fails with those left after `within` (a
/// lock whose release failed goes when its lease runs out: `within` should cover the lock TTL).
/// A no-op on the in-memory store.
pub async fn assert_no_lock_keys(mesh: &TestMesh, within: Duration) {
    let deadline = Instant::now() + within;
    while let Some(locks) = mesh.redis_keys("lock:*").await {
        if locks.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "locks left in Redis: {locks:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until no job of `queue` waits, is delayed or is pending; returns the final depth.
///
/// # Panics
/// When the queue has not drained `within`, with the depth last seen.
pub async fn wait_queue_drained(queue: &dyn Queue, within: Duration) -> QueueDepth {
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        // An error is the store coming back: ask again.
        if let Ok(depth) = queue.queue_depth().await {
            if depth.interactive + depth.batch + depth.delayed + depth.pending == 0 {
                return depth;
            }
            last = Some(depth);
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("the queue did not drain in {within:?}: {last:?}");
}

/// The record of every job, each of which must be done.
pub async fn assert_jobs_done(records: &dyn StatusValues, jobs: &[String]) -> Vec<JobRecord> {
    let mut done = Vec::with_capacity(jobs.len());
    for id in jobs {
        let record = JobRecord::load(records, id)
            .await
            .expect("store answers")
            .unwrap_or_else(|| panic!("job {id} has no record"));
        assert_eq!(record.state, JobState::Done, "job {id}: {record:?}");
        done.push(record);
    }
    done
}

/// How many of `records` took more than one attempt.
pub fn retried(records: &[JobRecord]) -> usize {
    records.iter().filter(|r| r.attempts > 1).count()
}

/// Runs an account backfill through the gateway and waits for its report.
pub async fn run_backfill(mesh: &TestMesh, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    let (status, job) = mesh
        .post("/v1/backfills/accounts", Some(ADMIN_KEY), Some(json!({})))
        .await;
    assert_eq!(status, 202, "{job}");
    let path = format!("/v1/backfills/{}", job["id"].as_str().expect("backfill id"));
    loop {
        let (status, report) = mesh.get(&path, Some(ADMIN_KEY)).await;
        assert_eq!(status, 200, "{report}");
        if report["state"] != "running" {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "the backfill did not finish in {within:?}: {report}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `condition` until it holds (`true`) or `within` has passed (`false`).
pub async fn wait_until(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The three ways a write fails in the fault matrix: the vendor refuses before doing anything
/// (a 503), the connection drops before the vendor sees the call, or the vendor commits and the
/// answer is lost (reset, or a proxy's 504). Only the last can make a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BeforeCommit,
    DroppedConnection,
    LostAnswer,
}

impl FailureKind {
    pub const ALL: [FailureKind; 3] = [
        FailureKind::BeforeCommit,
        FailureKind::DroppedConnection,
        FailureKind::LostAnswer,
    ];

    /// The rule failing `route` this way at `rate`. Lost answers alternate between a reset
    /// connection and a proxy's 504 (two rules, each at half the rate), so both are met.
    pub fn faults(self, route: &str, rate: f64) -> Vec<isthmus_sandbox::Fault> {
        use isthmus_sandbox::Fault;
        match self {
            FailureKind::BeforeCommit => vec![Fault::error(route).rate(rate)],
            FailureKind::DroppedConnection => vec![Fault::drop_connection(route).rate(rate)],
            FailureKind::LostAnswer => vec![
                Fault::lost_answer(route).rate(rate / 2.0),
                Fault::lost_answer_with_status(route, 504).rate(rate / (2.0 - rate)),
            ],
        }
    }

    /// Fails each of `routes` of `system` this way at `rate`.
    pub fn inject(
        self,
        sandbox: &Sandbox,
        system: isthmus_sandbox::System,
        routes: &[&str],
        rate: f64,
    ) {
        for route in routes {
            for fault in self.faults(route, rate) {
                sandbox.inject_fault(system, fault);
            }
        }
    }

    /// Does a failure of this kind leave the write done (committed, answer lost)?
    pub fn commits(self) -> bool {
        self == FailureKind::LostAnswer
    }
}

/// The faults injected on one route that fired so far (each rule counts its own firings).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// The call failed before the vendor ran it: nothing written.
    pub uncommitted: u64,
    /// The vendor ran and committed the call, then its answer was lost.
    pub committed: u64,
}

impl Fired {
    pub fn total(self) -> u64 {
        self.uncommitted + self.committed
    }
}

/// How many faults injected on exactly `route` of `system` fired. A rule spent by its `times`
/// leaves the list, so give rules counted here no `times`.
pub fn fired(sandbox: &Sandbox, system: isthmus_sandbox::System, route: &str) -> Fired {
    let mut fired = Fired::default();
    for rule in sandbox.faults(system) {
        if rule.route != route {
            continue;
        }
        if rule.kind.runs_the_call() {
            fired.committed += rule.fired;
        } else {
            fired.uncommitted += rule.fired;
        }
    }
    fired
}

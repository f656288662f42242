//! Bookkeeping of the fault matrix over the lead-to-cash flows (`tests/it/faults_matrix_*.rs`):
//! faults injected at [`RATE`], how many fired on each route, and the proofs each cell shares: every record exactly once
//! counted by a field a duplicate would share, the queue drained with nothing dead, no lock left.
//!
//! The write-call arithmetic every cell asserts: a call that failed before the vendor did the
//! work is retried and counted twice (`records + fired`). A lost answer committed the write; a
//! flow that recognises its own committed write on the retry (it reads the record by its
//! external id, or by the link it recorded) does not write again, one that cannot tell re-sends
//! an idempotent upsert — each test says which and asserts it exactly.

use std::collections::HashMap;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use isthmus_sandbox::{Sandbox, System};
use isthmus_store::{Locks, Queue};
use serde_json::{Map, Value};

use crate::faults::{wait_queue_drained, FailureKind};
use crate::{text, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY};

/// The share of calls on each faulted route that fail.
pub const RATE: f64 = 0.2;

/// Requests in flight at once when queueing.
const CONCURRENCY: usize = 8;

/// NetSuite's sales order upsert by external id (the Opportunity id).
pub const PUT_ORDER: &str = "PUT /services/rest/record/v1/salesOrder/eid:{externalId}";
/// Salesforce's update of one Opportunity (the order's write-back, its status).
pub const PATCH_OPPORTUNITY: &str = "PATCH /services/data/vXX.X/sobjects/Opportunity/{id}";
/// Composite (a mirror record and its related records' fields, all or none).
pub const COMPOSITE: &str = "POST /services/data/vXX.X/composite";

/// Retries on a test's time scale, and enough attempts that a job failing at 20 % a try is not
/// dead-lettered by chance (0.2^12 per job).
pub fn adjust(config: &mut isthmus::Config) {
    config.queue.retryable_attempts = 12;
    config.netsuite.timeout_ms = 5_000;
    config.salesforce.timeout_ms = 5_000;
}

/// A new account synced to NetSuite (no fault yet): its id and its customer's.
pub async fn synced_account(mesh: &TestMesh, name: &str) -> (String, String) {
    let account = crate::lead::new_account(mesh, name);
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = body["netsuite_id"]
        .as_str()
        .expect("customer id")
        .to_string();
    (account, customer)
}

/// The opportunity as Salesforce holds it.
pub fn opportunity(mesh: &TestMesh, id: &str) -> Map<String, Value> {
    mesh.sandbox
        .sf_record("Opportunity", id)
        .expect("opportunity")
}

/// The order id written back to an opportunity.
pub fn written_back_order(mesh: &TestMesh, id: &str) -> Option<String> {
    text(opportunity(mesh, id).get("NetSuite_Id__c"))
}

/// Fails each of `routes` of `system` at [`RATE`] the way `kind` fails.
pub fn inject(sandbox: &Sandbox, kind: FailureKind, system: System, routes: &[&str]) {
    kind.inject(sandbox, system, routes, RATE);
}

/// How many injected faults fired on `route` of `system` since [`inject`].
pub fn fired(sandbox: &Sandbox, system: System, route: &str) -> u64 {
    crate::faults::fired(sandbox, system, route).total()
}

/// Removes every fault of both systems and zeroes the call counter: the next cell starts clean.
pub fn clear(sandbox: &Sandbox) {
    sandbox.clear_faults(System::NetSuite);
    sandbox.clear_faults(System::Salesforce);
    sandbox.reset_calls();
}

/// How many write calls reached `route`: the one that got through per record, plus every
/// failed call — except a lost answer that the retry recognised as its own committed write
/// (`retry_recognises`: it read the record back and wrote nothing).
pub fn expected_calls(
    kind: FailureKind,
    records: usize,
    fired: u64,
    retry_recognises: bool,
) -> u64 {
    if kind == FailureKind::LostAnswer && retry_recognises {
        records as u64
    } else {
        records as u64 + fired
    }
}

/// Asserts that the write calls on `route` of `system` are what [`expected_calls`] says.
pub fn assert_write_calls(
    sandbox: &Sandbox,
    kind: FailureKind,
    system: System,
    route: &str,
    records: usize,
    retry_recognises: bool,
) {
    let fired = fired(sandbox, system, route);
    let calls = sandbox.calls().get(route);
    assert_eq!(
        calls,
        expected_calls(kind, records, fired, retry_recognises),
        "{kind:?}: calls to {route} for {records} records with {fired} faults fired"
    );
}

/// Asserts that each of `expected` is the `field` of exactly one of `records`.
pub fn assert_once_each(records: &[Map<String, Value>], field: &str, expected: &[String]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in records {
        if let Some(value) = text(record.get(field)) {
            *seen.entry(value).or_default() += 1;
        }
    }
    for value in expected {
        assert_eq!(
            seen.get(value).copied().unwrap_or(0),
            1,
            "records with {field} = {value:?}"
        );
    }
}

/// The records of `records` whose `field` is one of `values`.
pub fn whose<'a>(
    records: &'a [Map<String, Value>],
    field: &'a str,
    values: &'a [String],
) -> impl Iterator<Item = &'a Map<String, Value>> + 'a {
    records
        .iter()
        .filter(move |r| text(r.get(field)).is_some_and(|v| values.contains(&v)))
}

/// Each of `resources` can be locked (then is given back), and on Redis no `lock:` key is left.
pub async fn assert_locks_free(mesh: &TestMesh, resources: &[String]) {
    let locks: &dyn Locks = mesh.store.as_ref();
    for resource in resources {
        let lease = locks
            .acquire(resource, Duration::from_secs(1))
            .await
            .expect("store answers")
            .unwrap_or_else(|| panic!("{resource} is still locked"));
        locks.release(&lease).await.expect("store answers");
    }
    crate::faults::assert_no_lock_keys(mesh, Duration::from_secs(2)).await;
}

/// Waits until the `service`'s queue has drained and asserts that nothing was dead-lettered.
pub async fn assert_drained(mesh: &TestMesh, service: &str) {
    let queue: std::sync::Arc<dyn Queue> = mesh.store.queue(service).await.expect("store answers");
    let depth = wait_queue_drained(queue.as_ref(), Duration::from_secs(60)).await;
    assert_eq!(
        depth.dead, 0,
        "nothing dead-lettered on {service}: {depth:?}"
    );
}

/// How a batch is sent: each request run inline first (the default: a retryable failure
/// becomes a job), or queued at once (`mode=async`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Inline,
    Queued,
}

impl Delivery {
    fn query(self) -> &'static str {
        match self {
            Delivery::Inline => "",
            Delivery::Queued => "?mode=async",
        }
    }
}

/// Posts each `(path, body)` with `key`; the ids of the jobs the answers name, in the order of
/// the requests. Queued, each answer must be a 202 with a job; inline, a 200 (done) or a 202
/// (a failure became a job).
async fn send_all(
    mesh: &TestMesh,
    key: &str,
    delivery: Delivery,
    requests: Vec<(String, Option<Value>)>,
) -> Vec<String> {
    let answers: Vec<Option<String>> = stream::iter(requests)
        .map(|(path, body)| async move {
            let (status, answer) = mesh.post(&path, Some(key), body).await;
            let job = answer["job_id"].as_str().map(str::to_string);
            match (delivery, status) {
                (Delivery::Queued, 202) => assert!(job.is_some(), "{path}: {answer}"),
                (Delivery::Inline, 200) => {}
                (Delivery::Inline, 202) => assert!(job.is_some(), "{path}: {answer}"),
                _ => panic!("{path} ({delivery:?}): {status} {answer}"),
            }
            job
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    answers.into_iter().flatten().collect()
}

/// "Sync to NetSuite" on each opportunity; the ids of the jobs it made.
pub async fn click_all(
    mesh: &TestMesh,
    delivery: Delivery,
    opportunities: &[String],
) -> Vec<String> {
    let requests = opportunities
        .iter()
        .map(|o| {
            let path = format!("/v1/salesforce/opportunities/{o}/sync{}", delivery.query());
            (path, None)
        })
        .collect();
    send_all(mesh, SF_KEY, delivery, requests).await
}

/// A NetSuite User Event (`edit`) for each record of `record_type`; the ids of the jobs it made.
pub async fn send_events(
    mesh: &TestMesh,
    delivery: Delivery,
    record_type: &str,
    ids: &[String],
) -> Vec<String> {
    let requests = ids
        .iter()
        .map(|id| {
            let body =
                serde_json::json!({ "record_type": record_type, "id": id, "event_type": "edit" });
            (
                format!("/v1/netsuite/events{}", delivery.query()),
                Some(body),
            )
        })
        .collect();
    send_all(mesh, NS_KEY, delivery, requests).await
}

/// Runs the renewal scan until no expiring order of `orders` failed (at most `scans` times);
/// the scans it took. Each scan raises what the last one could not: the scan is its own retry.
pub async fn scan_renewals_until_raised(mesh: &TestMesh, orders: &[String], scans: usize) -> usize {
    for scan in 1..=scans {
        let (status, answer) = mesh
            .post(
                "/v1/renewals/scan",
                Some(ADMIN_KEY),
                Some(serde_json::json!({ "within_days": 60 })),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let results = answer["results"].as_array().expect("results");
        let ours: Vec<&Value> = results
            .iter()
            .filter(|r| text(r.get("netsuite_id")).is_some_and(|id| orders.contains(&id)))
            .collect();
        assert_eq!(ours.len(), orders.len(), "each order scanned: {answer}");
        for result in &ours {
            assert!(
                ["created", "unchanged", "failed"].contains(&result["outcome"].as_str().unwrap()),
                "{result}"
            );
        }
        if ours.iter().all(|r| r["outcome"] != "failed") {
            return scan;
        }
    }
    panic!("renewals still failing after {scans} scans");
}

/// Asserts that the ID map links NetSuite record `netsuite_id` to `salesforce_id` under `kind`.
pub async fn assert_linked(mesh: &TestMesh, kind: &str, netsuite_id: &str, salesforce_id: &str) {
    let link = mesh
        .store
        .link_by_netsuite(kind, netsuite_id)
        .await
        .expect("store answers")
        .unwrap_or_else(|| panic!("no {kind} link of NetSuite record {netsuite_id}"));
    assert_eq!(
        link.salesforce_id, salesforce_id,
        "{kind} link of {netsuite_id}"
    );
}

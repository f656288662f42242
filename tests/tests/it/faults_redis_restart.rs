//! Redis crashing and coming back while queued syncs run: the mesh reconnects by itself and
//! finishes every job, with each account synced exactly once and no lock held forever.
//!
//! The Redis here keeps an append-only file synced on every write (as a production Redis
//! holding a queue should), so what it acknowledged before the crash is there after it: the
//! jobs, the ID map, and the locks and NetSuite slots taken just before, whose releases may
//! then fail and which must go when their leases run out. The crash must really cut syncs off:
//! some jobs take a second attempt.

use std::time::Duration;

use isthmus_sandbox::System;
use isthmus_store::testing::RedisServer;
use isthmus_tests::faults::{
    add_accounts, assert_each_account_synced_once, assert_jobs_done, assert_no_lock_held,
    assert_no_lock_keys, queue_syncs, retried, wait_queue_drained, wait_until, written_back,
    PUT_CUSTOMER,
};
use isthmus_tests::TestMesh;

const ACCOUNTS: usize = 300;
const LOCK_TTL_MS: u64 = 2_000;

/// Leases and retries on the test's time scale: a lock whose release was lost frees after 2 s,
/// a NetSuite slot after 6 s (the 1 s call timeout plus its margin); syncs that fail while
/// Redis is down have attempts to spare.
fn adjust(config: &mut isthmus::Config) {
    config.customers.lock_ttl_ms = LOCK_TTL_MS;
    config.customers.lock_wait_ms = 500;
    config.netsuite.timeout_ms = 1_000;
    config.queue.reclaim_idle_ms = 1_000;
    config.queue.retryable_attempts = 10;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_finish_once_each_across_a_redis_crash_and_restart() {
    let mut mesh = TestMesh::start_on_redis(RedisServer::spawn_durable(), adjust).await;
    let accounts = add_accounts(&mesh.sandbox, "Restart", ACCOUNTS);
    // Slow the vendors down so the syncs fall behind the clicks and the crash lands mid-run.
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(50));
    mesh.sandbox
        .set_latency(System::Salesforce, Duration::from_millis(10));
    mesh.sandbox.reset_calls();
    let jobs = queue_syncs(&mesh.http, &mesh.gateway, &accounts).await;

    let quarter = ACCOUNTS / 4;
    let started = wait_until(Duration::from_secs(60), || {
        written_back(&mesh.sandbox, &accounts) >= quarter
    })
    .await;
    assert!(started, "a quarter of the syncs ran before the crash");
    let server = mesh.redis_server().expect("a Redis mesh");
    tokio::task::block_in_place(|| server.stop());
    // Down longer than the reclaim idle time and a lock's lease.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let done_while_down = written_back(&mesh.sandbox, &accounts);
    assert!(
        done_while_down < ACCOUNTS,
        "the crash came before the end: {done_while_down} done"
    );
    let server = mesh.redis_server().expect("a Redis mesh");
    tokio::task::block_in_place(|| server.resume());

    let depth = wait_queue_drained(mesh.customers_queue.as_ref(), Duration::from_secs(120)).await;
    assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");
    // The crash cut syncs off: they failed or were left pending, and ran again.
    let records = assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    let retried = retried(&records);
    assert!(retried >= 1, "syncs the crash cut off were run again");
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    // One create each, or a second for a sync cut off after its upsert (by external id: it
    // finds the first's customer, it cannot make another).
    let creates = mesh.sandbox.calls().get(PUT_CUSTOMER) as usize;
    assert!(
        (ACCOUNTS..=ACCOUNTS + retried).contains(&creates),
        "{creates} customer upserts for {ACCOUNTS} customers, {retried} syncs retried"
    );
    let margin = Duration::from_millis(LOCK_TTL_MS + 1_000);
    assert_no_lock_keys(&mesh, margin).await;
    assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
    mesh.shutdown().await;
}

//! A replica (`isthmus serve customers` and `isthmus serve orders`, child processes configured by
//! environment variables only, as in a Kubernetes Deployment) killed with `SIGKILL` in the
//! middle of a batch of queued account syncs and opportunity syncs: the surviving replica (the
//! test's own mesh, on the same Redis) reclaims the jobs the dead one held once they have been
//! idle for `queue.reclaim_idle_ms`, and finishes the rest, with every account synced exactly
//! once and every opportunity made into exactly one sales order.
//!
//! The proof that the kill interrupted work, not only paused it: the dead replica held jobs of
//! both queues, and some jobs of each took a second attempt.

use std::time::Duration;

use isthmus_sandbox::System;
use isthmus_store::testing::RedisServer;
use isthmus_tests::faults::{
    add_accounts, assert_each_account_synced_once, assert_jobs_done, assert_no_lock_held,
    assert_no_lock_keys, queue_syncs, retried, wait_queue_drained, wait_until, written_back,
    PUT_CUSTOMER,
};
use isthmus_tests::lead::run_catalog;
use isthmus_tests::replicas::{
    assert_one_customer_and_order_each, on_replica_time, orders_written_back, queue_clicks,
    won_deals, ButtonOn, Replica,
};
use isthmus_tests::TestMesh;

const ACCOUNTS: usize = 150;
const DEALS: usize = 40;
const PUT_SALES_ORDER: &str = "PUT /services/rest/record/v1/salesOrder/eid:{externalId}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_batch_loses_and_duplicates_nothing() {
    let mut mesh = TestMesh::start_on_redis(RedisServer::start(), on_replica_time).await;
    run_catalog(&mesh).await;
    let accounts = add_accounts(&mesh.sandbox, "Killed", ACCOUNTS);
    let deals = won_deals(&mesh, "Killed Orders", DEALS);
    let urls = mesh.sandbox_urls.clone();
    let redis = mesh.redis_server().expect("a Redis mesh");
    let mut doomed = Replica::spawn("doomed", &urls, redis, true).await;
    // Slow the vendors down so the syncs fall behind the clicks: when the kill lands, the
    // doomed replica holds jobs of both queues.
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(50));
    mesh.sandbox
        .set_latency(System::Salesforce, Duration::from_millis(10));
    mesh.sandbox.reset_calls();

    // The clicks queue through the surviving replica's gateway while both replicas' workers
    // take the jobs; the doomed one dies once both batches are under way.
    let opportunities: Vec<String> = deals.iter().map(|d| d.opportunity.clone()).collect();
    let queueing = async {
        tokio::join!(
            queue_syncs(&mesh.http, &mesh.gateway, &accounts),
            queue_clicks(
                &mesh.http,
                &mesh.gateway,
                ButtonOn::Opportunity,
                &opportunities
            ),
        )
    };
    let killing = async {
        let started = wait_until(Duration::from_secs(60), || {
            written_back(&mesh.sandbox, &accounts) >= ACCOUNTS / 10
                && orders_written_back(&mesh.sandbox, &deals) >= DEALS / 10
        })
        .await;
        assert!(started, "the replicas ran syncs; see {:?}", doomed.logs());
        doomed.kill().await;
        (
            written_back(&mesh.sandbox, &accounts),
            orders_written_back(&mesh.sandbox, &deals),
        )
    };
    let ((account_jobs, order_jobs), (accounts_at_kill, orders_at_kill)) =
        tokio::join!(queueing, killing);
    assert!(
        accounts_at_kill < ACCOUNTS && orders_at_kill < DEALS,
        "killed before the end: {accounts_at_kill} accounts, {orders_at_kill} orders done"
    );
    let customers = mesh.customers_queue.clone();
    let orders = mesh.store.queue("orders").await.unwrap();

    // The test's mesh, on the same Redis, finishes the run: it waits out what the dead replica
    // left, its jobs' idle time, its locks' leases and its NetSuite slots' leases.
    for queue in [&customers, &orders] {
        let depth = wait_queue_drained(queue.as_ref(), Duration::from_secs(120)).await;
        assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");
    }
    let account_records = assert_jobs_done(mesh.store.as_ref(), &account_jobs).await;
    let order_records = assert_jobs_done(mesh.store.as_ref(), &order_jobs).await;
    let (accounts_retried, orders_retried) = (retried(&account_records), retried(&order_records));
    assert!(
        accounts_retried >= 1 && orders_retried >= 1,
        "jobs of both queues the dead replica held were reclaimed and run again: \
         {accounts_retried} account syncs, {orders_retried} order syncs"
    );
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    assert_one_customer_and_order_each(&mesh.sandbox, &deals);
    // A create is one call, or a second for a job cut off after its upsert (by external id: the
    // second finds the first's record, it cannot make another).
    let calls = mesh.sandbox.calls();
    let customer_creates = calls.get(PUT_CUSTOMER) as usize;
    let order_writes = calls.get(PUT_SALES_ORDER) as usize;
    let all = ACCOUNTS + DEALS;
    assert!(
        (all..=all + accounts_retried + orders_retried).contains(&customer_creates),
        "{customer_creates} customer upserts for {all} customers"
    );
    assert!(
        (DEALS..=DEALS + orders_retried).contains(&order_writes),
        "{order_writes} order upserts for {DEALS} orders"
    );
    assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
    assert_no_lock_keys(&mesh, Duration::from_secs(3)).await;
    doomed.remove_logs();
    mesh.shutdown().await;
}

//! Several replicas on one Redis, as a Deployment scaled out runs them: the test's own mesh and
//! two more, each a `serve customers` and a `serve orders` process with a gateway in front.
//! "Sync to NetSuite" is clicked on the same opportunities and the same accounts through every
//! gateway at once, inline and queued: one customer per account and one sales order per
//! opportunity, each created by one call, whichever replica's click or job got there first.

use std::time::Duration;

use isthmus_store::testing::RedisServer;
use isthmus_tests::faults::{
    assert_jobs_done, assert_no_lock_held, assert_no_lock_keys, wait_queue_drained, PUT_CUSTOMER,
};
use isthmus_tests::lead::run_catalog;
use isthmus_tests::replicas::{
    assert_one_customer_and_order_each, click, knob_config, on_replica_time, won_deals, ButtonOn,
    Replica,
};
use isthmus_tests::TestMesh;

const DEALS: usize = 12;
/// Replicas besides the test's own mesh.
const REPLICAS: usize = 2;

const PUT_SALES_ORDER: &str = "PUT /services/rest/record/v1/salesOrder/eid:{externalId}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_through_every_replica_make_one_customer_and_one_order_each() {
    let mut mesh = TestMesh::start_on_redis(RedisServer::start(), on_replica_time).await;
    run_catalog(&mesh).await;
    let deals = won_deals(&mesh, "Replicated", DEALS);
    let config = knob_config();
    let mut gateways = vec![mesh.gateway.clone()];
    let mut replicas = Vec::new();
    let urls = mesh.sandbox_urls.clone();
    for n in 0..REPLICAS {
        let redis = mesh.redis_server().expect("a Redis mesh");
        let mut replica = Replica::spawn(&format!("r{n}"), &urls, redis, true).await;
        gateways.push(replica.serve_gateway(&mesh.store, &config).await);
        replicas.push(replica);
    }
    mesh.sandbox.reset_calls();

    // Every gateway: an inline and a queued click on each opportunity and each account, all
    // at once (the order's click ensures the same customer the account's click creates).
    let mut clicks = Vec::new();
    for gateway in &gateways {
        for deal in &deals {
            for queued in [false, true] {
                clicks.push((gateway, ButtonOn::Opportunity, &deal.opportunity, queued));
                clicks.push((gateway, ButtonOn::Account, &deal.account, queued));
            }
        }
    }
    let answers = futures::future::join_all(
        clicks
            .iter()
            .map(|(gateway, on, id, queued)| click(&mesh.http, gateway, *on, id, *queued)),
    )
    .await;
    let mut jobs = Vec::new();
    for (status, body) in &answers {
        assert!(matches!(status, 200 | 202), "{status}: {body}");
        if *status == 202 {
            jobs.push(body["job_id"].as_str().expect("a job id").to_string());
        }
    }
    assert!(
        jobs.len() >= clicks.len() / 2,
        "every queued click has a job"
    );

    for namespace in [isthmus_store::DEFAULT_QUEUE_NAMESPACE, "orders"] {
        let queue = mesh.store.queue(namespace).await.unwrap();
        let depth = wait_queue_drained(queue.as_ref(), Duration::from_secs(120)).await;
        assert_eq!(
            depth.dead, 0,
            "nothing dead-lettered in {namespace}: {depth:?}"
        );
    }
    assert_jobs_done(mesh.store.as_ref(), &jobs).await;
    assert_one_customer_and_order_each(&mesh.sandbox, &deals);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.get(PUT_CUSTOMER),
        DEALS as u64,
        "one customer create each: {calls:?}"
    );
    assert_eq!(
        calls.get(PUT_SALES_ORDER),
        DEALS as u64,
        "one order write each: {calls:?}"
    );
    let accounts: Vec<String> = deals.iter().map(|d| d.account.clone()).collect();
    assert_no_lock_held(mesh.store.as_ref(), &accounts).await;
    assert_no_lock_keys(&mesh, Duration::from_secs(3)).await;
    for mut replica in replicas {
        replica.kill().await;
        replica.remove_logs();
    }
    mesh.shutdown().await;
}

//! The NetSuite account shared with another tenant: the limit our replicas use is learned from
//! the share that is free (`netsuite.adaptive_concurrency`), and nothing is lost on the way.

use std::time::Duration;

use isthmus_engine::governance::{LimitState, NETSUITE_LIMIT_STATUS};
use isthmus_sandbox::{System, TenantStep};
use isthmus_tests::faults::{assert_each_account_synced_once, run_backfill, PUT_CUSTOMER};
use isthmus_tests::{on_both_stores, TestMesh};
use serde_json::{json, Map};

/// The account's limit (the sandbox's default and the configured ceiling).
const LIMIT: usize = 5;
/// Slots the other tenant holds throughout: the free share is two.
const OTHER_TENANT: usize = LIMIT - 2;

async fn a_backfill_beside_a_busy_tenant_learns_the_free_share_and_loses_nothing(mesh: &TestMesh) {
    let accounts: Vec<String> = (0..90)
        .map(|i| {
            let mut account = Map::new();
            account.insert("Name".into(), json!(format!("Shared Account {i:03}")));
            account.insert("BillingCountry".into(), json!("Portugal"));
            mesh.sandbox.sf_insert("Account", account).unwrap()
        })
        .collect();
    mesh.sandbox.set_netsuite_other_tenant(vec![TenantStep {
        after_ms: 0,
        slots: OTHER_TENANT,
    }]);
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(20));
    mesh.sandbox.reset_calls();
    let before = mesh.sandbox.counters().netsuite.rejected_over_limit;

    let done = run_backfill(mesh, Duration::from_secs(120)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["failed"], 0, "{done}");

    // Every account once on the far side, one upsert per customer created plus those refused
    // over the limit (the sandbox counts a refused call on its route too): the refused calls
    // were retried, none lost and none doubled.
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    let created = done["created"].as_u64().unwrap();
    assert!(created >= accounts.len() as u64, "{done}");
    let counters = mesh.sandbox.counters().netsuite;
    let refused = counters.rejected_over_limit - before;
    let upserts = mesh.sandbox.calls().get(PUT_CUSTOMER);
    assert!(
        (created..=created + refused).contains(&upserts),
        "{upserts} upserts for {created} created, {refused} refused: {done}"
    );

    // Starting from the ceiling, the backfill met the other tenant's slots, and learned a limit
    // within the free share, which the shared store holds for every replica.
    assert_eq!(counters.other_tenant_in_flight, OTHER_TENANT);
    assert!(counters.rejected_over_limit > before, "{counters:?}");
    let learned: LimitState = serde_json::from_slice(
        &mesh
            .store
            .status(NETSUITE_LIMIT_STATUS)
            .await
            .unwrap()
            .expect("the learned limit is in the store"),
    )
    .unwrap();
    assert!(
        (1..=(LIMIT - OTHER_TENANT) as u32).contains(&learned.limit),
        "{learned:?}"
    );
    assert!(learned.generation >= 1, "{learned:?}");
}

on_both_stores!(
    a_backfill_beside_a_busy_tenant,
    a_backfill_beside_a_busy_tenant_learns_the_free_share_and_loses_nothing,
    |config: &mut isthmus::Config| {
        config.netsuite.concurrency_limit = LIMIT as u32;
        config.customers.backfill_concurrency = 8;
    }
);

//! The NetSuite account shared with another tenant: the limit our replicas use is learned from
//! the share that is free (`netsuite.adaptive_concurrency`), nothing is lost on the way, and
//! `/v1/governance`, `/metrics` and the console show the limit in force against the ceiling.

use std::time::Duration;

use isthmus_engine::governance::{LimitState, NETSUITE_LIMIT_STATUS};
use isthmus_sandbox::{System, TenantStep};
use isthmus_tests::faults::{
    add_accounts, assert_each_account_synced_once, run_backfill, PUT_CUSTOMER,
};
use isthmus_tests::{on_both_stores, TestMesh, VIEWER_KEY};
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

/// The overview page of the console, signed in as a viewer.
async fn console_overview(mesh: &TestMesh) -> String {
    let (cookie, _) = crate::console_access::sign_in(mesh, VIEWER_KEY).await;
    mesh.http
        .get(format!("{}/console", mesh.gateway))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn governance_shows_the_ceiling_then_the_lowered_limit_and_the_level_refused(
    mesh: &TestMesh,
) {
    // Before any NetSuite call: the ceiling is the limit in force, nothing refused, and reading
    // it wrote nothing to the store.
    let (status, before) = mesh.get("/v1/governance", Some(VIEWER_KEY)).await;
    assert_eq!(status, 200, "{before}");
    let netsuite = &before["netsuite"];
    assert_eq!(netsuite["concurrency_limit"], LIMIT, "{before}");
    assert_eq!(netsuite["adaptive_concurrency"], true, "{before}");
    assert_eq!(netsuite["limit_in_force"], LIMIT, "{before}");
    assert!(netsuite["refused_at"].is_null(), "{before}");
    assert!(
        mesh.store
            .status(NETSUITE_LIMIT_STATUS)
            .await
            .unwrap()
            .is_none(),
        "reading the governance wrote nothing"
    );
    assert!(console_overview(mesh)
        .await
        .contains(&format!("{LIMIT} of {LIMIT}")));

    // A backfill beside the other tenant's slots meets over-limit answers and lowers the limit.
    let accounts = add_accounts(&mesh.sandbox, "Governed ", 30);
    mesh.sandbox.set_netsuite_other_tenant(vec![TenantStep {
        after_ms: 0,
        slots: OTHER_TENANT,
    }]);
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(20));
    let done = run_backfill(mesh, Duration::from_secs(120)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_each_account_synced_once(&mesh.sandbox, &accounts);
    assert!(mesh.sandbox.counters().netsuite.rejected_over_limit > 0);

    // The JSON shows what the store holds (no NetSuite call runs now to change it): a limit
    // below the ceiling and the level refused above it; the metric and the console agree.
    let learned: LimitState = serde_json::from_slice(
        &mesh
            .store
            .status(NETSUITE_LIMIT_STATUS)
            .await
            .unwrap()
            .expect("the learned limit is in the store"),
    )
    .unwrap();
    let (status, after) = mesh.get("/v1/governance", Some(VIEWER_KEY)).await;
    assert_eq!(status, 200, "{after}");
    let netsuite = &after["netsuite"];
    assert_eq!(netsuite["concurrency_limit"], LIMIT, "{after}");
    assert_eq!(netsuite["limit_in_force"], learned.limit, "{after}");
    let refused = learned.refused_at.expect("a level was refused");
    assert_eq!(netsuite["refused_at"], refused, "{after}");
    assert!(
        learned.limit < LIMIT as u32 && refused > learned.limit,
        "{learned:?}"
    );
    let metrics = mesh.metrics().await;
    assert!(
        metrics.contains(&format!(
            "isthmus_netsuite_concurrency_limit {}",
            learned.limit
        )),
        "{metrics}"
    );
    let overview = console_overview(mesh).await;
    assert!(
        overview.contains(&format!("{} of {LIMIT}", learned.limit)),
        "{overview}"
    );
    assert!(
        overview.contains(&format!("{refused} last refused")),
        "{overview}"
    );
}

on_both_stores!(
    governance_of_the_learned_limit,
    governance_shows_the_ceiling_then_the_lowered_limit_and_the_level_refused,
    |config: &mut isthmus::Config| {
        config.netsuite.concurrency_limit = LIMIT as u32;
        config.customers.backfill_concurrency = 8;
    }
);

//! The account's concurrency limit: the sandbox refuses the call past its limit at once, as
//! NetSuite does; the client backs off and retries, and a gate keeps calls under the limit.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use isthmus_netsuite::{ConcurrencyRetry, ErrorClass, LocalGate};
use isthmus_sandbox::{SandboxConfig, System};
use reqwest::Method;
use serde_json::json;

use crate::account_with;

fn limited(limit: usize) -> SandboxConfig {
    SandboxConfig {
        netsuite_concurrency_limit: Some(limit),
        latency: Duration::from_millis(40),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn over_limit_calls_back_off_and_all_succeed() {
    let account = account_with(limited(2), |config| {
        config.concurrency_retry = ConcurrencyRetry {
            max_retries: 20,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            invalid_login_after: None,
        };
    })
    .await;

    let calls = (0..8).map(|_| account.client.suiteql("SELECT id FROM customer"));
    let results = join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counters = account.sandbox.counters().netsuite;
    assert!(
        counters.rejected_over_limit > 0,
        "the limit was never reached"
    );
    assert_eq!(
        account.client.concurrency_retries(),
        counters.rejected_over_limit
    );
}

#[tokio::test]
async fn a_gate_at_the_limit_keeps_every_call_inside_it() {
    let account = account_with(limited(2), |_| {}).await;
    let client = account
        .client
        .clone()
        .with_gate(Arc::new(LocalGate::new(2)));

    let calls = (0..8).map(|_| client.suiteql("SELECT id FROM customer"));
    let results = join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counters = account.sandbox.counters().netsuite;
    assert_eq!(counters.rejected_over_limit, 0);
    assert_eq!(counters.peak_in_flight, 2);
    assert_eq!(client.concurrency_retries(), 0);
}

#[tokio::test]
async fn restlet_limit_errors_are_retried_too() {
    // Enough retries that three callers on one slot always get through, however the jitter
    // falls (five were not on a loaded machine).
    let account = account_with(limited(1), |config| {
        config.concurrency_retry = ConcurrencyRetry {
            max_retries: 20,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            invalid_login_after: None,
        };
    })
    .await;
    account
        .sandbox
        .register_restlet("customscript_echo", "1", |_, _| Ok(json!({ "ok": true })));

    let calls = (0..3).map(|_| {
        account
            .client
            .restlet(Method::GET, "customscript_echo", "1", &[], None)
    });
    let results = join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(account.client.concurrency_retries() > 0);
}

#[tokio::test]
async fn retries_give_up_with_a_limit_error() {
    let account = account_with(limited(1), |config| {
        config.concurrency_retry = ConcurrencyRetry {
            max_retries: 0,
            ..ConcurrencyRetry::default()
        };
    })
    .await;
    account
        .sandbox
        .set_latency(System::NetSuite, Duration::from_millis(200));

    let calls = (0..3).map(|_| account.client.suiteql("SELECT id FROM customer"));
    let results = join_all(calls).await;

    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 2, "{results:?}");
    assert!(refused.iter().all(|e| e.class() == ErrorClass::Limit));
}

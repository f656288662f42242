use std::sync::{Arc, Mutex};

use isthmus_salesforce::{ApiUsage, ErrorClass};

use crate::org;

#[tokio::test]
async fn usage_is_observed_on_every_response_and_limits_refresh_it() {
    let org = org().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let client = org
        .client
        .clone()
        .with_usage_observer(Arc::new(move |usage| sink.lock().unwrap().push(usage)));

    let limits = client.limits().await.unwrap();

    let daily = limits["DailyApiRequests"];
    let usage = client.api_usage().unwrap();
    assert_eq!(usage.max, daily.max);
    assert_eq!(usage.remaining(), daily.remaining);
    assert!(!seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_spent_allocation_is_a_limit_error() {
    let org = org().await;
    org.sandbox.salesforce_org().set_api_allocation(100, 100);

    let err = org
        .client
        .query("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(403));
    assert_eq!(err.error_code(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(err.class(), ErrorClass::Limit);
    assert!(!err.is_retryable());
    let _: Option<ApiUsage> = org.client.api_usage();
}

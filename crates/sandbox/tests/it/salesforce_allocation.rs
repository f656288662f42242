//! The daily API allocation: every REST call spends one, token requests do not; once spent every
//! call answers 403 `REQUEST_LIMIT_EXCEEDED` until the allocation is raised again.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::empty;

async fn set_allocation(h: &crate::harness::Harness, max: u64, used: u64) {
    let response = h
        .http
        .put(format!("{}/__sandbox/salesforce/api-allocation", h.sf))
        .json(&json!({ "max": max, "used": used }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn a_spent_allocation_refuses_every_call_until_it_is_raised() {
    let h = empty().await;
    set_allocation(&h, 3, 2).await;

    let last = h.sf(Method::GET, "limits", None).await;
    assert_eq!(last.status(), 200);
    assert_eq!(last.headers()["sforce-limit-info"], "api-usage=3/3");
    let limits: Value = last.json().await.unwrap();
    assert_eq!(
        limits["DailyApiRequests"],
        json!({"Max": 3, "Remaining": 0})
    );

    for path in [
        "limits",
        "query?q=SELECT+Id+FROM+Account",
        "sobjects/Account",
    ] {
        let refused = h.sf(Method::GET, path, None).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert_eq!(refused.headers()["sforce-limit-info"], "api-usage=3/3");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        );
    }

    set_allocation(&h, 15_000, 0).await;
    let back = h.sf(Method::GET, "limits", None).await;
    assert_eq!(back.status(), 200);
    let limits: Value = back.json().await.unwrap();
    assert_eq!(
        limits["DailyApiRequests"],
        json!({"Max": 15000, "Remaining": 14999})
    );
}

#[tokio::test]
async fn token_requests_do_not_spend_the_allocation() {
    let h = empty().await;
    for _ in 0..3 {
        h.sf_token().await;
    }
    let allocation: Value = h
        .http
        .get(format!("{}/__sandbox/salesforce/api-allocation", h.sf))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(allocation, json!({"max": 15000, "used": 0}));
}

#[tokio::test]
async fn calls_without_a_session_do_not_spend_the_allocation() {
    let h = empty().await;
    let response = h
        .http
        .get(format!("{}/services/data/v61.0/limits", h.sf))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let limits: Value = h
        .sf(Method::GET, "limits", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(limits["DailyApiRequests"]["Remaining"], 14999);
}

#[tokio::test]
async fn the_allocation_is_set_directly_on_the_org() {
    let h = empty().await;
    let org = h.sandbox.salesforce_org();
    org.set_api_allocation(10, 10);
    assert_eq!(h.sf(Method::GET, "limits", None).await.status(), 403);
    org.set_api_allocation(10, 9);
    assert_eq!(h.sf(Method::GET, "limits", None).await.status(), 200);
    assert_eq!(org.api_allocation(), (10, 10));
}

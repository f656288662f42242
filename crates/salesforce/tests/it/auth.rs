use isthmus_salesforce::SalesforceError;
use isthmus_sandbox::SandboxConfig;

use crate::{org, org_with, QUERY, TOKEN};

#[tokio::test]
async fn fifty_concurrent_calls_fetch_one_token() {
    let org = org().await;
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = org.client.clone();
            tokio::spawn(async move { client.query("SELECT Id FROM Account").await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("query");
    }
    let counts = org.sandbox.calls();
    assert_eq!(counts.get(TOKEN), 1);
    assert_eq!(counts.get(QUERY), 50);
}

#[tokio::test]
async fn wrong_client_secret_is_an_auth_error() {
    let org = org_with(SandboxConfig::default(), "61.0", "not-the-secret").await;
    let err = org
        .client
        .query("SELECT Id FROM Account")
        .await
        .unwrap_err();
    assert!(matches!(err, SalesforceError::Auth { .. }), "{err:?}");
    assert_eq!(err.error_code(), Some("invalid_client"));
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[tokio::test]
async fn expired_session_is_refreshed_once_and_the_call_retried() {
    let org = org().await;
    org.client.query("SELECT Id FROM Account").await.unwrap();
    org.expire_sessions.next_calls(1);

    org.client.query("SELECT Id FROM Account").await.unwrap();

    let counts = org.sandbox.calls();
    assert_eq!(counts.get(TOKEN), 2);
    assert_eq!(
        counts.get(QUERY),
        2,
        "the rejected call never reached the org"
    );
}

#[tokio::test]
async fn session_rejected_twice_in_a_row_is_an_error_after_one_refresh() {
    let org = org().await;
    org.expire_sessions.next_calls(2);

    let err = org
        .client
        .query("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(401));
    assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"));
    assert_eq!(org.sandbox.calls().get(TOKEN), 2);
}

#[tokio::test]
async fn api_usage_comes_from_sforce_limit_info() {
    let org = org().await;
    assert_eq!(org.client.api_usage(), None);
    org.client.query("SELECT Id FROM Account").await.unwrap();
    org.client.query("SELECT Id FROM Account").await.unwrap();
    let usage = org.client.api_usage().expect("usage after a call");
    assert_eq!(usage.used, 2);
    assert!(usage.max >= usage.used);
}

#[tokio::test]
async fn jwt_bearer_signs_in_and_the_audience_defaults_to_the_login_url() {
    use isthmus_salesforce::SalesforceAuth;
    use isthmus_sandbox::credentials::{SF_CLIENT_ID, SF_USERNAME};

    const KEY: &str = include_str!("../../../sandbox/keys/sf-jwt-private.pem");
    let org = crate::org_configured(SandboxConfig::default(), |c| {
        c.auth = SalesforceAuth::JwtBearer {
            client_id: SF_CLIENT_ID.to_owned(),
            username: SF_USERNAME.to_owned(),
            private_key_pem: KEY.to_owned().into(),
            audience: None,
        };
    })
    .await;

    let records = org.client.query("SELECT Id FROM Account").await.unwrap();

    assert!(records.is_empty());
    assert_eq!(org.sandbox.calls().get(crate::TOKEN), 1);
}

#[tokio::test]
async fn jwt_bearer_with_a_wrong_audience_is_refused_as_invalid_grant() {
    use isthmus_salesforce::{ErrorClass, SalesforceAuth};
    use isthmus_sandbox::credentials::{SF_CLIENT_ID, SF_USERNAME};

    const KEY: &str = include_str!("../../../sandbox/keys/sf-jwt-private.pem");
    let org = crate::org_configured(SandboxConfig::default(), |c| {
        c.auth = SalesforceAuth::JwtBearer {
            client_id: SF_CLIENT_ID.to_owned(),
            username: SF_USERNAME.to_owned(),
            private_key_pem: KEY.to_owned().into(),
            audience: Some("https://elsewhere.example".to_owned()),
        };
    })
    .await;

    let err = org
        .client
        .query("SELECT Id FROM Account")
        .await
        .unwrap_err();

    assert_eq!(err.error_code(), Some("invalid_grant"));
    assert_eq!(err.class(), ErrorClass::Auth);
}

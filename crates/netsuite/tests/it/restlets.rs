use isthmus_netsuite::ErrorClass;
use isthmus_sandbox::{RestletError, SandboxConfig};
use reqwest::Method;
use serde_json::json;

use crate::{account, account_with};

#[tokio::test]
async fn restlet_calls_are_signed_over_script_and_deploy_and_return_json() {
    let account = account().await;
    account
        .sandbox
        .register_restlet("customscript_echo", "1", |_, request| {
            Ok(json!({
                "method": request.method.as_str(),
                "params": request.params,
                "body": request.body,
            }))
        });

    let got = account
        .client
        .restlet(
            Method::GET,
            "customscript_echo",
            "1",
            &[("customerId", "101")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(got["method"], "GET");
    assert_eq!(got["params"], json!({ "customerId": "101" }));

    let posted = account
        .client
        .restlet(
            Method::POST,
            "customscript_echo",
            "1",
            &[],
            Some(&json!({ "customerId": "102" })),
        )
        .await
        .unwrap();
    assert_eq!(posted["body"], json!({ "customerId": "102" }));
}

#[tokio::test]
async fn script_errors_keep_their_code() {
    let account = account_with(SandboxConfig::default(), |_| {}).await;
    account
        .sandbox
        .register_restlet("customscript_fail", "1", |_, _| {
            Err(RestletError::new("INVALID_INPUT", "customerId is required"))
        });

    let err = account
        .client
        .restlet(Method::GET, "customscript_fail", "1", &[], None)
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), Some("INVALID_INPUT"));
    assert_eq!(err.class(), ErrorClass::Permanent);
}

#[tokio::test]
async fn parameters_cannot_override_the_deployment() {
    let account = account().await;
    let err = account
        .client
        .restlet(
            Method::GET,
            "customscript_echo",
            "1",
            &[("deploy", "2")],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(account.sandbox.calls().netsuite_total(), 0);
}

//! RESTlets: TBA signed over `script` and `deploy`, registered Rust closures, the built-in customer
//! financial summary, SuiteScript error bodies.

use isthmus_sandbox::{RestletError, SandboxConfig};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{seeded, start};
use crate::netsuite_support::{restlet_path, signed};
use crate::signer::{authorization, Options};

/// The summary RESTlet of the NetSuite package, as deployed.
const SCRIPT: &str = "customscript_isthmus_summary_rl";
const DEPLOY: &str = "customdeploy_isthmus_summary_rl";

#[tokio::test]
async fn the_built_in_summary_answers_a_customers_balances() {
    let h = seeded().await;
    h.sandbox
        .ns_update(
            "customer",
            "101",
            json!({ "creditLimit": 25000 }).as_object().unwrap().clone(),
        )
        .unwrap();
    let path = restlet_path(SCRIPT, DEPLOY, "customerId=101");
    let response = signed(&h, Method::GET, &path, None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["customer_id"], "101");
    assert_eq!(body["credit_limit"], 25000.0);
    assert_eq!(body["balance"], 0.0);
    assert_eq!(body["overdue_balance"], 0.0);
    assert_eq!(body["days_overdue"], 0);
    assert!(body["last_payment_date"].is_null() && body["last_payment_amount"].is_null());

    let by_post = signed(
        &h,
        Method::POST,
        &restlet_path(SCRIPT, DEPLOY, ""),
        Some(json!({ "customerId": 101 })),
    )
    .await;
    assert_eq!(by_post.json::<Value>().await.unwrap()["customer_id"], "101");
    assert_eq!(h.sandbox.calls().get("GET /app/site/hosting/restlet.nl"), 1);
}

#[tokio::test]
async fn restlet_errors_use_suitescripts_error_body() {
    let h = seeded().await;
    let cases = [
        (
            restlet_path(SCRIPT, DEPLOY, "customerId=999999"),
            "RCRD_DSNT_EXIST",
        ),
        (
            restlet_path(SCRIPT, DEPLOY, "customerId=1%20OR%201%3D1"),
            "INVALID_CUSTOMER_ID",
        ),
        (
            restlet_path(SCRIPT, DEPLOY, ""),
            "SSS_MISSING_REQD_ARGUMENT",
        ),
        (
            restlet_path("customscript_nope", "1", ""),
            "SSS_INVALID_SCRIPTLET_ID",
        ),
    ];
    for (path, code) in cases {
        let response = signed(&h, Method::GET, &path, None).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn registered_closures_get_params_and_bodies_and_can_throw() {
    let h = start(SandboxConfig::default()).await;
    h.sandbox
        .register_restlet("customscript_echo", "2", |_, request| {
            if request.params.contains_key("fail") {
                return Err(RestletError::new("CUSTOM_ERROR", "asked to fail"));
            }
            Ok(json!({
                "method": request.method.as_str(),
                "params": request.params,
                "body": request.body,
            }))
        });
    let put = signed(
        &h,
        Method::PUT,
        &restlet_path("customscript_echo", "2", "a=1"),
        Some(json!({ "x": [1, 2] })),
    )
    .await;
    assert_eq!(put.status(), 200);
    let body: Value = put.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "method": "PUT", "params": { "a": "1" }, "body": { "x": [1, 2] } })
    );

    let failed = signed(
        &h,
        Method::DELETE,
        &restlet_path("customscript_echo", "2", "fail=1"),
        None,
    )
    .await;
    assert_eq!(failed.status(), 400);
    assert_eq!(
        failed.json::<Value>().await.unwrap()["error"]["code"],
        "CUSTOM_ERROR"
    );
}

#[tokio::test]
async fn the_signature_must_cover_script_and_deploy() {
    let h = seeded().await;
    let url = format!(
        "{}/{}",
        h.ns,
        restlet_path(SCRIPT, DEPLOY, "customerId=101")
    );
    let without_query = url.split('?').next().unwrap().to_owned();
    let response = h
        .http
        .get(&url)
        .header(
            "authorization",
            authorization("GET", &without_query, &Options::default()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_LOGIN");
}

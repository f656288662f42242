//! Asynchronous requests end to end: `Prefer: respond-async` submits a job, `wait_job` polls it
//! and reads its task's result, an idempotency key runs a request at most once, and a failed
//! request is a failed job carrying its error.

use isthmus_netsuite::{ErrorClass, GetOptions, JobId, NetSuiteError};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::{account, fields};

const JOB: &str = "GET /services/rest/async/v1/job/{id}";
const TASKS: &str = "GET /services/rest/async/v1/job/{id}/task";
const RESULT: &str = "GET /services/rest/async/v1/job/{id}/task/{taskId}/result";

#[tokio::test]
async fn an_async_create_is_polled_to_completion_and_its_result_names_the_new_record() {
    let account = account().await;
    let body = json!({ "companyName": "Async Ltd", "email": "ap@async.example" });

    let job = account
        .client
        .submit_async(
            Method::POST,
            "record/v1/customer",
            Some(&body),
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    let done = account.client.wait_job(&job).await.unwrap();

    assert_eq!(done.job_id, job.0);
    assert_eq!(done.task_id.as_deref(), Some("1"));
    assert_eq!(done.result, serde_json::Value::Null, "a create has no body");
    let id = done.record_id.expect("the created record's id");
    let stored = account.sandbox.ns_record("customer", &id).unwrap();
    assert_eq!(stored["companyName"], "Async Ltd");
    let calls = account.sandbox.calls();
    assert_eq!(calls.get("POST /services/rest/record/v1/customer"), 1);
    assert!(calls.get(JOB) >= 1);
    assert_eq!(calls.get(TASKS), 1);
    assert_eq!(calls.get(RESULT), 1);
}

#[tokio::test]
async fn an_async_read_returns_the_record_as_the_task_result() {
    let account = account().await;
    let id = account
        .sandbox
        .ns_insert("customer", fields(json!({ "companyName": "Acme" })))
        .unwrap();

    let job = account
        .client
        .submit_async(
            Method::GET,
            &format!("record/v1/customer/{id}"),
            None,
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    let done = account.client.wait_job(&job).await.unwrap();

    assert_eq!(done.result["companyName"], "Acme");
    assert_eq!(done.result["id"], id.as_str());
}

#[tokio::test]
async fn an_async_transform_invoices_a_sales_order() {
    let account = account().await;
    let client = &account.client;
    let customer = client
        .create("customer", &fields(json!({ "companyName": "Acme" })))
        .await
        .unwrap();
    let item = client
        .create(
            "serviceSaleItem",
            &fields(json!({ "itemId": "SVC-1", "basePrice": 150 })),
        )
        .await
        .unwrap();
    let order = client
        .create(
            "salesOrder",
            &fields(json!({ "entity": { "id": customer },
                            "item": { "items": [{ "item": { "id": item }, "quantity": 2 }] } })),
        )
        .await
        .unwrap();

    let job = client
        .submit_async(
            Method::POST,
            &format!("record/v1/salesOrder/{order}/!transform/invoice"),
            Some(&json!({})),
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    let invoice = client.wait_job(&job).await.unwrap().record_id.unwrap();

    let invoice = client
        .get("invoice", &invoice, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(invoice["createdFrom"]["id"], order.as_str());
    assert_eq!(invoice["total"], 300.0);
}

#[tokio::test]
async fn an_async_suiteql_query_keeps_prefer_transient_and_returns_the_rows() {
    let account = account().await;

    let job = account
        .client
        .submit_async(
            Method::POST,
            "query/v1/suiteql",
            Some(&json!({ "q": "SELECT id, symbol FROM currency ORDER BY id" })),
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    let done = account.client.wait_job(&job).await.unwrap();

    let symbols: Vec<&str> = done.result["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["symbol"].as_str().unwrap())
        .collect();
    assert!(symbols.contains(&"USD"), "{symbols:?}");
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_refused_and_names_the_first_job() {
    let account = account().await;
    let client = &account.client;
    let key = Uuid::new_v4();
    let body = json!({ "companyName": "Once Only" });
    let first = client
        .submit_async(Method::POST, "record/v1/customer", Some(&body), key)
        .await
        .unwrap();

    let err = client
        .submit_async(Method::POST, "record/v1/customer", Some(&body), key)
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.error_code(), Some("IDEMPOTENCY_ERROR"));
    assert_eq!(err.class(), ErrorClass::Permanent);
    let NetSuiteError::IdempotencyKeyUsed { job_id } = err else {
        panic!("expected IdempotencyKeyUsed, got {err:?}");
    };
    assert_eq!(job_id, first.0);
    // Waiting on the named job finds the one record the key created.
    let done = client.wait_job(&JobId(job_id)).await.unwrap();
    assert_eq!(account.sandbox.ns_records("customer").len(), 1);
    assert!(done.record_id.is_some());
}

#[tokio::test]
async fn a_failed_async_request_is_a_failed_job_with_the_request_error() {
    let account = account().await;

    let job = account
        .client
        .submit_async(
            Method::POST,
            "record/v1/customer",
            Some(&json!({ "companyName": "Acme", "colour": "red" })),
            Uuid::new_v4(),
        )
        .await
        .unwrap();
    let err = account.client.wait_job(&job).await.unwrap_err();

    let NetSuiteError::Job {
        job_id,
        code,
        detail,
    } = &err
    else {
        panic!("expected a failed job, got {err:?}");
    };
    assert_eq!(job_id, &job.0);
    assert_eq!(code, "NONEXISTENT_FIELD");
    assert!(detail.contains("colour"), "{detail}");
    assert_eq!(err.error_code(), Some("NONEXISTENT_FIELD"));
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(account.sandbox.ns_records("customer").is_empty());
}

#[tokio::test]
async fn waiting_on_an_unknown_job_is_not_found() {
    let account = account().await;

    let err = account
        .client
        .wait_job(&JobId("999".into()))
        .await
        .unwrap_err();

    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn an_async_path_that_climbs_out_of_the_api_is_refused_before_sending() {
    let account = account().await;

    let err = account
        .client
        .submit_async(Method::GET, "record/v1/../../app/x", None, Uuid::new_v4())
        .await
        .unwrap_err();

    assert!(matches!(err, NetSuiteError::Config(_)), "{err:?}");
    assert_eq!(account.sandbox.calls().netsuite_total(), 0);
}

//! Asynchronous requests: `Prefer: respond-async` gives 202 and a job to poll, the task's result
//! is the request's own answer, and an idempotency key cannot submit the same job twice.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{empty, Harness};
use crate::netsuite_support::signed;
use crate::signer::{authorization, Options};

/// A signed request to `/services/rest/{path}` with extra headers.
async fn send(
    h: &Harness,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("{}/services/rest/{path}", h.ns);
    let mut request = h.http.request(method.clone(), &url).header(
        "authorization",
        authorization(method.as_str(), &url, &Options::default()),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn path_of(location: &str, h: &Harness) -> String {
    location
        .strip_prefix(&h.ns)
        .unwrap()
        .trim_start_matches('/')
        .to_owned()
}

async fn poll(h: &Harness, job: &str) -> Value {
    for _ in 0..100 {
        let body: Value = signed(h, Method::GET, job, None)
            .await
            .json()
            .await
            .unwrap();
        if body["completed"] == true {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {job} never completed");
}

#[tokio::test]
async fn an_async_create_is_accepted_then_its_job_reports_the_created_record() {
    let h = empty().await;
    let response = send(
        &h,
        Method::POST,
        "record/v1/customer",
        &[("prefer", "respond-async")],
        Some(json!({ "companyName": "Async Ltd" })),
    )
    .await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["preference-applied"], "respond-async");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/services/rest/async/v1/job/"));
    let job_path = path_of(&location, &h);

    let job = poll(&h, &job_path).await;
    assert_eq!(job["progress"], "succeeded");
    let tasks: Value = signed(
        &h,
        Method::GET,
        &job["task"]["links"][0]["href"]
            .as_str()
            .map(|l| path_of(l, &h))
            .unwrap(),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let task_path = path_of(tasks["items"][0]["links"][0]["href"].as_str().unwrap(), &h);
    let task: Value = signed(&h, Method::GET, &task_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(task["completed"], true);
    assert!(task["endTime"].is_string());
    let result = signed(&h, Method::GET, &format!("{task_path}/result"), None).await;
    assert_eq!(result.status(), 204);
    let created = result.headers()["location"].to_str().unwrap().to_owned();
    let id = created.rsplit('/').next().unwrap();
    assert_eq!(
        h.sandbox.ns_record("customer", id).unwrap()["companyName"],
        "Async Ltd"
    );

    let calls = h.sandbox.calls();
    assert_eq!(calls.get("POST /services/rest/record/v1/customer"), 1);
    assert_eq!(
        calls.get("GET /services/rest/async/v1/job/{id}/task/{taskId}/result"),
        1
    );
    assert!(calls.get("GET /services/rest/async/v1/job/{id}") >= 1);
}

#[tokio::test]
async fn a_failed_async_request_is_a_failed_job_whose_result_is_the_error() {
    let h = empty().await;
    let response = send(
        &h,
        Method::POST,
        "record/v1/customer",
        &[
            ("prefer", "respond-async"),
            ("x-netsuite-propertynamevalidation", "Error"),
        ],
        Some(json!({ "colour": "red" })),
    )
    .await;
    let job_path = path_of(response.headers()["location"].to_str().unwrap(), &h);
    assert_eq!(poll(&h, &job_path).await["progress"], "failed");
    let result = signed(&h, Method::GET, &format!("{job_path}/task/1/result"), None).await;
    assert_eq!(result.status(), 400);
    let body: Value = result.json().await.unwrap();
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        "NONEXISTENT_FIELD"
    );
    let missing = signed(&h, Method::GET, "services/rest/async/v1/job/999", None).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_refused_and_points_at_the_first_job() {
    let h = empty().await;
    let key = "cac827ea-3543-4cda-add2-bae634326c27";
    let headers = [
        ("prefer", "respond-async"),
        ("x-netsuite-idempotency-key", key),
    ];
    let body = json!({ "companyName": "Once Only" });
    let first = send(
        &h,
        Method::POST,
        "record/v1/customer",
        &headers,
        Some(body.clone()),
    )
    .await;
    assert_eq!(first.status(), 202);
    let second = send(
        &h,
        Method::POST,
        "record/v1/customer",
        &headers,
        Some(body.clone()),
    )
    .await;
    assert_eq!(second.status(), 400);
    assert_eq!(second.headers()["location"], first.headers()["location"]);
    let error: Value = second.json().await.unwrap();
    assert_eq!(
        error["o:errorDetails"][0]["o:errorCode"],
        "IDEMPOTENCY_ERROR"
    );
    poll(
        &h,
        &path_of(first.headers()["location"].to_str().unwrap(), &h),
    )
    .await;
    assert_eq!(h.sandbox.ns_records("customer").len(), 1);

    // Without respond-async the key is ignored: the request runs synchronously.
    let sync = send(
        &h,
        Method::POST,
        "record/v1/customer",
        &[("x-netsuite-idempotency-key", key)],
        Some(body),
    )
    .await;
    assert_eq!(sync.status(), 204);
}

#[tokio::test]
async fn suiteql_runs_asynchronously_and_keeps_prefer_transient() {
    let h = empty().await;
    let response = send(
        &h,
        Method::POST,
        "query/v1/suiteql",
        &[("prefer", "transient, respond-async")],
        Some(json!({ "q": "SELECT id, symbol FROM currency ORDER BY id" })),
    )
    .await;
    assert_eq!(response.status(), 202);
    let job_path = path_of(response.headers()["location"].to_str().unwrap(), &h);
    assert_eq!(poll(&h, &job_path).await["progress"], "succeeded");
    let result: Value = signed(&h, Method::GET, &format!("{job_path}/task/1/result"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["totalResults"], 3);
    assert_eq!(result["items"][2]["symbol"], "GBP");
}

//! Syncs through the queue: async mode, the deadline turning into a 202, retries of upstream
//! failures, dead letters and their replay. The proof is the sandbox's state.

use std::time::Duration;

use isthmus_sandbox::{seed, Fault, System};
use isthmus_tests::{on_both_stores, text, TestMesh, ADMIN_KEY, SF_KEY};
use serde_json::json;

const PUT_CUSTOMER: &str = "PUT /services/rest/record/v1/customer/eid:{externalId}";
const WRITE_BACK: &str = "PATCH /services/data/vXX.X/sobjects/Account/{id}";

/// NetSuite customers named as the account is: a duplicate made under another external id
/// would share the name, where it cannot share the external id.
fn customers_named_as(mesh: &TestMesh, account: &str) -> usize {
    let record = mesh.sandbox.sf_record("Account", account).expect("account");
    let name = text(record.get("Name")).expect("a name");
    mesh.ns_where("customer", "companyName", &name).len()
}

async fn async_mode_answers_202_and_the_job_carries_the_result(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/accounts/{account}/sync?mode=async"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["outcome"], "queued");
    let job = mesh.wait_job(body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["result"]["outcome"], "created", "{job}");
    assert_eq!(job["attempts"], 1);
    let customers = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customers.len(), 1);
    assert_eq!(customers_named_as(mesh, &account), 1);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(PUT_CUSTOMER), calls.get(WRITE_BACK)),
        (1, 1),
        "one upsert, one write-back: {calls:?}"
    );
    assert_eq!(
        job["result"]["netsuite_id"].as_str().map(str::to_string),
        text(customers[0].get("id"))
    );
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(
        text(sf.get("NetSuite_Id__c")),
        text(customers[0].get("id")),
        "written back"
    );
}
on_both_stores!(
    async_mode,
    async_mode_answers_202_and_the_job_carries_the_result
);

async fn a_sync_past_its_deadline_answers_202_and_still_finishes_once(mesh: &TestMesh) {
    mesh.sandbox
        .set_latency(System::NetSuite, Duration::from_millis(150));
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 202, "the deadline passed: {body}");
    let job = mesh.wait_job(body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["result"]["outcome"], "created");
    assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
    assert_eq!(customers_named_as(mesh, &account), 1);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(PUT_CUSTOMER), calls.get(WRITE_BACK)),
        (1, 1),
        "one create, one write-back, though the safety net ran too: {calls:?}"
    );
}
on_both_stores!(
    deadline,
    a_sync_past_its_deadline_answers_202_and_still_finishes_once,
    |config: &mut isthmus::Config| config.queue.sync_wait_ms = 200
);

async fn an_upstream_failure_is_retried_until_it_succeeds(mesh: &TestMesh) {
    mesh.sandbox
        .inject_fault(System::NetSuite, Fault::error(PUT_CUSTOMER).times(2));
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 202, "a 503 queues the sync for retry: {body}");
    let job = mesh.wait_job(body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert!(job["attempts"].as_u64().unwrap() >= 2, "{job}");
    assert_eq!(
        mesh.ns_where("customer", "externalId", &account).len(),
        1,
        "exactly once"
    );
    assert_eq!(
        customers_named_as(mesh, &account),
        1,
        "exactly once by name"
    );
    assert_eq!(mesh.sandbox.counters().netsuite.injected_faults, 2);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.get(PUT_CUSTOMER), calls.get(WRITE_BACK)),
        (3, 1),
        "two refused upserts, then one that ran and its write-back: {calls:?}"
    );
}
on_both_stores!(retries, an_upstream_failure_is_retried_until_it_succeeds);

async fn a_permanent_error_dead_letters_after_one_attempt_and_replays_once_fixed(mesh: &TestMesh) {
    let rejection = json!({
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "title": "Bad Request", "status": 400,
        "o:errorDetails": [{ "detail": "Please enter a value for Sales Rep.", "o:errorCode": "USER_ERROR" }]
    });
    mesh.sandbox.inject_fault(
        System::NetSuite,
        Fault::error_with(PUT_CUSTOMER, 400, Some(rejection)),
    );
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/accounts/{account}/sync?mode=async"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["job_id"].as_str().unwrap().to_string();
    let job = mesh.wait_job(&id).await;
    assert_eq!(
        (job["state"].as_str(), job["attempts"].as_u64()),
        (Some("dead"), Some(1)),
        "{job}"
    );

    let (status, letters) = mesh
        .get(
            "/v1/dead-letters?kind=customers.sync_account",
            Some(ADMIN_KEY),
        )
        .await;
    assert_eq!(status, 200, "{letters}");
    let letter = &letters[0];
    assert_eq!(letter["id"], id.as_str());
    assert_eq!(letter["error_class"], "permanent");
    assert!(
        letter["error"].as_str().unwrap().contains("Sales Rep"),
        "a readable reason: {letter}"
    );
    assert_eq!(letter["payload"]["account_id"], account.as_str());
    assert!(mesh.ns_where("customer", "externalId", &account).is_empty());
    assert_eq!(customers_named_as(mesh, &account), 0);
    assert_eq!(
        mesh.sandbox.calls().get(PUT_CUSTOMER),
        1,
        "a permanent error is not retried"
    );

    // Someone fixes the record (here: NetSuite stops refusing it), then replays.
    mesh.sandbox.clear_faults(System::NetSuite);
    let (status, replayed) = mesh
        .post(
            &format!("/v1/dead-letters/{id}/replay"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{replayed}");
    let job = mesh.wait_job(&id).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(mesh.ns_where("customer", "externalId", &account).len(), 1);
    assert_eq!(customers_named_as(mesh, &account), 1);
    assert_eq!(
        mesh.sandbox.calls().get(PUT_CUSTOMER),
        2,
        "the replay upserts once"
    );
    let (_, letters) = mesh.get("/v1/dead-letters", Some(ADMIN_KEY)).await;
    assert_eq!(
        letters.as_array().unwrap().len(),
        0,
        "the dead letter is gone"
    );
    let (status, again) = mesh
        .post(
            &format!("/v1/dead-letters/{id}/replay"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!((status, again["code"].as_str()), (404, Some("NOT_FOUND")));
}
on_both_stores!(
    dead_letters,
    a_permanent_error_dead_letters_after_one_attempt_and_replays_once_fixed
);

async fn job_and_dead_letter_routes_check_ids_and_scopes(mesh: &TestMesh) {
    let (status, body) = mesh.get("/v1/jobs/nope", Some(SF_KEY)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    let (status, _) = mesh
        .get(&format!("/v1/jobs/{}", "a".repeat(32)), Some(SF_KEY))
        .await;
    assert_eq!(status, 404);
    let (status, _) = mesh.get("/v1/dead-letters", Some(SF_KEY)).await;
    assert_eq!(status, 403, "dead letters are for operators");
    let (status, body) = mesh
        .get("/v1/dead-letters?limit=5000", Some(ADMIN_KEY))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
    let (status, depth) = mesh.get("/v1/queue", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{depth}");
    assert_eq!(depth["dead"], 0);
}
on_both_stores!(routes, job_and_dead_letter_routes_check_ids_and_scopes);

async fn a_job_shows_only_to_its_own_side_and_operators(mesh: &TestMesh) {
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh
        .post(
            &format!("/v1/salesforce/accounts/{account}/sync?mode=async"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["job_id"].as_str().unwrap().to_string();
    mesh.wait_job(&id).await;
    let path = format!("/v1/jobs/{id}");
    for (key, status) in [
        (SF_KEY, 200),
        (ADMIN_KEY, 200),
        (isthmus_tests::VIEWER_KEY, 200),
        (isthmus_tests::NS_KEY, 404),
    ] {
        let (got, body) = mesh.get(&path, Some(key)).await;
        assert_eq!(got, status, "{key}: {body}");
        if status == 404 {
            assert!(
                body.get("result").is_none(),
                "nothing of the job shows: {body}"
            );
        }
    }
}
on_both_stores!(job_scopes, a_job_shows_only_to_its_own_side_and_operators);

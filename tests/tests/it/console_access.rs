//! The console's access rules over plain HTTP: sign-in exchanges an admin or viewer key for a
//! signed session cookie (HttpOnly, SameSite=Strict); a viewer sees no action and its forged
//! POST is refused with 403; a POST without the session's CSRF token is refused with 403; both
//! change nothing on either side or in the store.

use isthmus_sandbox::{seed, Fault, System};
use isthmus_tests::faults::PUT_CUSTOMER;
use isthmus_tests::{on_both_stores, TestMesh, ADMIN_KEY, SF_KEY, VIEWER_KEY};
use serde_json::json;

/// A client that keeps redirects as answers (the sign-in's cookie is on its 303).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in with `key`: the session cookie (`name=value`) and the page's CSRF token.
pub async fn sign_in(mesh: &TestMesh, key: &str) -> (String, String) {
    let http = client();
    let answer = http
        .post(format!("{}/console/login", mesh.gateway))
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
    let set = answer.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age="] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains(key), "the cookie carries no key: {set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let page = http
        .get(format!("{}/console", mesh.gateway))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("every page carries the CSRF token in its forms")
        .to_string();
    (cookie, csrf)
}

pub async fn page(mesh: &TestMesh, cookie: &str, path: &str) -> (u16, String) {
    let answer = client()
        .get(format!("{}{path}", mesh.gateway))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

pub(crate) async fn post_form(
    mesh: &TestMesh,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let answer = client()
        .post(format!("{}{path}", mesh.gateway))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// A dead letter of the demo account (NetSuite refuses its customer for good); its id.
async fn dead_letter(mesh: &TestMesh) -> String {
    mesh.sandbox.inject_fault(
        System::NetSuite,
        Fault::error_with(PUT_CUSTOMER, 400, Some(json!({"title": "Bad Request", "status": 400,
            "o:errorDetails": [{"detail": "Please enter a value for Sales Rep.", "o:errorCode": "USER_ERROR"}]}))),
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
    assert_eq!(mesh.wait_job(&id).await["state"], "dead");
    mesh.sandbox.clear_faults(System::NetSuite);
    id
}

async fn dead_letters(mesh: &TestMesh) -> usize {
    let (status, letters) = mesh.get("/v1/dead-letters", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200);
    letters.as_array().unwrap().len()
}

async fn only_operator_keys_sign_in_and_pages_need_a_session(mesh: &TestMesh) {
    let http = client();
    for (key, status) in [("not-a-key-at-all-0000000000", 401), (SF_KEY, 403)] {
        let answer = http
            .post(format!("{}/console/login", mesh.gateway))
            .form(&[("key", key)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status);
        assert!(answer.headers().get("set-cookie").is_none());
    }
    // No session, or a forged one: to the sign-in form.
    for cookie in ["", "isthmus_console=e30.AAAA", "isthmus_console=garbage"] {
        let (status, _) = page(mesh, cookie, "/console/dead-letters").await;
        assert_eq!(status, 303, "{cookie}");
    }
    let (cookie, _) = sign_in(mesh, ADMIN_KEY).await;
    // A tampered cookie (another name signed with no key) is refused.
    let tampered = cookie.replacen('=', "=x", 1);
    assert_eq!(page(mesh, &tampered, "/console").await.0, 303);
    for path in [
        "/console",
        "/console/dead-letters",
        "/console/conflicts",
        "/console/reconcile",
        "/console/runs",
        "/console/mappings",
        "/console/records",
    ] {
        let (status, html) = page(mesh, &cookie, path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(html.contains("test-admin"), "{path} names who is signed in");
    }
    let (status, html) = page(mesh, &cookie, "/console/records?q=not-an-id").await;
    assert_eq!(status, 400, "{html}");
    // The console's routes are not API routes: a bearer key alone opens no page.
    let answer = http
        .get(format!("{}/console", mesh.gateway))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
}
on_both_stores!(
    sign_in_and_sessions,
    only_operator_keys_sign_in_and_pages_need_a_session
);

async fn a_viewer_sees_no_action_and_its_forged_posts_change_nothing(mesh: &TestMesh) {
    let id = dead_letter(mesh).await;
    let (cookie, csrf) = sign_in(mesh, VIEWER_KEY).await;

    let (status, html) = page(mesh, &cookie, "/console/dead-letters").await;
    assert_eq!(status, 200);
    assert!(html.contains(&id), "a viewer sees the dead letter");
    // Filtered by its error code (kept with the letter), and by another.
    let (_, letters) = mesh.get("/v1/dead-letters", Some(ADMIN_KEY)).await;
    let code = letters[0]["error_code"].as_str().unwrap().to_string();
    assert_eq!(
        code, "UNPROCESSABLE",
        "NetSuite refused the record: {letters}"
    );
    let (_, html) = page(mesh, &cookie, &format!("/console/dead-letters?code={code}")).await;
    assert!(html.contains(&id));
    let (_, html) = page(mesh, &cookie, "/console/dead-letters?code=NOT_FOUND").await;
    assert!(!html.contains(&id) && html.contains("No dead letter matches"));
    assert!(!html.contains("Replay"), "and no action: {html}");
    let (_, html) = page(
        mesh,
        &cookie,
        &format!("/console/dead-letters/customers/{id}"),
    )
    .await;
    assert!(!html.contains("Discard") && !html.contains("Replay"));

    mesh.sandbox.reset_calls();
    for (path, form) in [
        (
            "/console/dead-letters/replay",
            vec![
                ("csrf", csrf.as_str()),
                ("service", "customers"),
                ("id", id.as_str()),
            ],
        ),
        (
            "/console/dead-letters/discard",
            vec![
                ("csrf", csrf.as_str()),
                ("service", "customers"),
                ("id", id.as_str()),
                ("reason", "x"),
            ],
        ),
        (
            "/console/runs/start",
            vec![("csrf", csrf.as_str()), ("kind", "backfill")],
        ),
        (
            "/console/reconcile/run",
            vec![("csrf", csrf.as_str()), ("flow", "customers")],
        ),
    ] {
        let (status, html) = post_form(mesh, &cookie, path, &form).await;
        assert_eq!(status, 403, "{path}: {html}");
        assert!(html.contains("viewer"), "{html}");
    }
    assert_eq!(
        dead_letters(mesh).await,
        1,
        "the dead letter is still there"
    );
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_total(), calls.netsuite_total()),
        (0, 0),
        "{calls:?}"
    );

    // The viewer key reads the operator API, and may not act on it either.
    assert_eq!(mesh.get("/v1/dead-letters", Some(VIEWER_KEY)).await.0, 200);
    let (status, _) = mesh
        .post(
            &format!("/v1/dead-letters/{id}/replay"),
            Some(VIEWER_KEY),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(dead_letters(mesh).await, 1);
}
on_both_stores!(
    viewer,
    a_viewer_sees_no_action_and_its_forged_posts_change_nothing
);

async fn a_post_without_the_sessions_csrf_token_changes_nothing(mesh: &TestMesh) {
    let id = dead_letter(mesh).await;
    let (cookie, csrf) = sign_in(mesh, ADMIN_KEY).await;
    let (other_cookie, other_csrf) = sign_in(mesh, ADMIN_KEY).await;
    assert_ne!(csrf, other_csrf, "each session has its own token");
    let _ = other_cookie;
    mesh.sandbox.reset_calls();
    for token in ["", "0000", other_csrf.as_str()] {
        let mut form = vec![("service", "customers"), ("id", id.as_str())];
        if !token.is_empty() {
            form.push(("csrf", token));
        }
        let (status, html) = post_form(mesh, &cookie, "/console/dead-letters/replay", &form).await;
        assert_eq!(status, 403, "token {token:?}: {html}");
        assert!(html.contains("CSRF"), "{html}");
    }
    assert_eq!(dead_letters(mesh).await, 1);
    let calls = mesh.sandbox.calls();
    assert_eq!(
        (calls.salesforce_total(), calls.netsuite_total()),
        (0, 0),
        "{calls:?}"
    );

    // With the token, the same POST replays it, and the audit log names who did.
    let (status, _) = post_form(
        mesh,
        &cookie,
        "/console/dead-letters/replay",
        &[("csrf", &csrf), ("service", "customers"), ("id", &id)],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(mesh.wait_job(&id).await["state"], "done");
    assert_eq!(dead_letters(mesh).await, 0);
    let (_, audit) = mesh.get("/v1/audit?limit=1000", Some(ADMIN_KEY)).await;
    let replayed: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "replayed")
        .collect();
    assert_eq!(replayed.len(), 1, "{audit}");
    assert_eq!(replayed[0]["actor"], "test-admin");
    assert_eq!(replayed[0]["job_id"], id.as_str());
}
on_both_stores!(csrf, a_post_without_the_sessions_csrf_token_changes_nothing);

async fn a_console_on_its_own_listener_is_off_the_apis(mesh: &TestMesh) {
    let console = mesh
        .console
        .clone()
        .expect("the console has its own listener");
    let http = client();
    let status = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("{console}/console/login")).await, 200);
    assert_eq!(
        status(format!("{}/console/login", mesh.gateway)).await,
        404,
        "not on the API's listener"
    );
    assert_eq!(
        status(format!("{console}/v1/queue")).await,
        404,
        "no API on the console's"
    );
    assert_eq!(status(format!("{}/healthz", mesh.gateway)).await, 200);
    // Signing in and a page work there as on the API's listener.
    let answer = http
        .post(format!("{console}/console/login"))
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let cookie = answer.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get(format!("{console}/console/dead-letters"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}
on_both_stores!(
    own_listener,
    a_console_on_its_own_listener_is_off_the_apis,
    |config: &mut isthmus::Config| config.gateway.console_listen = "127.0.0.1:0".into()
);

async fn an_admin_runs_a_schedule_now_and_it_runs_once(mesh: &TestMesh) {
    let account = isthmus_sandbox::seed::demo_account_id(&mesh.sandbox).unwrap();
    let (_, synced) = mesh.sync_account(&account, false).await;
    let customer = synced["netsuite_id"].as_str().unwrap().to_string();
    let mut renamed = serde_json::Map::new();
    renamed.insert("Name".into(), json!("Renamed for the delta"));
    mesh.sandbox
        .sf_update("Account", &account, renamed)
        .unwrap();

    let (cookie, csrf) = sign_in(mesh, ADMIN_KEY).await;
    let (status, html) = page(mesh, &cookie, "/console/runs").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("value=\"customers.delta\""),
        "a run-now form for the delta"
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "schedule"),
        ("name", "customers.delta"),
    ];
    let (status, _) = post_form(mesh, &cookie, "/console/runs/start", &form).await;
    assert_eq!(status, 303);

    // Within seconds the customers service runs the delta, which carries the rename over.
    let mut ran = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, schedules) = mesh.get("/v1/schedules", Some(ADMIN_KEY)).await;
        ran = schedules["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "customers.delta")
            .cloned()
            .unwrap();
        if ran["last_run"]["outcome"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(ran["last_run"]["outcome"], "succeeded", "{ran}");
    let record = mesh.sandbox.ns_record("customer", &customer).unwrap();
    assert_eq!(
        record.get("companyName"),
        Some(&json!("Renamed for the delta"))
    );

    // Once: no second run follows the same request.
    let first = ran["last_run"]["started_at"].clone();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (_, schedules) = mesh.get("/v1/schedules", Some(ADMIN_KEY)).await;
    let again = schedules["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "customers.delta")
        .cloned()
        .unwrap();
    assert_eq!(
        again["last_run"]["started_at"], first,
        "one run per request"
    );
    let (status, _) = mesh
        .post("/v1/schedules/no.such/run", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = mesh
        .post("/v1/schedules/customers.delta/run", Some(VIEWER_KEY), None)
        .await;
    assert_eq!(status, 403);
}
on_both_stores!(
    run_now,
    an_admin_runs_a_schedule_now_and_it_runs_once,
    |config: &mut isthmus::Config| config.schedules.customers_delta = "0 0 1 1 *".into()
);

async fn dead_letters_page_through_every_letter(mesh: &TestMesh) {
    use isthmus_store::{Lane, NewJob};
    // Jobs whose payload names no valid account: the customers worker dead-letters each at its
    // first attempt, calling nothing.
    let queue = &mesh.customers_queue;
    for _ in 0..120 {
        let job = NewJob {
            id: isthmus_store::RecordId::new().to_string(),
            kind: "customers.sync_account".into(),
            payload: br#"{"kind":"account","account_id":"not-an-id"}"#.to_vec(),
            trace_id: "t".into(),
        };
        queue.enqueue(Lane::Batch, &job).await.unwrap();
    }
    for _ in 0..200 {
        if queue.queue_depth().await.unwrap().dead == 120 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(queue.queue_depth().await.unwrap().dead, 120);
    let (cookie, _) = sign_in(mesh, VIEWER_KEY).await;
    let mut seen = std::collections::HashSet::new();
    for offset in [0, 50, 100] {
        let (status, html) = page(
            mesh,
            &cookie,
            &format!("/console/dead-letters?offset={offset}"),
        )
        .await;
        assert_eq!(status, 200);
        let rows: Vec<&str> = html.split("data-id=\"").skip(1).map(|r| &r[..32]).collect();
        assert_eq!(
            rows.len(),
            if offset == 100 { 20 } else { 50 },
            "offset {offset}"
        );
        seen.extend(rows.into_iter().map(str::to_string));
    }
    assert_eq!(seen.len(), 120, "every letter on exactly one page");
}
on_both_stores!(deep_pages, dead_letters_page_through_every_letter);

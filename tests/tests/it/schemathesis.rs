//! The proof of the OpenAPI document and of strict input: schemathesis (pinned in
//! `tests/schemathesis/requirements.txt`, installed into the tests' venv) generates requests from
//! the gateway's own `/openapi.json` against a whole mesh on Redis with the seeded sandbox, once
//! with each scope's key and once with none, deterministic seed, one worker. It must find no
//! 5xx and no answer that disagrees with the document (status code, content type, body schema).
//!
//! Events are signed by default and schemathesis cannot sign, so with the default mesh every
//! event is refused (401) by its signature; one more run, on a mesh that takes unsigned events
//! (`gateway.netsuite_events_unsigned`), fuzzes the event route's body and query checks.
//!
//! Around each call the hooks (`tests/schemathesis/hooks.py`) read the sandbox's count of vendor
//! writes from a small endpoint served here, and log the call; the log proves the number of
//! requests and that no request answered 4xx wrote to Salesforce or NetSuite.

use std::path::Path;
use std::process::Command;

use axum::routing::get;
use isthmus_sandbox::Sandbox;
use isthmus_tests::{StoreKind, TestMesh, ADMIN_KEY, NS_KEY, SF_KEY, VIEWER_KEY};
use serde_json::Value;

/// Generated cases per operation in the fuzzing phase. The coverage phase (every boundary and
/// every kind of invalid value of each parameter, about 1,000 requests) runs once, with the
/// admin key, which reaches every route's checks; the others fuzz. In all about 2,000 requests.
const MAX_EXAMPLES: &str = "5";
const SEED: &str = "20261206";
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// Serves `{"writes": <Salesforce + NetSuite writes so far>}` on port 0, answered once the mesh
/// is quiet: no backfill or catalog run running, every service's queue empty, and the count the
/// same on two reads in a row. The hooks read it before and after each call, so a write counted
/// across a call is that call's doing (schedules are off). Answers its URL.
async fn serve_write_counter(sandbox: Sandbox, gateway: String) -> String {
    let app = axum::Router::new().route(
        "/writes",
        get(move || {
            let (sandbox, gateway) = (sandbox.clone(), gateway.clone());
            async move {
                axum::Json(serde_json::json!({ "writes": quiet_writes(&sandbox, &gateway).await }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/writes", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn writes(sandbox: &Sandbox) -> u64 {
    let calls = sandbox.calls();
    calls.salesforce_writes() + calls.netsuite_writes()
}

/// The sandbox's write count once nothing runs in the background (or after 30 s of waiting).
async fn quiet_writes(sandbox: &Sandbox, gateway: &str) -> u64 {
    let http = reqwest::Client::new();
    let admin = |path: &str| {
        http.get(format!("{gateway}{path}"))
            .bearer_auth(ADMIN_KEY)
            .send()
    };
    let mut last = writes(sandbox);
    for _ in 0..600 {
        let mut busy = false;
        for run in ["/v1/backfills/latest", "/v1/catalog/runs/latest"] {
            if let Ok(answer) = admin(run).await {
                let body: Value = answer.json().await.unwrap_or_default();
                busy |= body["state"] == "running";
            }
        }
        for service in ["customers", "catalog", "orders", "finance"] {
            if let Ok(answer) = admin(&format!("/v1/queue?service={service}")).await {
                let depth: Value = answer.json().await.unwrap_or_default();
                busy |= ["interactive", "batch", "delayed", "pending"]
                    .iter()
                    .any(|lane| depth[lane].as_u64().unwrap_or(0) > 0);
            }
        }
        let now = writes(sandbox);
        if !busy && now == last {
            return now;
        }
        last = now;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

/// What one run sends: the bearer key (none: no `Authorization`), only the operations of one
/// path or all, and the phases.
#[derive(Clone, Copy)]
struct Run {
    key: Option<&'static str>,
    only_path: Option<&'static str>,
    phases: &'static str,
}

/// One schemathesis run as `run` says, against `gateway`; answers its exit status and output.
fn run_schemathesis(
    python: &Path,
    gateway: &str,
    run: Run,
    writes_url: &str,
    call_log: &Path,
    reports: &Path,
) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(reports).expect("the report directory");
    let mut command = Command::new(python);
    // In the run's own directory: schemathesis keeps its example database in `.schemathesis/`.
    command.current_dir(reports);
    command
        .args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{gateway}/openapi.json"))
        .args(["--url", gateway])
        .args(["--checks", CHECKS])
        .args(["--phases", run.phases])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--workers", "1", "--request-timeout", "30"])
        .args(["--suppress-health-check", "all", "--no-shrink"])
        .args(["--report", "junit", "--report-dir"])
        .arg(reports)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env(
            "PYTHONPATH",
            root.join("tests/schemathesis")
                .canonicalize()
                .expect("hooks"),
        )
        .env("SANDBOX_WRITES_URL", writes_url)
        .env("CALL_LOG", call_log)
        .env("NO_COLOR", "1");
    if let Some(key) = run.key {
        command.args(["--header", &format!("Authorization: Bearer {key}")]);
    }
    if let Some(path) = run.only_path {
        command.args(["--include-path", path]);
    }
    let output = command.output().expect("the venv's python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_with_every_scope_find_no_5xx_no_schema_violation_and_no_write_from_rejected_input(
) {
    let python = isthmus_tests::python().unwrap_or_else(|e| panic!("schemathesis is needed: {e}"));
    let dir = std::env::temp_dir().join(format!("isthmus-schemathesis-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let call_log = dir.join("calls.jsonl");
    let mut failures = Vec::new();
    let signed = TestMesh::start(StoreKind::Redis).await;
    let unsigned = TestMesh::start_with(StoreKind::Redis, |config| {
        config.gateway.netsuite_events_unsigned = true;
    })
    .await;
    let (fuzz, all) = ("examples,fuzzing", "examples,coverage,fuzzing");
    let events = Some("/v1/netsuite/events");
    for (mesh, scope, key, only_path, phases) in [
        (&signed, "none", None, None, fuzz),
        (&signed, "salesforce", Some(SF_KEY), None, fuzz),
        (&signed, "netsuite", Some(NS_KEY), None, fuzz),
        (&signed, "viewer", Some(VIEWER_KEY), None, fuzz),
        (&signed, "admin", Some(ADMIN_KEY), None, all),
        (
            &unsigned,
            "netsuite-unsigned-events",
            Some(NS_KEY),
            events,
            all,
        ),
    ] {
        let writes_url = serve_write_counter(mesh.sandbox.clone(), mesh.gateway.clone()).await;
        let (python, gateway, call_log, reports) = (
            python.clone(),
            mesh.gateway.clone(),
            call_log.clone(),
            dir.join(scope),
        );
        let (passed, output) = tokio::task::spawn_blocking(move || {
            run_schemathesis(
                &python,
                &gateway,
                Run {
                    key,
                    only_path,
                    phases,
                },
                &writes_url,
                &call_log,
                &reports,
            )
        })
        .await
        .unwrap();
        println!("== schemathesis with the {scope} key ==\n{output}");
        if !passed {
            failures.push(format!("with the {scope} key:\n{output}"));
        }
    }
    let calls: Vec<Value> = std::fs::read_to_string(&call_log)
        .expect("the hooks logged the calls")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let server_errors: Vec<&Value> = calls
        .iter()
        .filter(|c| c["status"].as_u64() >= Some(500))
        .collect();
    let writes_from_rejected: Vec<&Value> = calls
        .iter()
        .filter(|c| (400..500).contains(&c["status"].as_u64().unwrap_or(0)))
        .filter(|c| c["writes_after"] != c["writes_before"])
        .collect();
    signed.shutdown().await;
    unsigned.shutdown().await;
    assert!(
        failures.is_empty(),
        "schemathesis failed:\n{}",
        failures.join("\n")
    );
    assert!(
        calls.len() >= 1_000,
        "only {} requests were generated",
        calls.len()
    );
    assert!(server_errors.is_empty(), "5xx answers: {server_errors:#?}");
    assert!(
        writes_from_rejected.is_empty(),
        "requests answered 4xx that wrote to a vendor: {writes_from_rejected:#?}"
    );
    // The reports stay only when the run failed.
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{} requests, {} answered 4xx, none wrote",
        calls.len(),
        calls
            .iter()
            .filter(|c| (400..500).contains(&c["status"].as_u64().unwrap_or(0)))
            .count()
    );
}

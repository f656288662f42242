//! No secret leaks: a whole-mesh scenario runs with secrets this test knows, and every log line
//! (at `debug`, JSON), every exported span (to an OTLP receiver inside the test), every answer
//! the gateway gave (successes, errors, the console's pages, `/metrics`, the OpenAPI document)
//! and what `isthmus config` prints are searched for each of them.
//!
//! The secrets: the four scopes' API keys and gRPC tokens (the gateway presents one on every
//! call; the test calls a service straight with a good, a wrong-scope and an unknown one), the
//! Salesforce client secret and NetSuite TBA
//! secrets (the sandbox's), the Redis password (a `redis-server --requirepass` of the test's
//! own), the NetSuite event signing secret, the console's session key and the alerts webhook URL
//! (with its token); a second mesh's Salesforce sign-in is refused, so the client secret meets
//! an error path too.
//!
//! This file holds one test: it installs the process's global tracing subscriber.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isthmus::Config;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::customers::v1::SyncAccountRequest;
use isthmus_sandbox::credentials as sandbox;
use isthmus_sandbox::{seed, Fault, System};
use isthmus_tests::otlp::{receiver, Received};
use isthmus_tests::{
    grpc_channel, TestMesh, ADMIN_KEY, GRPC_ADMIN_TOKEN, GRPC_NETSUITE_TOKEN,
    GRPC_SALESFORCE_TOKEN, GRPC_VIEWER_TOKEN, NS_KEY, SF_KEY, VIEWER_KEY,
};
use secrecy::SecretString;

const REDIS_PASSWORD: &str = "redis-password-7c1e0b5d9a";
const SIGNING_SECRET: &str = "netsuite-signing-secret-4f8a2c61";
const CONSOLE_SECRET: &str = "console-session-secret-b3d9e047";
const WEBHOOK_TOKEN: &str = "webhook-token-91ad27fe";

/// Every log line the process wrote.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A `redis-server` that requires `REDIS_PASSWORD`, killed on drop.
struct PasswordRedis {
    child: Child,
    url: String,
}

impl PasswordRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--requirepass", REDIS_PASSWORD])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (install Debian's redis-server)");
        Self {
            child,
            url: format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{port}"),
        }
    }
}

impl Drop for PasswordRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The answers the gateway gave, as text.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    async fn keep(&mut self, response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        let mut text = format!("{status}\n");
        for (name, value) in response.headers() {
            text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or_default()));
        }
        let body = response.text().await.unwrap_or_default();
        text.push_str(&body);
        self.0.push(text);
        (status, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_a_span_an_answer_or_the_printed_config() {
    // Every crate at debug, the HTTP and gRPC libraries included.
    std::env::set_var("RUST_LOG", "debug");
    let lines = Lines::default();
    let received = Received::default();
    let endpoint = receiver(received.clone()).await;
    let telemetry = isthmus_telemetry::init_writing_to(
        &endpoint,
        "isthmus-secrets-test",
        isthmus_telemetry::LogFormat::Json,
        {
            let lines = lines.clone();
            move || lines.clone()
        },
    )
    .expect("telemetry");

    let redis = PasswordRedis::start();
    let store = connect(&redis.url).await;
    let webhook = format!("http://127.0.0.1:9/hooks/{WEBHOOK_TOKEN}");
    let mesh = TestMesh::start_on_store(Arc::new(store), |config, secrets| {
        config.store.redis_url = redis.url.clone();
        config.alerts.min_interval_ms = 100;
        secrets.netsuite_hmac_secret = Some(SecretString::from(SIGNING_SECRET));
        secrets.console_session_secret = Some(SecretString::from(CONSOLE_SECRET));
        secrets.alerts_webhook_url = Some(SecretString::from(webhook.clone()));
    })
    .await;
    let mut answers = Answers::default();
    let http = &mesh.http;
    let gw = &mesh.gateway;

    // A sync, a dry run, a replayed idempotency key, and the account's record status.
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    for path in [
        format!("/v1/salesforce/accounts/{demo}/sync"),
        format!("/v1/salesforce/accounts/{demo}/sync?dry_run=true"),
    ] {
        let (status, _) = answers
            .keep(
                http.post(format!("{gw}{path}"))
                    .bearer_auth(SF_KEY)
                    .header("Idempotency-Key", "secrets-1")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert!(status < 300, "{path}: {status}");
    }
    answers
        .keep(
            http.get(format!("{gw}/v1/salesforce/records/{demo}/status"))
                .bearer_auth(SF_KEY)
                .send()
                .await
                .unwrap(),
        )
        .await;
    // Refusals: an unknown key, a key of the wrong scope, an unsigned and a badly signed event.
    for (key, path) in [
        ("not-a-key-0123456789abcdefghij", "/v1/audit"),
        (SF_KEY, "/v1/audit"),
        (NS_KEY, "/v1/stats"),
    ] {
        let (status, _) = answers
            .keep(
                http.get(format!("{gw}{path}"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert!(status == 401 || status == 403, "{path}: {status}");
    }
    for signature in [None, Some("v1=00ff")] {
        let mut request = http
            .post(format!("{gw}/v1/netsuite/events"))
            .bearer_auth(NS_KEY)
            .json(
                &serde_json::json!({"record_type": "customer", "id": "126", "event_type": "edit"}),
            );
        if let Some(signature) = signature {
            request = request
                .header(
                    "x-isthmus-timestamp",
                    chrono::Utc::now().timestamp().to_string(),
                )
                .header("x-isthmus-signature", signature);
        }
        let (status, _) = answers.keep(request.send().await.unwrap()).await;
        assert_eq!(status, 401);
    }
    // A signed event, as NetSuite's User Event script sends it: accepted.
    let customer = mesh
        .sandbox
        .sf_records("Account")
        .into_iter()
        .find_map(|a| {
            a.get("NetSuite_Id__c")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .expect("a linked account after the first sync");
    let body = serde_json::to_vec(&serde_json::json!({
        "record_type": "customer", "id": customer, "event_type": "edit", "event_id": "secrets-event-1"
    }))
    .unwrap();
    let (timestamp, signature) =
        isthmus_tests::sign_event(SIGNING_SECRET, "POST", "/v1/netsuite/events", &body);
    let (status, text) = answers
        .keep(
            http.post(format!("{gw}/v1/netsuite/events"))
                .bearer_auth(NS_KEY)
                .header("content-type", "application/json")
                .header("x-isthmus-timestamp", timestamp)
                .header("x-isthmus-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
    assert!(status < 300, "a signed event is taken: {status} {text}");
    // A sync that fails for good: dead-lettered, and alerted to the (unreachable) webhook.
    mesh.sandbox.inject_fault(
        System::NetSuite,
        Fault::error_with(
            "PUT /services/rest/record/v1/customer/eid:{externalId}",
            400,
            None,
        ),
    );
    let failing = mesh.account_id(seed::AMBIGUOUS_DOMAIN_ACCOUNT);
    answers
        .keep(
            http.post(format!("{gw}/v1/salesforce/accounts/{failing}/sync"))
                .bearer_auth(SF_KEY)
                .send()
                .await
                .unwrap(),
        )
        .await;
    mesh.sandbox.clear_faults(System::NetSuite);
    // gRPC straight to a service: an unknown token, a token of the wrong scope, the right one.
    for token in [
        "an-unknown-grpc-token-0123456789abcdef",
        GRPC_NETSUITE_TOKEN,
        GRPC_SALESFORCE_TOKEN,
    ] {
        let mut client = CustomerSyncClient::new(grpc_channel(&mesh.customers_grpc, Some(token)));
        let answer = client
            .sync_account(SyncAccountRequest {
                account_id: demo.clone(),
                ..Default::default()
            })
            .await;
        answers.0.push(format!("{answer:?}"));
    }
    // What operators read: audit, stats, dead letters, governance, metrics, the OpenAPI document.
    for (key, path) in [
        (ADMIN_KEY, "/v1/audit"),
        (VIEWER_KEY, "/v1/stats"),
        (ADMIN_KEY, "/v1/dead-letters"),
        (ADMIN_KEY, "/v1/governance"),
        (ADMIN_KEY, "/readyz"),
        (ADMIN_KEY, "/metrics"),
        (ADMIN_KEY, "/openapi.json"),
    ] {
        answers
            .keep(
                http.get(format!("{gw}{path}"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
    }
    // The console: sign-in (a wrong key, then the admin key), and every page.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for key in ["a-wrong-console-key-0123456789", ADMIN_KEY] {
        answers
            .keep(
                no_redirects
                    .post(format!("{gw}/console/login"))
                    .form(&[("key", key)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
    }
    let signed_in = no_redirects
        .post(format!("{gw}/console/login"))
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    for page in [
        "/console".to_string(),
        "/console/dead-letters".to_string(),
        "/console/conflicts".to_string(),
        "/console/reconcile".to_string(),
        "/console/runs".to_string(),
        "/console/mappings".to_string(),
        format!("/console/records?q={demo}"),
    ] {
        let (status, _) = answers
            .keep(
                no_redirects
                    .get(format!("{gw}{page}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert_eq!(status, 200, "{page}");
    }
    mesh.shutdown().await;

    // A second mesh whose Salesforce sign-in is refused: the failure is answered and logged
    // without the client secret it sent.
    let refused = TestMesh::start(isthmus_tests::StoreKind::Memory).await;
    refused.sandbox.inject_fault(
        System::Salesforce,
        Fault::error_with(
            "POST /services/oauth2/token",
            400,
            Some(serde_json::json!({
                "error": "invalid_client",
                "error_description": "invalid client credentials"
            })),
        ),
    );
    let demo = seed::demo_account_id(&refused.sandbox).unwrap();
    let (status, body) = answers
        .keep(
            refused
                .http
                .post(format!(
                    "{}/v1/salesforce/accounts/{demo}/sync",
                    refused.gateway
                ))
                .bearer_auth(SF_KEY)
                .send()
                .await
                .unwrap(),
        )
        .await;
    assert!(
        status >= 400,
        "a refused sign-in fails the sync: {status} {body}"
    );
    refused.shutdown().await;

    // `isthmus config` with the password-carrying Redis URL.
    let mut config = Config::load_from(None, Vec::new()).expect("default config");
    config.store.redis_url = redis.url.clone();
    let printed = toml::to_string_pretty(&config.shown()).unwrap();

    for _ in 0..100 {
        telemetry.flush();
        if received.all().iter().any(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("POST /v1/salesforce/accounts"))
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let spans = serde_json::to_string(&received.all()).unwrap();
    let logs = lines.text();
    assert!(
        logs.lines().count() > 100 && logs.contains("\"level\":\"DEBUG\""),
        "debug logging was on: {} lines",
        logs.lines().count()
    );
    assert!(
        spans.contains("POST /v1/salesforce/accounts/{id}/sync"),
        "spans were exported: {}",
        &spans[..spans.len().min(2000)]
    );
    let secrets = [
        SF_KEY,
        NS_KEY,
        ADMIN_KEY,
        VIEWER_KEY,
        GRPC_ADMIN_TOKEN,
        GRPC_SALESFORCE_TOKEN,
        GRPC_NETSUITE_TOKEN,
        GRPC_VIEWER_TOKEN,
        sandbox::SF_CLIENT_SECRET,
        sandbox::NS_CONSUMER_SECRET,
        sandbox::NS_TOKEN_SECRET,
        REDIS_PASSWORD,
        SIGNING_SECRET,
        isthmus_tests::NS_SIGNING_SECRET,
        CONSOLE_SECRET,
        WEBHOOK_TOKEN,
    ];
    let answered = answers.0.join("\n");
    for secret in secrets {
        for (place, text) in [
            ("a log line", &logs),
            ("a span", &spans),
            ("an answer", &answered),
            ("isthmus config", &printed),
        ] {
            if let Some(at) = text.find(secret) {
                let from = text[..at].rfind('\n').map_or(0, |n| n + 1);
                let to = text[at..].find('\n').map_or(text.len(), |n| at + n);
                panic!("a secret is in {place}: {}", &text[from..to]);
            }
        }
    }
    telemetry.shutdown();
}

async fn connect(url: &str) -> isthmus_store::RedisStore {
    for _ in 0..50 {
        if let Ok(store) = isthmus_store::RedisStore::connect(url, "secrets").await {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the password-protected redis-server did not answer");
}

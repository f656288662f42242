//! Harness for the whole-mesh tests: [`TestMesh::start`] starts the seeded sandbox, the customers
//! and catalog services and the gateway in this process, each on port 0, on either store:
//! - [`StoreKind::Redis`]: a real Redis (`REDIS_URL`, or a `redis-server` spawned on a free port),
//!   with a connection name of its own per test so tests never share keys;
//! - [`StoreKind::Memory`]: the in-memory store `isthmus dev` uses without Redis.
//!
//! Tests act through the gateway (or gRPC) and assert on the sandbox's Salesforce and NetSuite
//! state and call counts. [`faults`] holds what the fault tests share.
//!
//! [`browser`] drives real headless Chromium over WebDriver (installed from Debian's packages on
//! first use) for the tests of pages a person sees; screenshots go to
//! `<target>/console-screenshots/`.

pub mod browser;
pub mod faults;
pub mod lead;

use std::sync::Arc;

use isthmus::mesh::{self, Mesh, MeshOptions, SandboxUrls};
use isthmus::{Config, Secrets};
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use isthmus_store::testing::RedisServer;
use isthmus_store::{MemoryStore, Queue, Store, DEFAULT_QUEUE_NAMESPACE};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Redis,
    Memory,
}

pub const SF_KEY: &str = "test-salesforce-key-0123456789abcdef";
pub const NS_KEY: &str = "test-netsuite-key-0123456789abcdef";
pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
/// Reads what admin reads (and signs in to the console), changes nothing.
pub const VIEWER_KEY: &str = "test-viewer-key-0123456789abcdef";

pub struct TestMesh {
    pub gateway: String,
    /// The console's own listener, when the test configured `gateway.console_listen`.
    pub console: Option<String>,
    pub customers_grpc: String,
    /// gRPC address of the catalog service.
    pub catalog_grpc: String,
    pub orders_grpc: String,
    pub sandbox: Sandbox,
    /// Where the sandbox's two APIs listen.
    pub sandbox_urls: SandboxUrls,
    pub store: Arc<dyn Store>,
    /// The customers service's queue (the default queue namespace) in `store`.
    pub customers_queue: Arc<dyn Queue>,
    pub http: reqwest::Client,
    redis: Option<(RedisServer, String)>,
    mesh: Mesh,
}

impl TestMesh {
    pub async fn start(kind: StoreKind) -> Self {
        Self::start_with(kind, |_| {}).await
    }

    /// Starts the mesh after `adjust` has had its say on the configuration.
    pub async fn start_with(kind: StoreKind, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_configured(kind, |config, _| adjust(config)).await
    }

    /// Starts the mesh after `adjust` has had its say on the configuration and the secrets.
    pub async fn start_configured(
        kind: StoreKind,
        adjust: impl FnOnce(&mut Config, &mut Secrets),
    ) -> Self {
        match kind {
            StoreKind::Memory => Self::start_on(Arc::new(MemoryStore::new()), None, adjust).await,
            StoreKind::Redis => {
                let server = RedisServer::start();
                let connection = server.connection().to_string();
                let store = server.store_for(&connection).await;
                Self::start_on(Arc::new(store), Some((server, connection)), adjust).await
            }
        }
    }

    /// Starts the mesh on a Redis the caller chose (e.g. one it will stop and resume), under
    /// the server's connection name.
    pub async fn start_on_redis(server: RedisServer, adjust: impl FnOnce(&mut Config)) -> Self {
        let connection = server.connection().to_string();
        let store = server.store_for(&connection).await;
        Self::start_on(Arc::new(store), Some((server, connection)), |c, _| {
            adjust(c)
        })
        .await
    }

    async fn start_on(
        store: Arc<dyn Store>,
        redis: Option<(RedisServer, String)>,
        adjust: impl FnOnce(&mut Config, &mut Secrets),
    ) -> Self {
        let mut secrets = Secrets::default();
        let mut config = Config::load_from(None, Vec::new()).expect("default config");
        // Retries and reclaims on a test's time scale.
        config.queue.backoff_base_ms = 50;
        config.queue.backoff_max_ms = 400;
        config.queue.reclaim_idle_ms = 2_000;
        // No schedule fires behind a test's back (a test that wants one sets it).
        no_schedules(&mut config);
        // Key rate limits and the Salesforce budget out of the way of click storms (`limits.rs`
        // sets its own).
        config.gateway.salesforce_key_share = 1.0;
        for limit in [
            &mut config.gateway.rate_limits.salesforce,
            &mut config.gateway.rate_limits.netsuite,
            &mut config.gateway.rate_limits.admin,
            &mut config.gateway.rate_limits.viewer,
        ] {
            limit.rate = 10_000.0;
            limit.burst = 10_000;
        }
        adjust(&mut config, &mut secrets);
        let sandbox = Sandbox::new(SandboxConfig {
            seed: true,
            ..Default::default()
        })
        .expect("sandbox");
        let mut keys = ApiKeys::default();
        keys.insert("test-salesforce", &[Scope::Salesforce], SF_KEY);
        keys.insert("test-netsuite", &[Scope::NetSuite], NS_KEY);
        keys.insert("test-admin", &[Scope::Admin], ADMIN_KEY);
        keys.insert("test-viewer", &[Scope::Viewer], VIEWER_KEY);
        let mesh = mesh::start(MeshOptions {
            config,
            secrets,
            store: store.clone(),
            api_keys: keys,
            gateway_addr: ([127, 0, 0, 1], 0).into(),
            sandbox: Some(sandbox.clone()),
        })
        .await
        .expect("mesh starts");
        let customers_queue = store
            .queue(DEFAULT_QUEUE_NAMESPACE)
            .await
            .expect("the store answers");
        Self {
            gateway: mesh.gateway_url.clone(),
            console: mesh.console_url.clone(),
            customers_grpc: mesh.customers_url.clone(),
            catalog_grpc: mesh.catalog_url.clone(),
            orders_grpc: mesh.orders_url.clone(),
            sandbox_urls: mesh.sandbox.clone().expect("the sandbox runs"),
            sandbox,
            store,
            customers_queue,
            http: reqwest::Client::new(),
            redis,
            mesh,
        }
    }

    pub async fn shutdown(self) {
        self.mesh.shutdown().await.expect("clean shutdown");
    }

    /// POST to the gateway with a bearer key; returns the status and the JSON body.
    pub async fn post(&self, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.gateway));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.gateway));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// "Sync to NetSuite" on an account, with the Salesforce key.
    pub async fn sync_account(&self, id: &str, dry_run: bool) -> (u16, Value) {
        let query = if dry_run { "?dry_run=true" } else { "" };
        self.post(
            &format!("/v1/salesforce/accounts/{id}/sync{query}"),
            Some(SF_KEY),
            None,
        )
        .await
    }

    /// A NetSuite User Event for a customer, with the NetSuite key.
    pub async fn customer_event(&self, id: &str, event_type: &str) -> (u16, Value) {
        let body =
            serde_json::json!({ "record_type": "customer", "id": id, "event_type": event_type });
        self.post("/v1/netsuite/events", Some(NS_KEY), Some(body))
            .await
    }

    /// Polls `GET /v1/jobs/{id}` until the job is done or dead; returns it.
    pub async fn wait_job(&self, id: &str) -> Value {
        for _ in 0..400 {
            let (status, job) = self.get(&format!("/v1/jobs/{id}"), Some(ADMIN_KEY)).await;
            assert_eq!(status, 200, "{job}");
            if job["state"] == "done" || job["state"] == "dead" {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("job {id} did not settle");
    }

    /// Changes a NetSuite record over the REST API as a NetSuite user would (`PATCH`, its
    /// `lastModifiedDate` moves); `replace` names sublists replaced wholesale (e.g. `price`).
    pub async fn ns_patch(&self, record_type: &str, id: &str, body: Value, replace: &[&str]) {
        let body = body.as_object().cloned().expect("a JSON object");
        let (config, secrets) = self.sandbox_config();
        isthmus::wiring::netsuite(&config, &secrets, self.store.clone())
            .expect("NetSuite client")
            .update(record_type, id, &body, replace)
            .await
            .unwrap_or_else(|e| panic!("PATCH {record_type}/{id}: {e}"));
    }

    /// Deletes a NetSuite record over the REST API.
    pub async fn ns_delete(&self, record_type: &str, id: &str) {
        let (config, secrets) = self.sandbox_config();
        isthmus::wiring::netsuite(&config, &secrets, self.store.clone())
            .expect("NetSuite client")
            .delete(record_type, id)
            .await
            .unwrap_or_else(|e| panic!("DELETE {record_type}/{id}: {e}"));
    }

    /// The default configuration and secrets, pointed at this mesh's sandbox.
    pub fn sandbox_config(&self) -> (Config, Secrets) {
        let mut config = Config::load_from(None, Vec::new()).expect("default config");
        let mut secrets = Secrets::default();
        mesh::point_at_sandbox(&mut config, &mut secrets, &self.sandbox_urls);
        (config, secrets)
    }

    /// Number of Redis keys holding data of this test's connection; `None` on the in-memory
    /// store. The gateway's per-key Salesforce budget is not counted: it counts the calls a
    /// request made (a dry run's reads, an unknown account's lookup), it records nothing.
    pub async fn redis_key_count(&self) -> Option<usize> {
        self.redis_keys("*").await.map(|keys| {
            keys.iter()
                .filter(|k| !k.contains("salesforce-budget:"))
                .count()
        })
    }

    /// Redis keys of this test's connection whose name after `isthmus:{<connection>}:` matches
    /// `pattern` (`KEYS` syntax, e.g. `lock:*`); `None` on the in-memory store.
    pub async fn redis_keys(&self, pattern: &str) -> Option<Vec<String>> {
        let (server, connection) = self.redis.as_ref()?;
        let client = redis::Client::open(server.url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis connects");
        let pattern = format!("isthmus:{{{connection}}}:{pattern}");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        Some(keys)
    }

    /// The Redis this mesh runs on (to stop and resume it); `None` on the in-memory store.
    pub fn redis_server(&mut self) -> Option<&mut RedisServer> {
        self.redis.as_mut().map(|(server, _)| server)
    }

    /// A Salesforce account's id by exact name, from the sandbox's state.
    pub fn account_id(&self, name: &str) -> String {
        self.sandbox
            .sf_records("Account")
            .into_iter()
            .find(|a| a.get("Name").and_then(Value::as_str) == Some(name))
            .and_then(|a| a.get("Id").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| panic!("no account named {name:?} in the sandbox"))
    }

    /// NetSuite records of a type whose field equals a value.
    pub fn ns_where(
        &self,
        record_type: &str,
        field: &str,
        value: &str,
    ) -> Vec<serde_json::Map<String, Value>> {
        self.sandbox
            .ns_records(record_type)
            .into_iter()
            .filter(|r| text(r.get(field)) == Some(value.to_string()))
            .collect()
    }
}

/// A field as text: strings as they are, numbers printed, references as their id.
/// Turns every scheduled flow off: calls and records stay exactly what a test caused.
pub fn no_schedules(config: &mut Config) {
    let s = &mut config.schedules;
    for expression in [
        &mut s.customers_delta,
        &mut s.catalog_delta,
        &mut s.account_summaries,
        &mut s.subsidiaries,
        &mut s.reconcile,
    ] {
        expression.clear();
    }
    config.orders.renewals.schedule.clear();
}

pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// Runs a test body once on Redis and once on the in-memory store.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $body:expr) => {
        $crate::on_both_stores!($name, $body, |_config: &mut isthmus::Config| {});
    };
    ($name:ident, $body:expr, $adjust:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_redis() {
                let mesh = $crate::TestMesh::start_with($crate::StoreKind::Redis, $adjust).await;
                ($body)(&mesh).await;
                mesh.shutdown().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_memory() {
                let mesh = $crate::TestMesh::start_with($crate::StoreKind::Memory, $adjust).await;
                ($body)(&mesh).await;
                mesh.shutdown().await;
            }
        }
    };
}

/// Installs the Python packages of `tests/thirdparty/requirements.txt` (the independent
/// clients some tests run) when one of them is missing, once per test process, so the test
/// command needs nothing installed by hand. `Err` says what failed.
pub fn python_requirements() -> Result<(), String> {
    static INSTALLED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let requirements = root.join("tests/thirdparty/requirements.txt");
            let present = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import grpc, grpc_tools, pytest, simple_salesforce, requests_oauthlib, netsuite",
                ])
                .output()
                .map_err(|e| format!("python3 is needed ({e})"))?;
            if present.status.success() {
                return Ok(());
            }
            let install = std::process::Command::new("python3")
                .args(["-m", "pip", "install", "-q", "-r"])
                .arg(&requirements)
                .output()
                .map_err(|e| format!("pip did not run ({e})"))?;
            if install.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "python3 -m pip install -r {} failed:\n{}",
                    requirements.display(),
                    String::from_utf8_lossy(&install.stderr)
                ))
            }
        })
        .clone()
}

/// The `isthmus` binary of this workspace, built once per test process (a no-op when it is
/// fresh) with the profile of the test binary, into the same target directory, for the tests
/// that run it as its own process.
pub async fn isthmus_binary() -> std::path::PathBuf {
    static BUILT: tokio::sync::OnceCell<std::path::PathBuf> = tokio::sync::OnceCell::const_new();
    BUILT.get_or_init(build_isthmus).await.clone()
}

async fn build_isthmus() -> std::path::PathBuf {
    use std::path::Path;
    // target/<profile>/deps/<this test> → target/<profile>/isthmus
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = tokio::process::Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "isthmus", "--bin", "isthmus"])
        .current_dir(workspace)
        .kill_on_drop(true);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(600), build.output())
        .await
        .expect("cargo build finishes within 10 minutes")
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build -p isthmus: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let binary = profile_dir.join("isthmus");
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
}

/// The environment an `isthmus` process needs to work against the sandbox at `urls` and the
/// Redis `redis` (its own connection name), with the sandbox's credentials.
pub fn process_env(urls: &SandboxUrls, redis: &RedisServer) -> Vec<(&'static str, String)> {
    use isthmus_sandbox::credentials as c;
    vec![
        // As in `TestMesh`: key rate limits and the Salesforce budget out of the way.
        (
            "ISTHMUS_GATEWAY__RATE_LIMITS__SALESFORCE__RATE",
            "10000".to_string(),
        ),
        (
            "ISTHMUS_GATEWAY__RATE_LIMITS__SALESFORCE__BURST",
            "10000".to_string(),
        ),
        (
            "ISTHMUS_GATEWAY__RATE_LIMITS__NETSUITE__RATE",
            "10000".to_string(),
        ),
        (
            "ISTHMUS_GATEWAY__RATE_LIMITS__NETSUITE__BURST",
            "10000".to_string(),
        ),
        ("ISTHMUS_GATEWAY__SALESFORCE_KEY_SHARE", "1".to_string()),
        ("ISTHMUS_STORE__REDIS_URL", redis.url().to_string()),
        ("ISTHMUS_STORE__CONNECTION", redis.connection().to_string()),
        ("ISTHMUS_SALESFORCE__LOGIN_URL", urls.salesforce.clone()),
        ("ISTHMUS_SALESFORCE__CLIENT_ID", c::SF_CLIENT_ID.to_string()),
        (
            "ISTHMUS_SALESFORCE__CLIENT_SECRET",
            c::SF_CLIENT_SECRET.to_string(),
        ),
        ("ISTHMUS_NETSUITE__BASE_URL", urls.netsuite.clone()),
        ("ISTHMUS_NETSUITE__ACCOUNT_ID", c::NS_ACCOUNT_ID.to_string()),
        (
            "ISTHMUS_NETSUITE__CONSUMER_KEY",
            c::NS_CONSUMER_KEY.to_string(),
        ),
        (
            "ISTHMUS_NETSUITE__CONSUMER_SECRET",
            c::NS_CONSUMER_SECRET.to_string(),
        ),
        ("ISTHMUS_NETSUITE__TOKEN_ID", c::NS_TOKEN_ID.to_string()),
        (
            "ISTHMUS_NETSUITE__TOKEN_SECRET",
            c::NS_TOKEN_SECRET.to_string(),
        ),
    ]
}

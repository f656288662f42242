//! Harness for the whole-mesh tests: [`TestMesh::start`] starts the seeded sandbox, the customers
//! and catalog services and the gateway in this process, each on port 0, on either store:
//! - [`StoreKind::Redis`]: a real Redis (`REDIS_URL`, or a `redis-server` spawned on a free port),
//!   with a connection name of its own per test so tests never share keys;
//! - [`StoreKind::Memory`]: the in-memory store `isthmus dev` uses without Redis.
//!
//! Tests act through the gateway (or gRPC) and assert on the sandbox's Salesforce and NetSuite
//! state and call counts. The services admit only authenticated calls: the mesh accepts the
//! `GRPC_*_TOKEN`s below (the gateway and the orders service present [`GRPC_ADMIN_TOKEN`]),
//! and [`grpc_channel`] makes a channel that presents one. [`faults`] holds what the fault tests share;
//! [`replicas`] runs more replicas as child processes of the `isthmus` binary on the mesh's Redis.
//!
//! [`browser`] drives real headless Chromium over WebDriver (installed from Debian's packages on
//! first use) for the tests of pages a person sees; screenshots go to
//! `<target>/console-screenshots/`.

pub mod browser;
pub mod fault_matrix;
pub mod faults;
pub mod lead;
pub mod otlp;
pub mod python;
pub mod replicas;
pub mod webhook;

use std::sync::Arc;

use isthmus::mesh::{self, Mesh, MeshOptions, SandboxUrls};
use isthmus::{Config, Secrets};
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use isthmus_store::testing::{RedisServer, StoreSnapshot};
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
/// The NetSuite event signing secret a mesh starts with when the test set none and did not set
/// `gateway.netsuite_events_unsigned`; [`TestMesh::post`] signs events with the mesh's secret.
pub const NS_SIGNING_SECRET: &str = "test-netsuite-signing-secret-0123456789";

/// gRPC bearer tokens the test mesh's services accept, one per scope; the mesh's own clients
/// (gateway, orders → customers) present the admin one.
pub const GRPC_ADMIN_TOKEN: &str = "test-grpc-admin-token-0123456789abcdef";
pub const GRPC_SALESFORCE_TOKEN: &str = "test-grpc-salesforce-token-0123456789abcdef";
pub const GRPC_NETSUITE_TOKEN: &str = "test-grpc-netsuite-token-0123456789abcdef";
pub const GRPC_VIEWER_TOKEN: &str = "test-grpc-viewer-token-0123456789abcdef";

/// The gRPC tokens above as the `grpc.tokens` secret spells them.
pub fn grpc_tokens() -> String {
    format!(
        "test-grpc-admin:admin:{GRPC_ADMIN_TOKEN},test-grpc-salesforce:salesforce:\
         {GRPC_SALESFORCE_TOKEN},test-grpc-netsuite:netsuite:{GRPC_NETSUITE_TOKEN},\
         test-grpc-viewer:viewer:{GRPC_VIEWER_TOKEN}"
    )
}

/// Configures `secrets` with the test tokens: the services accept them, and this process
/// presents [`GRPC_ADMIN_TOKEN`] when it calls a service.
pub fn with_grpc_tokens(secrets: &mut Secrets) {
    secrets.grpc_tokens = Some(grpc_tokens().into());
    secrets.grpc_token = Some(GRPC_ADMIN_TOKEN.to_string().into());
}

/// A lazily connected channel to the service at `url` whose every call presents `token` (none:
/// no credential at all).
pub fn grpc_channel(url: &str, token: Option<&str>) -> isthmus_telemetry::TracedChannel {
    let token = token.map(|t| secrecy::SecretString::from(t.to_string()));
    isthmus_grpc::ClientSecurity::new(token.as_ref())
        .expect("a token of visible ASCII")
        .channel(url)
        .expect("a gRPC URL")
}

pub struct TestMesh {
    pub gateway: String,
    /// The console's own listener, when the test configured `gateway.console_listen`.
    pub console: Option<String>,
    pub customers_grpc: String,
    /// gRPC address of the catalog service.
    pub catalog_grpc: String,
    pub orders_grpc: String,
    pub finance_grpc: String,
    pub sandbox: Sandbox,
    /// Where the sandbox's two APIs listen.
    pub sandbox_urls: SandboxUrls,
    pub store: Arc<dyn Store>,
    /// The customers service's queue (the default queue namespace) in `store`.
    pub customers_queue: Arc<dyn Queue>,
    pub http: reqwest::Client,
    /// The NetSuite event signing secret the gateway checks events with, if any.
    pub signing_secret: Option<String>,
    redis: Option<(RedisServer, String)>,
    /// The in-memory store when the mesh runs on one (for [`Self::store_snapshot`]).
    memory: Option<Arc<MemoryStore>>,
    mesh: Mesh,
}

impl TestMesh {
    /// The gateway's Prometheus text (`GET /metrics` with the admin key).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.gateway))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

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
            StoreKind::Memory => {
                let memory = Arc::new(MemoryStore::new());
                let mut mesh = Self::start_on(memory.clone(), None, adjust).await;
                mesh.memory = Some(memory);
                mesh
            }
            StoreKind::Redis => {
                let server = RedisServer::start();
                let connection = server.connection().to_string();
                let store = server.store_for(&connection).await;
                Self::start_on(Arc::new(store), Some((server, connection)), adjust).await
            }
        }
    }

    /// Starts the mesh on a Redis the caller chose (e.g. one it will stop and resume, or a TLS
    /// one), under the server's connection name. The store is made as `isthmus serve` makes
    /// it, from the `[store]` settings: the server's URL and TLS files.
    pub async fn start_on_redis(server: RedisServer, adjust: impl FnOnce(&mut Config)) -> Self {
        let connection = server.connection().to_string();
        let mut config = Config::load_from(None, Vec::new()).expect("default config");
        let path = |file: &Option<std::path::PathBuf>| {
            file.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        config.store.redis_url = server.url().to_string();
        config.store.connection = connection.clone();
        config.store.tls_ca_file = path(&server.tls().ca_file);
        config.store.tls_cert_file = path(&server.tls().cert_file);
        config.store.tls_key_file = path(&server.tls().key_file);
        let store = isthmus::wiring::store(&config, false)
            .await
            .expect("the store connects with the [store] settings");
        Self::start_on(store, Some((server, connection)), |c, _| adjust(c)).await
    }

    /// Starts the mesh on a store the caller made (a Redis with a password, say).
    pub async fn start_on_store(
        store: Arc<dyn Store>,
        adjust: impl FnOnce(&mut Config, &mut Secrets),
    ) -> Self {
        Self::start_on(store, None, adjust).await
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
        with_grpc_tokens(&mut secrets);
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
        // Events are signed, as outside dev, unless the test let them through unsigned.
        if secrets.netsuite_hmac_secret.is_none() && !config.gateway.netsuite_events_unsigned {
            secrets.netsuite_hmac_secret = Some(NS_SIGNING_SECRET.to_string().into());
        }
        let signing_secret = secrets.netsuite_hmac_secret.as_ref().map(|s| {
            use secrecy::ExposeSecret;
            s.expose_secret().to_string()
        });
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
            finance_grpc: mesh.finance_url.clone(),
            sandbox_urls: mesh.sandbox.clone().expect("the sandbox runs"),
            sandbox,
            store,
            customers_queue,
            http: reqwest::Client::new(),
            signing_secret,
            redis,
            memory: None,
            mesh,
        }
    }

    /// A channel to the service at `url` (e.g. `mesh.customers_grpc`) presenting the admin token.
    pub fn admin_grpc(&self, url: &str) -> isthmus_telemetry::TracedChannel {
        grpc_channel(url, Some(GRPC_ADMIN_TOKEN))
    }

    pub async fn shutdown(self) {
        self.mesh.shutdown().await.expect("clean shutdown");
    }

    /// POST to the gateway with a bearer key; returns the status and the JSON body. A NetSuite
    /// event is sent as the User Event script sends it: a unique `event_id` added to an object
    /// without one, and signed (`v2`, over the method, `path` with its query, and the body) when
    /// the mesh has a signing secret.
    pub async fn post(&self, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.gateway));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let event = path == "/v1/netsuite/events" || path.starts_with("/v1/netsuite/events?");
        if let Some(mut body) = body {
            if let (true, Some(object)) = (event, body.as_object_mut()) {
                object
                    .entry("event_id")
                    .or_insert_with(|| Value::String(uuid::Uuid::new_v4().simple().to_string()));
            }
            let bytes = serde_json::to_vec(&body).expect("JSON");
            if let (true, Some(secret)) = (event, &self.signing_secret) {
                let (timestamp, signature) = sign_event(secret, "POST", path, &bytes);
                request = request
                    .header("x-isthmus-timestamp", timestamp)
                    .header("x-isthmus-signature", signature);
            }
            request = request
                .header("content-type", "application/json")
                .body(bytes);
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

    /// Polls the customers queue's dead letters (up to 20 s) for the account's sync job;
    /// returns the dead letter, or `Value::Null` when none came.
    pub async fn wait_dead_account(&self, account_id: &str) -> Value {
        for _ in 0..400 {
            let (_, letters) = self
                .get(
                    "/v1/dead-letters?kind=customers.sync_account",
                    Some(ADMIN_KEY),
                )
                .await;
            if let Some(letter) = letters
                .as_array()
                .and_then(|l| l.iter().find(|l| l["payload"]["account_id"] == account_id))
            {
                return letter.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Value::Null
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

    /// Deletes a Salesforce record over the REST API, `ago` back on the org's clock. Salesforce's
    /// deleted log drops seconds and serves only windows of more than a minute, so a deletion a
    /// delta run must see now has to be at least a minute old: pass 90 seconds.
    pub async fn sf_delete(&self, sobject: &str, id: &str, ago: chrono::Duration) {
        let (config, secrets) = self.sandbox_config();
        let org = self.sandbox.salesforce_org();
        org.shift_clock(-ago);
        let deleted = isthmus::wiring::salesforce(&config, &secrets)
            .expect("Salesforce client")
            .delete(sobject, id)
            .await;
        org.reset_clock();
        deleted.unwrap_or_else(|e| panic!("DELETE {sobject}/{id}: {e}"));
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

    /// Asserts that no call wrote to Salesforce or NetSuite and that the store holds exactly
    /// what [`Self::store_snapshot`] saw in it `before` the request.
    pub async fn assert_nothing_written(&self, before: &StoreSnapshot) {
        self.assert_nothing_written_but(before, &[]).await;
    }

    /// [`Self::assert_nothing_written`], the keys starting with one of `changing` aside (each
    /// caller says why those may change).
    pub async fn assert_nothing_written_but(&self, before: &StoreSnapshot, changing: &[&str]) {
        let calls = self.sandbox.calls();
        assert_eq!(
            (calls.salesforce_writes(), calls.netsuite_writes()),
            (0, 0),
            "{calls:?}"
        );
        let mut before = before.clone();
        let mut after = self.store_snapshot().await;
        for prefix in changing {
            before = before.without(prefix);
            after = after.without(prefix);
        }
        let changes = before.changes(&after);
        assert!(
            changes.is_empty(),
            "nothing written to the store: {changes:#?}"
        );
    }

    /// Asserts that the store holds exactly what [`Self::store_snapshot`] saw `before`.
    pub async fn assert_store_unchanged(&self, before: &StoreSnapshot) {
        let after = self.store_snapshot().await;
        let changes = before.changes(&after);
        assert!(
            changes.is_empty(),
            "nothing written to the store: {changes:#?}"
        );
    }

    /// Everything the store holds (every key of this test's Redis connection, or every entry
    /// of the in-memory store; see [`StoreSnapshot`]), to compare before and after a request.
    ///
    /// The gateway's per-key Salesforce budget (`sem:salesforce-budget:<key>`) is left out: it
    /// meters the Salesforce calls a request made (a dry run's reads, an unknown account's
    /// lookup), it records nothing about the request. (Rate limits are token buckets in each
    /// gateway process, not in the store.)
    ///
    /// # Panics
    /// On a store the caller made ([`Self::start_on_store`]): the mesh cannot look inside it.
    pub async fn store_snapshot(&self) -> StoreSnapshot {
        let snapshot = match (&self.redis, &self.memory) {
            (Some((server, connection)), _) => {
                let mut conn = server
                    .client()
                    .get_multiplexed_async_connection()
                    .await
                    .expect("redis connects");
                let prefix = format!("isthmus:{{{connection}}}:");
                StoreSnapshot::of_redis(&mut conn, &prefix)
                    .await
                    .expect("the snapshot reads Redis")
            }
            (None, Some(memory)) => memory.snapshot(),
            (None, None) => panic!("no snapshot of a store the test made itself"),
        };
        snapshot.without("sem:salesforce-budget:")
    }

    /// [`Self::store_snapshot`] once the work a previous request started has landed (two
    /// snapshots 100 ms apart agree), e.g. the audit entry and statistics of a finished sync.
    pub async fn settled_store_snapshot(&self) -> StoreSnapshot {
        let mut snapshot = self.store_snapshot().await;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let again = self.store_snapshot().await;
            if again == snapshot {
                return snapshot;
            }
            snapshot = again;
        }
        snapshot
    }

    /// Redis keys of this test's connection whose name after `isthmus:{<connection>}:` matches
    /// `pattern` (`KEYS` syntax, e.g. `lock:*`); `None` on the in-memory store.
    pub async fn redis_keys(&self, pattern: &str) -> Option<Vec<String>> {
        let (server, connection) = self.redis.as_ref()?;
        let client = server.client();
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

/// The `X-Isthmus-Timestamp` (now) and `X-Isthmus-Signature` (`v2=<hex HMAC-SHA256 of
/// "<timestamp>.<method>.<target>.<body>">`) of a NetSuite event, as the User Event script
/// (`netsuite/…/lib/event_signing.js`) makes them; `target` is the path and query as sent.
pub fn sign_event(secret: &str, method: &str, target: &str, body: &[u8]) -> (String, String) {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    (
        timestamp.to_string(),
        sign_event_at(secret, timestamp, method, target, body),
    )
}

/// The `v2=` signature of an event sent at `timestamp`.
pub fn sign_event_at(
    secret: &str,
    timestamp: u64,
    method: &str,
    target: &str,
    body: &[u8],
) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(format!("{timestamp}.{method}.{target}.").as_bytes());
    mac.update(body);
    format!("v2={}", hex::encode(mac.finalize().into_bytes()))
}

/// Turns every scheduled flow off: calls and records stay exactly what a test caused.
pub fn no_schedules(config: &mut Config) {
    config.clear_schedules();
}

/// A field as text: strings as they are, numbers printed, references as their id.
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

pub use python::python;

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
    let file = |path: &Option<std::path::PathBuf>| {
        path.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
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
        ("ISTHMUS_STORE__TLS_CA_FILE", file(&redis.tls().ca_file)),
        ("ISTHMUS_STORE__TLS_CERT_FILE", file(&redis.tls().cert_file)),
        ("ISTHMUS_STORE__TLS_KEY_FILE", file(&redis.tls().key_file)),
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
        ("ISTHMUS_GRPC__TOKENS", grpc_tokens()),
        ("ISTHMUS_GRPC__TOKEN", GRPC_ADMIN_TOKEN.to_string()),
    ]
}

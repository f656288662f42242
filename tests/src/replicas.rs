//! Replicas as a Kubernetes Deployment runs them: `isthmus serve customers` and `isthmus serve
//! orders` as child processes of this workspace's binary, configured by environment variables
//! only, on one Redis, each with a gateway (in this process) in front of it. The crash tests
//! SIGKILL them mid-batch; the replica tests click through all of their gateways at once.
//!
//! A replica's orders process calls its own customers process (`orders.customers_url`), as a
//! pod's would through the Service. Each process's stderr goes to a log file named after the
//! Redis connection, kept when a test fails and removed by [`Replica::remove_logs`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use isthmus::mesh::SandboxUrls;
use isthmus::Config;
use isthmus_gateway::{ApiKeys, Gateway, Scope};
use isthmus_sandbox::Sandbox;
use isthmus_store::testing::RedisServer;
use isthmus_store::Store;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::faults::wait_until;
use crate::lead::{new_account, new_opportunity};
use crate::{text, TestMesh, GRPC_ADMIN_TOKEN, SF_KEY};

/// The settings every replica runs with, as `ISTHMUS_` variables: no schedules, locks, NetSuite
/// slots and reclaims on a test's time scale.
pub const KNOBS: [(&str, &str); 12] = [
    // Each process serves its metrics on a port of its own.
    ("ISTHMUS_TELEMETRY__METRICS_LISTEN", "127.0.0.1:0"),
    // No scheduled run may take locks or write while the test counts them.
    ("ISTHMUS_SCHEDULES__CUSTOMERS_DELTA", ""),
    ("ISTHMUS_SCHEDULES__RECONCILE", ""),
    ("ISTHMUS_QUEUE__RECLAIM_IDLE_MS", "1000"),
    ("ISTHMUS_QUEUE__BACKOFF_BASE_MS", "50"),
    ("ISTHMUS_QUEUE__BACKOFF_MAX_MS", "400"),
    ("ISTHMUS_QUEUE__RETRYABLE_ATTEMPTS", "10"),
    ("ISTHMUS_CUSTOMERS__LOCK_TTL_MS", "2000"),
    ("ISTHMUS_CUSTOMERS__LOCK_WAIT_MS", "500"),
    ("ISTHMUS_ORDERS__LOCK_TTL_MS", "2000"),
    ("ISTHMUS_ORDERS__LOCK_WAIT_MS", "500"),
    ("ISTHMUS_NETSUITE__TIMEOUT_MS", "2000"),
];

/// The configuration [`KNOBS`] make (for the parts this process runs beside the replicas).
pub fn knob_config() -> Config {
    let knobs = KNOBS.map(|(k, v)| (k.to_string(), v.to_string()));
    Config::load_from(None, knobs).expect("config")
}

/// A mesh started in this process (`TestMesh::start_on_redis`) on the replicas' time scale,
/// as [`KNOBS`] set it.
pub fn on_replica_time(config: &mut Config) {
    config.customers.lock_ttl_ms = 2_000;
    config.customers.lock_wait_ms = 500;
    config.orders.lock_ttl_ms = 2_000;
    config.orders.lock_wait_ms = 500;
    config.netsuite.timeout_ms = 2_000;
    config.queue.reclaim_idle_ms = 1_000;
    config.queue.backoff_base_ms = 50;
    config.queue.backoff_max_ms = 400;
    config.queue.retryable_attempts = 10;
}

/// The Salesforce key the replicas' gateways accept ([`SF_KEY`]).
pub fn api_keys() -> ApiKeys {
    let mut keys = ApiKeys::default();
    keys.insert("test-salesforce", &[Scope::Salesforce], SF_KEY);
    keys
}

/// One replica: its customers process, its orders process when it runs one, and its gateway.
pub struct Replica {
    pub name: String,
    pub customers_port: u16,
    pub orders_port: Option<u16>,
    /// The replica's gateway, once [`Self::serve_gateway`] started it.
    pub gateway: String,
    /// The Redis connection name, which the log files carry.
    tag: String,
    processes: Vec<Child>,
    logs: Vec<PathBuf>,
    stop_gateway: Option<oneshot::Sender<()>>,
}

impl Replica {
    /// Starts the replica's processes (`serve customers`, and `serve orders` when `with_orders`)
    /// against the sandbox at `urls` and `redis`, and waits until each listens.
    pub async fn spawn(
        name: &str,
        urls: &SandboxUrls,
        redis: &RedisServer,
        with_orders: bool,
    ) -> Self {
        let binary = crate::isthmus_binary().await;
        let env = crate::process_env(urls, redis);
        let customers_port = free_port().await;
        let mut replica = Self {
            name: name.to_string(),
            customers_port,
            orders_port: None,
            gateway: String::new(),
            tag: redis.connection().to_string(),
            processes: Vec::new(),
            logs: Vec::new(),
            stop_gateway: None,
        };
        let listen = format!("127.0.0.1:{customers_port}");
        replica.start(
            &binary,
            "customers",
            &env,
            &[("ISTHMUS_CUSTOMERS__LISTEN", listen)],
        );
        if with_orders {
            let port = free_port().await;
            let customers_url = format!("http://127.0.0.1:{customers_port}");
            let listen = format!("127.0.0.1:{port}");
            let extra = [
                ("ISTHMUS_ORDERS__LISTEN", listen),
                ("ISTHMUS_ORDERS__CUSTOMERS_URL", customers_url),
            ];
            replica.start(&binary, "orders", &env, &extra);
            replica.orders_port = Some(port);
        }
        for port in [Some(customers_port), replica.orders_port]
            .into_iter()
            .flatten()
        {
            let up = wait_until(Duration::from_secs(30), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            })
            .await;
            assert!(up, "replica {name} did not listen; see {:?}", replica.logs);
        }
        replica
    }

    fn start(
        &mut self,
        binary: &Path,
        service: &str,
        env: &[(&'static str, String)],
        extra: &[(&'static str, String)],
    ) {
        let log = std::env::temp_dir().join(format!(
            "isthmus-replica-{}-{}-{service}.log",
            self.tag, self.name
        ));
        let file = std::fs::File::create(&log).expect("replica log");
        let child = Command::new(binary)
            .args(["serve", service])
            .env_clear()
            .envs(KNOBS)
            .env("RUST_LOG", "warn")
            .envs(env.iter().cloned())
            .envs(extra.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("isthmus serve {service} starts: {e}"));
        self.processes.push(child);
        self.logs.push(log);
    }

    /// Starts a gateway in this process in front of the replica's services; returns its URL.
    pub async fn serve_gateway(&mut self, store: &Arc<dyn Store>, config: &Config) -> String {
        let local = |port: u16| format!("http://127.0.0.1:{port}");
        let urls = isthmus_gateway::ServiceUrls {
            customers: local(self.customers_port),
            catalog: config.gateway.catalog_url.clone(),
            orders: self
                .orders_port
                .map_or_else(|| config.gateway.orders_url.clone(), local),
            finance: config.gateway.finance_url.clone(),
        };
        let (url, stop) = serve_gateway(&urls, store, config).await;
        self.gateway = url.clone();
        self.stop_gateway = Some(stop);
        url
    }

    /// `SIGKILL`s every process of the replica (no shutdown, nothing settled) and waits until
    /// each is gone; stops its gateway.
    pub async fn kill(&mut self) {
        for process in &mut self.processes {
            process.start_kill().expect("SIGKILL");
        }
        for process in &mut self.processes {
            process.wait().await.expect("the process is gone");
        }
        if let Some(stop) = self.stop_gateway.take() {
            let _ = stop.send(());
        }
    }

    /// Where the replica's processes log.
    pub fn logs(&self) -> &[PathBuf] {
        &self.logs
    }

    /// Removes the replica's logs (once the test passed).
    pub fn remove_logs(&self) {
        for log in &self.logs {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// A gateway in this process in front of the services at `urls`; returns its URL and what stops
/// it. Key rates and the Salesforce budget are out of the way: the click storm is the test.
pub async fn serve_gateway(
    urls: &isthmus_gateway::ServiceUrls,
    store: &Arc<dyn Store>,
    config: &Config,
) -> (String, oneshot::Sender<()>) {
    let grpc = isthmus_grpc::ClientSecurity::new(Some(&GRPC_ADMIN_TOKEN.to_string().into()))
        .expect("token");
    let mut settings = isthmus::wiring::gateway_settings(config);
    settings.limits.salesforce_key_share = 1.0;
    for (_, limit) in &mut settings.limits.rate_limits {
        limit.rate = 10_000.0;
        limit.burst = 10_000;
    }
    let gateway = Gateway::new(urls, &grpc, store.clone(), api_keys(), settings).expect("gateway");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(isthmus_gateway::run(listener, gateway, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

/// A port for a child process to listen on. Not one the kernel hands out for `bind(0)` (the
/// ephemeral range, 32768 and up on Linux): a port freed there can be given to another test's
/// listener before the child binds it, and the replica would then be taken for whatever
/// answers on it. Ports below that range are handed out in turn from a per-process start, each
/// checked free.
async fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 1_000) as u16 * 10,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::AcqRel);
        assert!(port < 32_768, "no free port left below the ephemeral range");
        if TcpListener::bind(("127.0.0.1", port)).await.is_ok() {
            return port;
        }
    }
}

/// A won opportunity and the account it belongs to, with the account's name.
#[derive(Debug, Clone)]
pub struct WonDeal {
    pub account: String,
    pub account_name: String,
    pub opportunity: String,
}

/// `n` new accounts (`{prefix}{i:04} Traders`), each with one won opportunity of two lines in
/// US dollars at the prices the catalog left (run the catalog first).
pub fn won_deals(mesh: &TestMesh, prefix: &str, n: usize) -> Vec<WonDeal> {
    (0..n)
        .map(|i| {
            let account_name = format!("{prefix}{i:04} Traders");
            let account = new_account(mesh, &account_name);
            let lines = [("WIDGET-100", 2.0 + i as f64, 0.0), ("INSTALL", 1.0, 0.0)];
            let opportunity = new_opportunity(mesh, &account, "USD", &lines, "Closed Won");
            WonDeal {
                account,
                account_name,
                opportunity,
            }
        })
        .collect()
}

/// The record a "Sync to NetSuite" button is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonOn {
    Account,
    Opportunity,
}

impl ButtonOn {
    fn path(self) -> &'static str {
        match self {
            ButtonOn::Account => "accounts",
            ButtonOn::Opportunity => "opportunities",
        }
    }
}

/// Clicks "Sync to NetSuite" on record `id` through the gateway at `gateway` (`mode=async`
/// queues the sync); the status and the JSON answer.
pub async fn click(
    http: &reqwest::Client,
    gateway: &str,
    on: ButtonOn,
    id: &str,
    queued: bool,
) -> (u16, Value) {
    let mode = if queued { "?mode=async" } else { "" };
    let response = http
        .post(format!(
            "{gateway}/v1/salesforce/{}/{id}/sync{mode}",
            on.path()
        ))
        .bearer_auth(SF_KEY)
        .send()
        .await
        .expect("gateway answers");
    let status = response.status().as_u16();
    let body = response.json().await.expect("JSON answer");
    (status, body)
}

/// Queues a sync of each of `ids` through `gateway`; the job ids (each answer a 202).
pub async fn queue_clicks(
    http: &reqwest::Client,
    gateway: &str,
    on: ButtonOn,
    ids: &[String],
) -> Vec<String> {
    stream::iter(ids)
        .map(|id| async move {
            let (status, body) = click(http, gateway, on, id, true).await;
            assert_eq!(status, 202, "{id}: {body}");
            body["job_id"].as_str().expect("a job id").to_string()
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// How many of `deals` carry their sales order's id in Salesforce (written back).
pub fn orders_written_back(sandbox: &Sandbox, deals: &[WonDeal]) -> usize {
    deals
        .iter()
        .filter(|d| {
            sandbox
                .sf_record("Opportunity", &d.opportunity)
                .is_some_and(|o| text(o.get("NetSuite_Id__c")).is_some())
        })
        .count()
}

/// NetSuite's records of `record_type` whose `field` reads `value` (a reference's id for a
/// reference field).
fn ns_where(
    sandbox: &Sandbox,
    record_type: &str,
    field: &str,
    value: &str,
) -> Vec<Map<String, Value>> {
    sandbox
        .ns_records(record_type)
        .into_iter()
        .filter(|r| text(r.get(field)).as_deref() == Some(value))
        .collect()
}

/// Each deal's account has exactly one customer, counted by company name (what a duplicate
/// made under another external id would share), written back to the account; and exactly one
/// sales order, counted by the customer it is for (each account has one opportunity), which
/// references the opportunity and is written back to it.
pub fn assert_one_customer_and_order_each(sandbox: &Sandbox, deals: &[WonDeal]) {
    for deal in deals {
        let customers = ns_where(sandbox, "customer", "companyName", &deal.account_name);
        assert_eq!(
            customers.len(),
            1,
            "customers named {:?}: {customers:?}",
            deal.account_name
        );
        let customer = text(customers[0].get("id")).expect("customer id");
        let account = sandbox
            .sf_record("Account", &deal.account)
            .expect("account");
        assert_eq!(
            text(account.get("NetSuite_Id__c")).as_deref(),
            Some(customer.as_str()),
            "the customer of {:?} is written back",
            deal.account_name
        );
        let orders = ns_where(sandbox, "salesOrder", "entity", &customer);
        assert_eq!(
            orders.len(),
            1,
            "sales orders of {:?}: {orders:?}",
            deal.account_name
        );
        assert_eq!(
            text(orders[0].get("externalId")).as_deref(),
            Some(deal.opportunity.as_str()),
            "the order references its opportunity"
        );
        let opportunity = sandbox
            .sf_record("Opportunity", &deal.opportunity)
            .expect("opportunity");
        assert_eq!(
            text(opportunity.get("NetSuite_Id__c")),
            text(orders[0].get("id")),
            "the order of {:?} is written back",
            deal.account_name
        );
    }
}

//! A customers service process (`isthmus serve customers`, gRPC and worker) killed with
//! `SIGKILL` in the middle of a few hundred queued syncs: another worker reclaims the jobs the
//! dead one held, once they have been idle for `queue.reclaim_idle_ms`, and finishes the rest,
//! with every account synced exactly once.
//!
//! The test runs the sandbox and the gateway in this process, and the service as a child
//! process built from this workspace (`cargo build -p isthmus --bin isthmus`, into the target
//! directory this test binary lives in) and configured by environment variables only, as in a
//! Kubernetes Deployment. The second worker is a whole mesh started in this process on the same
//! store.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use isthmus::mesh::{self, MeshOptions, SandboxUrls};
use isthmus::{Config, Secrets};
use isthmus_gateway::{ApiKeys, Gateway, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig, System};
use isthmus_store::testing::RedisServer;
use isthmus_store::{Store, DEFAULT_QUEUE_NAMESPACE};
use isthmus_tests::faults::{
    add_accounts, assert_each_account_synced_once, assert_jobs_done, assert_no_lock_held,
    queue_syncs, retried, wait_queue_drained, wait_until, written_back,
};
use isthmus_tests::SF_KEY;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

const ACCOUNTS: usize = 300;

/// The settings both workers run with, as `ISTHMUS_` variables: locks, NetSuite slots and
/// reclaims on the test's time scale.
const KNOBS: [(&str, &str); 9] = [
    // No scheduled run may take locks or write while the test counts them.
    ("ISTHMUS_SCHEDULES__CUSTOMERS_DELTA", ""),
    ("ISTHMUS_SCHEDULES__RECONCILE", ""),
    ("ISTHMUS_QUEUE__RECLAIM_IDLE_MS", "1000"),
    ("ISTHMUS_QUEUE__BACKOFF_BASE_MS", "50"),
    ("ISTHMUS_QUEUE__BACKOFF_MAX_MS", "400"),
    ("ISTHMUS_QUEUE__RETRYABLE_ATTEMPTS", "10"),
    ("ISTHMUS_CUSTOMERS__LOCK_TTL_MS", "2000"),
    ("ISTHMUS_CUSTOMERS__LOCK_WAIT_MS", "500"),
    ("ISTHMUS_NETSUITE__TIMEOUT_MS", "2000"),
];

/// Serves the sandbox's two systems on free ports, each until its sender is used or dropped.
async fn serve_sandbox(sandbox: &Sandbox) -> (SandboxUrls, Vec<oneshot::Sender<()>>) {
    let mut stops = Vec::new();
    let mut urls = Vec::new();
    for router in [sandbox.salesforce_router(), sandbox.netsuite_router()] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}", listener.local_addr().unwrap()));
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(isthmus_sandbox::serve(listener, router, async move {
            let _ = stopped.await;
        }));
    }
    let netsuite = urls.pop().unwrap();
    let salesforce = urls.pop().unwrap();
    (
        SandboxUrls {
            salesforce,
            netsuite,
        },
        stops,
    )
}

/// `isthmus serve customers` on `port`, pointed at the sandbox and the test's Redis connection.
fn spawn_service(
    binary: &Path,
    port: u16,
    urls: &SandboxUrls,
    redis: &RedisServer,
    log: &Path,
) -> Child {
    let log = std::fs::File::create(log).expect("service log");
    Command::new(binary)
        .args(["serve", "customers"])
        .env_clear()
        .envs(KNOBS)
        .env("RUST_LOG", "warn")
        .env("ISTHMUS_CUSTOMERS__LISTEN", format!("127.0.0.1:{port}"))
        .envs(isthmus_tests::process_env(urls, redis))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("isthmus serve customers starts")
}

/// A gateway in this process in front of the customers service on `port`; returns its URL and
/// what stops it.
async fn serve_gateway(
    port: u16,
    store: &Arc<dyn Store>,
    config: &Config,
) -> (String, oneshot::Sender<()>) {
    // Only the customers service runs here; the other services' channels stay unused.
    let urls = isthmus_gateway::ServiceUrls {
        customers: format!("http://127.0.0.1:{port}"),
        catalog: config.gateway.catalog_url.clone(),
        orders: config.gateway.orders_url.clone(),
        finance: config.gateway.finance_url.clone(),
    };
    let grpc = isthmus_grpc::ClientSecurity::new(Some(
        &isthmus_tests::GRPC_ADMIN_TOKEN.to_string().into(),
    ))
    .expect("token");
    let mut settings = isthmus::wiring::gateway_settings(config);
    // The click storm is the test, not the key's rate or its Salesforce budget.
    settings.limits.salesforce_key_share = 1.0;
    for (_, limit) in &mut settings.limits.rate_limits {
        limit.rate = 10_000.0;
        limit.burst = 10_000;
    }
    let gateway = Gateway::new(&urls, &grpc, store.clone(), api_keys(), settings).expect("gateway");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(isthmus_gateway::run(listener, gateway, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

fn api_keys() -> ApiKeys {
    let mut keys = ApiKeys::default();
    keys.insert("test-salesforce", &[Scope::Salesforce], SF_KEY);
    keys
}

fn config() -> Config {
    let knobs = KNOBS.map(|(k, v)| (k.to_string(), v.to_string()));
    Config::load_from(None, knobs).expect("config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_and_duplicates_nothing() {
    let binary = isthmus_tests::isthmus_binary().await;
    let redis = RedisServer::start();
    let store: Arc<dyn Store> = Arc::new(redis.store().await);
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..Default::default()
    })
    .expect("sandbox");
    let (urls, _sandbox_stops) = serve_sandbox(&sandbox).await;
    let accounts = add_accounts(&sandbox, "Killed", ACCOUNTS);
    // Slow NetSuite down a little so the kill lands mid-run.
    sandbox.set_latency(System::NetSuite, Duration::from_millis(10));

    // The service as its own process, and a gateway here in front of it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("isthmus-killed-{}.log", redis.connection()));
    let mut service = spawn_service(&binary, port, &urls, &redis, &log);
    let config = config();
    let (gateway, stop_gateway) = serve_gateway(port, &store, &config).await;
    let http = reqwest::Client::new();
    let up = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    assert!(up, "the service did not listen; see {}", log.display());

    let jobs = queue_syncs(&http, &gateway, &accounts).await;
    let quarter = ACCOUNTS / 4;
    let started = wait_until(Duration::from_secs(60), || {
        written_back(&sandbox, &accounts) >= quarter
    })
    .await;
    assert!(started, "the service ran syncs; see {}", log.display());
    service.start_kill().expect("SIGKILL");
    service.wait().await.expect("the service is gone");
    let at_kill = written_back(&sandbox, &accounts);
    assert!(at_kill < ACCOUNTS, "killed before the end: {at_kill} done");
    let queue = store.queue(DEFAULT_QUEUE_NAMESPACE).await.unwrap();
    let depth = queue.queue_depth().await.unwrap();
    assert!(
        depth.pending > 0,
        "the dead worker held jobs it had not settled: {depth:?}"
    );
    let _ = stop_gateway.send(());

    // Another worker, on the same Redis connection, finishes the run. It first waits out what
    // the dead one left: its jobs' idle time, its locks' leases, and its NetSuite slots'
    // leases (call timeout + 5 s), which hold the account's concurrency until they run out.
    let mut secrets = Secrets {
        netsuite_hmac_secret: Some(isthmus_tests::NS_SIGNING_SECRET.to_string().into()),
        ..Secrets::default()
    };
    let mut config = config;
    isthmus_tests::no_schedules(&mut config);
    isthmus_tests::with_grpc_tokens(&mut secrets);
    mesh::point_at_sandbox(&mut config, &mut secrets, &urls);
    let rescue = mesh::start(MeshOptions {
        config,
        secrets,
        store: store.clone(),
        api_keys: api_keys(),
        gateway_addr: ([127, 0, 0, 1], 0).into(),
        sandbox: None,
    })
    .await
    .expect("the second worker starts");

    let depth = wait_queue_drained(queue.as_ref(), Duration::from_secs(120)).await;
    assert_eq!(depth.dead, 0, "nothing dead-lettered: {depth:?}");
    let records = assert_jobs_done(store.as_ref(), &jobs).await;
    assert!(
        retried(&records) >= 1,
        "the jobs the dead worker held were reclaimed and run again"
    );
    assert_each_account_synced_once(&sandbox, &accounts);
    assert_no_lock_held(store.as_ref(), &accounts).await;
    let mut raw = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let locks: Vec<String> = redis::cmd("KEYS")
        .arg(format!("isthmus:{{{}}}:lock:*", redis.connection()))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(locks.is_empty(), "locks left in Redis: {locks:?}");
    rescue.shutdown().await.expect("clean shutdown");
    let _ = std::fs::remove_file(&log);
}

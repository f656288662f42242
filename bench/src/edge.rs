//! `isthmus-bench-edge`: the gateway's memory under 1,000 concurrent slow requests.
//!
//! It starts Redis, the sandbox and the services in this process, and the gateway alone as a
//! child process (`isthmus serve gateway`, the binary next to this one), so the RSS read from
//! `/proc/<pid>/status` is the gateway's own. Then it measures the gateway's RSS:
//! 1. idle, after a few warm-up requests;
//! 2. under `N` slow syncs at once (a latency `L` on every Salesforce call, so each sync holds
//!    its request for several `L`) plus `N` slow bodies (a NetSuite event whose body never
//!    finishes: each connection sends a part, then waits for the gateway's body timeout);
//!    the peak over the run;
//! 3. 5 s and 30 s after every request has ended (with a sync a second meanwhile).

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use isthmus::mesh::{self, MeshOptions};
use isthmus::{Config, Secrets};
use isthmus_gateway::ApiKeys;
use isthmus_sandbox::{Sandbox, SandboxConfig, System};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "bench-edge-key-0123456789abcdef";

#[derive(Parser)]
#[command(about = "Gateway RSS idle, under slow requests, and after")]
struct Args {
    /// Slow syncs and slow bodies, each this many at once.
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// Latency added to every Salesforce call, ms.
    #[arg(long, default_value_t = 1000)]
    latency_ms: u64,
    /// The gateway's body read timeout, ms (how long a slow body is held).
    #[arg(long, default_value_t = 5000)]
    body_timeout_ms: u64,
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// One request on its own connection; the status (0 when the connection failed).
async fn request(addr: &str, head: String, body: &[u8]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return 0;
    };
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body).await.is_err() {
        return 0;
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let redis = isthmus_store::testing::RedisServer::start();
    let store: Arc<dyn isthmus_store::Store> = Arc::new(redis.store_for("bench-edge").await);
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..Default::default()
    })?;
    sandbox.salesforce_org().set_api_allocation(100_000_000, 0);
    let mut config = Config::load_from(None, Vec::new())?;
    config.clear_schedules();
    // The services admit only authenticated calls: a token this process's mesh and the gateway
    // process present. The mesh's own gateway is unused; it still needs a signing secret.
    let mut secrets = Secrets::default();
    let token = isthmus::wiring::grpc::mint_one_process_secrets(&mut secrets)
        .grpc_token
        .context("a minted gRPC token")?;
    let services = mesh::start(MeshOptions {
        config,
        secrets,
        store,
        api_keys: ApiKeys::default(),
        gateway_addr: ([127, 0, 0, 1], 0).into(),
        sandbox: Some(sandbox.clone()),
    })
    .await?;
    // One account per slow sync: syncs of one record wait for its lock instead of running.
    let mut accounts = Vec::with_capacity(args.requests);
    for i in 0..args.requests {
        let mut fields = serde_json::Map::new();
        fields.insert("Name".into(), format!("Edge Bench {i:04}").into());
        accounts.push(
            sandbox
                .salesforce_org()
                .insert_as_admin("Account", &fields)?,
        );
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe()?.with_file_name("isthmus");
    let n = args.requests;
    let mut gateway = tokio::process::Command::new(&exe)
        .args(["serve", "gateway"])
        .env("ISTHMUS_GATEWAY__LISTEN", &addr)
        .env("ISTHMUS_GATEWAY__CUSTOMERS_URL", &services.customers_url)
        .env("ISTHMUS_GATEWAY__CATALOG_URL", &services.catalog_url)
        .env("ISTHMUS_GATEWAY__ORDERS_URL", &services.orders_url)
        .env("ISTHMUS_GATEWAY__FINANCE_URL", &services.finance_url)
        .env(
            "ISTHMUS_GATEWAY__API_KEYS",
            format!("bench:salesforce+netsuite:{KEY}"),
        )
        .env("ISTHMUS_GATEWAY__MAX_IN_FLIGHT", (3 * n).to_string())
        .env(
            "ISTHMUS_GATEWAY__BODY_READ_TIMEOUT_MS",
            args.body_timeout_ms.to_string(),
        )
        .env("ISTHMUS_GATEWAY__SALESFORCE_KEY_SHARE", "1")
        .env("ISTHMUS_GATEWAY__RATE_LIMITS__SALESFORCE__RATE", "1000000")
        .env("ISTHMUS_GATEWAY__RATE_LIMITS__SALESFORCE__BURST", "1000000")
        .env("ISTHMUS_GATEWAY__RATE_LIMITS__NETSUITE__RATE", "1000000")
        .env("ISTHMUS_GATEWAY__RATE_LIMITS__NETSUITE__BURST", "1000000")
        .env("ISTHMUS_GRPC__TOKEN", &token)
        // The slow bodies are unsigned events: a signature would refuse them before the body.
        .env("ISTHMUS_GATEWAY__NETSUITE_EVENTS_UNSIGNED", "true")
        .env("ISTHMUS_STORE__REDIS_URL", redis.url())
        .env("ISTHMUS_STORE__CONNECTION", "bench-edge")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it: cargo build --release --bins)",
                exe.display()
            )
        })?;
    let pid = gateway.id().context("gateway pid")?;

    // Wait for the gateway, then warm it up.
    let sync_head = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {KEY}\r\n\
             content-length: 0\r\nconnection: close\r\n\r\n"
        )
    };
    let sync_path = |id: &str| format!("/v1/salesforce/accounts/{id}/sync?dry_run=true");
    let began = Instant::now();
    while request(
        &addr,
        "GET /healthz HTTP/1.1\r\nhost: b\r\nconnection: close\r\n\r\n".into(),
        b"",
    )
    .await
        != 200
    {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(20),
            "the gateway did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in accounts.iter().take(20) {
        request(&addr, sync_head(&sync_path(id)), b"").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(pid)?;

    // N slow syncs and N slow bodies at once; the peak RSS while they run.
    sandbox.set_latency(System::Salesforce, Duration::from_millis(args.latency_ms));
    let peak = Arc::new(AtomicU64::new(idle));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while let Ok(rss) = rss_kib(pid) {
                peak.fetch_max(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let event_head = format!(
        "POST /v1/netsuite/events HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {KEY}\r\n\
         content-type: application/json\r\ncontent-length: 60000\r\nconnection: close\r\n\r\n"
    );
    let part = vec![b' '; 30_000];
    let began = Instant::now();
    let syncs = accounts
        .iter()
        .map(|id| request(&addr, sync_head(&sync_path(id)), b""));
    let bodies = (0..n).map(|_| request(&addr, event_head.clone(), &part));
    let (syncs, bodies) = tokio::join!(
        futures::future::join_all(syncs),
        futures::future::join_all(bodies)
    );
    let loaded_s = began.elapsed().as_secs_f64();
    let under = rss_kib(pid)?;
    sandbox.set_latency(System::Salesforce, Duration::ZERO);
    // After: a trickle of ordinary traffic (a sync a second), as a gateway keeps getting.
    let mut after = Vec::new();
    for second in 1..=30 {
        request(&addr, sync_head(&sync_path(&accounts[second % 20])), b"").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if [5, 30].contains(&second) {
            after.push(rss_kib(pid)?);
        }
    }
    sampling.abort();
    let peak = peak.load(Ordering::Relaxed).max(under);

    let histogram = |answers: &[u16]| {
        let mut counts = std::collections::BTreeMap::<u16, usize>::new();
        for status in answers {
            *counts.entry(*status).or_default() += 1;
        }
        counts
    };
    println!(
        "slow syncs by status: {:?}; slow bodies by status: {:?}; {loaded_s:.1} s (0: no answer)",
        histogram(&syncs),
        histogram(&bodies),
    );
    println!();
    println!("| gateway RSS | MiB |");
    println!("|---|---|");
    println!(
        "| idle (after 20 warm-up syncs) | {:.1} |",
        idle as f64 / 1024.0
    );
    println!(
        "| peak under {n} slow syncs + {n} slow bodies | {:.1} |",
        peak as f64 / 1024.0
    );
    println!("| 5 s after they ended | {:.1} |", after[0] as f64 / 1024.0);
    println!(
        "| 30 s after they ended | {:.1} |",
        after[1] as f64 / 1024.0
    );
    gateway.kill().await.ok();
    services.shutdown().await?;
    Ok(())
}

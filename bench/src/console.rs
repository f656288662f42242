//! `isthmus-bench-console`: the operations console's page latency with a full Redis.
//!
//! It starts Redis, the sandbox and the whole mesh in this process (schedules off, so nothing
//! else runs), seeds the store directly — `N` dead letters in the customers queue, `M` parked
//! conflicts, a day of sync statistics and audit entries — signs in once over HTTP, and then
//! reads each console page `R` times in a row, timing each request at the client on loopback
//! (sent → body read): an upper bound of the server's time. Every answer must be 200 and show
//! what it should (e.g. 50 rows), so a broken page cannot pass for a fast one; a failed check
//! makes the run exit non-zero after the report. For one more request of each page it reports
//! what Redis did (`INFO commandstats` deltas), which shows whether a page scans.
//!
//! The target (issue): every page "well under 100 ms server time" with 10,000 dead letters and
//! 10,000 parked conflicts.

#[path = "console/commandstats.rs"]
mod commandstats;
#[path = "console/pages.rs"]
mod pages;
#[path = "console/seed.rs"]
mod seed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use isthmus::mesh::{self, MeshOptions};
use isthmus::{wiring, Config, Secrets};
use isthmus_engine::customers::FLOW_ACCOUNT_TO_CUSTOMER;
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use serde::Serialize;
use serde_json::{json, Value};

use commandstats::CommandDelta;
use pages::{Page, Seeded};

#[derive(Parser)]
#[command(about = "Console page latency with many dead letters and parked conflicts")]
struct Args {
    /// Dead letters seeded in the customers queue.
    #[arg(long, default_value_t = 10_000)]
    dead_letters: usize,
    /// Parked conflicts seeded.
    #[arg(long, default_value_t = 10_000)]
    conflicts: usize,
    /// Sync statistics samples over the last 24 hours (four flows).
    #[arg(long, default_value_t = 5_000)]
    samples: usize,
    /// Audit entries over other accounts (the record page's account gets 100 more).
    #[arg(long, default_value_t = 2_000)]
    audit: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Also print the results as JSON.
    #[arg(long)]
    json: bool,
}

const SF_KEY: &str = "bench-salesforce-key-0123456789abcdef";
const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef";
/// Audit entries of the record page's account (a record's history keeps its newest 100).
const RECORD_HISTORY: usize = 100;
/// The target, ms.
const TARGET_MS: f64 = 100.0;

#[derive(Serialize)]
struct PageResult {
    page: &'static str,
    path: String,
    rounds: usize,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    /// Median time to the response's headers: what is left to the body is its transfer.
    head_p50_ms: f64,
    bytes: usize,
    /// `ok`, or what the answer lacked.
    check: String,
    redis: Vec<CommandDelta>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("REDIS_URL").is_some() {
        eprintln!("note: REDIS_URL is set: Redis command counts include its other clients");
    }
    let redis = isthmus_store::testing::RedisServer::start();
    let store = Arc::new(redis.store_for("bench-console").await);

    // Seeded before the mesh starts, so no worker sees the jobs on their way to the dead letters.
    let letters = seed::timed(
        "dead letters",
        seed::dead_letters(&store, args.dead_letters),
    )
    .await?;
    seed::timed(
        "parked conflicts",
        seed::parked_conflicts(&store, args.conflicts),
    )
    .await?;
    seed::timed(
        "sync statistics",
        seed::sync_statistics(&store, args.samples),
    )
    .await?;

    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..Default::default()
    })?;
    let mut config = Config::load_from(None, Vec::new())?;
    config.clear_schedules();
    let mut keys = ApiKeys::default();
    keys.insert("bench-salesforce", &[Scope::Salesforce], SF_KEY);
    keys.insert("bench-admin", &[Scope::Admin], ADMIN_KEY);
    // The services admit only authenticated calls, and events are signed: minted for the run.
    let mut mesh_secrets = Secrets::default();
    wiring::grpc::mint_one_process_secrets(&mut mesh_secrets);
    let mesh = mesh::start(MeshOptions {
        config,
        secrets: mesh_secrets,
        store: store.clone(),
        api_keys: keys,
        gateway_addr: ([127, 0, 0, 1], 0).into(),
        sandbox: Some(sandbox.clone()),
    })
    .await?;
    let gateway = mesh.gateway_url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // The record page's account: linked by a real sync, with a history.
    let account = isthmus_sandbox::seed::demo_account_id(&sandbox).context("demo account")?;
    let synced: Value = http
        .post(format!("{gateway}/v1/salesforce/accounts/{account}/sync"))
        .bearer_auth(SF_KEY)
        .send()
        .await?
        .json()
        .await?;
    let customer = synced["netsuite_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if customer.is_empty() {
        bail!("the demo account did not sync: {synced}");
    }
    seed::timed(
        "audit entries",
        seed::audit(&store, args.audit, &account, &customer, RECORD_HISTORY),
    )
    .await?;

    let cookie = sign_in(&http, &gateway).await?;
    let seeded = Seeded {
        dead_letters: args.dead_letters,
        conflicts: args.conflicts,
        letter: letters.first().cloned().context("no dead letter seeded")?,
        account: account.clone(),
        history: RECORD_HISTORY + 1,
        flow: FLOW_ACCOUNT_TO_CUSTOMER,
    };
    let idle = idle_interval(redis.url())?;
    let mut results = Vec::new();
    for page in pages::pages(&seeded) {
        results.push(measure(&http, &gateway, &cookie, &page, args.rounds, redis.url()).await?);
    }
    mesh.shutdown().await?;
    // Ends the spawned redis-server: `process::exit` below runs no destructor.
    drop(redis);

    report(&args, &results, &idle);
    let failed: Vec<&PageResult> = results.iter().filter(|r| r.check != "ok").collect();
    if !failed.is_empty() {
        for r in &failed {
            eprintln!("check failed: {} ({}): {}", r.page, r.path, r.check);
        }
        std::process::exit(2);
    }
    Ok(())
}

/// Signs in with the admin key: the session cookie (`name=value`) from the 303's `Set-Cookie`.
async fn sign_in(http: &reqwest::Client, gateway: &str) -> anyhow::Result<String> {
    let answer = http
        .post(format!("{gateway}/console/login"))
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await?;
    if answer.status() != 303 {
        bail!("sign-in answered {}", answer.status());
    }
    let set = answer
        .headers()
        .get("set-cookie")
        .context("sign-in set no cookie")?
        .to_str()?;
    Ok(set.split(';').next().unwrap_or_default().to_string())
}

/// One GET's answer and timing.
struct Answer {
    status: u16,
    body: String,
    /// From sending to the response's headers received (the server has started answering).
    head_ms: f64,
    /// From sending to the body fully read.
    ms: f64,
}

async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<Answer> {
    let started = Instant::now();
    let answer = http.get(url).header("cookie", cookie).send().await?;
    let head_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = answer.status().as_u16();
    let body = answer.text().await?;
    Ok(Answer {
        status,
        body,
        head_ms,
        ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Reads `page` once to check it (and warm its connections), once between two commandstats
/// reads, then `rounds` times timed.
async fn measure(
    http: &reqwest::Client,
    gateway: &str,
    cookie: &str,
    page: &Page,
    rounds: usize,
    redis_url: &str,
) -> anyhow::Result<PageResult> {
    let url = format!("{gateway}{}", page.path);
    let first = get(http, &url, cookie).await?;
    let check = if first.status != 200 {
        format!("answered {}", first.status)
    } else {
        page.check(&first.body).err().unwrap_or_else(|| "ok".into())
    };
    let before = commandstats::snapshot(redis_url)?;
    get(http, &url, cookie).await?;
    let after = commandstats::snapshot(redis_url)?;
    let mut ms = Vec::with_capacity(rounds);
    let mut head_ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let answer = get(http, &url, cookie).await?;
        if answer.status != 200 {
            bail!("{} answered {} while timed", page.path, answer.status);
        }
        ms.push(answer.ms);
        head_ms.push(answer.head_ms);
    }
    ms.sort_by(f64::total_cmp);
    head_ms.sort_by(f64::total_cmp);
    Ok(PageResult {
        page: page.name,
        path: page.path.clone(),
        rounds,
        p50_ms: quantile(&ms, 0.50),
        p95_ms: quantile(&ms, 0.95),
        max_ms: ms.last().copied().unwrap_or(0.0),
        head_p50_ms: quantile(&head_ms, 0.50),
        bytes: first.body.len(),
        check,
        redis: commandstats::delta(&before, &after),
    })
}

/// How long the idle interval lasts.
const IDLE: Duration = Duration::from_secs(2);

/// What Redis does in [`IDLE`] with no request (the workers' polling of their queues), for
/// telling a page's commands from the background in the deltas.
fn idle_interval(redis_url: &str) -> anyhow::Result<Vec<CommandDelta>> {
    let before = commandstats::snapshot(redis_url)?;
    std::thread::sleep(IDLE);
    let after = commandstats::snapshot(redis_url)?;
    Ok(commandstats::delta(&before, &after))
}

/// Nearest rank of sorted `ms`.
fn quantile(ms: &[f64], q: f64) -> f64 {
    if ms.is_empty() {
        return 0.0;
    }
    let rank = ((ms.len() as f64) * q).ceil().max(1.0) as usize;
    ms[rank.min(ms.len()) - 1]
}

fn report(args: &Args, results: &[PageResult], idle: &[CommandDelta]) {
    println!();
    println!(
        "{} dead letters, {} parked conflicts, {} sync samples, {} rounds a page",
        args.dead_letters, args.conflicts, args.samples, args.rounds
    );
    println!();
    println!("| page | path | p50 ms | p95 ms | max ms | headers p50 ms | KiB | check | p95 < {TARGET_MS} ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in results {
        println!(
            "| {} | `{}` | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} |",
            r.page,
            r.path,
            r.p50_ms,
            r.p95_ms,
            r.max_ms,
            r.head_p50_ms,
            r.bytes as f64 / 1024.0,
            r.check,
            if r.check != "ok" {
                "– (broken)"
            } else if r.p95_ms < TARGET_MS {
                "yes"
            } else {
                "**no**"
            },
        );
    }
    println!();
    println!("Redis commands for one request of each page (INFO commandstats deltas):");
    println!();
    println!("| page | commands (calls, server µs) | scans |");
    println!("|---|---|---|");
    for r in results {
        let scans = commandstats::scans(&r.redis);
        println!(
            "| {} | {} | {} |",
            r.page,
            commandstats::summary(&r.redis, 6),
            if scans.is_empty() {
                "none".to_string()
            } else {
                scans.join(", ")
            }
        );
    }
    println!(
        "| (idle, {} s, no request) | {} | {} |",
        IDLE.as_secs(),
        commandstats::summary(idle, 6),
        if commandstats::scans(idle).is_empty() {
            "none"
        } else {
            "yes"
        }
    );
    if args.json {
        let out = json!({
            "dead_letters": args.dead_letters,
            "conflicts": args.conflicts,
            "samples": args.samples,
            "rounds": args.rounds,
            "target_ms": TARGET_MS,
            "pages": results,
            "idle_redis": idle,
        });
        println!();
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
}

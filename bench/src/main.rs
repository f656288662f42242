//! `isthmus-bench`: the backfill throughput benchmark of issue 3.
//!
//! It starts the sandbox in this process with NetSuite's concurrency limit `C` and latency `L`,
//! creates `N` new Salesforce accounts, and runs `isthmus backfill accounts` as separate
//! processes (one, then three sharing one Redis, each taking a shard). It reports accounts/s
//! against the ceiling `C / L` (one NetSuite call per new account), the peak NetSuite
//! concurrency and over-limit answers the sandbox saw, Salesforce API calls per 1,000 accounts,
//! and p50/p99 per account. Build first: `cargo build --release --workspace --bins`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use isthmus_engine::customers::backfill::{percentile, BackfillReport};
use isthmus_sandbox::{credentials as c, Sandbox, SandboxConfig, System, TenantStep};
use serde_json::{json, Map};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(about = "Account backfill throughput against the sandbox")]
struct Args {
    /// New Salesforce accounts to backfill.
    #[arg(long, default_value_t = 2000)]
    accounts: usize,
    /// NetSuite concurrency limit C (sandbox and Isthmus).
    #[arg(long, default_value_t = 5)]
    limit: usize,
    /// NetSuite latency L per call, ms.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// Mesh process counts to run, comma-separated.
    #[arg(long, default_value = "1,3", value_delimiter = ',')]
    processes: Vec<u32>,
    /// Workers of the run, split across its processes as `isthmus backfill --shard` splits
    /// `customers.backfill_concurrency` (⌈W/N⌉ each; `--concurrency 30` runs 10 in each of 3).
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// The NetSuite account's other tenant: slots it holds, as `after_ms:slots` steps timed from
    /// each run's start, comma-separated (e.g. `0:0,20000:4,40000:2`). Empty: an idle tenant.
    #[arg(long, value_delimiter = ',', value_parser = parse_step)]
    other_tenant: Vec<TenantStep>,
    /// Learn the NetSuite limit from the free share (`netsuite.adaptive_concurrency`); `false`
    /// runs a fixed semaphore of C for comparison.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    adaptive: bool,
    /// `salesforce.bulk_threshold`: above this many accounts the backfill reads and writes
    /// Salesforce through Bulk API 2.0 jobs (the default is the configuration's default).
    #[arg(long, default_value_t = 2000)]
    bulk_threshold: u64,
    /// Print the result rows as JSON lines too.
    #[arg(long)]
    json: bool,
}

/// One row of the result table.
#[derive(Debug, serde::Serialize)]
struct Row {
    processes: u32,
    accounts: u64,
    created: u64,
    /// Accounts handed to the batch lane after their over-limit retries ran out (not lost: a
    /// worker retries them), as the backfill reports them.
    queued: u64,
    failed: u64,
    seconds: f64,
    accounts_per_s: f64,
    ceiling_per_s: f64,
    share_of_ceiling: f64,
    peak_netsuite_concurrency: usize,
    over_limit_errors: u64,
    /// Over-limit answers per NetSuite call.
    over_limit_share: f64,
    /// The time-averaged free share of the account, (C − other tenant) / L, over the run.
    free_share_per_s: f64,
    share_of_free: f64,
    /// Our NetSuite calls' time in the sandbox's window, per call (latency plus handling).
    netsuite_busy_ms_per_call: f64,
    /// That time summed, over the slot time that was free: what the gaps between calls (a slot
    /// handed on, the run's start and end, a limit below the free share) did not use.
    slot_time_used: f64,
    /// Seconds from the first NetSuite call's start to the last one's end.
    netsuite_active_s: f64,
    salesforce_calls: u64,
    salesforce_calls_per_1000: f64,
    netsuite_calls: u64,
    p50_ms: f64,
    p99_ms: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let isthmus = sibling_binary("isthmus")?;
    let redis = isthmus_store::testing::RedisServer::start();
    let mut rows = Vec::new();
    for &processes in &args.processes {
        rows.push(run(&args, &isthmus, redis.url(), processes).await?);
    }
    println!();
    println!(
        "| processes | accounts | seconds | accounts/s | ceiling C/L | share | peak NS concurrency | over-limit | SF calls /1000 | p50 ms | p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.1} % | {} | {} | {:.1} | {:.0} | {:.0} |",
            r.processes,
            r.created,
            r.seconds,
            r.accounts_per_s,
            r.ceiling_per_s,
            r.share_of_ceiling * 100.0,
            r.peak_netsuite_concurrency,
            r.over_limit_errors,
            r.salesforce_calls_per_1000,
            r.p50_ms,
            r.p99_ms
        );
    }
    println!();
    println!("| processes | adaptive | created / queued / failed | free share (C − other)/L, time-averaged | share of free | NetSuite calls | over-limit | over-limit share | NS ms per call | free slot time used | NS calls' stretch |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} / {} / {} | {:.1}/s | {:.1} % | {} | {} | {:.3} % | {:.1} | {:.1} % | {:.1} s |",
            r.processes,
            args.adaptive,
            r.created,
            r.queued,
            r.failed,
            r.free_share_per_s,
            r.share_of_free * 100.0,
            r.netsuite_calls,
            r.over_limit_errors,
            r.over_limit_share * 100.0,
            r.netsuite_busy_ms_per_call,
            r.slot_time_used * 100.0,
            r.netsuite_active_s
        );
    }
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
    }
    Ok(())
}

/// The `isthmus` binary built beside this one.
fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let here = std::env::current_exe()?;
    let path = here.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} not found: build it first with `cargo build --release --workspace --bins`",
            path.display()
        );
    }
    Ok(path)
}

async fn run(
    args: &Args,
    isthmus: &PathBuf,
    redis_url: &str,
    processes: u32,
) -> anyhow::Result<Row> {
    let sandbox = Sandbox::new(SandboxConfig {
        seed: false,
        netsuite_concurrency_limit: Some(args.limit),
        ..Default::default()
    })?;
    sandbox.set_latency(System::NetSuite, Duration::from_millis(args.latency_ms));
    for i in 0..args.accounts {
        let mut account = Map::new();
        account.insert("Name".into(), json!(format!("Benchmark Account {i:05}")));
        account.insert("BillingCity".into(), json!("Springfield"));
        account.insert("BillingCountry".into(), json!("US"));
        sandbox.sf_insert("Account", account)?;
    }
    let stop = CancellationToken::new();
    let sf = TcpListener::bind("127.0.0.1:0").await?;
    let ns = TcpListener::bind("127.0.0.1:0").await?;
    let (sf_url, ns_url) = (
        format!("http://{}", sf.local_addr()?),
        format!("http://{}", ns.local_addr()?),
    );
    for (listener, router) in [
        (sf, sandbox.salesforce_router()),
        (ns, sandbox.netsuite_router()),
    ] {
        let stop = stop.clone();
        tokio::spawn(isthmus_sandbox::serve(listener, router, async move {
            stop.cancelled().await
        }));
    }
    sandbox.reset_calls();
    sandbox.set_netsuite_other_tenant(args.other_tenant.clone());
    let connection = format!("bench-{}-{}", processes, std::process::id());
    eprintln!(
        "running {processes} process(es) over {} accounts…",
        args.accounts
    );

    let started = Instant::now();
    let mut children = Vec::new();
    for shard in 0..processes {
        let mut cmd = tokio::process::Command::new(isthmus);
        cmd.args([
            "backfill",
            "accounts",
            "--json",
            "--concurrency",
            &args
                .concurrency
                .div_ceil(processes as usize)
                .max(1)
                .to_string(),
        ]);
        if processes > 1 {
            cmd.args(["--shard", &format!("{shard}/{processes}")]);
        }
        cmd.env("ISTHMUS_STORE__REDIS_URL", redis_url)
            .env("ISTHMUS_STORE__CONNECTION", &connection)
            .env("ISTHMUS_SALESFORCE__LOGIN_URL", &sf_url)
            .env("ISTHMUS_SALESFORCE__CLIENT_ID", c::SF_CLIENT_ID)
            .env("ISTHMUS_SALESFORCE__CLIENT_SECRET", c::SF_CLIENT_SECRET)
            .env("ISTHMUS_NETSUITE__ACCOUNT_ID", c::NS_ACCOUNT_ID)
            .env("ISTHMUS_NETSUITE__BASE_URL", &ns_url)
            .env("ISTHMUS_NETSUITE__CONSUMER_KEY", c::NS_CONSUMER_KEY)
            .env("ISTHMUS_NETSUITE__CONSUMER_SECRET", c::NS_CONSUMER_SECRET)
            .env("ISTHMUS_NETSUITE__TOKEN_ID", c::NS_TOKEN_ID)
            .env("ISTHMUS_NETSUITE__TOKEN_SECRET", c::NS_TOKEN_SECRET)
            .env(
                "ISTHMUS_NETSUITE__CONCURRENCY_LIMIT",
                args.limit.to_string(),
            )
            .env(
                "ISTHMUS_NETSUITE__ADAPTIVE_CONCURRENCY",
                args.adaptive.to_string(),
            )
            .env(
                "ISTHMUS_SALESFORCE__BULK_THRESHOLD",
                args.bulk_threshold.to_string(),
            )
            // The bench's own RUST_LOG reaches the backfill (its logs go to stderr).
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        children.push(cmd.spawn().context("starting isthmus backfill")?);
    }
    let mut reports = Vec::new();
    for child in children {
        let output = child.wait_with_output().await?;
        if !output.status.success() {
            bail!("a backfill process failed: {}", output.status);
        }
        // stdout is the report alone (the command logs to stderr).
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.trim();
        let report: BackfillReport = serde_json::from_str(line)
            .with_context(|| format!("report: {}", &stdout[..stdout.len().min(2_000)]))?;
        reports.push(report);
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.cancel();

    let calls = sandbox.calls();
    let counters = sandbox.counters();
    let created: u64 = reports.iter().map(|r| r.progress.created).sum();
    let failed: u64 = reports.iter().map(|r| r.progress.failed).sum();
    let queued: u64 = reports.iter().map(|r| r.progress.queued).sum();
    let latencies: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.latencies_ms.iter().copied())
        .collect();
    let ceiling = args.limit as f64 / (args.latency_ms as f64 / 1000.0);
    let accounts_per_s = created as f64 / seconds;
    let accounts = args.accounts as u64;
    let free_slots = free_share(&args.other_tenant, args.limit, seconds);
    let free_share = free_slots / (args.latency_ms as f64 / 1000.0);
    let busy_s = counters.netsuite.busy_micros as f64 / 1e6;
    Ok(Row {
        processes,
        accounts,
        created,
        queued,
        failed,
        seconds,
        accounts_per_s,
        ceiling_per_s: ceiling,
        share_of_ceiling: accounts_per_s / ceiling,
        peak_netsuite_concurrency: counters.netsuite.peak_in_flight,
        over_limit_errors: counters.netsuite.rejected_over_limit,
        over_limit_share: counters.netsuite.rejected_over_limit as f64
            / calls.netsuite_total().max(1) as f64,
        free_share_per_s: free_share,
        share_of_free: accounts_per_s / free_share,
        netsuite_busy_ms_per_call: busy_s * 1000.0 / calls.netsuite_total().max(1) as f64,
        slot_time_used: busy_s / (free_slots * seconds).max(f64::MIN_POSITIVE),
        netsuite_active_s: counters.netsuite.active_micros as f64 / 1e6,
        salesforce_calls: calls.salesforce_total(),
        salesforce_calls_per_1000: calls.salesforce_total() as f64 * 1000.0
            / accounts.max(1) as f64,
        netsuite_calls: calls.netsuite_total(),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
    })
}

/// `after_ms:slots`, one step of the other tenant's load.
fn parse_step(text: &str) -> Result<TenantStep, String> {
    let (after_ms, slots) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected after_ms:slots"))?;
    Ok(TenantStep {
        after_ms: after_ms
            .trim()
            .parse()
            .map_err(|e| format!("{text:?}: {e}"))?,
        slots: slots.trim().parse().map_err(|e| format!("{text:?}: {e}"))?,
    })
}

/// The slots left free to us (C minus the other tenant's), averaged over the first `seconds`.
fn free_share(steps: &[TenantStep], limit: usize, seconds: f64) -> f64 {
    let mut steps = steps.to_vec();
    steps.sort_by_key(|step| step.after_ms);
    let end = seconds * 1000.0;
    let mut free_ms = 0.0;
    let mut at = 0.0;
    let mut held = 0usize;
    for step in &steps {
        let until = (step.after_ms as f64).min(end);
        if until > at {
            free_ms += (limit.saturating_sub(held)) as f64 * (until - at);
            at = until;
        }
        held = step.slots;
    }
    if end > at {
        free_ms += (limit.saturating_sub(held)) as f64 * (end - at);
    }
    free_ms / end.max(f64::MIN_POSITIVE)
}

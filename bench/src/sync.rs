//! `isthmus-bench-sync`: the scheduled customers delta and the customers reconciliation against
//! the sandbox, with NetSuite's concurrency limit `C` and a latency `L` on every NetSuite call.
//!
//! It starts Redis, the sandbox and the mesh in this process (schedules off), creates `N`
//! Salesforce accounts in requests of 200 (so 200 share a `SystemModstamp`), then measures:
//! 1. a delta run that brings every new account to NetSuite (`customers.delta_accounts = "all"`,
//!    pages of 200): accounts per second, NetSuite and Salesforce calls per account;
//! 2. a second delta run with nothing changed: one Salesforce query, no NetSuite call (the
//!    write-backs of the first run moved every account's stamp; the first run itself re-read
//!    them as echoes, at no NetSuite cost, which its "accounts read" shows);
//! 3. a reconciliation of the customers flow: seconds, calls per 1,000 links, drifts (none);
//! 4. with `--summaries`, the scheduled account summaries over the `N` linked customers:
//!    seconds, NetSuite calls per customer (two SuiteQL queries a page of 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Parser;
use isthmus::mesh::{self, MeshOptions};
use isthmus::{wiring, Config, Secrets};
use isthmus_engine::config::DeltaAccounts;
use isthmus_engine::customers::delta::{DeltaOptions, ACCOUNTS_CURSOR, CUSTOMERS_CURSOR};
use isthmus_engine::reconcile::{Flow, ReconcileOptions, Reconciler};
use isthmus_engine::schedule::{Cursor, CursorPos};
use isthmus_gateway::ApiKeys;
use isthmus_sandbox::{Sandbox, SandboxConfig, System};
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(about = "Customers delta and reconciliation throughput against the sandbox")]
struct Args {
    /// Accounts to create and sync.
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// NetSuite concurrency limit C (sandbox and Isthmus).
    #[arg(long, default_value_t = 5)]
    limit: u32,
    /// NetSuite latency L per call, ms.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// Syncs of one delta page at once.
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// Also run the scheduled account summaries over the `N` linked customers.
    #[arg(long)]
    summaries: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let redis = isthmus_store::testing::RedisServer::start();
    let store: Arc<dyn isthmus_store::Store> = Arc::new(redis.store_for("bench-sync").await);
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        netsuite_concurrency_limit: Some(args.limit as usize),
        ..Default::default()
    })?;
    let mut config = Config::load_from(None, Vec::new())?;
    config.netsuite.concurrency_limit = args.limit;
    config.clear_schedules();
    // The services admit only authenticated calls, and events are signed: minted for the run.
    let mut mesh_secrets = Secrets::default();
    wiring::grpc::mint_one_process_secrets(&mut mesh_secrets);
    let mesh = mesh::start(MeshOptions {
        config: config.clone(),
        secrets: mesh_secrets,
        store: store.clone(),
        api_keys: ApiKeys::default(),
        gateway_addr: ([127, 0, 0, 1], 0).into(),
        sandbox: Some(sandbox.clone()),
    })
    .await?;
    let urls = mesh.sandbox.clone().context("sandbox urls")?;
    let mut secrets = Secrets::default();
    mesh::point_at_sandbox(&mut config, &mut secrets, &urls);
    config.customers.delta_accounts = DeltaAccounts::All;
    let (flows, salesforce) = wiring::customer_flows(&config, &secrets, store.clone())?;
    let log = wiring::sync_log(&config, &secrets, store.clone());

    let start = CursorPos::new(Utc::now() - chrono::Duration::seconds(2), "");
    for flow in [ACCOUNTS_CURSOR, CUSTOMERS_CURSOR] {
        Cursor::new(flow, Duration::ZERO)?
            .save(&store, &start)
            .await?;
    }
    create_accounts(&salesforce, args.accounts).await?;
    let options = DeltaOptions {
        page_size: 200,
        overlap: Duration::ZERO,
        concurrency: args.concurrency,
        allocation: wiring::allocation(&config, store.clone()),
    };

    sandbox.set_latency(System::NetSuite, Duration::from_millis(args.latency_ms));
    sandbox.reset_calls();
    let began = Instant::now();
    let first = flows.delta_accounts(&options, &log, "bench").await?;
    let first_s = began.elapsed().as_secs_f64();
    let first_calls = sandbox.calls();
    let counters = sandbox.counters();
    if first.created < args.accounts as u64 || first.queued > 0 {
        bail!("the first delta did not create every customer: {first:?}");
    }

    sandbox.reset_calls();
    let began = Instant::now();
    let second = flows.delta_accounts(&options, &log, "bench").await?;
    let second_s = began.elapsed().as_secs_f64();
    let second_calls = sandbox.calls();

    sandbox.reset_calls();
    let began = Instant::now();
    let report = flows
        .reconcile(Flow::Customers, &ReconcileOptions::default())
        .await?;
    let reconcile_s = began.elapsed().as_secs_f64();
    let reconcile_calls = sandbox.calls();

    let summaries = if args.summaries {
        let finance = wiring::finance::finance_flows(&config, &secrets, store.clone())?;
        sandbox.reset_calls();
        let began = Instant::now();
        let run = finance.sync_all_summaries(&log).await?;
        Some((run, began.elapsed().as_secs_f64(), sandbox.calls()))
    } else {
        None
    };
    mesh.shutdown().await?;

    let n = args.accounts as f64;
    let ns_per_account = first_calls.netsuite_total() as f64 / n;
    let ceiling = f64::from(args.limit) / (ns_per_account * args.latency_ms as f64 / 1000.0);
    println!();
    println!("| run | accounts read | created | seconds | created/s | ceiling C/(calls·L) | NS calls | SF calls | peak NS concurrency | over-limit |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| delta, {} new accounts | {} | {} | {first_s:.1} | {:.1} | {ceiling:.1} | {} ({ns_per_account:.2}/account) | {} | {} | {} |",
        args.accounts,
        first.read,
        first.created,
        first.created as f64 / first_s,
        first_calls.netsuite_total(),
        first_calls.salesforce_total(),
        counters.netsuite.peak_in_flight,
        counters.netsuite.rejected_over_limit,
    );
    println!(
        "| delta, nothing changed | {} | {} | {second_s:.2} | – | – | {} | {} | – | – |",
        second.read,
        second.created,
        second_calls.netsuite_total(),
        second_calls.salesforce_total(),
    );
    let links = report.links_checked.max(1) as f64;
    println!();
    println!("| reconciliation | links checked | seconds | links/s | NS calls / 1,000 links | SF calls / 1,000 links | drifts |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| customers | {} | {reconcile_s:.1} | {:.0} | {:.1} | {:.1} | {} |",
        report.links_checked,
        links / reconcile_s,
        reconcile_calls.netsuite_total() as f64 * 1000.0 / links,
        reconcile_calls.salesforce_total() as f64 * 1000.0 / links,
        report.total(),
    );
    if let Some((run, seconds, calls)) = summaries {
        let customers = (run.updated + run.unchanged + run.failed).max(1) as f64;
        println!();
        println!("| summaries | customers | updated | failed | seconds | customers/s | NS calls (per customer) | SF calls |");
        println!("|---|---|---|---|---|---|---|---|");
        println!(
            "| scheduled, SuiteQL | {customers} | {} | {} | {seconds:.1} | {:.0} | {} ({:.3}) | {} |",
            run.updated,
            run.failed,
            customers / seconds,
            calls.netsuite_total(),
            calls.netsuite_total() as f64 / customers,
            calls.salesforce_total(),
        );
    }
    Ok(())
}

/// `n` accounts, 200 per sObject Collections request (each request's accounts share a stamp).
async fn create_accounts(
    salesforce: &isthmus_salesforce::SalesforceClient,
    n: usize,
) -> anyhow::Result<()> {
    let mut created = 0;
    while created < n {
        let batch: Vec<Map<String, Value>> = (created..n.min(created + 200))
            .map(|i| {
                json!({
                    "attributes": { "type": "Account" },
                    "Name": format!("Bench Delta {i:05}"),
                    "Website": format!("https://bench-delta-{i:05}.example.com"),
                })
                .as_object()
                .cloned()
                .unwrap_or_default()
            })
            .collect();
        let results = salesforce.create_many("Account", &batch, true).await?;
        if results.iter().any(|r| !r.success) {
            bail!("an account was refused: {results:?}");
        }
        created += batch.len();
    }
    Ok(())
}

//! `isthmus-bench-orders`: "Sync to NetSuite" on won opportunities, through the gateway, against
//! the sandbox with NetSuite's concurrency limit `C` and a latency `L` on every NetSuite call.
//!
//! It starts Redis, the sandbox and the whole mesh in this process, runs a catalog run, enters `N`
//! won opportunities (two lines each) on one account whose customer exists, then clicks each once
//! with `K` clicks in flight, and reports orders per second against the ceiling, the upstream
//! calls per order, peak NetSuite concurrency and the click latencies. A second pass clicks every
//! opportunity again: each must answer `unchanged` without a NetSuite call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use isthmus::mesh::{self, MeshOptions};
use isthmus::{wiring, Config, Secrets};
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig, System};
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(about = "Opportunity → sales order throughput against the sandbox")]
struct Args {
    /// Won opportunities to sync.
    #[arg(long, default_value_t = 300)]
    opportunities: usize,
    /// NetSuite concurrency limit C (sandbox and Isthmus).
    #[arg(long, default_value_t = 5)]
    limit: u32,
    /// NetSuite latency L per call, ms.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// Clicks in flight at once.
    #[arg(long, default_value_t = 10)]
    clicks: usize,
}

const SF_KEY: &str = "bench-salesforce-key-0123456789abcdef";
const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let redis = isthmus_store::testing::RedisServer::start();
    let store = Arc::new(redis.store_for("bench-orders").await);
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        netsuite_concurrency_limit: Some(args.limit as usize),
        ..Default::default()
    })?;
    let mut config = Config::load_from(None, Vec::new())?;
    config.netsuite.concurrency_limit = args.limit;
    // Only the clicks being measured call the vendors.
    config.clear_schedules();
    // The measure is NetSuite's ceiling, not the gateway's per-key limits: the Salesforce key
    // may spend the whole allocation, at any rate (the defaults, 10 % of 15,000 calls and 20
    // clicks/s, stop the run or cap it below C/(2L)).
    config.gateway.salesforce_key_share = 1.0;
    config.gateway.rate_limits.salesforce.rate = 1000.0;
    config.gateway.rate_limits.salesforce.burst = 1000;
    let mut keys = ApiKeys::default();
    keys.insert("bench-salesforce", &[Scope::Salesforce], SF_KEY);
    keys.insert("bench-admin", &[Scope::Admin], ADMIN_KEY);
    // The services admit only authenticated calls, and events are signed: minted for the run.
    let mut mesh_secrets = Secrets::default();
    wiring::grpc::mint_one_process_secrets(&mut mesh_secrets);
    let mesh = mesh::start(MeshOptions {
        config,
        secrets: mesh_secrets,
        store,
        api_keys: keys,
        gateway_addr: ([127, 0, 0, 1], 0).into(),
        sandbox: Some(sandbox.clone()),
    })
    .await?;
    let http = reqwest::Client::new();
    let gateway = mesh.gateway_url.clone();

    catalog_run(&http, &gateway).await?;
    let account = isthmus_sandbox::seed::demo_account_id(&sandbox).context("demo account")?;
    let answer = click(
        &http,
        &format!("{gateway}/v1/salesforce/accounts/{account}/sync"),
    )
    .await?;
    if answer.0 != 200 {
        bail!("the account's customer was not created: {answer:?}");
    }
    let opportunities = enter_opportunities(&sandbox, &account, args.opportunities)?;

    sandbox.set_latency(System::NetSuite, Duration::from_millis(args.latency_ms));
    sandbox.reset_calls();
    let started = Instant::now();
    let latencies = click_all(&http, &gateway, &opportunities, args.clicks, "created").await?;
    let seconds = started.elapsed().as_secs_f64();
    let calls = sandbox.calls();
    let counters = sandbox.counters();
    let n = opportunities.len() as f64;

    sandbox.reset_calls();
    click_all(&http, &gateway, &opportunities, args.clicks, "unchanged").await?;
    let again = sandbox.calls();
    mesh.shutdown().await?;

    // A new order on an existing customer costs two NetSuite calls: the upsert by external id
    // (no read before it: the upsert is the idempotent create) and the read-back of number and
    // status.
    let ceiling = f64::from(args.limit) / (2.0 * args.latency_ms as f64 / 1000.0);
    let orders_per_s = n / seconds;
    let (p50, p99) = percentiles(latencies);
    println!();
    println!("| orders | seconds | orders/s | ceiling C/(2L) | share | peak NS concurrency | over-limit | NS calls/order | SF calls/order | p50 ms | p99 ms | 2nd click: NS calls | 2nd click: SF writes |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {seconds:.1} | {orders_per_s:.1} | {ceiling:.1} | {:.1} % | {} | {} | {:.2} | {:.2} | {p50:.0} | {p99:.0} | {} | {} |",
        opportunities.len(),
        orders_per_s / ceiling * 100.0,
        counters.netsuite.peak_in_flight,
        counters.netsuite.rejected_over_limit,
        calls.netsuite_total() as f64 / n,
        calls.salesforce_total() as f64 / n,
        again.netsuite_total(),
        again.salesforce_writes(),
    );
    Ok(())
}

async fn click(http: &reqwest::Client, url: &str) -> anyhow::Result<(u16, Value)> {
    let response = http.post(url).bearer_auth(SF_KEY).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// Clicks each opportunity once, `in_flight` at a time; every answer must have `outcome`.
/// Returns the click latencies in ms.
async fn click_all(
    http: &reqwest::Client,
    gateway: &str,
    opportunities: &[String],
    in_flight: usize,
    outcome: &str,
) -> anyhow::Result<Vec<f64>> {
    use futures::StreamExt;
    let answers = futures::stream::iter(opportunities.iter().map(|id| {
        let url = format!("{gateway}/v1/salesforce/opportunities/{id}/sync");
        async move {
            let at = Instant::now();
            let answer = click(http, &url).await;
            (answer, at.elapsed().as_secs_f64() * 1000.0)
        }
    }))
    .buffer_unordered(in_flight)
    .collect::<Vec<_>>()
    .await;
    let mut latencies = Vec::new();
    for (answer, ms) in answers {
        let (status, body) = answer?;
        if status != 200 || body["outcome"] != outcome {
            bail!("a click answered {status}: {body}");
        }
        latencies.push(ms);
    }
    Ok(latencies)
}

async fn catalog_run(http: &reqwest::Client, gateway: &str) -> anyhow::Result<()> {
    let run: Value = http
        .post(format!("{gateway}/v1/catalog/runs"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({ "mode": "full" }))
        .send()
        .await?
        .json()
        .await?;
    let id = run["id"].as_str().context("run id")?.to_string();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let run: Value = http
            .get(format!("{gateway}/v1/catalog/runs/{id}"))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await?
            .json()
            .await?;
        match run["state"].as_str() {
            Some("running") => continue,
            Some("done") => return Ok(()),
            _ => bail!("catalog run: {run}"),
        }
    }
}

/// `n` won opportunities with two lines each, on `account`, in USD at standard prices.
fn enter_opportunities(sandbox: &Sandbox, account: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let field =
        |r: &Map<String, Value>, f: &str| r.get(f).and_then(Value::as_str).map(str::to_string);
    let book = sandbox
        .sf_records("Pricebook2")
        .into_iter()
        .find(|b| b.get("IsStandard") == Some(&json!(true)))
        .and_then(|b| field(&b, "Id"))
        .context("standard price book")?;
    let products = sandbox.sf_records("Product2");
    let entries = sandbox.sf_records("PricebookEntry");
    let mut lines = Vec::new();
    for code in ["WIDGET-100", "INSTALL"] {
        let product = products
            .iter()
            .find(|p| {
                field(p, "ProductCode").as_deref() == Some(code)
                    && field(p, "NetSuite_Id__c").is_some()
            })
            .and_then(|p| field(p, "Id"))
            .context("synced product")?;
        let entry = entries
            .iter()
            .find(|e| {
                field(e, "Product2Id") == Some(product.clone())
                    && field(e, "CurrencyIsoCode").as_deref() == Some("USD")
                    && field(e, "Pricebook2Id") == Some(book.clone())
            })
            .context("USD price")?;
        lines.push((field(entry, "Id"), entry.get("UnitPrice").cloned()));
    }
    let object = |v: Value| v.as_object().cloned().unwrap_or_default();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = sandbox.sf_insert(
            "Opportunity",
            object(json!({
                "Name": format!("Bench order {i}"), "AccountId": account, "StageName": "Prospecting",
                "CloseDate": "2026-11-20", "CurrencyIsoCode": "USD", "Pricebook2Id": book,
            })),
        )?;
        for (entry, price) in &lines {
            sandbox.sf_insert(
                "OpportunityLineItem",
                object(json!({ "OpportunityId": id, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": price })),
            )?;
        }
        sandbox.sf_update(
            "Opportunity",
            &id,
            object(json!({ "StageName": "Closed Won" })),
        )?;
        ids.push(id);
    }
    Ok(ids)
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

//! `isthmus`: one binary, every part. See `isthmus --help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use isthmus::mesh::{self, MeshOptions};
use isthmus::wiring;
use isthmus::{Config, Secrets};
use isthmus_gateway::{ApiKeys, Gateway, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "isthmus",
    version,
    about = "Salesforce ⇄ NetSuite integration: one binary, every part."
)]
struct Cli {
    /// TOML config file (defaults: `isthmus config`). Also ISTHMUS_CONFIG.
    #[arg(long, global = true, env = "ISTHMUS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one part of the mesh as its own process (one Kubernetes Deployment each).
    Serve {
        #[arg(value_enum)]
        part: Part,
    },
    /// Run the simulated Salesforce org and NetSuite account alone, seeded with a demo company.
    Sandbox {
        /// Port of the simulated Salesforce (login and REST API).
        #[arg(long, default_value_t = 8181)]
        salesforce_port: u16,
        /// Port of the simulated NetSuite (REST web services).
        #[arg(long, default_value_t = 8282)]
        netsuite_port: u16,
        /// Start empty instead of with the demo company.
        #[arg(long)]
        no_seed: bool,
    },
    /// Sandbox + every service + gateway in one process, ready to click. Uses Redis when
    /// REDIS_URL (or ISTHMUS_STORE__REDIS_URL) is set, the in-memory store otherwise.
    Dev {
        /// Gateway port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Backfill one side from the other in this process, with a progress bar (needs Redis).
    Backfill {
        #[command(subcommand)]
        what: BackfillWhat,
    },
    /// Print the effective configuration (defaults, file, environment; never secrets).
    Config,
    /// Print the gateway's OpenAPI document.
    Openapi,
}

#[derive(Subcommand)]
enum BackfillWhat {
    /// Salesforce accounts → NetSuite customers, ids written back in batches of 200.
    Accounts {
        /// Include accounts that already carry a NetSuite id (default: only unlinked ones).
        #[arg(long)]
        all: bool,
        /// Stop after this many accounts.
        #[arg(long)]
        limit: Option<usize>,
        /// Take only shard I of N (`I/N`): run N processes, one per shard, on one Redis.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(u32, u32)>,
        /// Workers (default customers.backfill_concurrency).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Print the final report as JSON instead of a progress bar and summary.
        #[arg(long)]
        json: bool,
    },
}

fn parse_shard(raw: &str) -> Result<(u32, u32), String> {
    let (index, count) = raw.split_once('/').ok_or("expected I/N, e.g. 0/3")?;
    let index: u32 = index.parse().map_err(|_| "I must be a number")?;
    let count: u32 = count.parse().map_err(|_| "N must be a number")?;
    if count == 0 || index >= count {
        return Err("need 0 <= I < N".into());
    }
    Ok((index, count))
}

#[derive(Clone, Copy, ValueEnum)]
enum Part {
    /// gRPC isthmus.customers.v1.CustomerSync on customers.listen.
    Customers,
    /// The REST gateway on gateway.listen, calling the services over gRPC.
    Gateway,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,h2=warn,tower=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { part } => serve(part, config).await,
        Command::Sandbox {
            salesforce_port,
            netsuite_port,
            no_seed,
        } => sandbox(salesforce_port, netsuite_port, !no_seed).await,
        Command::Dev { port } => {
            if let Ok(url) = std::env::var("REDIS_URL") {
                if config.store.redis_url.is_empty() {
                    config.store.redis_url = url;
                }
            }
            dev(config, port).await
        }
        Command::Backfill { what } => backfill(config, what).await,
        Command::Config => {
            println!("{}", toml::to_string_pretty(&config)?);
            Ok(())
        }
        Command::Openapi => {
            println!("{}", isthmus_gateway::openapi_json());
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn serve(part: Part, config: Config) -> anyhow::Result<()> {
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    match part {
        Part::Customers => {
            let addr: SocketAddr = config
                .customers
                .listen
                .parse()
                .context("customers.listen")?;
            let listener = TcpListener::bind(addr).await?;
            let (service, publisher) = wiring::customers_service(&config, &secrets, store)?;
            tokio::select! {
                served = isthmus_customers::run(listener, service, shutdown_signal()) => served?,
                () = publisher => {}
            }
        }
        Part::Gateway => {
            let addr: SocketAddr = config.gateway.listen.parse().context("gateway.listen")?;
            let listener = TcpListener::bind(addr).await?;
            let keys = wiring::api_keys(&secrets)?;
            let gateway = Gateway::new(
                &config.gateway.customers_url,
                store,
                keys,
                wiring::gateway_settings(&config),
            )?;
            isthmus_gateway::run(listener, gateway, shutdown_signal()).await?;
        }
    }
    Ok(())
}

async fn sandbox(salesforce_port: u16, netsuite_port: u16, seed: bool) -> anyhow::Result<()> {
    use isthmus_sandbox::credentials as c;
    let sandbox = Sandbox::new(SandboxConfig {
        seed,
        ..Default::default()
    })?;
    let sf = TcpListener::bind(("127.0.0.1", salesforce_port)).await?;
    let ns = TcpListener::bind(("127.0.0.1", netsuite_port)).await?;
    println!(
        "Salesforce sandbox: http://{} (client_id {}, client_secret {})",
        sf.local_addr()?,
        c::SF_CLIENT_ID,
        c::SF_CLIENT_SECRET
    );
    println!(
        "NetSuite sandbox:   http://{} (account {}, consumer key {}, token id {}; secrets in isthmus_sandbox::credentials)",
        ns.local_addr()?,
        c::NS_ACCOUNT_ID,
        c::NS_CONSUMER_KEY,
        c::NS_TOKEN_ID
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let (a, b) = (stop.clone(), stop.clone());
    let sf_task = tokio::spawn(isthmus_sandbox::serve(
        sf,
        sandbox.salesforce_router(),
        async move { a.cancelled().await },
    ));
    let ns_task = tokio::spawn(isthmus_sandbox::serve(
        ns,
        sandbox.netsuite_router(),
        async move { b.cancelled().await },
    ));
    shutdown_signal().await;
    stop.cancel();
    sf_task.await??;
    ns_task.await??;
    Ok(())
}

fn random_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

async fn dev(config: Config, port: u16) -> anyhow::Result<()> {
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, true).await?;
    let store_kind = if config.store.redis_url.is_empty() {
        "in-memory store"
    } else {
        "Redis"
    };
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..Default::default()
    })?;
    let (sf_key, ns_key) = (random_key(), random_key());
    let mut keys = ApiKeys::default();
    keys.insert("dev-salesforce", &[Scope::Salesforce], &sf_key);
    keys.insert("dev-netsuite", &[Scope::NetSuite], &ns_key);
    let demo = isthmus_sandbox::seed::demo_account_id(&sandbox)
        .context("the demo account is missing from the seed")?;
    let mesh = mesh::start(MeshOptions {
        config,
        secrets,
        store,
        api_keys: keys,
        gateway_addr: ([127, 0, 0, 1], port).into(),
        sandbox: Some(sandbox),
    })
    .await?;
    let urls = mesh.sandbox.clone().context("the sandbox did not start")?;
    println!();
    println!("Isthmus dev is running ({store_kind}).");
    println!("  gateway:             {}", mesh.gateway_url);
    println!("  customers (gRPC):    {}", mesh.customers_url);
    println!("  sandbox Salesforce:  {}", urls.salesforce);
    println!("  sandbox NetSuite:    {}", urls.netsuite);
    println!("  API key (Salesforce routes): {sf_key}");
    println!("  API key (NetSuite routes):   {ns_key}");
    println!();
    println!(
        "Click \"Sync to NetSuite\" on the seeded account {}:",
        isthmus_sandbox::seed::DEMO_ACCOUNT_NAME
    );
    println!("  curl -s -X POST -H 'Authorization: Bearer {sf_key}' {}/v1/salesforce/accounts/{demo}/sync", mesh.gateway_url);
    println!("Preview first (dry run):");
    println!("  curl -s -X POST -H 'Authorization: Bearer {sf_key}' '{}/v1/salesforce/accounts/{demo}/sync?dry_run=true'", mesh.gateway_url);
    println!();
    mesh.run_until(shutdown_signal()).await
}

async fn backfill(config: Config, what: BackfillWhat) -> anyhow::Result<()> {
    use isthmus_engine::customers::backfill::{percentile, BackfillOptions};
    let BackfillWhat::Accounts {
        all,
        limit,
        shard,
        concurrency,
        json,
    } = what;
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    let (flows, salesforce) = wiring::customer_flows(&config, &secrets, store.clone())?;
    let allocation = wiring::allocation(&config, store);
    let options = BackfillOptions {
        concurrency: concurrency.unwrap_or(config.customers.backfill_concurrency),
        all,
        shard,
        limit,
    };
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} accounts ({per_sec}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let report = flows
        .backfill_accounts(&options, &allocation, &|p| {
            bar.set_length(p.total);
            bar.set_position(p.seen);
            bar.set_message(format!("created {} failed {}", p.created, p.failed));
        })
        .await?;
    bar.finish();
    allocation.publish(&salesforce).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let p = &report.progress;
    println!(
        "{} accounts in {:.1} s: {} created, {} updated, {} unchanged, {} conflicts, {} failed; {} ids written back",
        p.seen,
        report.elapsed_ms as f64 / 1000.0,
        p.created,
        p.updated,
        p.unchanged,
        p.conflicts,
        p.failed,
        p.written_back
    );
    println!(
        "per account: p50 {:.0} ms, p99 {:.0} ms",
        percentile(&report.latencies_ms, 50.0),
        percentile(&report.latencies_ms, 99.0)
    );
    for (id, why) in report.failures.iter().take(20) {
        println!("  failed {id}: {why}");
    }
    Ok(())
}

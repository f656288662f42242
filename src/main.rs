//! `isthmus`: one binary, every part. See `isthmus --help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use isthmus::wiring;
use isthmus::{Config, Secrets};
use isthmus_gateway::ServiceUrls;
use tokio::net::TcpListener;

mod cmd;

/// jemalloc, with its background threads purging freed memory: under glibc's malloc a burst of
/// slow requests left the gateway's RSS at its peak for good (bench/README.md, the edge bench);
/// jemalloc gives pages back to the system a few seconds after the burst ends.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use cmd::shutdown_signal;

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
    Sandbox(cmd::sandbox::SandboxArgs),
    /// Sandbox + every service + gateway in one process, ready to click. Uses Redis when
    /// REDIS_URL (or ISTHMUS_STORE__REDIS_URL) is set, the in-memory store otherwise.
    Dev {
        /// Gateway port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Keep the sandbox (NetSuite in this SQLite file, Salesforce in `<file>.salesforce`) across restarts.
        #[arg(long)]
        persist: Option<PathBuf>,
    },
    /// Backfill one side from the other in this process, with a progress bar (needs Redis).
    Backfill {
        #[command(subcommand)]
        what: BackfillWhat,
    },
    /// Compare Salesforce and NetSuite across the ID map (customers, products, orders,
    /// invoices; all when no flow is named) and print the drifts; exits 1 when any remain.
    Reconcile {
        /// customers, products, orders or invoices.
        flow: Option<String>,
        /// Print the reports (and repairs) as JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Re-sync every listed drift from the side that owns it, then reconcile again.
        #[arg(long)]
        repair: bool,
        /// Drifts listed per flow (the counts are complete either way).
        #[arg(long, default_value_t = 1000)]
        max_items: usize,
    },
    /// Check every mapped field, value map and external-id field against Salesforce `describe`
    /// and NetSuite's metadata catalog (schema drift); exits 1 when problems are found, and
    /// alerts the webhook (alerts.webhook_url_file) then. Reads metadata only.
    Doctor {
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
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
        /// Workers of this process (default: customers.backfill_concurrency, the run's, split
        /// evenly across its N shards).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Print the final report as JSON instead of a progress bar and summary.
        #[arg(long)]
        json: bool,
    },
    /// NetSuite items → Salesforce products and price book entries: a delta run (items changed
    /// since the last complete run), or every item with --full.
    Catalog {
        /// Every item, and deactivate the products of items that no longer exist.
        #[arg(long)]
        full: bool,
        /// Stop after this many items (a run cut short does not move the delta cursor).
        #[arg(long)]
        limit: Option<usize>,
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

impl Part {
    /// The part's name, as `serve` takes it (also its queue namespace).
    fn name(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Catalog => "catalog",
            Self::Orders => "orders",
            Self::Finance => "finance",
            Self::Gateway => "gateway",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Part {
    /// gRPC isthmus.customers.v1.CustomerSync on customers.listen.
    Customers,
    /// gRPC isthmus.catalog.v1.CatalogSync on catalog.listen.
    Catalog,
    /// gRPC isthmus.orders.v1.OrderSync on orders.listen (calls the customers service at
    /// orders.customers_url).
    Orders,
    /// gRPC isthmus.finance.v1.FinanceSync on finance.listen.
    Finance,
    /// The REST gateway on gateway.listen, calling the services over gRPC.
    Gateway,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    // Logs, and traces over OTLP when telemetry.otlp_endpoint is set, as <prefix>-<part>.
    let part = match &cli.command {
        Command::Serve { part } => part.name(),
        Command::Dev { .. } => "dev",
        _ => "cli",
    };
    let service = format!("{}-{part}", config.telemetry.service_name_prefix);
    let format = match config.telemetry.log_format {
        isthmus_engine::config::LogFormat::Text => isthmus_telemetry::LogFormat::Text,
        isthmus_engine::config::LogFormat::Json => isthmus_telemetry::LogFormat::Json,
    };
    let endpoint = &config.telemetry.otlp_endpoint;
    // A one-shot command's stdout is its output (`backfill --json` is read by scripts), so its
    // logs go to stderr; services log to stdout as containers do.
    let telemetry = match part {
        "cli" => isthmus_telemetry::init_writing_to(endpoint, &service, format, std::io::stderr),
        _ => isthmus_telemetry::init(endpoint, &service, format),
    }?;
    let ran = run(cli.command, config).await;
    telemetry.shutdown();
    ran
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { part } => serve(part, config).await,
        Command::Sandbox(args) => cmd::sandbox::sandbox(args).await,
        Command::Dev { port, persist } => {
            if let Ok(url) = std::env::var("REDIS_URL") {
                if config.store.redis_url.is_empty() {
                    config.store.redis_url = url;
                }
            }
            cmd::dev::dev(config, port, persist).await
        }
        Command::Backfill { what } => cmd::backfill::backfill(config, what).await,
        Command::Reconcile {
            flow,
            json,
            repair,
            max_items,
        } => {
            let args = cmd::reconcile::ReconcileArgs {
                flow,
                json,
                repair,
                max_items,
            };
            cmd::reconcile::reconcile(config, args).await
        }
        Command::Doctor { json } => cmd::doctor::doctor(config, json).await,
        Command::Config => {
            println!("{}", toml::to_string_pretty(&config.shown())?);
            Ok(())
        }
        Command::Openapi => {
            println!("{}", isthmus_gateway::openapi_json());
            Ok(())
        }
    }
}

/// A listener on a configured address (`key` names the config key in errors).
async fn listen(addr: &str, key: &str) -> anyhow::Result<TcpListener> {
    let addr: SocketAddr = addr.parse().context(key.to_string())?;
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {key} {addr}"))
}

/// A token cancelled on SIGINT or SIGTERM.
fn stop_on_signal() -> tokio_util::sync::CancellationToken {
    let stop = tokio_util::sync::CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    stop
}

async fn serve(part: Part, config: Config) -> anyhow::Result<()> {
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, false).await?;
    if !matches!(part, Part::Gateway) && !config.telemetry.metrics_listen.is_empty() {
        // A service's Prometheus /metrics (the gateway serves its own on gateway.listen).
        let listener = listen(&config.telemetry.metrics_listen, "telemetry.metrics_listen").await?;
        tokio::spawn(wiring::serve_metrics(listener, store.clone(), part.name()));
    }
    // A service admits only authenticated calls: it refuses to start without a credential.
    let security = || wiring::grpc::server_security(&config, &secrets);
    match part {
        Part::Customers => {
            let security = security()?;
            let parts = wiring::customers_service(&config, &secrets, store).await?;
            let listener = listen(&config.customers.listen, "customers.listen").await?;
            parts.run(listener, security, stop_on_signal()).await?;
        }
        Part::Catalog => {
            let security = security()?;
            let parts = wiring::catalog::catalog_service(&config, &secrets, store).await?;
            let listener = listen(&config.catalog.listen, "catalog.listen").await?;
            parts.run(listener, security, stop_on_signal()).await?;
        }
        Part::Orders => {
            let security = security()?;
            let customers = &config.orders.customers_url;
            let parts = wiring::orders::orders_service(&config, &secrets, store, customers).await?;
            let listener = listen(&config.orders.listen, "orders.listen").await?;
            parts.run(listener, security, stop_on_signal()).await?;
        }
        Part::Finance => {
            let security = security()?;
            let parts = wiring::finance::finance_service(&config, &secrets, store).await?;
            let listener = listen(&config.finance.listen, "finance.listen").await?;
            parts.run(listener, security, stop_on_signal()).await?;
        }
        Part::Gateway => {
            let listener = listen(&config.gateway.listen, "gateway.listen").await?;
            let keys = wiring::api_keys(&secrets)?;
            let urls = ServiceUrls {
                customers: config.gateway.customers_url.clone(),
                catalog: config.gateway.catalog_url.clone(),
                orders: config.gateway.orders_url.clone(),
                finance: config.gateway.finance_url.clone(),
            };
            let gateway = wiring::console::gateway(&config, &secrets, &urls, store, keys)?;
            // The console on a listener of its own keeps it off the API's ingress.
            let own = config.gateway.console_listen.as_str();
            if !own.is_empty() && own != "off" {
                let console = listen(own, "gateway.console_listen").await?;
                let gateway = gateway.clone();
                tokio::spawn(async move {
                    let served =
                        wiring::console::serve_console(console, gateway, shutdown_signal());
                    if let Err(err) = served.await {
                        tracing::error!(%err, "the console listener failed");
                    }
                });
            }
            isthmus_gateway::run(listener, gateway, shutdown_signal()).await?;
        }
    }
    Ok(())
}

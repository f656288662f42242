//! `isthmus sandbox`: the simulated Salesforce org and NetSuite account alone, over HTTP and
//! HTTPS (a self-signed certificate generated at start; its path is printed for clients).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use isthmus_sandbox::{credentials as c, Sandbox, SandboxConfig, System, TlsIdentity};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::shutdown_signal;

#[derive(Args)]
pub struct SandboxArgs {
    /// Address to listen on: 127.0.0.1 (this machine only), or 0.0.0.0 in a container.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// HTTP port of the simulated Salesforce (login and REST API).
    #[arg(long, default_value_t = 8181)]
    pub salesforce_port: u16,
    /// HTTP port of the simulated NetSuite (REST web services, RESTlets).
    #[arg(long, default_value_t = 8282)]
    pub netsuite_port: u16,
    /// HTTPS port of the simulated Salesforce.
    #[arg(long, default_value_t = 8443)]
    pub salesforce_https_port: u16,
    /// HTTPS port of the simulated NetSuite.
    #[arg(long, default_value_t = 8444)]
    pub netsuite_https_port: u16,
    /// Where to write the self-signed certificate (PEM) clients must trust.
    #[arg(long)]
    pub cert_path: Option<PathBuf>,
    /// Start empty instead of with the demo company.
    #[arg(long)]
    pub no_seed: bool,
    /// Keep the NetSuite account in this SQLite file and the Salesforce org in `<file>.salesforce`.
    #[arg(long)]
    pub persist: Option<PathBuf>,
    /// NetSuite's account concurrency limit (0: none).
    #[arg(long, default_value_t = 5)]
    pub netsuite_concurrency_limit: usize,
    /// Latency added to every NetSuite call, ms.
    #[arg(long, default_value_t = 0)]
    pub netsuite_latency_ms: u64,
    /// Latency added to every Salesforce call, ms.
    #[arg(long, default_value_t = 0)]
    pub salesforce_latency_ms: u64,
}

pub async fn sandbox(args: SandboxArgs) -> anyhow::Result<()> {
    let sandbox = Sandbox::new(SandboxConfig {
        seed: !args.no_seed,
        persist_path: args.persist.clone(),
        netsuite_concurrency_limit: (args.netsuite_concurrency_limit > 0)
            .then_some(args.netsuite_concurrency_limit),
        ..Default::default()
    })?;
    sandbox.set_latency(
        System::NetSuite,
        Duration::from_millis(args.netsuite_latency_ms),
    );
    sandbox.set_latency(
        System::Salesforce,
        Duration::from_millis(args.salesforce_latency_ms),
    );
    let tls = TlsIdentity::generate()?;
    let cert_path = args
        .cert_path
        .unwrap_or_else(|| std::env::temp_dir().join("isthmus-sandbox-cert.pem"));
    tls.write_cert(&cert_path)?;

    let address = args.bind;
    let bind = |port: u16| TcpListener::bind((address, port));
    let (sf, ns) = (
        bind(args.salesforce_port).await?,
        bind(args.netsuite_port).await?,
    );
    let (sf_tls, ns_tls) = (
        bind(args.salesforce_https_port).await?,
        bind(args.netsuite_https_port).await?,
    );
    println!(
        "Salesforce: http://{}  https://{}",
        sf.local_addr()?,
        sf_tls.local_addr()?
    );
    println!(
        "  OAuth token endpoint /services/oauth2/token; client credentials {} / {};",
        c::SF_CLIENT_ID,
        c::SF_CLIENT_SECRET
    );
    println!(
        "  JWT bearer as {} with keys/sf-jwt-private.pem; REST API /services/data/v61.0/",
        c::SF_USERNAME
    );
    println!(
        "NetSuite:   http://{}  https://{}",
        ns.local_addr()?,
        ns_tls.local_addr()?
    );
    println!(
        "  account {} (realm); TBA consumer {} / {}, token {} / {};",
        c::NS_ACCOUNT_ID,
        c::NS_CONSUMER_KEY,
        c::NS_CONSUMER_SECRET,
        c::NS_TOKEN_ID,
        c::NS_TOKEN_SECRET
    );
    println!(
        "  OAuth 2.0 M2M client {} (keys in crates/sandbox/keys/)",
        c::NS_M2M_CLIENT_ID
    );
    println!(
        "HTTPS certificate (trust it in clients): {}",
        cert_path.display()
    );
    println!("Control: GET /__sandbox/calls, /__sandbox/counters; PUT /__sandbox/latency; POST|DELETE /__sandbox/faults; POST /__sandbox/reset");

    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, router) in [
        (sf, sandbox.salesforce_router()),
        (ns, sandbox.netsuite_router()),
    ] {
        let stop = stop.clone();
        tasks.spawn(isthmus_sandbox::serve(listener, router, async move {
            stop.cancelled().await
        }));
    }
    for (listener, router) in [
        (sf_tls, sandbox.salesforce_router()),
        (ns_tls, sandbox.netsuite_router()),
    ] {
        let stop = stop.clone();
        tasks.spawn(isthmus_sandbox::serve_tls(
            listener,
            router,
            &tls,
            async move { stop.cancelled().await },
        ));
    }
    shutdown_signal().await;
    stop.cancel();
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    Ok(())
}

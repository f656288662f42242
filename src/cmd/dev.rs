//! `isthmus dev`: the sandbox, every service and the gateway in one process, ready to click.

use anyhow::Context;
use isthmus::mesh::{self, MeshOptions};
use isthmus::wiring;
use isthmus::{Config, Secrets};
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig};

use super::shutdown_signal;

fn random_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub async fn dev(
    config: Config,
    port: u16,
    persist: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let secrets = Secrets::load(&config)?;
    let store = wiring::store(&config, true).await?;
    let store_kind = if config.store.redis_url.is_empty() {
        "in-memory store"
    } else {
        "Redis"
    };
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        persist_path: persist,
        ..Default::default()
    })?;
    let (sf_key, ns_key, admin_key) = (random_key(), random_key(), random_key());
    let mut keys = ApiKeys::default();
    keys.insert("dev-salesforce", &[Scope::Salesforce], &sf_key);
    keys.insert("dev-netsuite", &[Scope::NetSuite], &ns_key);
    keys.insert("dev-admin", &[Scope::Admin], &admin_key);
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
    println!("  catalog (gRPC):      {}", mesh.catalog_url);
    println!("  sandbox Salesforce:  {}", urls.salesforce);
    println!("  sandbox NetSuite:    {}", urls.netsuite);
    println!("  API key (Salesforce routes): {sf_key}");
    println!("  API key (NetSuite routes):   {ns_key}");
    println!("  API key (admin routes):      {admin_key}");
    println!();
    println!(
        "Click \"Sync to NetSuite\" on the seeded account {}:",
        isthmus_sandbox::seed::DEMO_ACCOUNT_NAME
    );
    println!("  curl -s -X POST -H 'Authorization: Bearer {sf_key}' {}/v1/salesforce/accounts/{demo}/sync", mesh.gateway_url);
    println!("Preview first (dry run):");
    println!("  curl -s -X POST -H 'Authorization: Bearer {sf_key}' '{}/v1/salesforce/accounts/{demo}/sync?dry_run=true'", mesh.gateway_url);
    println!("Bring NetSuite's items to Salesforce as products (then GET /v1/catalog/runs/<id>):");
    println!("  curl -s -X POST -H 'Authorization: Bearer {admin_key}' -H 'Content-Type: application/json' -d '{{\"mode\":\"full\"}}' {}/v1/catalog/runs", mesh.gateway_url);
    println!();
    mesh.run_until(shutdown_signal()).await
}

//! `isthmus dev`: starts [`isthmus::dev`] and prints where everything is and how to try it.

use isthmus::dev::{self, DevRun};
use isthmus::Config;

use super::shutdown_signal;

pub async fn dev(
    config: Config,
    port: u16,
    persist: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let run = dev::start(config, port, persist).await?;
    print_welcome(&run);
    run.run_until(shutdown_signal()).await
}

fn print_welcome(run: &DevRun) {
    let (mesh, urls, keys) = (&run.mesh, &run.sandbox_urls, &run.keys);
    let (sf_key, ns_key, admin_key) = (&keys.salesforce, &keys.netsuite, &keys.admin);
    let demo = &run.demo_account;
    println!();
    match &run.namespace {
        Some(namespace) => {
            println!("Isthmus dev is running (Redis, keys under isthmus:{{{namespace}}}:).")
        }
        None => println!("Isthmus dev is running (in-memory store)."),
    }
    println!("  gateway:             {}", mesh.gateway_url);
    println!("  customers (gRPC):    {}", mesh.customers_url);
    println!("  catalog (gRPC):      {}", mesh.catalog_url);
    println!("  orders (gRPC):       {}", mesh.orders_url);
    println!("  finance (gRPC):      {}", mesh.finance_url);
    println!("  sandbox Salesforce:  {}", urls.salesforce);
    println!("  sandbox NetSuite:    {}", urls.netsuite);
    println!("  API key (Salesforce routes): {sf_key}");
    println!("  API key (NetSuite routes):   {ns_key}");
    println!("  API key (admin routes):      {admin_key}");
    println!("  API key (viewer: read only): {}", keys.viewer);
    if let Some(token) = &run.grpc_token {
        println!("  gRPC token (admin):          {token}");
        println!("    send it as `authorization: Bearer <token>` metadata, e.g.");
        println!(
            "    grpcurl -plaintext -H 'authorization: Bearer {token}' {} list",
            mesh.customers_url.trim_start_matches("http://")
        );
    }
    match &run.signing_secret {
        Some(secret) => println!("  NetSuite event signing secret (minted for this run): {secret}"),
        None => println!("  NetSuite event signing secret: the configured one"),
    }
    println!(
        "  (NetSuite events need X-Isthmus-Timestamp and X-Isthmus-Signature: v2=<hex HMAC-SHA256 \
         of \"<timestamp>.POST.<path?query>.<body>\">; see README.md)"
    );
    println!();
    println!("Console: {}/console", mesh.gateway_url);
    println!("  sign in with the admin key above (or the viewer key, to look without acting)");
    println!();
    println!(
        "The first catalog run brought NetSuite's {} items over as products.",
        run.catalog_items
    );
    println!(
        "The seeded account {} has an open opportunity on three of them, in euros.",
        isthmus_sandbox::seed::DEMO_ACCOUNT_NAME
    );
    println!("Paste this into a shell, then follow README.md, \"Lead to cash with isthmus dev\":");
    println!();
    println!(
        "  export GW={} SF={} NS={} SF_KEY={sf_key} NS_KEY={ns_key} ADMIN_KEY={admin_key} ACCOUNT={demo} OPP={}{}",
        mesh.gateway_url,
        urls.salesforce,
        urls.netsuite,
        run.demo_opportunity,
        run.signing_secret
            .as_deref()
            .map(|secret| format!(" NS_SECRET={secret}"))
            .unwrap_or_default()
    );
    println!();
    println!("Or click \"Sync to NetSuite\" on the account right away:");
    println!("  curl -s -X POST -H 'Authorization: Bearer {sf_key}' {}/v1/salesforce/accounts/{demo}/sync", mesh.gateway_url);
    println!();
}

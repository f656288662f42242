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
    let mut secrets = Secrets::load(&config)?;
    // Events are signed in dev too: a secret of this run's own unless one is configured.
    let signing_secret = match &secrets.netsuite_hmac_secret {
        Some(_) => None,
        None => {
            let minted = random_key();
            secrets.netsuite_hmac_secret = Some(minted.clone().into());
            Some(minted)
        }
    };
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
    let viewer_key = random_key();
    let mut keys = ApiKeys::default();
    keys.insert("dev-salesforce", &[Scope::Salesforce], &sf_key);
    keys.insert("dev-netsuite", &[Scope::NetSuite], &ns_key);
    keys.insert("dev-admin", &[Scope::Admin], &admin_key);
    keys.insert("dev-viewer", &[Scope::Viewer], &viewer_key);
    let demo = isthmus_sandbox::seed::demo_account_id(&sandbox)
        .context("the demo account is missing from the seed")?;
    let mesh = mesh::start(MeshOptions {
        config,
        secrets,
        store,
        api_keys: keys,
        gateway_addr: ([127, 0, 0, 1], port).into(),
        sandbox: Some(sandbox.clone()),
    })
    .await?;
    let catalog = first_catalog_run(&mesh.gateway_url, &admin_key)
        .await
        .context("the first catalog run")?;
    let opportunity = demo_opportunity(&sandbox, &demo)?;
    let urls = mesh.sandbox.clone().context("the sandbox did not start")?;
    println!();
    println!("Isthmus dev is running ({store_kind}).");
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
    println!("  API key (viewer: read only): {viewer_key}");
    match &signing_secret {
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
    println!("The first catalog run brought NetSuite's {catalog} items over as products.");
    println!(
        "The seeded account {} has an open opportunity on three of them, in euros.",
        isthmus_sandbox::seed::DEMO_ACCOUNT_NAME
    );
    println!("Paste this into a shell, then follow README.md, \"Lead to cash with isthmus dev\":");
    println!();
    println!(
        "  export GW={} SF={} NS={} SF_KEY={sf_key} NS_KEY={ns_key} ADMIN_KEY={admin_key} ACCOUNT={demo} OPP={opportunity}{}",
        mesh.gateway_url,
        urls.salesforce,
        urls.netsuite,
        signing_secret
            .as_deref()
            .map(|secret| format!(" NS_SECRET={secret}"))
            .unwrap_or_default()
    );
    println!();
    println!("Or click \"Sync to NetSuite\" on the account right away:");
    println!("  curl -s -X POST -H 'Authorization: Bearer {sf_key}' {}/v1/salesforce/accounts/{demo}/sync", mesh.gateway_url);
    println!();
    mesh.run_until(shutdown_signal()).await
}

/// Runs a full catalog run through the gateway, as an operator's first sync would, and waits for
/// it; the number of items it saw.
async fn first_catalog_run(gateway: &str, admin_key: &str) -> anyhow::Result<u64> {
    let http = reqwest::Client::new();
    let run: serde_json::Value = http
        .post(format!("{gateway}/v1/catalog/runs"))
        .bearer_auth(admin_key)
        .json(&serde_json::json!({ "mode": "full" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = run["id"].as_str().context("a catalog run id")?.to_string();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let run: serde_json::Value = http
            .get(format!("{gateway}/v1/catalog/runs/{id}"))
            .bearer_auth(admin_key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        match run["state"].as_str() {
            Some("running") => continue,
            Some("done") => return Ok(run["seen"].as_u64().unwrap_or_default()),
            _ => anyhow::bail!("the catalog run ended as {run}"),
        }
    }
}

/// Lines of the demo opportunity: (item code, quantity, discount %).
const DEMO_LINES: [(&str, f64, f64); 3] = [
    ("WIDGET-100", 20.0, 5.0),
    ("INSTALL", 2.0, 0.0),
    ("STARTER-KIT", 5.0, 0.0),
];

/// An open opportunity on the demo account, in euros, on products the catalog run created, as a
/// sales rep would enter it; its id.
fn demo_opportunity(sandbox: &Sandbox, account: &str) -> anyhow::Result<String> {
    use serde_json::{json, Value};
    let field = |record: &serde_json::Map<String, Value>, name: &str| {
        record.get(name).and_then(Value::as_str).map(str::to_string)
    };
    let book = sandbox
        .sf_records("Pricebook2")
        .into_iter()
        .find(|b| b.get("IsStandard") == Some(&json!(true)))
        .and_then(|b| field(&b, "Id"))
        .context("the standard price book")?;
    let fields = |value: Value| value.as_object().cloned().unwrap_or_default();
    let opportunity = sandbox.sf_insert(
        "Opportunity",
        fields(json!({
            "Name": format!("{} - Widget Rollout", isthmus_sandbox::seed::DEMO_ACCOUNT_NAME),
            "AccountId": account,
            "StageName": "Negotiation/Review",
            "CloseDate": chrono::Utc::now().date_naive().to_string(),
            "CurrencyIsoCode": "EUR",
            "Pricebook2Id": book,
            "Purchase_Order__c": "PO-2026-0042",
        })),
    )?;
    let products = sandbox.sf_records("Product2");
    let entries = sandbox.sf_records("PricebookEntry");
    for (code, quantity, discount) in DEMO_LINES {
        let product = products
            .iter()
            .find(|p| {
                field(p, "ProductCode").as_deref() == Some(code)
                    && field(p, "NetSuite_Id__c").is_some()
            })
            .and_then(|p| field(p, "Id"))
            .with_context(|| format!("no product for item {code} after the catalog run"))?;
        let entry = entries
            .iter()
            .find(|e| {
                field(e, "Product2Id") == Some(product.clone())
                    && field(e, "Pricebook2Id") == Some(book.clone())
                    && field(e, "CurrencyIsoCode").as_deref() == Some("EUR")
            })
            .with_context(|| format!("no EUR price for item {code}"))?;
        sandbox.sf_insert(
            "OpportunityLineItem",
            fields(json!({
                "OpportunityId": opportunity,
                "PricebookEntryId": field(entry, "Id"),
                "Quantity": quantity,
                "UnitPrice": entry.get("UnitPrice"),
                "Discount": discount,
            })),
        )?;
    }
    Ok(opportunity)
}

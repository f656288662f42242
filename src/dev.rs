//! `isthmus dev`: the sandbox, every service and the gateway in one process, ready to click;
//! [`start`] brings it up, the command prints what [`DevRun`] holds.
//!
//! On Redis each run works in a key namespace of its own (the store's connection name
//! `dev-<random>`): a fresh sandbox never meets an earlier run's ID map (which would make the
//! first catalog run answer "unchanged" and leave the sandbox without products), two runs can
//! share one Redis, and [`DevRun::stop`] deletes the run's keys. With `--persist` the namespace
//! follows the sandbox file (`dev-<hash of its path>`) and is kept, so the ID map lives as long
//! as the records it maps. A connection name set in the config (anything but `default`) is used
//! as given and kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use isthmus_gateway::{ApiKeys, Scope};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use isthmus_store::{MemoryStore, RedisStore, Store};

use crate::mesh::{self, Mesh, MeshOptions, SandboxUrls};
use crate::{Config, Secrets};

/// The keys `isthmus dev` mints for each run, one per scope.
#[derive(Debug, Clone)]
pub struct DevKeys {
    pub salesforce: String,
    pub netsuite: String,
    pub admin: String,
    pub viewer: String,
}

impl DevKeys {
    fn random() -> Self {
        Self {
            salesforce: random_key(),
            netsuite: random_key(),
            admin: random_key(),
            viewer: random_key(),
        }
    }

    fn api_keys(&self) -> ApiKeys {
        let mut keys = ApiKeys::default();
        keys.insert("dev-salesforce", &[Scope::Salesforce], &self.salesforce);
        keys.insert("dev-netsuite", &[Scope::NetSuite], &self.netsuite);
        keys.insert("dev-admin", &[Scope::Admin], &self.admin);
        keys.insert("dev-viewer", &[Scope::Viewer], &self.viewer);
        keys
    }
}

fn random_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A running `isthmus dev`.
pub struct DevRun {
    pub mesh: Mesh,
    pub sandbox: Sandbox,
    pub sandbox_urls: SandboxUrls,
    pub keys: DevKeys,
    /// The gRPC token minted for this run (admin scope), `None` when tokens are configured.
    pub grpc_token: Option<String>,
    /// The NetSuite event signing secret minted for this run, `None` when one is configured.
    pub signing_secret: Option<String>,
    /// The store's connection name on Redis; `None` on the in-memory store.
    pub namespace: Option<String>,
    /// Items the first catalog run saw.
    pub catalog_items: u64,
    /// The seeded demo account and the open opportunity made on it.
    pub demo_account: String,
    pub demo_opportunity: String,
    /// The store to purge at [`Self::stop`] (a namespace made for this run alone).
    purge: Option<RedisStore>,
}

impl DevRun {
    /// Runs until a part fails or `stop` resolves, then stops (see [`Self::stop`]).
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let Self { mesh, purge, .. } = self;
        let ran = mesh.run_until(stop).await;
        purge_namespace(purge).await;
        ran
    }

    /// Stops every part, then deletes the run's keys when its namespace was made for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Self { mesh, purge, .. } = self;
        let stopped = mesh.shutdown().await;
        purge_namespace(purge).await;
        stopped
    }
}

async fn purge_namespace(store: Option<RedisStore>) {
    let Some(store) = store else { return };
    match store.purge().await {
        Ok(removed) => tracing::info!(removed, "the dev run's Redis keys are deleted"),
        Err(err) => tracing::warn!(%err, "the dev run's Redis keys could not be deleted"),
    }
}

/// Starts the sandbox and the whole mesh on `port` (0: any), runs the first catalog run and
/// enters the demo opportunity.
pub async fn start(
    mut config: Config,
    port: u16,
    persist: Option<PathBuf>,
) -> anyhow::Result<DevRun> {
    let mut secrets = Secrets::load(&config)?;
    // The services admit only authenticated calls and events are signed, in dev too: an admin
    // gRPC token (the gateway and the orders service present it; a person can use it as well)
    // and a signing secret minted per start, unless configured.
    let crate::wiring::grpc::Minted {
        grpc_token,
        signing_secret,
    } = crate::wiring::grpc::mint_one_process_secrets(&mut secrets);
    let (store, namespace, purge): (Arc<dyn Store>, _, _) = if config.store.redis_url.is_empty() {
        (Arc::new(MemoryStore::new()), None, None)
    } else {
        let (name, own) = dev_namespace(&config.store.connection, persist.as_deref());
        config.store.connection = name.clone();
        let store = RedisStore::connect(&config.store.redis_url, &name)
            .await
            .context("connecting to Redis")?;
        let purge = own.then(|| store.clone());
        (Arc::new(store), Some(name), purge)
    };
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        persist_path: persist,
        ..Default::default()
    })?;
    let keys = DevKeys::random();
    let demo_account = isthmus_sandbox::seed::demo_account_id(&sandbox)
        .context("the demo account is missing from the seed")?;
    let mesh = mesh::start(MeshOptions {
        config,
        secrets,
        store,
        api_keys: keys.api_keys(),
        gateway_addr: ([127, 0, 0, 1], port).into(),
        sandbox: Some(sandbox.clone()),
    })
    .await?;
    let started = async {
        let catalog_items = first_catalog_run(&mesh.gateway_url, &keys.admin)
            .await
            .context("the first catalog run")?;
        let demo_opportunity = demo_opportunity(&sandbox, &demo_account)?;
        let sandbox_urls = mesh.sandbox.clone().context("the sandbox did not start")?;
        anyhow::Ok((catalog_items, demo_opportunity, sandbox_urls))
    }
    .await;
    match started {
        Ok((catalog_items, demo_opportunity, sandbox_urls)) => Ok(DevRun {
            mesh,
            sandbox,
            sandbox_urls,
            keys,
            grpc_token,
            signing_secret,
            namespace,
            catalog_items,
            demo_account,
            demo_opportunity,
            purge,
        }),
        Err(err) => {
            let _ = mesh.shutdown().await;
            purge_namespace(purge).await;
            Err(err)
        }
    }
}

/// The connection name of a dev run on Redis, and whether it was made for this run alone (to be
/// deleted when it stops): a configured name as given; with a sandbox file, one per file;
/// otherwise a fresh one.
pub fn dev_namespace(configured: &str, persist: Option<&Path>) -> (String, bool) {
    if configured != "default" {
        return (configured.to_owned(), false);
    }
    match persist {
        Some(path) => {
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            (
                format!("dev-{:016x}", fnv1a(path.to_string_lossy().as_bytes())),
                false,
            )
        }
        None => (
            format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            true,
        ),
    }
}

/// FNV-1a, 64 bits: a name for a path that stays the same across builds and toolchains.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
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

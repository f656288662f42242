//! The gateway as a part of the mesh: its settings, NetSuite event signing and the operations
//! console (session key, effective mappings, schedules) from the configuration.

use std::sync::Arc;
use std::time::Duration;

use isthmus_engine::config::Ownership;
use isthmus_engine::{Config, Secrets};
use isthmus_gateway::console::session::SessionKey;
use isthmus_gateway::console::{ConsoleSettings, MappingTable};
use isthmus_gateway::{ApiKeys, Gateway, ServiceUrls};
use isthmus_store::Store;

/// The gateway of `config`, calling the services with this process's gRPC credential, with
/// event signing and, unless `gateway.console_listen` is "off", the console.
pub fn gateway(
    config: &Config,
    secrets: &Secrets,
    urls: &ServiceUrls,
    store: Arc<dyn Store>,
    keys: ApiKeys,
) -> anyhow::Result<Gateway> {
    super::grpc::require_tls_urls(
        config,
        &[
            ("gateway.customers_url", &urls.customers),
            ("gateway.catalog_url", &urls.catalog),
            ("gateway.orders_url", &urls.orders),
            ("gateway.finance_url", &urls.finance),
        ],
    )?;
    let grpc = super::grpc::client_security(config, secrets)?;
    let gateway = Gateway::new(urls, &grpc, store, keys, super::gateway_settings(config))?
        .with_netsuite_signing(super::netsuite_event_signing(config, secrets)?);
    Ok(if config.gateway.console_listen == "off" {
        gateway
    } else {
        gateway.with_console(console_settings(config, secrets))
    })
}

pub fn console_settings(config: &Config, secrets: &Secrets) -> ConsoleSettings {
    use secrecy::ExposeSecret;
    let key = match &secrets.console_session_secret {
        Some(secret) => SessionKey::new(secret.expose_secret().as_bytes()),
        None => SessionKey::random(),
    };
    let s = &config.schedules;
    ConsoleSettings {
        key,
        session_ttl: Duration::from_secs(config.gateway.console_session_ttl_s.max(60)),
        secure_cookie: config.gateway.console_secure_cookie,
        mappings: mappings(config),
        schedules: [
            ("customers.delta", &s.customers_delta),
            ("catalog.delta", &s.catalog_delta),
            ("finance.summaries", &s.account_summaries),
            ("finance.subsidiaries", &s.subsidiaries),
            ("customers.reconcile", &s.reconcile),
            ("products.reconcile", &s.reconcile),
            ("orders.reconcile", &s.reconcile),
            ("invoices.reconcile", &s.reconcile),
            ("orders.renewals", &config.orders.renewals.schedule),
            ("finance.aging", &s.aging),
            ("finance.gl_balances", &s.gl_balances),
        ]
        .into_iter()
        .map(|(name, expr)| (name.to_string(), expr.clone()))
        .collect(),
        own_listener: !matches!(config.gateway.console_listen.as_str(), "" | "off"),
    }
}

/// Serves the console on a listener of its own (`gateway.console_listen`) until `shutdown`.
pub async fn serve_console(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    isthmus_gateway::run_console(listener, gateway, shutdown).await
}

fn ownership(policy: Ownership) -> String {
    serde_json::to_value(policy)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{policy:?}").to_lowercase())
}

/// The tables of the Mappings page, as the configuration resolved them.
fn mappings(config: &Config) -> Vec<MappingTable> {
    let c = &config.customers;
    let owner = |field: &str| {
        ownership(
            c.ownership
                .get(field)
                .copied()
                .unwrap_or(c.default_ownership),
        )
    };
    let columns = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let mut field_rows: Vec<Vec<String>> = c
        .fields
        .iter()
        .map(|(name, pair)| {
            vec![
                name.clone(),
                pair.salesforce.clone(),
                pair.netsuite.clone(),
                owner(name),
            ]
        })
        .collect();
    for address in ["billing", "shipping"] {
        field_rows.push(vec![
            address.to_string(),
            format!(
                "{}Street, …City, …PostalCode, …Country",
                if address == "billing" {
                    "Billing"
                } else {
                    "Shipping"
                }
            ),
            format!("addressbook ({address} address)"),
            owner(address),
        ]);
    }
    vec![
        MappingTable {
            flow: "customers".into(),
            title: "Account ↔ customer fields".into(),
            columns: columns(&[
                "Field",
                "Salesforce (Account)",
                "NetSuite (customer)",
                "Owner policy",
            ]),
            rows: field_rows,
        },
        MappingTable {
            flow: "customers".into(),
            title: "Countries (as typed → ISO code)".into(),
            columns: columns(&["Salesforce value", "NetSuite country"]),
            rows: c
                .countries
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        },
        MappingTable {
            flow: "orders".into(),
            title: "Opportunity → sales order fields".into(),
            columns: columns(&["Opportunity field", "Sales order field"]),
            rows: config
                .orders
                .fields
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        },
        MappingTable {
            flow: "catalog".into(),
            title: "Price books (NetSuite price level → Salesforce price book)".into(),
            columns: columns(&["Price level", "Price book"]),
            rows: config
                .catalog
                .price_books
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        },
        MappingTable {
            flow: "catalog".into(),
            title: "Product families (NetSuite item type → Family)".into(),
            columns: columns(&["NetSuite", "Salesforce Family"]),
            rows: config
                .catalog
                .families
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        },
        MappingTable {
            flow: "catalog, orders, finance".into(),
            title: "Currencies (ISO code → NetSuite currency id)".into(),
            columns: columns(&["Currency", "NetSuite id"]),
            rows: config
                .currencies
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        },
    ]
}

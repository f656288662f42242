//! Starting the parts on listeners: each part is a server with `run(listener, shutdown)`, so
//! `isthmus dev` and the tests bind wherever they like (port 0 in tests) and stop everything
//! through one [`CancellationToken`].

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use isthmus_engine::config::{NetSuiteAuthKind, SalesforceAuthKind};
use isthmus_engine::{Config, Secrets};
use isthmus_gateway::{ApiKeys, ServiceUrls};
use isthmus_sandbox::Sandbox;
use isthmus_store::Store;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::wiring;

/// Base URLs of a running sandbox.
#[derive(Debug, Clone)]
pub struct SandboxUrls {
    pub salesforce: String,
    pub netsuite: String,
}

/// Everything running in this process, stopped on drop or [`Mesh::shutdown`].
pub struct Mesh {
    pub gateway_url: String,
    /// The console's own listener, when `gateway.console_listen` names one.
    pub console_url: Option<String>,
    pub customers_url: String,
    /// gRPC address of the catalog service.
    pub catalog_url: String,
    /// gRPC address of the orders service.
    pub orders_url: String,
    /// gRPC address of the finance service.
    pub finance_url: String,
    pub sandbox: Option<SandboxUrls>,
    cancel: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Mesh {
    /// Stops every part and waits for each to finish.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.cancel.cancel();
        while let Some(joined) = self.tasks.join_next().await {
            joined??;
        }
        Ok(())
    }

    /// Waits until a part fails or `stop` resolves, then shuts the rest down.
    pub async fn run_until(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            _ = stop => {}
            Some(joined) = self.tasks.join_next() => {
                joined??;
                anyhow::bail!("a part of the mesh stopped on its own");
            }
        }
        self.shutdown().await
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// What to start.
pub struct MeshOptions {
    pub config: Config,
    pub secrets: Secrets,
    pub store: Arc<dyn Store>,
    pub api_keys: ApiKeys,
    /// Where the gateway listens (port 0: any free port).
    pub gateway_addr: SocketAddr,
    /// A sandbox to start first and point the connectors at.
    pub sandbox: Option<Sandbox>,
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} to {addr}"))
}

fn url_of(listener: &TcpListener) -> anyhow::Result<String> {
    Ok(format!("http://{}", listener.local_addr()?))
}

/// Starts the sandbox (if any), the customers, catalog and orders services and the gateway, each on its
/// own port.
pub async fn start(options: MeshOptions) -> anyhow::Result<Mesh> {
    let MeshOptions {
        mut config,
        mut secrets,
        store,
        api_keys,
        gateway_addr,
        sandbox,
    } = options;
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();

    let sandbox_urls = match sandbox {
        Some(sandbox) => {
            let sf = bind(loopback, "sandbox Salesforce").await?;
            let ns = bind(loopback, "sandbox NetSuite").await?;
            let urls = SandboxUrls {
                salesforce: url_of(&sf)?,
                netsuite: url_of(&ns)?,
            };
            for (listener, router) in [
                (sf, sandbox.salesforce_router()),
                (ns, sandbox.netsuite_router()),
            ] {
                let stop = cancel.clone();
                tasks.spawn(async move {
                    isthmus_sandbox::serve(listener, router, async move { stop.cancelled().await })
                        .await?;
                    Ok(())
                });
            }
            point_at_sandbox(&mut config, &mut secrets, &urls);
            Some(urls)
        }
        None => None,
    };

    // Every service admits calls the same way; the URLs are https:// when they serve TLS.
    let security = wiring::grpc::server_security(&config, &secrets)?;
    let scheme = wiring::grpc::scheme(&config);
    let grpc_url = |listener: &TcpListener| -> anyhow::Result<String> {
        Ok(format!("{scheme}://{}", listener.local_addr()?))
    };

    let customers_listener = bind(loopback, "customers service").await?;
    let customers_url = grpc_url(&customers_listener)?;
    let parts = wiring::customers_service(&config, &secrets, store.clone()).await?;
    let (stop, admits) = (cancel.clone(), security.clone());
    tasks.spawn(async move { parts.run(customers_listener, admits, stop).await });

    let catalog_listener = bind(loopback, "catalog service").await?;
    let catalog_url = grpc_url(&catalog_listener)?;
    let parts = wiring::catalog::catalog_service(&config, &secrets, store.clone()).await?;
    let (stop, admits) = (cancel.clone(), security.clone());
    tasks.spawn(async move { parts.run(catalog_listener, admits, stop).await });

    let orders_listener = bind(loopback, "orders service").await?;
    let orders_url = grpc_url(&orders_listener)?;
    let parts =
        wiring::orders::orders_service(&config, &secrets, store.clone(), &customers_url).await?;
    let (stop, admits) = (cancel.clone(), security.clone());
    tasks.spawn(async move { parts.run(orders_listener, admits, stop).await });

    let finance_listener = bind(loopback, "finance service").await?;
    let finance_url = grpc_url(&finance_listener)?;
    let parts = wiring::finance::finance_service(&config, &secrets, store.clone()).await?;
    let (stop, admits) = (cancel.clone(), security);
    tasks.spawn(async move { parts.run(finance_listener, admits, stop).await });

    let gateway_listener = bind(gateway_addr, "gateway").await?;
    let gateway_url = url_of(&gateway_listener)?;
    let urls = ServiceUrls {
        customers: customers_url.clone(),
        catalog: catalog_url.clone(),
        orders: orders_url.clone(),
        finance: finance_url.clone(),
    };
    let gateway = wiring::console::gateway(&config, &secrets, &urls, store, api_keys)?;
    let own = config.gateway.console_listen.as_str();
    let console_url = if own.is_empty() || own == "off" {
        None
    } else {
        let addr: SocketAddr = own
            .parse()
            .with_context(|| format!("gateway.console_listen {own:?} is not host:port"))?;
        let listener = bind(addr, "console").await?;
        let url = url_of(&listener)?;
        let (gateway, stop) = (gateway.clone(), cancel.clone());
        tasks.spawn(async move {
            wiring::console::serve_console(
                listener,
                gateway,
                async move { stop.cancelled().await },
            )
            .await?;
            Ok(())
        });
        Some(url)
    };
    let stop = cancel.clone();
    tasks.spawn(async move {
        isthmus_gateway::run(
            gateway_listener,
            gateway,
            async move { stop.cancelled().await },
        )
        .await?;
        Ok(())
    });

    Ok(Mesh {
        gateway_url,
        console_url,
        customers_url,
        catalog_url,
        orders_url,
        finance_url,
        sandbox: sandbox_urls,
        cancel,
        tasks,
    })
}

/// Points the connectors at a sandbox, with the sandbox's fixed credentials for whichever
/// sign-in `config` chose (client credentials or JWT bearer; TBA or OAuth 2.0 M2M).
pub fn point_at_sandbox(config: &mut Config, secrets: &mut Secrets, urls: &SandboxUrls) {
    use isthmus_sandbox::credentials as c;
    let secret = |s: &str| Some(SecretString::from(s.to_string()));
    config.salesforce.login_url = urls.salesforce.clone();
    config.salesforce.client_id = c::SF_CLIENT_ID.to_string();
    config.salesforce.username = c::SF_USERNAME.to_string();
    // Only the secret the chosen sign-in needs: a wiring that ignored the choice fails loudly.
    match config.salesforce.auth {
        SalesforceAuthKind::ClientCredentials => {
            secrets.salesforce_client_secret = secret(c::SF_CLIENT_SECRET)
        }
        SalesforceAuthKind::JwtBearer => {
            secrets.salesforce_private_key = secret(c::SF_JWT_PRIVATE_KEY_PEM)
        }
    }
    config.netsuite.account_id = c::NS_ACCOUNT_ID.to_string();
    config.netsuite.base_url = urls.netsuite.clone();
    config.netsuite.restlet_base_url = urls.netsuite.clone();
    config.netsuite.consumer_key = c::NS_CONSUMER_KEY.to_string();
    config.netsuite.token_id = c::NS_TOKEN_ID.to_string();
    if config.netsuite.auth == NetSuiteAuthKind::Tba {
        secrets.netsuite_consumer_secret = secret(c::NS_CONSUMER_SECRET);
        secrets.netsuite_token_secret = secret(c::NS_TOKEN_SECRET);
    }
    config.netsuite.client_id = c::NS_M2M_CLIENT_ID.to_string();
    if config.netsuite.auth != NetSuiteAuthKind::Oauth2 {
        return;
    }
    if config.netsuite.algorithm.starts_with("ES") {
        config.netsuite.certificate_id = c::NS_M2M_EC_CERTIFICATE_ID.to_string();
        secrets.netsuite_private_key = secret(c::NS_M2M_EC_PRIVATE_KEY_PEM);
    } else {
        config.netsuite.certificate_id = c::NS_M2M_RSA_CERTIFICATE_ID.to_string();
        secrets.netsuite_private_key = secret(c::NS_M2M_RSA_PRIVATE_KEY_PEM);
    }
}

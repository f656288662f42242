//! The REST gateway: what Salesforce (Apex callouts behind the "Sync to NetSuite" button) and
//! NetSuite (User Event scripts, RESTlets) call. It authenticates callers, checks input, and
//! forwards each request to a service over gRPC; it holds no sync logic of its own.
//!
//! Layers, outermost first: trace context (each request runs in its trace scope, so every gRPC
//! call through `services` carries it; every answer carries a `traceparent`, and the layer
//! writes error bodies with the `trace_id`, so no handler passes the trace along),
//! authentication by scoped API key ([`keys`]) and, when the gateway has a NetSuite
//! signing secret, by the HMAC signature of NetSuite events ([`signature`]), then the routes
//! ([`routes`]). Limits ([`limits`]) sit around authentication: URI length, in-flight cap and
//! timeouts outside it, per-key rate and Salesforce budget inside. The gateway serves with its
//! own loop ([`serve`]: connection cap, header and idle timeouts, optional TLS).
//! Errors are JSON `{code, message, trace_id}` with the status of the shared [`ErrorCode`].

pub mod bounded;
pub mod console;
pub mod deep_links;
pub mod error;
pub mod keys;
pub mod limits;
mod middleware;
mod openapi;
mod routes;
pub mod serve;
mod services;
pub mod signature;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use isthmus_proto::ErrorCode;
use isthmus_store::Store;
use tokio::net::TcpListener;

pub use deep_links::DeepLinks;
pub use error::{ApiError, ErrorBody};
pub use keys::{ApiKeys, Scope};
pub use limits::{LimitSettings, RateLimit};
pub use openapi::openapi_json;
pub use serve::tls::TlsFiles;
pub use serve::ServeSettings;
pub use services::Service;
use services::Services;
pub use signature::EventSigning;

/// What the gateway needs at run time.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub max_body_bytes: usize,
    pub sync_deadline: Duration,
    pub idempotency_ttl: Duration,
    /// NetSuite's account concurrency limit (the ceiling of a learned one), shown by
    /// `/v1/governance`.
    pub netsuite_concurrency_limit: u32,
    /// Whether the replicas learn the NetSuite limit under that ceiling
    /// (`netsuite.adaptive_concurrency`).
    pub netsuite_adaptive_concurrency: bool,
    /// Where "open in Salesforce / NetSuite" links point.
    pub links: DeepLinks,
    /// Per-request limits (rate, budget, in-flight, timeouts).
    pub limits: LimitSettings,
    /// Connection limits and TLS of the listeners.
    pub serve: ServeSettings,
}

/// The gRPC addresses of the services the gateway calls (`http://host:port`).
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    pub customers: String,
    pub catalog: String,
    pub orders: String,
    pub finance: String,
}

#[derive(Clone)]
pub struct Gateway {
    services: Services,
    store: Arc<dyn Store>,
    keys: Arc<ApiKeys>,
    settings: Arc<GatewaySettings>,
    /// When set, `/v1/netsuite/events` takes only signed events.
    netsuite_signing: Option<Arc<EventSigning>>,
    /// When set, the operations console is served (see [`console`]).
    console: Option<Arc<console::ConsoleSettings>>,
    limits: Arc<limits::Limits>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{service} service URL {url:?} is invalid: {source}")]
    ServiceUrl {
        service: &'static str,
        url: String,
        source: tonic::transport::Error,
    },
    #[error("the NetSuite event signing secret is empty")]
    EmptySigningSecret,
    #[error("gateway.netsuite_hmac_window_s must be at least 1 second")]
    SigningWindow,
}

impl Gateway {
    /// Connects lazily to the services at `urls`, presenting `grpc` (the gateway's own
    /// credential and TLS trust) on every call (the gateway starts even while a service is
    /// still coming up; `/readyz` tells when they answer).
    pub fn new(
        urls: &ServiceUrls,
        grpc: &isthmus_grpc::ClientSecurity,
        store: Arc<dyn Store>,
        keys: ApiKeys,
        settings: GatewaySettings,
    ) -> Result<Self, GatewayError> {
        Ok(Self {
            services: Services::connect(urls, grpc)?,
            limits: Arc::new(limits::Limits::new(settings.limits.clone(), store.clone())),
            store,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            netsuite_signing: None,
            console: None,
        })
    }

    /// Refuses NetSuite events that are not signed with `signing`'s secret (see [`signature`]);
    /// `None` keeps them on the API key alone.
    pub fn with_netsuite_signing(mut self, signing: Option<EventSigning>) -> Self {
        self.netsuite_signing = signing.map(Arc::new);
        self
    }

    /// Serves the operations console with `settings` (see [`console`]).
    pub fn with_console(mut self, settings: console::ConsoleSettings) -> Self {
        self.console = Some(Arc::new(settings));
        self
    }

    /// The REST API, and the console when it has one.
    pub fn router(self) -> Router {
        routes::router(self)
    }

    /// The console alone (for a listener of its own).
    pub fn console_router(self) -> Router {
        routes::console_only(self)
    }
}

/// Serves the gateway on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "gateway listening");
    match &gateway.netsuite_signing {
        Some(signing) => tracing::info!(
            window_s = signing.window().as_secs(),
            "NetSuite events must be signed (X-Isthmus-Signature)"
        ),
        None => tracing::warn!(
            "NetSuite events are NOT signature-checked (gateway.netsuite_events_unsigned = true): \
             the API key alone admits them, and anyone holding it can forge events and change \
             their query; set ISTHMUS_GATEWAY__NETSUITE_HMAC_SECRET"
        ),
    }
    let settings = gateway.settings.serve.clone();
    serve::serve(listener, gateway.router(), settings, shutdown).await
}

/// Serves the console alone on `listener` (its own listener) until `shutdown`, with the
/// gateway's connection limits and TLS.
pub async fn run_console(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "console listening");
    let settings = gateway.settings.serve.clone();
    serve::serve(listener, gateway.console_router(), settings, shutdown).await
}

/// The error a route answers when the caller's key lacks the route's scope.
fn scope_error(scope: Scope) -> ApiError {
    let scope = match scope {
        Scope::Admin => "admin",
        Scope::Viewer => "operator (admin or viewer)",
        other => other.as_str(),
    };
    ApiError::new(
        ErrorCode::PermissionDenied,
        format!("this API key may not call {scope} routes"),
    )
}

//! What every Isthmus gRPC service shares, so a service crate holds only its own contract:
//!
//! - [`serve`]: one listener until shutdown, with gRPC health (each served service reported
//!   SERVING), reflection of every Isthmus proto (`grpc.reflection.v1` and `v1alpha`), the
//!   message size limit, the [`TraceLayer`] (each call's server span continues the caller's
//!   trace; the answer carries the span's own `traceparent`) and, inside it, the
//!   [`AuthLayer`] (every RPC but health and reflection needs a credential with the scope
//!   [`access`] names), over TLS (and mTLS) when [`ServerSecurity`] has a certificate;
//! - [`keys`]: the one vocabulary of scoped keys (the gateway's API keys, the services' tokens);
//! - [`client`]: what a process presents when it calls a service (token, TLS);
//! - [`ServiceRoutes`]: what a service hands to [`serve`]: its gRPC services and their names;
//! - [`Shared`]: the servers every service runs beside its own contract, over its own queue and
//!   flows: `isthmus.jobs.v1.JobQueue` ([`jobs`]) and `isthmus.reconcile.v1.Reconciliation`
//!   ([`reconcile`]).
//!
//! It does not know any flow: each service crate converts its requests and answers.

pub mod access;
pub mod auth;
pub mod client;
pub mod convert;
pub mod ids;
pub mod jobs;
pub mod keys;
pub mod reconcile;
mod trace;

use std::future::Future;

use isthmus_proto::FILE_DESCRIPTOR_SET;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};

pub use auth::{AuthLayer, ServerAuth};
pub use client::ClientSecurity;
pub use trace::TraceLayer;

/// Largest gRPC message a service decodes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("gRPC credential: {0}")]
    Credential(String),
}

/// How a service admits calls: who may call ([`ServerAuth`]) and, when it has a certificate,
/// TLS (with client certificates verified against a CA for mTLS).
#[derive(Debug, Clone)]
pub struct ServerSecurity {
    pub auth: ServerAuth,
    tls: Option<tonic::transport::ServerTlsConfig>,
    mtls: bool,
}

impl ServerSecurity {
    /// Plaintext, calls admitted by `auth`.
    pub fn new(auth: ServerAuth) -> Self {
        Self {
            auth,
            tls: None,
            mtls: false,
        }
    }

    /// TLS with this certificate chain and key (PEM); with `client_ca_pem`, client certificates
    /// are verified against it (required at the handshake unless bearer tokens are configured,
    /// which a client without a certificate may present instead).
    pub fn with_tls(mut self, cert_pem: &str, key_pem: &str, client_ca_pem: Option<&str>) -> Self {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem));
        if let Some(ca) = client_ca_pem {
            tls = tls
                .client_ca_root(Certificate::from_pem(ca))
                .client_auth_optional(self.auth.has_tokens());
            self.mtls = true;
        }
        self.tls = Some(tls);
        self
    }

    /// How it reads in the start-up log.
    fn describe(&self) -> &'static str {
        match (&self.tls, self.mtls, self.auth.is_open()) {
            (_, _, true) => "UNAUTHENTICATED (grpc.allow_unauthenticated)",
            (None, _, false) => "plaintext, bearer tokens",
            (Some(_), false, false) => "TLS, bearer tokens",
            (Some(_), true, false) => "TLS, client certificates and bearer tokens",
        }
    }
}

/// The gRPC services one Isthmus service serves, with the names health reports SERVING.
pub struct ServiceRoutes {
    part: &'static str,
    names: Vec<&'static str>,
    routes: RoutesBuilder,
}

impl ServiceRoutes {
    /// No services yet; `part` names the service in logs and spans (`customers`, …).
    pub fn new(part: &'static str) -> Self {
        Self {
            part,
            names: Vec::new(),
            routes: Routes::builder(),
        }
    }

    /// Adds a generated gRPC server (already limited with
    /// `max_decoding_message_size(MAX_MESSAGE_BYTES)`).
    pub fn with_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Error = std::convert::Infallible,
                Response = http::Response<tonic::body::Body>,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Adds the job queue and reconciliation servers every service runs.
    pub fn with_shared(self, shared: Shared) -> Self {
        use isthmus_proto::jobs::v1::job_queue_server::JobQueueServer;
        use isthmus_proto::reconcile::v1::reconciliation_server::ReconciliationServer;
        self.with_service(
            JobQueueServer::new(shared.jobs).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .with_service(
            ReconciliationServer::new(shared.reconcile)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
    }
}

/// The gRPC servers every Isthmus service serves beside its own contract: its job queue and
/// the reconciliation of its flows.
pub struct Shared {
    pub jobs: jobs::JobQueueService,
    pub reconcile: reconcile::ReconcileService,
}

/// Serves `routes` on `listener` until `shutdown`, with health, reflection, the trace layer and
/// the auth layer, over TLS when `security` has a certificate.
pub async fn serve(
    listener: TcpListener,
    routes: ServiceRoutes,
    security: ServerSecurity,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for name in &routes.names {
        health_reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    // v1alpha too: many clients (Python's grpcio-reflection, older grpcurl) speak only it.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
    };
    let part = routes.part;
    let mut builder = routes.routes;
    builder
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    tracing::info!(
        addr = ?listener.local_addr().ok(),
        security = security.describe(),
        "{part} service listening"
    );
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = security.tls {
        server = server.tls_config(tls)?;
    }
    let layers = tower::ServiceBuilder::new()
        .layer(TraceLayer::new(part))
        .layer(AuthLayer::new(security.auth))
        .into_inner();
    server
        .layer(layers)
        .add_routes(builder.routes())
        .serve_with_incoming_shutdown(no_delay(listener), shutdown)
        .await?;
    Ok(())
}

/// The connections `listener` accepts, each with `TCP_NODELAY`: tonic ignores its own
/// `tcp_nodelay` for an incoming stream, and without it a response written in two parts (headers,
/// then the message) waits for the peer's delayed ACK, about 40 ms on Linux.
fn no_delay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(%err, "TCP_NODELAY not set on an accepted connection");
            }
        })
    })
}

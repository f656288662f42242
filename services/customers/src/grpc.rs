//! What every Isthmus gRPC server shares: gRPC health (each service reported SERVING),
//! reflection of every Isthmus proto, the message size limit, and serving on a listener until
//! shutdown. The catalog and orders services use it too.

use std::future::Future;

use isthmus_proto::FILE_DESCRIPTOR_SET;
use tokio::net::TcpListener;
use tonic::transport::server::Router;

/// Largest gRPC message a service decodes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The gRPC services every Isthmus service serves beside its own: its job queue
/// (`isthmus.jobs.v1.JobQueue`) and the reconciliation of its flows
/// (`isthmus.reconcile.v1.Reconciliation`).
pub struct Shared {
    pub jobs: crate::jobs::JobQueueService,
    pub reconcile: crate::reconcile::ReconcileService,
}

impl Shared {
    /// Their full names, as health reports them.
    pub const NAMES: [&'static str; 2] = [
        "isthmus.jobs.v1.JobQueue",
        "isthmus.reconcile.v1.Reconciliation",
    ];

    /// Puts both on `router`, with the message size limit.
    pub fn add_to(self, router: Router) -> Router {
        use isthmus_proto::jobs::v1::job_queue_server::JobQueueServer;
        use isthmus_proto::reconcile::v1::reconciliation_server::ReconciliationServer;
        router
            .add_service(
                JobQueueServer::new(self.jobs).max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                ReconciliationServer::new(self.reconcile)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves on `listener` until `shutdown`: health (with each of `serving`, full service names such
/// as `isthmus.orders.v1.OrderSync`, reported SERVING), reflection, and the services `add` puts
/// on the router.
pub async fn serve(
    what: &str,
    listener: TcpListener,
    serving: &[&str],
    add: impl FnOnce(Router) -> Router,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for name in serving {
        health_reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection);
    tracing::info!(addr = ?listener.local_addr().ok(), "{what} service listening");
    add(router)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await?;
    Ok(())
}

//! What every Isthmus gRPC server shares: gRPC health (each service reported SERVING),
//! reflection of every Isthmus proto, the message size limit, and serving on a listener until
//! shutdown. The catalog and orders services use it too.

use std::future::Future;

use isthmus_proto::FILE_DESCRIPTOR_SET;
use tokio::net::TcpListener;
use tonic::transport::server::Router;

/// The router every service adds its gRPC services to (behind the trace layer).
pub type ServiceRouter =
    Router<tower::layer::util::Stack<TraceLayer, tower::layer::util::Identity>>;

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
    pub fn add_to(self, router: ServiceRouter) -> ServiceRouter {
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
    add: impl FnOnce(ServiceRouter) -> ServiceRouter,
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
        .layer(TraceLayer {
            part: what.to_string().into(),
        })
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

/// Opens each call's server span, continuing the caller's trace from its `traceparent`
/// metadata, and answers with the span's own `traceparent` (trace context both ways).
#[derive(Clone)]
pub struct TraceLayer {
    part: std::sync::Arc<str>,
}

impl<S> tower::Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            part: self.part.clone(),
        }
    }
}

#[derive(Clone)]
pub struct TraceService<S> {
    inner: S,
    part: std::sync::Arc<str>,
}

impl<S, B, R> tower::Service<http::Request<B>> for TraceService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        use tracing::Instrument;
        let method = request.uri().path().trim_start_matches('/').to_string();
        let span = tracing::info_span!(
            "grpc.request",
            otel.name = %method,
            otel.kind = "server",
            rpc.system = "grpc",
            isthmus.part = %self.part,
        );
        if let Some(parent) = request
            .headers()
            .get(isthmus_proto::trace::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
        {
            isthmus_telemetry::set_remote_parent(&span, parent);
        }
        let own = isthmus_telemetry::span_traceparent(&span)
            .and_then(|t| http::HeaderValue::from_str(&t).ok());
        let call = self.inner.call(request);
        Box::pin(
            async move {
                let mut response = call.await?;
                if let Some(own) = own {
                    response
                        .headers_mut()
                        .insert(isthmus_proto::trace::TRACEPARENT, own);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

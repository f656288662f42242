//! The server side of trace context: each gRPC call runs in a server span that continues the
//! caller's trace (from its `traceparent` metadata), inside [`isthmus_telemetry::scope`] so
//! everything below knows the trace without being told, and answers with the span's own
//! `traceparent` when spans are recorded.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use isthmus_telemetry::{TraceContext, TRACEPARENT};

/// Opens each call's server span and trace scope (see the module docs).
#[derive(Clone)]
pub struct TraceLayer {
    part: Arc<str>,
}

impl TraceLayer {
    /// `part` names the service in each span (`isthmus.part`).
    pub fn new(part: &str) -> Self {
        Self { part: part.into() }
    }
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
    part: Arc<str>,
}

impl<S, B, R> tower::Service<http::Request<B>> for TraceService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
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
        let incoming = request
            .headers()
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(parent) = &incoming {
            isthmus_telemetry::set_remote_parent(&span, parent);
        }
        let own = isthmus_telemetry::span_traceparent(&span);
        let context = own
            .as_deref()
            .and_then(TraceContext::parse)
            .unwrap_or_else(|| TraceContext::from_header_or_new(incoming.as_deref()));
        let own = own.and_then(|t| http::HeaderValue::from_str(&t).ok());
        let call = self.inner.call(request);
        Box::pin(
            isthmus_telemetry::scope(context, async move {
                let mut response = call.await?;
                if let Some(own) = own {
                    response.headers_mut().insert(TRACEPARENT, own);
                }
                Ok(response)
            })
            .instrument(span),
        )
    }
}

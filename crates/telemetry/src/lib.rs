//! `isthmus-telemetry`: what every Isthmus process reports about itself.
//!
//! - [`init`]: the process's `tracing` subscriber: logs (`RUST_LOG`; text, or JSON lines with
//!   the request's `trace_id` and `span_id`, see [`LogFormat`]), and, when an OTLP endpoint
//!   is configured, every span exported as an OpenTelemetry trace over OTLP/HTTP.
//! - [`context`]: the W3C trace context (`traceparent`) of the request being served: servers run
//!   each request in its [`scope`], code below reads [`current`], and every outgoing gRPC call
//!   carries it through [`TraceInterceptor`]. Without export the mesh still passes the ids along
//!   itself.
//! - `propagation`: the same context in and out of exported spans: a span continues the trace of
//!   an incoming request ([`set_remote_parent`]); an outgoing call carries the current span's
//!   context ([`current_traceparent`]).
//! - [`metrics`]: Prometheus counters, histograms and gauges, rendered by [`metrics::render`].
//!
//! Span shape: the gateway opens a server span per request, each service one per gRPC call, and
//! each connector one client span per vendor HTTP call, so one button click is one trace:
//! gateway → service (→ customers service) → each Salesforce and NetSuite call.

pub mod context;
mod logs;
pub mod metrics;
mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;

pub use context::{
    current, scope, trace_id_of, traced, traced_as, ClientInterceptor, TraceContext,
    TraceInterceptor, TracedChannel, AUTHORIZATION, TRACEPARENT,
};
pub use logs::{JsonLines, LogFormat};
pub use propagation::{current_traceparent, set_remote_parent, span_traceparent};

/// The process's telemetry; [`Telemetry::shutdown`] flushes the spans still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTLP exporter for {endpoint:?}: {message}")]
    Exporter { endpoint: String, message: String },
}

impl Telemetry {
    /// Exports what is buffered now (tests, before reading what a collector received).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            if let Err(err) = provider.force_flush() {
                tracing::warn!(%err, "flushing spans failed");
            }
        }
    }

    /// Flushes and stops the exporter.
    pub fn shutdown(&self) {
        if let Some(provider) = &self.provider {
            if let Err(err) = provider.shutdown() {
                tracing::warn!(%err, "stopping the span exporter failed");
            }
        }
    }
}

/// The span exporter's tracer provider for `endpoint` (OTLP/HTTP, JSON encoding, batched).
pub fn tracer_provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let base = endpoint.trim_end_matches('/');
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(format!("{base}/v1/traces"))
        .build()
        .map_err(|e| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            message: e.to_string(),
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build())
}

/// Installs the process's subscriber: logs filtered by `RUST_LOG` (default `info`) to stdout,
/// and spans exported to `otlp_endpoint` when it is not empty, as `service.name` =
/// `service_name`. Call once per process; a second call keeps the first subscriber.
pub fn init(
    otlp_endpoint: &str,
    service_name: &str,
    log_format: LogFormat,
) -> Result<Telemetry, TelemetryError> {
    init_writing_to(otlp_endpoint, service_name, log_format, std::io::stdout)
}

/// [`init`], with the log lines written to `writer` (a test that reads every line it logged).
pub fn init_writing_to<W>(
    otlp_endpoint: &str,
    service_name: &str,
    log_format: LogFormat,
    writer: W,
) -> Result<Telemetry, TelemetryError>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    propagation::install();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,h2=warn,tower=warn,opentelemetry=warn".into());
    let fmt = match log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .with_writer(writer)
            .boxed(),
    };
    if otlp_endpoint.is_empty() {
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init();
        return Ok(Telemetry { provider: None });
    }
    let provider = tracer_provider(otlp_endpoint, service_name)?;
    let tracer = provider.tracer("isthmus");
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    Ok(Telemetry {
        provider: Some(provider),
    })
}

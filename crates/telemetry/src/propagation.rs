//! W3C trace context in and out of spans.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::context::TRACEPARENT;

/// Makes W3C trace context the global propagator (idempotent).
pub(crate) fn install() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// Continues the trace of `traceparent` in `span` (a remote parent). A malformed header leaves
/// the span a root.
pub fn set_remote_parent(span: &tracing::Span, traceparent: &str) {
    let carrier: HashMap<String, String> =
        HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The `traceparent` of `span` when it is recorded (spans are exported), else `None`.
pub fn span_traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_ref = context.span();
    let sc = span_ref.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// The `traceparent` of the current span, for an outgoing call.
pub fn current_traceparent() -> Option<String> {
    span_traceparent(&tracing::Span::current())
}

//! The W3C trace context of the request being served, as it crosses the mesh.
//!
//! A server (the gateway's trace middleware, every gRPC service's trace layer, the worker for a
//! queued job) runs the request inside [`scope`]; anything below reads [`current`] instead of
//! taking the trace id as an argument, and every outgoing gRPC call carries it through
//! [`TraceInterceptor`], so one click is one trace whether or not spans are exported.
//! When spans are exported, the current span's context wins: it is the same trace, with the
//! span the callee should hang under.

use std::future::Future;

use crate::propagation::current_traceparent;

/// Header / metadata key of the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// A trace: 16-byte trace id and 8-byte parent span id, both lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

impl TraceContext {
    /// A new random trace.
    pub fn new_root() -> Self {
        let trace: [u8; 16] = rand::random();
        let span: [u8; 8] = rand::random();
        Self {
            trace_id: hex(&trace),
            span_id: hex(&span),
        }
    }

    /// A new span of the trace `trace_id` (a new root when `trace_id` is not one).
    pub fn of_trace(trace_id: &str) -> Self {
        let root = Self::new_root();
        if is_hex(trace_id, 32) && trace_id.bytes().any(|b| b != b'0') {
            Self {
                trace_id: trace_id.to_string(),
                ..root
            }
        } else {
            root
        }
    }

    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; `None` when malformed or all-zero.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let valid = is_hex(version, 2)
            && version != "ff"
            && is_hex(trace, 32)
            && is_hex(span, 16)
            && is_hex(flags, 2)
            && trace.bytes().any(|b| b != b'0')
            && span.bytes().any(|b| b != b'0');
        valid.then(|| Self {
            trace_id: trace.to_string(),
            span_id: span.to_string(),
        })
    }

    /// The context from an optional header, or a new root when absent or malformed.
    pub fn from_header_or_new(header: Option<&str>) -> Self {
        header.and_then(Self::parse).unwrap_or_else(Self::new_root)
    }

    pub fn to_header(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }
}

fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `work` as part of the trace `context`: [`current`] inside it answers `context`.
pub async fn scope<F: Future>(context: TraceContext, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// The trace of the request being served: the current span's when spans are exported, else
/// the one [`scope`] set, else `None` (outside any request).
pub fn current() -> Option<TraceContext> {
    current_traceparent()
        .and_then(|header| TraceContext::parse(&header))
        .or_else(|| CURRENT.try_with(Clone::clone).ok())
}

/// Sets `traceparent` on every outgoing gRPC request to the [`current`] trace, so the callee's
/// span continues it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceInterceptor;

impl tonic::service::Interceptor for TraceInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(context) = current() {
            if let Ok(value) = context.to_header().parse() {
                request.metadata_mut().insert(TRACEPARENT, value);
            }
        }
        Ok(request)
    }
}

/// What every outgoing gRPC call of a channel carries: the current trace (see
/// [`TraceInterceptor`]) and, when the channel has one, its caller's credential as
/// `authorization` metadata (marked sensitive, so it never shows in `Debug` output).
#[derive(Clone, Default)]
pub struct ClientInterceptor {
    authorization: Option<tonic::metadata::AsciiMetadataValue>,
}

impl std::fmt::Debug for ClientInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInterceptor")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[set]"),
            )
            .finish()
    }
}

impl tonic::service::Interceptor for ClientInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = TraceInterceptor.call(request)?;
        if let Some(value) = &self.authorization {
            request.metadata_mut().insert(AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}

/// Metadata key of a gRPC call's credential (`Bearer <token>`).
pub const AUTHORIZATION: &str = "authorization";

/// A gRPC channel whose every call carries the current trace and the channel's credential
/// (see [`ClientInterceptor`]).
pub type TracedChannel =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, ClientInterceptor>;

/// Wraps `channel` so that every call through it carries the current trace (and no credential).
pub fn traced(channel: tonic::transport::Channel) -> TracedChannel {
    traced_as(channel, None)
}

/// Wraps `channel` so that every call through it carries the current trace and
/// `authorization` (e.g. `Bearer <token>`), marked sensitive.
pub fn traced_as(
    channel: tonic::transport::Channel,
    authorization: Option<tonic::metadata::AsciiMetadataValue>,
) -> TracedChannel {
    let authorization = authorization.map(|mut value| {
        value.set_sensitive(true);
        value
    });
    tonic::service::interceptor::InterceptedService::new(
        channel,
        ClientInterceptor { authorization },
    )
}

/// The trace id a gRPC request carries, or a fresh one.
pub fn trace_id_of(metadata: &tonic::metadata::MetadataMap) -> String {
    let header = metadata.get(TRACEPARENT).and_then(|v| v.to_str().ok());
    TraceContext::from_header_or_new(header).trace_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    #[test]
    fn traceparent_round_trips_and_rejects_junk() {
        let root = TraceContext::new_root();
        assert_eq!(TraceContext::parse(&root.to_header()), Some(root));
        let w3c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            TraceContext::parse(w3c).unwrap().trace_id,
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        for bad in [
            "",
            "00-xyz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn outgoing_calls_carry_the_scoped_trace() {
        let request = TraceInterceptor.call(tonic::Request::new(())).unwrap();
        assert!(
            request.metadata().get(TRACEPARENT).is_none(),
            "no trace outside a request"
        );
        let context = TraceContext::of_trace("4bf92f3577b34da6a3ce929d0e0e4736");
        let sent = scope(context.clone(), async {
            assert_eq!(current(), Some(context.clone()));
            TraceInterceptor.call(tonic::Request::new(())).unwrap()
        })
        .await;
        let header = sent.metadata().get(TRACEPARENT).unwrap().to_str().unwrap();
        assert_eq!(TraceContext::parse(header), Some(context));
    }

    #[tokio::test]
    async fn a_channel_credential_rides_every_call_and_never_prints() {
        let value: tonic::metadata::AsciiMetadataValue = "Bearer s3cret-token".parse().unwrap();
        let mut with = ClientInterceptor {
            authorization: Some(value),
        };
        let context = TraceContext::of_trace("4bf92f3577b34da6a3ce929d0e0e4736");
        let sent = scope(context, async {
            with.call(tonic::Request::new(())).unwrap()
        })
        .await;
        assert_eq!(
            sent.metadata()
                .get(AUTHORIZATION)
                .unwrap()
                .to_str()
                .unwrap(),
            "Bearer s3cret-token"
        );
        assert!(sent.metadata().get(TRACEPARENT).is_some());
        assert!(!format!("{with:?}").contains("s3cret"));
        let without = ClientInterceptor::default()
            .call(tonic::Request::new(()))
            .unwrap();
        assert!(without.metadata().get(AUTHORIZATION).is_none());
    }

    #[test]
    fn a_span_of_a_malformed_trace_id_is_a_new_root() {
        assert_eq!(TraceContext::of_trace("abc").trace_id.len(), 32);
        assert_ne!(
            TraceContext::of_trace(&"0".repeat(32)).trace_id,
            "0".repeat(32)
        );
    }
}

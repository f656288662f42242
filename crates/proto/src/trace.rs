//! W3C trace context as it crosses the mesh: the gateway starts or continues a trace from the
//! `traceparent` header and sends it to services in gRPC metadata under the same name; each
//! `SyncResult` carries the trace id. (OpenTelemetry export builds on the same header.)

/// Header / metadata key of the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// A trace: 16-byte trace id and 8-byte parent span id, both lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
}

impl TraceContext {
    /// A new random trace.
    pub fn new_root() -> Self {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        let span = *uuid::Uuid::new_v4().as_bytes();
        Self {
            trace_id: hex(&bytes),
            span_id: hex(&span[..8]),
        }
    }

    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; `None` when malformed or all-zero.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let is_hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The trace id a gRPC request carries, or a fresh one.
pub fn trace_id_of(metadata: &tonic::metadata::MetadataMap) -> String {
    let header = metadata.get(TRACEPARENT).and_then(|v| v.to_str().ok());
    TraceContext::from_header_or_new(header).trace_id
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! Log lines: human-readable text (the default), or one JSON object per line for log pipelines
//! (`telemetry.log_format = "json"`).
//!
//! A JSON line carries `timestamp` (RFC 3339, UTC), `level`, `target`, `message`, the event's
//! other fields under `fields`, the names of the spans it happened in (`spans`, outermost
//! first) and, inside a request, the W3C `trace_id` and `span_id` of the request being served
//! ([`crate::current`]), so a log line joins its trace in any backend. The same ids are there
//! whether or not spans are exported.
//!
//! What it does not do: carry span fields (they are in the exported spans), or redact: secrets
//! are never logged in the first place (they are `SecretString`s, debug-printed as `[set]`).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format {other:?}: use \"text\" or \"json\"")),
        }
    }
}

/// Formats each event as one JSON object (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", line(event, spans(ctx)))
    }
}

fn spans<S, N>(ctx: &FmtContext<'_, S, N>) -> Vec<Value>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    ctx.event_scope()
        .map(|scope| {
            scope
                .from_root()
                .map(|span| Value::from(span.name()))
                .collect()
        })
        .unwrap_or_default()
}

/// The JSON object of one event.
fn line(event: &Event<'_>, spans: Vec<Value>) -> Value {
    let metadata = event.metadata();
    let mut fields = FieldMap::default();
    event.record(&mut fields);
    let mut line = Map::new();
    line.insert(
        "timestamp".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .into(),
    );
    line.insert("level".into(), metadata.level().as_str().into());
    line.insert("target".into(), metadata.target().into());
    line.insert(
        "message".into(),
        fields.message.take().unwrap_or_default().into(),
    );
    if !fields.values.is_empty() {
        line.insert("fields".into(), Value::Object(fields.values));
    }
    if !spans.is_empty() {
        line.insert("spans".into(), Value::Array(spans));
    }
    if let Some(context) = crate::current() {
        line.insert("trace_id".into(), context.trace_id.into());
        line.insert("span_id".into(), context.span_id.into());
    }
    Value::Object(line)
}

/// An event's fields: `message` apart, the rest as JSON values.
#[derive(Default)]
struct FieldMap {
    message: Option<String>,
    values: Map<String, Value>,
}

impl FieldMap {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.values.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for FieldMap {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::TraceContext;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(captured: &Captured) -> Vec<Value> {
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }

    #[tokio::test]
    async fn a_json_line_carries_the_fields_the_spans_and_the_trace_of_the_request() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLines)
                .with_writer(move || writer.clone()),
        );
        let _guard = tracing::subscriber::set_default(subscriber);
        let context = TraceContext::new_root();
        crate::scope(context.clone(), async {
            let span = tracing::info_span!("gateway.request");
            let _entered = span.enter();
            tracing::warn!(
                account = "001A",
                attempts = 3_u64,
                ok = false,
                "sync \"retried\""
            );
        })
        .await;
        tracing::info!("outside any request");

        let lines = lines(&captured);
        assert_eq!(lines.len(), 2);
        let inside = &lines[0];
        assert_eq!(inside["level"], "WARN");
        assert_eq!(inside["message"], "sync \"retried\"");
        assert_eq!(inside["fields"]["account"], "001A");
        assert_eq!(inside["fields"]["attempts"], 3);
        assert_eq!(inside["fields"]["ok"], false);
        assert_eq!(inside["spans"], serde_json::json!(["gateway.request"]));
        assert_eq!(inside["trace_id"], context.trace_id.as_str());
        assert_eq!(inside["span_id"], context.span_id.as_str());
        assert!(inside["timestamp"].as_str().unwrap().ends_with('Z'));
        let outside = &lines[1];
        assert_eq!(outside["message"], "outside any request");
        assert!(outside.get("trace_id").is_none() && outside.get("spans").is_none());
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml"
            .parse::<LogFormat>()
            .unwrap_err()
            .contains("\"text\" or \"json\""));
    }
}

//! An OTLP/HTTP (JSON) trace receiver inside the test process: what a collector would be sent,
//! every span flattened with its `service` (the resource's `service.name`).

use std::sync::{Arc, Mutex};

use axum::routing::post;
use serde_json::Value;

/// What the receiver was sent: every span, flattened.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<Value>>>);

impl Received {
    /// Every span received so far.
    pub fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }

    /// The spans of `trace_id`.
    pub fn spans_of(&self, trace_id: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s["traceId"].as_str() == Some(trace_id))
            .cloned()
            .collect()
    }
}

/// Starts a receiver on a free port; its base URL (the `telemetry.otlp_endpoint`).
pub async fn receiver(received: Received) -> String {
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                let request: Value = serde_json::from_slice(&body).expect("OTLP JSON");
                let mut spans = received.0.lock().unwrap();
                for resource in request["resourceSpans"].as_array().into_iter().flatten() {
                    let service = resource["resource"]["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|a| a["key"] == "service.name")
                        .and_then(|a| a["value"]["stringValue"].as_str())
                        .unwrap_or_default()
                        .to_string();
                    for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                        for span in scope["spans"].as_array().into_iter().flatten() {
                            let mut span = span.clone();
                            span["service"] = Value::String(service.clone());
                            spans.push(span);
                        }
                    }
                }
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

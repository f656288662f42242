//! A Slack-compatible alert receiver for tests: it collects every `{"text": …}` posted to it.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

/// The receiver's URL and the texts posted to it so far.
pub async fn alert_webhook() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            async move {
                let text = body["text"].as_str().unwrap_or_default().to_string();
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(text);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the alert receiver");
    let url = format!(
        "http://{}/hook",
        listener.local_addr().expect("its address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

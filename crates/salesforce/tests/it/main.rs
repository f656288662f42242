//! Integration tests against the Salesforce side of `isthmus-sandbox`, served on a loopback port.
//! One test binary; each test starts its own sandbox.

mod auth;
mod collections;
mod composite;
mod governance;
mod lost_cursors;
mod query;
mod records;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use isthmus_salesforce::{SalesforceAuth, SalesforceClient, SalesforceConfig};
use isthmus_sandbox::credentials::{SF_CLIENT_ID, SF_CLIENT_SECRET};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

/// A running sandbox org and a client logged in to it.
pub struct Org {
    pub sandbox: Sandbox,
    pub client: SalesforceClient,
    /// Makes the next N REST calls answer 401 `INVALID_SESSION_ID`, as an expired token would.
    pub expire_sessions: SessionExpiry,
    _shutdown: oneshot::Sender<()>,
}

#[derive(Clone, Default)]
pub struct SessionExpiry(Arc<AtomicUsize>);

impl SessionExpiry {
    pub fn next_calls(&self, n: usize) {
        self.0.store(n, Ordering::SeqCst);
    }

    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

async fn expire_session(
    State(expiry): State<SessionExpiry>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/services/data/") && expiry.take() {
        let body =
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    next.run(request).await
}

pub async fn org() -> Org {
    org_with(SandboxConfig::default(), "61.0", SF_CLIENT_SECRET).await
}

pub async fn org_with(config: SandboxConfig, api_version: &str, client_secret: &str) -> Org {
    org_configured(config, |c| {
        c.api_version = api_version.to_owned();
        c.auth = SalesforceAuth::ClientCredentials {
            client_id: SF_CLIENT_ID.to_owned(),
            client_secret: client_secret.to_owned().into(),
        };
    })
    .await
}

/// A sandbox started with `config` and a client whose settings `adjust` may change (it starts
/// with client credentials against the sandbox).
pub async fn org_configured(
    config: SandboxConfig,
    adjust: impl FnOnce(&mut SalesforceConfig),
) -> Org {
    let sandbox = Sandbox::new(config).expect("sandbox starts");
    let expire_sessions = SessionExpiry::default();
    let router = sandbox
        .salesforce_router()
        .layer(axum::middleware::from_fn_with_state(
            expire_sessions.clone(),
            expire_session,
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(isthmus_sandbox::serve(listener, router, async {
        let _ = stopped.await;
    }));
    let mut client_config = SalesforceConfig {
        login_url: base_url,
        api_version: "61.0".to_owned(),
        auth: SalesforceAuth::ClientCredentials {
            client_id: SF_CLIENT_ID.to_owned(),
            client_secret: SF_CLIENT_SECRET.to_owned().into(),
        },
        timeout: Duration::from_secs(10),
    };
    adjust(&mut client_config);
    let client = SalesforceClient::new(client_config).expect("client builds");
    Org {
        sandbox,
        client,
        expire_sessions,
        _shutdown: shutdown,
    }
}

/// A JSON object from `json!({...})`.
pub fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

pub const TOKEN: &str = "POST /services/oauth2/token";
pub const QUERY: &str = "GET /services/data/vXX.X/query";
pub const QUERY_MORE: &str = "GET /services/data/vXX.X/query/{locator}";
pub const COLLECTIONS: &str = "POST /services/data/vXX.X/composite/sobjects";

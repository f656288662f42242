//! Integration tests against the NetSuite side of `isthmus-sandbox`, served on a loopback port.
//! One test binary; each test starts its own sandbox.

mod concurrency;
mod jobs;
mod list;
mod m2m;
mod records;
mod restlets;
mod suiteql;
mod transform;

use std::time::Duration;

use isthmus_netsuite::{NetSuiteAuth, NetSuiteClient, NetSuiteConfig};
use isthmus_sandbox::credentials::{
    NS_ACCOUNT_ID, NS_CONSUMER_KEY, NS_CONSUMER_SECRET, NS_TOKEN_ID, NS_TOKEN_SECRET,
};
use isthmus_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

/// A running sandbox account and a client signed in to it.
pub struct Account {
    pub sandbox: Sandbox,
    pub client: NetSuiteClient,
    _shutdown: oneshot::Sender<()>,
}

pub async fn account() -> Account {
    account_with_token_secret(NS_TOKEN_SECRET).await
}

pub async fn account_with_token_secret(token_secret: &str) -> Account {
    account_with(SandboxConfig::default(), |config| {
        config.auth = tba(token_secret);
    })
    .await
}

pub fn tba(token_secret: &str) -> NetSuiteAuth {
    NetSuiteAuth::Tba {
        consumer_key: NS_CONSUMER_KEY.to_owned(),
        consumer_secret: NS_CONSUMER_SECRET.to_owned().into(),
        token_id: NS_TOKEN_ID.to_owned(),
        token_secret: token_secret.to_owned().into(),
    }
}

/// A sandbox started with `sandbox_config` and a client whose configuration `adjust` may change
/// (it starts as TBA against the sandbox, RESTlets on the same origin).
pub async fn account_with(
    sandbox_config: SandboxConfig,
    adjust: impl FnOnce(&mut NetSuiteConfig),
) -> Account {
    let sandbox = Sandbox::new(sandbox_config).expect("sandbox starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(isthmus_sandbox::serve(
        listener,
        sandbox.netsuite_router(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut config = NetSuiteConfig {
        base_url: Some(base_url.clone()),
        restlet_base_url: Some(base_url),
        timeout: Duration::from_secs(10),
        ..NetSuiteConfig::new(NS_ACCOUNT_ID, tba(NS_TOKEN_SECRET))
    };
    adjust(&mut config);
    let client = NetSuiteClient::new(config).expect("client builds");
    Account {
        sandbox,
        client,
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

pub const SUITEQL: &str = "POST /services/rest/query/v1/suiteql";

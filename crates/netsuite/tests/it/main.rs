//! Integration tests against the NetSuite side of `isthmus-sandbox`, served on a loopback port.
//! One test binary; each test starts its own sandbox.

mod records;
mod suiteql;

use std::time::Duration;

use isthmus_netsuite::{NetSuiteClient, NetSuiteConfig};
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
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox starts");
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
    let client = NetSuiteClient::new(NetSuiteConfig {
        account_id: NS_ACCOUNT_ID.to_owned(),
        base_url: Some(base_url),
        consumer_key: NS_CONSUMER_KEY.to_owned(),
        consumer_secret: NS_CONSUMER_SECRET.to_owned().into(),
        token_id: NS_TOKEN_ID.to_owned(),
        token_secret: token_secret.to_owned().into(),
        timeout: Duration::from_secs(10),
    })
    .expect("client builds");
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

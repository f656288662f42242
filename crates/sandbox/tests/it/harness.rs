use isthmus_sandbox::{credentials, serve, Sandbox, SandboxConfig};
use serde_json::Value;
use tokio::sync::oneshot;

pub struct Harness {
    pub sandbox: Sandbox,
    pub sf: String,
    pub ns: String,
    pub http: reqwest::Client,
    _stop: Vec<oneshot::Sender<()>>,
}

pub async fn start(config: SandboxConfig) -> Harness {
    let sandbox = Sandbox::new(config).expect("sandbox starts");
    let mut stop = Vec::new();
    let mut urls = Vec::new();
    for router in [sandbox.salesforce_router(), sandbox.netsuite_router()] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}", listener.local_addr().unwrap()));
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        tokio::spawn(serve(listener, router, async move {
            let _ = rx.await;
        }));
    }
    Harness {
        sandbox,
        ns: urls.pop().unwrap(),
        sf: urls.pop().unwrap(),
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

pub async fn seeded() -> Harness {
    start(SandboxConfig {
        seed: true,
        ..SandboxConfig::default()
    })
    .await
}

pub async fn empty() -> Harness {
    start(SandboxConfig::default()).await
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Harness {
    pub async fn sf_token(&self) -> String {
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", credentials::SF_CLIENT_ID),
            ("client_secret", credentials::SF_CLIENT_SECRET),
        ]);
        let response = self
            .http
            .post(format!("{}/services/oauth2/token", self.sf))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: Value = response.json().await.unwrap();
        json["access_token"].as_str().unwrap().to_owned()
    }

    /// A request to the Salesforce REST API (`path` below `/services/data/v61.0/`) with a fresh token.
    pub async fn sf(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let token = self.sf_token().await;
        let url = if path.starts_with("/services") {
            format!("{}{path}", self.sf)
        } else {
            format!("{}/services/data/v61.0/{path}", self.sf)
        };
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn soql(&self, query: &str) -> reqwest::Response {
        self.sf(
            reqwest::Method::GET,
            &format!("query?q={}", urlencode(query)),
            None,
        )
        .await
    }

    /// A TBA-signed request to the NetSuite REST API (`path` below `/services/rest/`).
    pub async fn ns(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let url = format!("{}/services/rest/{path}", self.ns);
        let authorization =
            crate::signer::authorization(method.as_str(), &url, &crate::signer::Options::default());
        let mut request = self
            .http
            .request(method, url)
            .header("authorization", authorization);
        if path.starts_with("query/") {
            request = request.header("prefer", "transient");
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A fresh path for [`SandboxConfig::persist_path`] in the temp directory; removes both systems'
/// files when dropped.
pub struct PersistPath(pub std::path::PathBuf);

impl PersistPath {
    pub fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!(
            "isthmus-sandbox-{name}-{}-{}.sqlite",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        )))
    }

    /// A sandbox configuration keeping both systems at this path.
    pub fn config(&self, seed: bool) -> SandboxConfig {
        SandboxConfig {
            seed,
            persist_path: Some(self.0.clone()),
            ..SandboxConfig::default()
        }
    }
}

impl Drop for PersistPath {
    fn drop(&mut self) {
        let config = self.config(false);
        for path in [config.salesforce_persist_path(), config.persist_path]
            .into_iter()
            .flatten()
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

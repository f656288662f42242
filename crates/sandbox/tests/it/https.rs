//! HTTPS: both routers served over TLS with a certificate generated at start, trusted by reqwest.

use isthmus_sandbox::{serve_tls, Sandbox, SandboxConfig, TlsIdentity};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::signer::{authorization, Options};

struct Tls {
    sandbox: Sandbox,
    sf: String,
    ns: String,
    http: reqwest::Client,
    _stop: Vec<oneshot::Sender<()>>,
}

async fn start_tls() -> Tls {
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..SandboxConfig::default()
    })
    .unwrap();
    let identity = TlsIdentity::generate().unwrap();
    let mut urls = Vec::new();
    let mut stop = Vec::new();
    for router in [sandbox.salesforce_router(), sandbox.netsuite_router()] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        ));
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        tokio::spawn(serve_tls(listener, router, &identity, async move {
            let _ = rx.await;
        }));
    }
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(identity.cert_pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    Tls {
        sandbox,
        ns: urls.pop().unwrap(),
        sf: urls.pop().unwrap(),
        http,
        _stop: stop,
    }
}

async fn signed(tls: &Tls, method: Method, url: &str, signed_as: &str) -> reqwest::Response {
    tls.http
        .request(method.clone(), url)
        .header(
            "authorization",
            authorization(method.as_str(), signed_as, &Options::default()),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn netsuite_over_tls_signs_over_https_and_links_say_https() {
    let tls = start_tls().await;
    let url = format!("{}/services/rest/record/v1/customer?limit=2", tls.ns);
    let response = signed(&tls, Method::GET, &url, &url).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let href = body["items"][0]["links"][0]["href"].as_str().unwrap();
    assert!(href.starts_with(&format!("{}/services/rest/record/v1/customer/", tls.ns)));

    // The same request signed as if it were plain HTTP no longer verifies.
    let as_http = url.replacen("https://", "http://", 1);
    let response = signed(&tls, Method::GET, &url, &as_http).await;
    assert_eq!(response.status(), 401);
    assert_eq!(tls.sandbox.calls().netsuite_total(), 2);
}

#[tokio::test]
async fn salesforce_over_tls_issues_tokens_with_an_https_instance_url() {
    let tls = start_tls().await;
    let response = tls
        .http
        .post(format!("{}/services/oauth2/token", tls.sf))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", isthmus_sandbox::credentials::SF_CLIENT_ID),
            (
                "client_secret",
                isthmus_sandbox::credentials::SF_CLIENT_SECRET,
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["instance_url"], tls.sf.as_str());
}

#[tokio::test]
async fn clients_that_do_not_trust_the_certificate_are_refused() {
    let tls = start_tls().await;
    let untrusting = reqwest::Client::new();
    let err = untrusting
        .get(format!("{}/__sandbox/calls", tls.ns))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err}");
    // The failed handshake does not stop the listener.
    let ok = tls
        .http
        .get(format!("{}/__sandbox/calls", tls.ns))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[test]
fn the_certificate_is_written_as_pem() {
    let identity = TlsIdentity::generate().unwrap();
    let path = std::env::temp_dir().join(format!("isthmus-sandbox-{}.pem", std::process::id()));
    identity.write_cert(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(written, identity.cert_pem());
    assert!(!format!("{identity:?}").contains("PRIVATE"));
}

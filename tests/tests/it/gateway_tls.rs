//! TLS on the gateway's listener: served with the configured certificate, and a certificate
//! written over the files is served to new connections without a restart.

use std::path::Path;
use std::time::Duration;

use isthmus_tests::{StoreKind, TestMesh, ADMIN_KEY};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A test CA.
fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for `localhost` signed by `ca`, written to `dir`; its DER.
fn write_leaf(ca: &CertifiedIssuer<'static, KeyPair>, dir: &Path) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    // The key first: the pair changes when the certificate lands.
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
    std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
    cert.der().to_vec()
}

/// The certificate the gateway presents to a new connection, and the answer of `/v1/queue`.
async fn served(url: &str, ca: &CertifiedIssuer<'static, KeyPair>) -> (Vec<u8>, u16) {
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(ca.der()).unwrap())
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = client
        .get(format!("{url}/v1/queue"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("an https answer");
    let cert = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("a peer certificate")
        .to_vec();
    (cert, response.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_tls_and_picks_up_a_replaced_certificate_without_a_restart() {
    let dir = std::env::temp_dir().join(format!("isthmus-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = ca();
    let first = write_leaf(&ca, &dir);
    let mesh = TestMesh::start_with(StoreKind::Memory, |c| {
        c.gateway.tls_cert_file = dir.join("tls.crt").display().to_string();
        c.gateway.tls_key_file = dir.join("tls.key").display().to_string();
        c.gateway.tls_reload_ms = 100;
    })
    .await;
    let url = mesh
        .gateway
        .replace("http://127.0.0.1", "https://localhost");
    assert_eq!(served(&url, &ca).await, (first.clone(), 200));
    // Plain HTTP on the TLS port gets no answer.
    assert!(reqwest::get(format!("{}/healthz", mesh.gateway))
        .await
        .is_err());

    // Written over, a second certificate reaches new connections within a few reloads.
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new mtime on coarse clocks
    let second = write_leaf(&ca, &dir);
    assert_ne!(first, second);
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (cert, status) = served(&url, &ca).await;
        assert_eq!(status, 200);
        if cert == second {
            seen = cert;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, second, "the replaced certificate is served");
    mesh.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

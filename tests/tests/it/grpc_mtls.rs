//! mTLS: the services serve TLS with a certificate minted here by `rcgen` and take client
//! certificates of the same CA; a certificate names its caller (a DNS name of its
//! subjectAltName, mapped to scopes by `grpc.callers`). The mesh's own clients (gateway, orders
//! → customers) present a certificate too, with no token anywhere. Strangers (another CA, no
//! certificate) are refused at the handshake, and nothing reaches a vendor.

use isthmus_grpc::ClientSecurity;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::customers::v1::{get_link_request, GetLinkRequest};
use isthmus_tests::{StoreKind, TestMesh};

use crate::grpc_auth::{account_with_pending_change, company_name, sync_request};

/// A CA and certificates it signs, as PEM, minted for one test.
struct Pki {
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        Self {
            ca: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// (certificate, key) PEM for `names` (subjectAltName), for a server or a client.
    fn issue(&self, names: &[&str], server: bool) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &std::path::Path, name: &str, pem: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_names_the_caller_by_its_certificate_and_refuses_strangers() {
    let pki = Pki::new("Isthmus test CA");
    let stranger = Pki::new("Some other CA");
    let dir = std::env::temp_dir().join(format!("isthmus-mtls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (server_cert, server_key) = pki.issue(&["127.0.0.1", "localhost"], true);
    let (gateway_cert, gateway_key) = pki.issue(&["gateway.isthmus.test"], false);
    let (erp_cert, erp_key) = pki.issue(&["erp-bridge.isthmus.test"], false);
    let (unnamed_cert, unnamed_key) = pki.issue(&["nobody.isthmus.test"], false);
    let (forged_cert, forged_key) = stranger.issue(&["gateway.isthmus.test"], false);
    let files = [
        write(&dir, "ca.pem", &pki.ca_pem()),
        write(&dir, "server.pem", &server_cert),
        write(&dir, "server.key", &server_key),
        write(&dir, "gateway.pem", &gateway_cert),
        write(&dir, "gateway.key", &gateway_key),
    ];

    // mTLS only: no token anywhere, the mesh's own clients present the gateway certificate.
    let mesh = TestMesh::start_configured(StoreKind::Memory, |config, secrets| {
        secrets.grpc_tokens = None;
        secrets.grpc_token = None;
        let g = &mut config.grpc;
        let [ca, cert, key, client_cert, client_key] = files.clone();
        (g.client_ca_file, g.ca_file) = (ca.clone(), ca);
        (g.tls_cert_file, g.tls_key_file) = (cert, key);
        (g.client_cert_file, g.client_key_file) = (client_cert, client_key);
        g.callers = [
            ("gateway.isthmus.test", "admin"),
            ("erp-bridge.isthmus.test", "netsuite"),
        ]
        .into_iter()
        .map(|(name, scope)| (name.to_string(), vec![scope.to_string()]))
        .collect();
    })
    .await;
    assert!(
        mesh.customers_grpc.starts_with("https://"),
        "{}",
        mesh.customers_grpc
    );

    // The gateway reaches the services with its certificate: a click syncs.
    let (demo, customer, before) = account_with_pending_change(&mesh).await;
    let client = |cert: &str, key: &str| {
        ClientSecurity::new(None)
            .unwrap()
            .with_tls(&pki.ca_pem(), Some((cert, key)))
            .channel(&mesh.customers_grpc)
            .unwrap()
    };

    // A certificate naming a configured caller: its scopes, no more.
    let erp = client(&erp_cert, &erp_key);
    let link = CustomerSyncClient::new(erp.clone())
        .get_link(GetLinkRequest {
            key: Some(get_link_request::Key::NetsuiteId(customer.clone())),
        })
        .await
        .expect("a named caller reads a link")
        .into_inner();
    assert_eq!(link.salesforce_id, demo);
    let denied = CustomerSyncClient::new(erp)
        .sync_account(sync_request(&demo))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("erp-bridge.isthmus.test"),
        "{}",
        denied.message()
    );

    // A certificate of the CA naming no caller: UNAUTHENTICATED.
    let unnamed = CustomerSyncClient::new(client(&unnamed_cert, &unnamed_key))
        .sync_account(sync_request(&demo))
        .await
        .unwrap_err();
    assert_eq!(unnamed.code(), tonic::Code::Unauthenticated, "{unnamed:?}");

    // A certificate of another CA, or none: refused at the handshake.
    let no_certificate = ClientSecurity::new(None)
        .unwrap()
        .with_tls(&pki.ca_pem(), None)
        .channel(&mesh.customers_grpc)
        .unwrap();
    for channel in [client(&forged_cert, &forged_key), no_certificate] {
        let refused = CustomerSyncClient::new(channel)
            .sync_account(sync_request(&demo))
            .await
            .unwrap_err();
        assert_ne!(refused.code(), tonic::Code::Ok);
        assert_ne!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    }
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.salesforce_total() + calls.netsuite_total(),
        0,
        "no refused call reached a vendor: {calls:?}"
    );
    assert_eq!(company_name(&mesh, &customer), before, "NetSuite unchanged");

    // The admin certificate (the gateway's) syncs over gRPC directly.
    let synced = CustomerSyncClient::new(client(&gateway_cert, &gateway_key))
        .sync_account(sync_request(&demo))
        .await
        .expect("the admin caller syncs")
        .into_inner();
    assert_eq!(synced.netsuite_id, customer);
    assert_eq!(company_name(&mesh, &customer), "Renamed Over gRPC Ltd");
    mesh.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

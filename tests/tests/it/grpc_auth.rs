//! Every RPC of the services needs a credential with the RPC's scope, checked before the
//! service runs: real gRPC clients against the mesh, with bearer tokens and with client
//! certificates minted here by `rcgen` (mTLS); refusals are asserted on the far sides (the
//! sandbox's records and call counts, Redis keys). Health and reflection (v1, and v1alpha
//! through Python's grpcio-reflection) answer without a credential.

use std::process::Command;

use isthmus_grpc::ClientSecurity;
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::customers::v1::{
    get_link_request, GetLinkRequest, ListConflictsRequest, SyncAccountRequest,
};
use isthmus_proto::jobs::v1::job_queue_client::JobQueueClient;
use isthmus_proto::jobs::v1::{GetJobRequest, ListAuditRequest};
use isthmus_proto::reconcile::v1::reconciliation_client::ReconciliationClient;
use isthmus_proto::reconcile::v1::ReconcileRequest;
use isthmus_proto::ErrorCode;
use isthmus_sandbox::seed;
use isthmus_tests::{
    grpc_channel, text, StoreKind, TestMesh, GRPC_NETSUITE_TOKEN, GRPC_SALESFORCE_TOKEN,
    GRPC_VIEWER_TOKEN, SF_KEY,
};
use serde_json::{json, Map, Value};

fn fields(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

fn sync_request(account: &str) -> SyncAccountRequest {
    SyncAccountRequest {
        account_id: account.to_string(),
        options: None,
    }
}

/// The demo account synced once through the gateway, then renamed in Salesforce, so that a
/// sync would write to NetSuite; its NetSuite customer id and the name NetSuite has.
async fn account_with_pending_change(mesh: &TestMesh) -> (String, String, String) {
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&demo, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = text(body.get("netsuite_id")).expect("a NetSuite id");
    let before = company_name(mesh, &customer);
    mesh.sandbox
        .sf_update("Account", &demo, fields(json!({ "Name": "Renamed Over gRPC Ltd" })))
        .unwrap();
    mesh.sandbox.reset_calls();
    (demo, customer, before)
}

fn company_name(mesh: &TestMesh, customer: &str) -> String {
    text(
        mesh.sandbox
            .ns_record("customer", customer)
            .expect("the customer")
            .get("companyName"),
    )
    .unwrap_or_default()
}

async fn sorted_redis_keys(mesh: &TestMesh) -> Option<Vec<String>> {
    let mut keys = mesh.redis_keys("*").await?;
    keys.sort();
    Some(keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_without_a_credential_is_unauthenticated_and_writes_nothing() {
    let mesh = TestMesh::start(StoreKind::Redis).await;
    let (demo, customer, before) = account_with_pending_change(&mesh).await;
    let keys_before = sorted_redis_keys(&mesh).await;

    for token in [None, Some("not-a-token-this-mesh-knows-0123456789")] {
        let mut client = CustomerSyncClient::new(grpc_channel(&mesh.customers_grpc, token));
        let refused = client.sync_account(sync_request(&demo)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
        assert_eq!(ErrorCode::from_status(&refused), ErrorCode::Unauthenticated);
        assert!(
            !refused.message().contains("not-a-token"),
            "a token is never echoed: {}",
            refused.message()
        );
    }
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.salesforce_total() + calls.netsuite_total(),
        0,
        "nothing read or written: {calls:?}"
    );
    assert_eq!(company_name(&mesh, &customer), before, "NetSuite unchanged");
    assert_eq!(sorted_redis_keys(&mesh).await, keys_before, "Redis unchanged");

    // The right token syncs end to end.
    let mut client = CustomerSyncClient::new(grpc_channel(
        &mesh.customers_grpc,
        Some(GRPC_SALESFORCE_TOKEN),
    ));
    let synced = client
        .sync_account(sync_request(&demo))
        .await
        .expect("a salesforce token may sync an account")
        .into_inner();
    assert_eq!(synced.netsuite_id, customer);
    assert_eq!(company_name(&mesh, &customer), "Renamed Over gRPC Ltd");
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_the_scope_is_denied_before_the_service_runs() {
    let mesh = TestMesh::start(StoreKind::Memory).await;
    let (demo, customer, before) = account_with_pending_change(&mesh).await;
    let salesforce = grpc_channel(&mesh.customers_grpc, Some(GRPC_SALESFORCE_TOKEN));

    let denied = [
        JobQueueClient::new(salesforce.clone())
            .list_audit(ListAuditRequest::default())
            .await
            .map(|_| ())
            .unwrap_err(),
        CustomerSyncClient::new(salesforce.clone())
            .list_conflicts(ListConflictsRequest::default())
            .await
            .map(|_| ())
            .unwrap_err(),
        ReconciliationClient::new(salesforce.clone())
            .reconcile(ReconcileRequest {
                flow: "customers".into(),
                max_items: 0,
            })
            .await
            .map(|_| ())
            .unwrap_err(),
        // A NetSuite caller may not make the sync a Salesforce caller makes.
        CustomerSyncClient::new(grpc_channel(
            &mesh.customers_grpc,
            Some(GRPC_NETSUITE_TOKEN),
        ))
        .sync_account(sync_request(&demo))
        .await
        .map(|_| ())
        .unwrap_err(),
        // A viewer reads, never starts anything.
        ReconciliationClient::new(grpc_channel(&mesh.customers_grpc, Some(GRPC_VIEWER_TOKEN)))
            .reconcile(ReconcileRequest {
                flow: "customers".into(),
                max_items: 0,
            })
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    for status in &denied {
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
        assert_eq!(ErrorCode::from_status(status), ErrorCode::PermissionDenied);
        assert!(
            status.message().contains("needs the") && status.message().contains("test-grpc-"),
            "says who and what is missing: {}",
            status.message()
        );
    }
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.salesforce_total() + calls.netsuite_total(),
        0,
        "no reconciliation read, no sync ran: {calls:?}"
    );
    assert_eq!(company_name(&mesh, &customer), before, "NetSuite unchanged");

    // What the scopes do allow: a viewer reads the audit log, any caller reads a link.
    let viewer = grpc_channel(&mesh.customers_grpc, Some(GRPC_VIEWER_TOKEN));
    let audit = JobQueueClient::new(viewer)
        .list_audit(ListAuditRequest::default())
        .await
        .expect("a viewer reads the audit log")
        .into_inner();
    assert!(!audit.entries.is_empty(), "the first sync is on the trail");
    let link = CustomerSyncClient::new(salesforce)
        .get_link(GetLinkRequest {
            key: Some(get_link_request::Key::SalesforceId(demo.clone())),
        })
        .await
        .expect("any caller reads a link")
        .into_inner();
    assert_eq!(link.netsuite_id, customer);

    // A job is seen by its own side and by operators; to another side it does not exist.
    let (status, queued) = mesh
        .post(
            &format!("/v1/salesforce/accounts/{demo}/sync?mode=async"),
            Some(SF_KEY),
            None,
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let id = queued["job_id"].as_str().expect("a job id").to_string();
    for (token, seen) in [
        (GRPC_SALESFORCE_TOKEN, true),
        (GRPC_VIEWER_TOKEN, true),
        (GRPC_NETSUITE_TOKEN, false),
    ] {
        let answer = JobQueueClient::new(grpc_channel(&mesh.customers_grpc, Some(token)))
            .get_job(GetJobRequest { id: id.clone() })
            .await;
        match answer {
            Ok(job) => assert!(seen, "{token} saw {:?}", job.into_inner().kind),
            Err(status) => {
                assert!(!seen, "{token}: {status:?}");
                assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
            }
        }
    }
    mesh.wait_job(&id).await;
    mesh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer_without_a_credential() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let mesh = TestMesh::start(StoreKind::Memory).await;
    let anonymous = grpc_channel(&mesh.orders_grpc, None);
    let health = tonic_health::pb::health_client::HealthClient::new(anonymous.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "isthmus.orders.v1.OrderSync".into(),
        })
        .await
        .expect("health is open")
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(anonymous)
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1 is open")
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"isthmus.orders.v1.OrderSync")
            && names.contains(&"grpc.reflection.v1.ServerReflection"),
        "{names:?}"
    );
    mesh.shutdown().await;
}

/// A client of reflection v1alpha only: Python's grpcio-reflection descriptor database.
const V1ALPHA_CLIENT: &str = r#"
import json, os, grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
database = ProtoReflectionDescriptorDatabase(grpc.insecure_channel(os.environ["TARGET"]))
services = list(database.get_services())
file = database.FindFileContainingSymbol("isthmus.customers.v1.CustomerSync")
methods = [m.name for s in file.service for m in s.method]
print(json.dumps({"services": services, "file": file.name, "methods": methods}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_reflection_lists_the_services_over_v1alpha() {
    if let Err(err) = isthmus_tests::python_requirements() {
        panic!("grpcio-reflection is needed: {err}");
    }
    let mesh = TestMesh::start(StoreKind::Memory).await;
    let target = mesh.customers_grpc.trim_start_matches("http://").to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-c", V1ALPHA_CLIENT])
            .env("TARGET", target)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "grpcio-reflection failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    let services = seen["services"].as_array().unwrap();
    assert!(
        services.contains(&json!("isthmus.customers.v1.CustomerSync"))
            && services.contains(&json!("isthmus.jobs.v1.JobQueue")),
        "{seen}"
    );
    assert_eq!(seen["file"], "isthmus/customers/v1/customers.proto");
    assert!(
        seen["methods"].as_array().unwrap().contains(&json!("SyncAccount")),
        "{seen}"
    );
    mesh.shutdown().await;
}

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
    assert!(mesh.customers_grpc.starts_with("https://"), "{}", mesh.customers_grpc);

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

#[test]
fn services_without_a_grpc_credential_refuse_to_start_saying_what_to_set() {
    use isthmus::wiring::grpc::{client_security, server_security};
    let mut config = isthmus::Config::load_from(None, Vec::new()).unwrap();
    let none = isthmus::Secrets::default();
    let refused = server_security(&config, &none).unwrap_err().to_string();
    assert!(
        refused.contains("ISTHMUS_GRPC__TOKENS") && refused.contains("grpc.client_ca_file"),
        "{refused}"
    );
    let refused = client_security(&config, &none).unwrap_err().to_string();
    assert!(refused.contains("ISTHMUS_GRPC__TOKEN"), "{refused}");

    // mTLS callers without a CA to verify them by is a mistake, not an open door.
    config
        .grpc
        .callers
        .insert("erp.example".into(), vec!["netsuite".into()]);
    let mut secrets = isthmus::Secrets::default();
    isthmus_tests::with_grpc_tokens(&mut secrets);
    let refused = server_security(&config, &secrets).unwrap_err().to_string();
    assert!(refused.contains("grpc.client_ca_file"), "{refused}");

    // Only the explicit opt-out serves without a credential.
    config.grpc.callers.clear();
    config.grpc.allow_unauthenticated = true;
    assert!(server_security(&config, &none).unwrap().auth.is_open());
    assert!(!server_security(&config, &secrets).unwrap().auth.is_open());
}

//! Every RPC of the services needs a credential with the RPC's scope, checked before the
//! service runs: real gRPC clients against the mesh with bearer tokens (client certificates:
//! `grpc_mtls.rs`); refusals are asserted on the far sides (the sandbox's records and call
//! counts, the store's snapshot). Health and reflection (v1, and v1alpha through Python's
//! grpcio-reflection) answer without a credential; `isthmus dev` prints a token that works.

use std::process::Command;

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
    grpc_channel, on_both_stores, text, StoreKind, TestMesh, GRPC_NETSUITE_TOKEN,
    GRPC_SALESFORCE_TOKEN, GRPC_VIEWER_TOKEN, SF_KEY,
};
use serde_json::{json, Map, Value};

pub(crate) fn fields(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

pub(crate) fn sync_request(account: &str) -> SyncAccountRequest {
    SyncAccountRequest {
        account_id: account.to_string(),
        options: None,
    }
}

/// The demo account synced once through the gateway, then renamed in Salesforce, so that a
/// sync would write to NetSuite; its NetSuite customer id and the name NetSuite has.
pub(crate) async fn account_with_pending_change(mesh: &TestMesh) -> (String, String, String) {
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let (status, body) = mesh.sync_account(&demo, false).await;
    assert_eq!(status, 200, "{body}");
    let customer = text(body.get("netsuite_id")).expect("a NetSuite id");
    let before = company_name(mesh, &customer);
    mesh.sandbox
        .sf_update(
            "Account",
            &demo,
            fields(json!({ "Name": "Renamed Over gRPC Ltd" })),
        )
        .unwrap();
    mesh.sandbox.reset_calls();
    (demo, customer, before)
}

pub(crate) fn company_name(mesh: &TestMesh, customer: &str) -> String {
    text(
        mesh.sandbox
            .ns_record("customer", customer)
            .expect("the customer")
            .get("companyName"),
    )
    .unwrap_or_default()
}

async fn a_sync_without_a_credential_is_unauthenticated_and_writes_nothing(mesh: &TestMesh) {
    let (demo, customer, before) = account_with_pending_change(mesh).await;
    let store_before = mesh.settled_store_snapshot().await;

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
    assert_eq!(company_name(mesh, &customer), before, "NetSuite unchanged");
    mesh.assert_store_unchanged(&store_before).await;

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
    assert_eq!(company_name(mesh, &customer), "Renamed Over gRPC Ltd");
}
on_both_stores!(
    unauthenticated,
    a_sync_without_a_credential_is_unauthenticated_and_writes_nothing
);

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
    let python =
        isthmus_tests::python().unwrap_or_else(|err| panic!("grpcio-reflection is needed: {err}"));
    let mesh = TestMesh::start(StoreKind::Memory).await;
    let target = mesh
        .customers_grpc
        .trim_start_matches("http://")
        .to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
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
        seen["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("SyncAccount")),
        "{seen}"
    );
    mesh.shutdown().await;
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

/// A CA for the services' certificates with a plaintext service URL is a mistake: the gateway and
/// the orders service refuse to start naming the URL, instead of calling in the clear.
#[tokio::test]
async fn a_grpc_ca_with_a_plaintext_service_url_refuses_to_start() {
    let mut config = isthmus::Config::load_from(None, Vec::new()).unwrap();
    config.grpc.ca_file = "/etc/isthmus/grpc-tls/ca.crt".into();
    config.gateway.netsuite_events_unsigned = true;
    let mut secrets = isthmus::Secrets::default();
    isthmus_tests::with_grpc_tokens(&mut secrets);
    let https = |port: u16| format!("https://services.example:{port}");
    let urls = isthmus_gateway::ServiceUrls {
        customers: https(50051),
        catalog: "http://catalog:50052".into(),
        orders: https(50053),
        finance: https(50054),
    };
    let store: std::sync::Arc<dyn isthmus_store::Store> =
        std::sync::Arc::new(isthmus_store::MemoryStore::new());
    let refused = isthmus::wiring::console::gateway(
        &config,
        &secrets,
        &urls,
        store.clone(),
        isthmus_gateway::ApiKeys::default(),
    )
    .err()
    .expect("the gateway refuses a plaintext URL")
    .to_string();
    assert!(
        refused.contains("gateway.catalog_url") && refused.contains("https://"),
        "{refused}"
    );
    let refused =
        isthmus::wiring::orders::order_flows(&config, &secrets, store, "http://customers:50051")
            .err()
            .expect("the orders service refuses a plaintext URL")
            .to_string();
    assert!(refused.contains("orders.customers_url"), "{refused}");
}

/// `isthmus dev` as a person runs it: one command, and the gRPC token it prints opens the
/// services it prints (while a call without it is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isthmus_dev_prints_a_grpc_token_that_opens_its_services() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let binary = isthmus_tests::isthmus_binary().await;
    let mut dev = tokio::process::Command::new(binary)
        .args(["dev", "--port", "0"])
        .env_remove("REDIS_URL")
        .env_remove("ISTHMUS_STORE__REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("isthmus dev starts");
    let mut lines = BufReader::new(dev.stdout.take().unwrap()).lines();
    let (mut customers, mut token) = (None, None);
    while let Some(line) = lines.next_line().await.expect("stdout") {
        let value = line.split_whitespace().last().map(str::to_string);
        if line.trim_start().starts_with("customers (gRPC):") {
            customers = value;
        } else if line.trim_start().starts_with("gRPC token (admin):") {
            token = value;
        } else if line.starts_with("Console:") {
            break;
        }
    }
    let customers = customers.expect("dev prints the customers service's address");
    let token = token.expect("dev prints a gRPC token");

    let list = |token: Option<&str>| {
        let channel = grpc_channel(&customers, token);
        async move {
            CustomerSyncClient::new(channel)
                .list_conflicts(ListConflictsRequest::default())
                .await
        }
    };
    let refused = list(None).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    list(Some(&token))
        .await
        .expect("the printed token opens the service");
    dev.start_kill().expect("stop dev");
    let _ = dev.wait().await;
}

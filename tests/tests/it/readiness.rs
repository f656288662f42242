//! Readiness when one service is down: the gateway stays ready (it names the service under
//! `degraded`), that service's routes answer `503 UNAVAILABLE`, and the others keep working.

use std::sync::Arc;

use isthmus_gateway::{ApiKeys, Gateway, Scope, ServiceUrls};
use isthmus_sandbox::seed;
use isthmus_tests::{StoreKind, TestMesh, ADMIN_KEY, SF_KEY};

/// An address nothing listens on.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_service_fails_its_routes_and_not_the_gateways_readiness() {
    let mesh = TestMesh::start(StoreKind::Redis).await;
    // A second gateway on the same store, whose orders service is unreachable.
    let (config, _) = mesh.sandbox_config();
    let mut keys = ApiKeys::default();
    keys.insert("test-salesforce", &[Scope::Salesforce], SF_KEY);
    keys.insert("test-admin", &[Scope::Admin], ADMIN_KEY);
    let urls = ServiceUrls {
        customers: mesh.customers_grpc.clone(),
        catalog: mesh.catalog_grpc.clone(),
        orders: dead_url().await,
        finance: dead_url().await,
    };
    let token = secrecy::SecretString::from(isthmus_tests::GRPC_ADMIN_TOKEN);
    let security = isthmus_grpc::ClientSecurity::new(Some(&token)).expect("a gRPC credential");
    let gateway = Gateway::new(
        &urls,
        &security,
        Arc::clone(&mesh.store),
        keys,
        isthmus::wiring::gateway_settings(&config),
    )
    .expect("a gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(isthmus_gateway::run(listener, gateway, async {
        let _ = stopped.await;
    }));

    let ready = mesh
        .http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        ready["degraded"],
        serde_json::json!(["orders", "finance"]),
        "{ready}"
    );
    assert_eq!(ready["checks"]["customers"], "ok");
    assert!(ready["checks"]["orders"]
        .as_str()
        .unwrap()
        .starts_with("down"));

    // The orders service's route: 503, the stable code, JSON.
    let opportunity = "006000000000001AAA";
    let answer = mesh
        .http
        .post(format!(
            "{base}/v1/salesforce/opportunities/{opportunity}/sync"
        ))
        .bearer_auth(SF_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "UNAVAILABLE", "{body}");

    // The customers service's route still syncs: the customer is in NetSuite.
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let synced = mesh
        .http
        .post(format!("{base}/v1/salesforce/accounts/{demo}/sync"))
        .bearer_auth(SF_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200);
    let synced: serde_json::Value = synced.json().await.unwrap();
    let customer = synced["netsuite_id"]
        .as_str()
        .expect("a NetSuite id")
        .to_string();
    assert!(
        mesh.sandbox.ns_record("customer", &customer).is_some(),
        "customer {customer} is in NetSuite"
    );

    let _ = stop.send(());
    served.await.unwrap().unwrap();
    mesh.shutdown().await;
}

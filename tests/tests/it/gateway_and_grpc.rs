//! Health, readiness, the OpenAPI document, idempotency keys and the gRPC contract itself.

use isthmus_proto::common::v1::{Outcome, SyncOptions};
use isthmus_proto::customers::v1::customer_sync_client::CustomerSyncClient;
use isthmus_proto::customers::v1::{get_link_request, GetLinkRequest, SyncAccountRequest};
use isthmus_proto::ErrorCode;
use isthmus_sandbox::seed;
use isthmus_tests::{on_both_stores, TestMesh, SF_KEY};

async fn health_readiness_and_openapi_answer(mesh: &TestMesh) {
    assert_eq!(mesh.get("/healthz", None).await.0, 200);
    let (status, ready) = mesh.get("/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"]["customers"], "ok");
    let (status, doc) = mesh.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["paths"]["/v1/salesforce/accounts/{id}/sync"]["post"].is_object(),
        "{doc}"
    );
    assert!(doc["paths"]["/v1/netsuite/events"]["post"].is_object());
}
on_both_stores!(health, health_readiness_and_openapi_answer);

async fn an_idempotency_key_replays_the_first_answer(mesh: &TestMesh) {
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let url = format!("{}/v1/salesforce/accounts/{demo}/sync", mesh.gateway);
    let send = || {
        mesh.http
            .post(&url)
            .bearer_auth(SF_KEY)
            .header("Idempotency-Key", "click-42")
            .send()
    };
    let first: serde_json::Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["outcome"], "created");
    mesh.sandbox.reset_calls();
    let replay = send().await.unwrap();
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    let replay: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(replay, first, "the stored answer, byte for byte");
    let calls = mesh.sandbox.calls();
    assert_eq!(
        calls.salesforce_total() + calls.netsuite_total(),
        0,
        "{calls:?}"
    );
}
on_both_stores!(idempotency, an_idempotency_key_replays_the_first_answer);

async fn the_grpc_contract_syncs_and_reports_links_and_typed_errors(mesh: &TestMesh) {
    let mut client = CustomerSyncClient::new(mesh.admin_grpc(&mesh.customers_grpc));
    let demo = seed::demo_account_id(&mesh.sandbox).unwrap();
    let result = client
        .sync_account(SyncAccountRequest {
            account_id: demo[..15].to_string(),
            options: Some(SyncOptions::default()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(result.outcome, Outcome::Created as i32);
    assert_eq!(
        result.salesforce_id, demo,
        "a 15-character id is answered in its 18-character form"
    );

    let link = client
        .get_link(GetLinkRequest {
            key: Some(get_link_request::Key::NetsuiteId(
                result.netsuite_id.clone(),
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(link.salesforce_id, demo);
    assert!(!link.salesforce_hash.is_empty());

    let err = client
        .sync_account(SyncAccountRequest {
            account_id: "003000000000000AAA".into(),
            options: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(ErrorCode::from_status(&err), ErrorCode::InvalidArgument);
    let err = client
        .get_link(GetLinkRequest {
            key: Some(get_link_request::Key::NetsuiteId("424242".into())),
        })
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::from_status(&err), ErrorCode::NotFound);
}
on_both_stores!(
    grpc,
    the_grpc_contract_syncs_and_reports_links_and_typed_errors
);

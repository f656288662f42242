//! The whole mesh on a Redis that speaks TLS only and demands client certificates: the store is
//! made from the `[store]` settings (a `rediss` URL, the CA, the client certificate and its key)
//! as `isthmus serve` makes it, and a sync's effects are checked in the sandbox and in Redis.

use isthmus::Config;
use isthmus_sandbox::seed;
use isthmus_store::testing::RedisServer;
use isthmus_tests::{text, TestMesh};

#[tokio::test]
async fn an_account_syncs_through_the_gateway_with_the_store_on_tls_redis_with_client_certificates()
{
    let server = RedisServer::spawn_tls(true);
    let mesh = TestMesh::start_on_redis(server, |_| {}).await;
    let account = seed::demo_account_id(&mesh.sandbox).unwrap();

    let (status, body) = mesh.sync_account(&account, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "created", "{body}");

    let customers = mesh.ns_where("customer", "externalId", &account);
    assert_eq!(customers.len(), 1, "one customer carries the account id");
    let customer_id = text(customers[0].get("id")).unwrap();
    let sf = mesh.sandbox.sf_record("Account", &account).unwrap();
    assert_eq!(text(customers[0].get("companyName")), text(sf.get("Name")));
    assert_eq!(
        text(sf.get("NetSuite_Id__c")).as_deref(),
        Some(customer_id.as_str()),
        "id written back"
    );

    // The link sits in the TLS Redis, in both directions, under the connection's hash tag.
    let by_salesforce = mesh
        .redis_keys(&format!("link:sf:customer:{account}"))
        .await
        .expect("the mesh runs on Redis");
    assert_eq!(by_salesforce.len(), 1, "{by_salesforce:?}");
    let by_netsuite = mesh
        .redis_keys(&format!("link:ns:customer:{customer_id}"))
        .await
        .expect("the mesh runs on Redis");
    assert_eq!(by_netsuite.len(), 1, "{by_netsuite:?}");
    mesh.shutdown().await;
}

#[tokio::test]
async fn a_tls_redis_demanding_a_client_certificate_stops_the_start_when_none_is_configured() {
    let server = RedisServer::spawn_tls(true);
    let mut config = Config::load_from(None, Vec::new()).expect("default config");
    config.store.redis_url = server.url().to_string();
    config.store.connection = server.connection().to_string();
    config.store.tls_ca_file = server.tls().ca_file.as_ref().unwrap().display().to_string();

    let Err(error) = isthmus::wiring::store(&config, false).await else {
        panic!("the server refuses a client without a certificate");
    };
    assert!(
        format!("{error:#}").contains("connecting to Redis"),
        "{error:#}"
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(
            &mut server
                .client()
                .get_multiplexed_async_connection()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(keys.is_empty(), "nothing was written: {keys:?}");
}

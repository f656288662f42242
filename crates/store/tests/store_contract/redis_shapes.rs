//! Redis only, per shape: what a TLS server, a server requiring client certificates, an ACL
//! user, a Sentinel set and a Cluster add to the contract — refusals at connect that name the
//! cause without repeating a secret, keys landing where they must, and a failover the store
//! lives through.

use std::path::PathBuf;

use isthmus_store::testing::{RedisCluster, RedisServer, SentinelSet};
use isthmus_store::{
    IdMap, Lane, Locks, RedisStore, RedisTls, Store, StoreError, DEFAULT_QUEUE_NAMESPACE,
};

use crate::links::{lease, link};
use crate::{ACL_PASSWORD, ACL_USER, LONG};

/// Every key of `connection` on the server `client` reaches.
async fn keys_of(client: &redis::Client, connection: &str) -> Vec<String> {
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("isthmus:{{{connection}}}:*"))
        .query_async(&mut raw)
        .await
        .unwrap();
    keys.sort();
    keys
}

async fn connect_error(url: &str, tls: &RedisTls) -> StoreError {
    RedisStore::connect_with(url, tls, "refused")
        .await
        .expect_err("the connection is refused")
}

#[tokio::test]
async fn links_written_over_tls_are_on_the_server() {
    let server = RedisServer::spawn_tls(false);
    let store = server.store().await;
    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();

    let keys = keys_of(&server.client(), server.connection()).await;
    let c = server.connection();
    assert!(keys.contains(&format!("isthmus:{{{c}}}:link:sf:customer:001A")));
    assert!(keys.contains(&format!("isthmus:{{{c}}}:link:ns:customer:42")));
}

#[tokio::test]
async fn a_tls_server_whose_ca_is_not_given_is_refused() {
    let server = RedisServer::spawn_tls(false);
    // The system's roots do not know the test CA.
    let error = connect_error(server.url(), &RedisTls::default()).await;
    assert!(matches!(error, StoreError::Redis(_)), "{error}");
}

#[tokio::test]
async fn a_server_requiring_client_certificates_refuses_a_store_without_one() {
    let server = RedisServer::spawn_tls(true);
    let without = RedisTls {
        cert_file: None,
        key_file: None,
        ..server.tls().clone()
    };
    let error = connect_error(server.url(), &without).await;
    assert!(matches!(error, StoreError::Redis(_)), "{error}");
    // With its certificate the same store gets in.
    let store = server.store().await;
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_client_certificate_without_its_key_is_refused_before_connecting() {
    let server = RedisServer::spawn_tls(true);
    let half = RedisTls {
        key_file: None,
        ..server.tls().clone()
    };
    let error = connect_error(server.url(), &half).await;
    assert!(
        matches!(&error, StoreError::InvalidRedisTarget(m) if m.contains("store.tls_key_file")),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_ca_file_is_named_in_the_error() {
    let server = RedisServer::spawn_tls(false);
    let missing = RedisTls {
        ca_file: Some(PathBuf::from("/nonexistent/redis-ca.pem")),
        ..RedisTls::default()
    };
    let error = connect_error(server.url(), &missing).await;
    assert!(
        matches!(&error, StoreError::InvalidRedisTarget(m) if m.contains("/nonexistent/redis-ca.pem")),
        "{error}"
    );
}

#[tokio::test]
async fn tls_files_with_a_plaintext_url_are_refused_and_write_nothing() {
    let tls_server = RedisServer::spawn_tls(false);
    let server = RedisServer::start();
    let error = RedisStore::connect_with(server.url(), tls_server.tls(), server.connection())
        .await
        .expect_err("a plaintext URL with TLS files is refused");
    assert!(
        matches!(&error, StoreError::InvalidRedisTarget(m) if m.contains("rediss")),
        "{error}"
    );
    assert!(keys_of(&server.client(), server.connection())
        .await
        .is_empty());
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_without_repeating_the_url() {
    let error = connect_error(
        "redis+mesh://user:hunter2@127.0.0.1:1",
        &RedisTls::default(),
    )
    .await;
    assert!(
        matches!(error, StoreError::InvalidRedisTarget(_)),
        "{error}"
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[tokio::test]
async fn the_acl_user_writes_the_connection_keys_and_the_default_user_is_shut_out() {
    let server = RedisServer::spawn_with_acl_user(ACL_USER, ACL_PASSWORD);
    let store = server.store().await;
    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();

    let c = server.connection();
    assert!(keys_of(&server.client(), c)
        .await
        .contains(&format!("isthmus:{{{c}}}:link:sf:customer:001A")));
    let anonymous = server
        .url()
        .replace(&format!("{ACL_USER}:{ACL_PASSWORD}@"), "");
    let error = RedisStore::connect(&anonymous, "anonymous")
        .await
        .expect_err("the default user is off");
    assert!(matches!(error, StoreError::Redis(_)), "{error}");
}

#[tokio::test]
async fn a_wrong_acl_password_fails_at_connect_without_printing_it() {
    let server = RedisServer::spawn_with_acl_user(ACL_USER, ACL_PASSWORD);
    let wrong = server.url().replace(ACL_PASSWORD, "wrong-password-1234");
    let error = RedisStore::connect(&wrong, "wrong")
        .await
        .expect_err("a wrong password is refused");
    let message = error.to_string();
    assert!(!message.contains("wrong-password-1234"), "{message}");
    assert!(!message.contains(ACL_PASSWORD), "{message}");
    assert!(
        message.contains("WRONGPASS") || message.to_lowercase().contains("auth"),
        "{message}"
    );
}

#[tokio::test]
async fn the_store_keeps_working_after_a_sentinel_failover() {
    let set = SentinelSet::spawn(1, 3);
    let store = set.store().await;
    let queue = store.queue(DEFAULT_QUEUE_NAMESPACE).await.unwrap();
    let before = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &before).await.unwrap();
    let old_master = set.master_port();

    let new_master = set.fail_over();
    assert_ne!(new_master, old_master);

    // The sentinels closed the store's connection to the old master: at most the first call
    // meets the closed connection, the next goes to the new master.
    let mut lease = None;
    for _ in 0..2 {
        if let Ok(acquired) = store.acquire("customer:001B", LONG).await {
            lease = acquired;
            break;
        }
    }
    let lease = lease.expect("a lock is taken on the new master");
    assert!(lease.token > before.token, "tokens still increase");
    store.put_link(&link("001B", "43"), &lease).await.unwrap();
    assert_eq!(
        store.link_by_salesforce("customer", "001A").await.unwrap(),
        Some(link("001A", "42")),
        "what the old master acknowledged and replicated is kept"
    );
    let job = crate::queue::job("after-failover", "sync");
    queue.enqueue(Lane::Interactive, &job).await.unwrap();
    let served = queue.dequeue("worker", 1, LONG).await.unwrap();
    assert_eq!(served.len(), 1);

    let c = set.connection();
    let on_new_master = keys_of(&set.server_client(new_master), c).await;
    assert!(on_new_master.contains(&format!("isthmus:{{{c}}}:link:sf:customer:001B")));
}

#[tokio::test]
async fn a_connections_keys_all_live_on_one_cluster_node() {
    let cluster = RedisCluster::spawn();
    let store = cluster.store().await;
    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();
    assert_eq!(store.index_links("customer").await.unwrap(), 1);
    let queue = store.queue("orders").await.unwrap();
    queue
        .enqueue(Lane::Batch, &crate::queue::job("on-the-cluster", "sync"))
        .await
        .unwrap();

    let mut holding = Vec::new();
    for port in cluster.ports() {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let keys = keys_of(&client, cluster.connection()).await;
        if !keys.is_empty() {
            holding.push(keys);
        }
    }
    assert_eq!(holding.len(), 1, "one node holds every key: {holding:?}");
    let c = cluster.connection();
    for key in ["fence", "link:index:customer", "q:orders:queue:batch"] {
        assert!(
            holding[0].contains(&format!("isthmus:{{{c}}}:{key}")),
            "{key} in {:?}",
            holding[0]
        );
    }
}

/// Pauses every client of the server `client` reaches for `millis`.
async fn pause(client: &redis::Client, millis: u64) {
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(millis)
        .arg("ALL")
        .query_async(&mut raw)
        .await
        .unwrap();
}

/// A call to a server that stops answering fails (the store's response timeout) well before
/// the server answers again, instead of holding its caller as long as the server is stuck.
async fn a_call_to_a_stuck_server_fails(store: &RedisStore, server: &redis::Client) {
    store.link_by_salesforce("customer", "001A").await.unwrap();
    pause(server, 20_000).await;
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        store.link_by_salesforce("customer", "001A"),
    )
    .await
    .expect("the call fails before the server answers again");
    assert!(answer.is_err(), "{answer:?}");
}

#[tokio::test]
async fn a_call_to_a_stuck_server_fails_instead_of_waiting() {
    let server = RedisServer::start();
    let store = server.store().await;
    a_call_to_a_stuck_server_fails(&store, &server.client()).await;
}

#[tokio::test]
async fn a_call_to_a_stuck_sentinel_master_fails_instead_of_waiting() {
    let set = SentinelSet::spawn(1, 3);
    let store = set.store().await;
    a_call_to_a_stuck_server_fails(&store, &set.server_client(set.master_port())).await;
}

//! `isthmus dev` on Redis: each run works in a key namespace of its own, so a second run on the
//! same Redis starts as the first did (its fresh sandbox never meets the first run's ID map), and
//! a run that stops leaves no key behind.

use isthmus::dev::{self, dev_namespace};
use isthmus::Config;
use isthmus_store::testing::RedisServer;

/// Keys of the connection name `namespace` in the Redis at `url`.
async fn keys_of(url: &str, namespace: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    redis::cmd("KEYS")
        .arg(format!("isthmus:{{{namespace}}}:*"))
        .query_async(&mut connection)
        .await
        .expect("KEYS answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_dev_run_on_the_same_redis_starts_and_each_run_cleans_up() {
    let server = RedisServer::start();
    let mut config = Config::load_from(None, Vec::new()).expect("default config");
    config.store.redis_url = server.url().to_string();

    let first = dev::start(config.clone(), 0, None)
        .await
        .expect("the first run starts");
    let first_namespace = first.namespace.clone().expect("a namespace on Redis");
    assert!(first.catalog_items > 0, "the first catalog run saw items");
    let written = keys_of(server.url(), &first_namespace).await;
    assert!(
        written.iter().any(|k| k.contains(":link:")),
        "the first run's ID map is in its namespace: {written:?}"
    );
    first.stop().await.expect("the first run stops");
    assert!(
        keys_of(server.url(), &first_namespace).await.is_empty(),
        "the first run deleted its keys"
    );

    // What failed before: the second run's catalog run met the first run's ID map and answered
    // "unchanged", leaving its fresh sandbox without products.
    let second = dev::start(config, 0, None)
        .await
        .expect("the second run starts");
    let second_namespace = second.namespace.clone().expect("a namespace on Redis");
    assert_ne!(first_namespace, second_namespace);
    let products = second
        .sandbox
        .sf_records("Product2")
        .into_iter()
        .filter(|p| p.get("NetSuite_Id__c").is_some_and(|id| !id.is_null()))
        .count();
    assert!(
        products as u64 >= second.catalog_items,
        "the second run's catalog run made its products ({products})"
    );
    let lines = second
        .sandbox
        .sf_records("OpportunityLineItem")
        .into_iter()
        .filter(|l| {
            l.get("OpportunityId").and_then(|v| v.as_str()) == Some(&second.demo_opportunity)
        })
        .count();
    assert_eq!(lines, 3, "the demo opportunity has its three lines");
    second.stop().await.expect("the second run stops");
    assert!(keys_of(server.url(), &second_namespace).await.is_empty());
}

#[test]
fn a_dev_namespace_follows_the_sandbox_file_and_a_configured_name_is_kept() {
    let dir = std::env::temp_dir();
    let (a, own_a) = dev_namespace("default", Some(&dir.join("isthmus-dev-a.json")));
    let (again, _) = dev_namespace("default", Some(&dir.join("isthmus-dev-a.json")));
    let (b, _) = dev_namespace("default", Some(&dir.join("isthmus-dev-b.json")));
    assert_eq!(a, again, "one sandbox file, one namespace");
    assert_ne!(a, b);
    assert!(!own_a, "a persisted run keeps its keys");
    let (fresh, own) = dev_namespace("default", None);
    assert!(fresh.starts_with("dev-") && own);
    assert_ne!(fresh, dev_namespace("default", None).0);
    assert_eq!(
        dev_namespace("staging", None),
        ("staging".to_string(), false)
    );
}

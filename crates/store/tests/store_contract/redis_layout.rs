//! Redis only: the hash-tag key layout, queue namespaces included, proven on the server itself.

use isthmus_store::testing::{unique_connection_name, RedisServer};
use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{
    AuditLog, DeadLetterQuery, Failure, IdMap, Idempotency, Lane, Locks, NewJob, Queue, QueueDepth,
    RedisStore, StatusValues, Store, DEFAULT_QUEUE_NAMESPACE,
};
use tokio::time::Instant;

use crate::links::{lease, link};
use crate::LONG;

async fn raw_keys(server: &RedisServer) -> Vec<String> {
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("isthmus:{{{}}}:*", server.connection());
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut raw)
        .await
        .unwrap();
    keys.sort();
    keys
}

async fn raw_connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// The default (`customers`) queue of `store`.
async fn default_queue(store: &RedisStore) -> Arc<dyn Queue> {
    store.queue(DEFAULT_QUEUE_NAMESPACE).await.unwrap()
}

fn job(id: &str) -> NewJob {
    NewJob {
        id: id.into(),
        kind: "sync".into(),
        payload: b"{}".to_vec(),
        trace_id: "trace".into(),
    }
}

#[tokio::test]
async fn connect_creates_only_the_counter_and_the_lanes() {
    let server = RedisServer::start();
    let _store = server.store().await;

    let c = server.connection();
    assert_eq!(
        raw_keys(&server).await,
        [
            format!("isthmus:{{{c}}}:fence"),
            format!("isthmus:{{{c}}}:queue:batch"),
            format!("isthmus:{{{c}}}:queue:interactive"),
        ]
    );
}

#[tokio::test]
async fn a_released_lock_leaves_no_key_behind() {
    let server = RedisServer::start();
    let store = server.store().await;
    let before = raw_keys(&server).await;
    for resource in ["customer:sf:001A", "customer:sf:001B", "customer:ns:7"] {
        let lease = lease(&store, resource).await;
        assert!(store.release(&lease).await.unwrap());
    }
    assert_eq!(raw_keys(&server).await, before);
}

#[tokio::test]
async fn tokens_still_increase_after_the_counter_is_lost() {
    let server = RedisServer::start();
    let store = server.store().await;
    let first = lease(&store, "customer:sf:001A").await;
    assert!(store.release(&first).await.unwrap());
    let mut raw = raw_connection(&server).await;
    let _: () = redis::cmd("DEL")
        .arg(store.keys().fence())
        .query_async(&mut raw)
        .await
        .unwrap();
    let second = lease(&store, "customer:sf:001A").await;
    assert!(
        second.token > first.token,
        "{} > {}",
        second.token,
        first.token
    );
}

#[tokio::test]
async fn keys_use_the_connection_name_as_hash_tag() {
    let server = RedisServer::start();
    let store = server.store().await;
    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();
    store.idempotency_put("req-1", b"{}", LONG).await.unwrap();
    let queue = default_queue(&store).await;
    queue.enqueue(Lane::Batch, &job("j1")).await.unwrap();
    queue.enqueue(Lane::Batch, &job("j2")).await.unwrap();
    let delivered = queue.dequeue("w1", 2, Duration::ZERO).await.unwrap();
    queue.retry_later(&delivered[0], LONG).await.unwrap();
    queue
        .dead_letter(&delivered[1], &Failure::new("boom", "bug"))
        .await
        .unwrap();
    store.append_audit(b"{}", 100, &[]).await.unwrap();

    let c = server.connection();
    assert_eq!(
        raw_keys(&server).await,
        [
            format!("isthmus:{{{c}}}:audit"),
            format!("isthmus:{{{c}}}:dead"),
            format!("isthmus:{{{c}}}:dead:index"),
            format!("isthmus:{{{c}}}:dead:kind:sync"),
            format!("isthmus:{{{c}}}:fence"),
            format!("isthmus:{{{c}}}:idem:req-1"),
            format!("isthmus:{{{c}}}:link:index:customer"),
            format!("isthmus:{{{c}}}:link:ns:customer:42"),
            format!("isthmus:{{{c}}}:link:sf:customer:001A"),
            format!("isthmus:{{{c}}}:lock:customer:001A"),
            format!("isthmus:{{{c}}}:queue:batch"),
            format!("isthmus:{{{c}}}:queue:delayed"),
            format!("isthmus:{{{c}}}:queue:interactive"),
        ]
    );
}

/// The consumer groups of the stream `key`, by name.
async fn group_names(server: &RedisServer, key: &str) -> Vec<String> {
    let groups: Vec<Vec<redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(key)
        .query_async(&mut raw_connection(server).await)
        .await
        .unwrap();
    groups
        .iter()
        .filter_map(|fields| {
            let name = fields.iter().skip_while(|f| **f != bulk("name")).nth(1)?;
            match name {
                redis::Value::BulkString(name) => Some(String::from_utf8_lossy(name).into()),
                _ => None,
            }
        })
        .collect()
}

fn bulk(text: &str) -> redis::Value {
    redis::Value::BulkString(text.as_bytes().to_vec())
}

#[tokio::test]
async fn a_queue_namespace_keeps_its_queue_under_q_and_shares_every_other_key() {
    let server = RedisServer::start();
    let store = server.store().await;
    let orders = store.queue("orders").await.unwrap();
    let c = server.connection();
    for lane in ["interactive", "batch"] {
        let stream = format!("isthmus:{{{c}}}:q:orders:queue:{lane}");
        assert_eq!(group_names(&server, &stream).await, ["workers"], "{stream}");
    }

    let lease = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &lease).await.unwrap();
    store.put_status("job:1", b"{}", LONG).await.unwrap();
    orders.enqueue(Lane::Batch, &job("j1")).await.unwrap();
    orders.enqueue(Lane::Batch, &job("j2")).await.unwrap();
    let delivered = orders.dequeue("w1", 2, Duration::ZERO).await.unwrap();
    orders.retry_later(&delivered[0], LONG).await.unwrap();
    orders
        .dead_letter(&delivered[1], &Failure::new("boom", "bug"))
        .await
        .unwrap();
    store.append_audit(b"{}", 100, &[]).await.unwrap();

    let mut expected = [
        "audit",
        "fence",
        "link:index:customer",
        "link:ns:customer:42",
        "link:sf:customer:001A",
        "lock:customer:001A",
        "q:orders:dead",
        "q:orders:dead:index",
        "q:orders:dead:kind:sync",
        "q:orders:queue:batch",
        "q:orders:queue:delayed",
        "q:orders:queue:interactive",
        "queue:batch",
        "queue:interactive",
        "status:job:1",
    ]
    .map(|key| format!("isthmus:{{{c}}}:{key}"));
    expected.sort();
    assert_eq!(raw_keys(&server).await, expected);
    let customers = default_queue(&store).await;
    assert_eq!(
        customers.queue_depth().await.unwrap(),
        QueueDepth::default()
    );
}

#[tokio::test]
async fn the_customers_namespace_uses_the_keys_the_queue_always_had() {
    let server = RedisServer::start();
    let store = server.store().await;
    let before = raw_keys(&server).await;

    let customers = store.queue("customers").await.unwrap();
    customers.enqueue(Lane::Batch, &job("j1")).await.unwrap();

    assert_eq!(raw_keys(&server).await, before);
    let default = default_queue(&store).await;
    assert_eq!(default.queue_depth().await.unwrap().batch, 1);
}

#[tokio::test]
async fn a_refused_namespace_creates_no_key() {
    let server = RedisServer::start();
    let store = server.store().await;
    let before = raw_keys(&server).await;

    assert!(store.queue("Orders:x").await.is_err());

    assert_eq!(raw_keys(&server).await, before);
}

#[tokio::test]
async fn two_connection_names_never_collide() {
    let server = RedisServer::start();
    let prod = server.store().await;
    let sandbox = server.store_for(&unique_connection_name()).await;

    let prod_lease = lease(&prod, "customer:001A").await;
    let sandbox_lease = lease(&sandbox, "customer:001A").await;
    prod.put_link(&link("001A", "42"), &prod_lease)
        .await
        .unwrap();
    assert!(prod.idempotency_put("req-1", b"prod", LONG).await.unwrap());

    assert_eq!(
        sandbox
            .link_by_salesforce("customer", "001A")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        sandbox.link_by_netsuite("customer", "42").await.unwrap(),
        None
    );
    assert_eq!(sandbox.idempotency_get("req-1").await.unwrap(), None);
    assert!(sandbox
        .idempotency_put("req-1", b"sandbox", LONG)
        .await
        .unwrap());
    assert!(sandbox.release(&sandbox_lease).await.unwrap());
    assert_eq!(prod.acquire("customer:001A", LONG).await.unwrap(), None);
}

#[tokio::test]
async fn two_connection_names_never_share_a_queue() {
    let server = RedisServer::start();
    let prod_store = server.store().await;
    let sandbox_store = server.store_for(&unique_connection_name()).await;
    let (prod, sandbox) = (
        default_queue(&prod_store).await,
        default_queue(&sandbox_store).await,
    );
    prod.enqueue(Lane::Interactive, &job("j1")).await.unwrap();
    prod.enqueue(Lane::Batch, &job("j2")).await.unwrap();
    let delivered = prod.dequeue("w1", 1, Duration::ZERO).await.unwrap();
    prod.dead_letter(&delivered[0], &Failure::new("boom", "bug"))
        .await
        .unwrap();
    prod_store.append_audit(b"prod", 100, &[]).await.unwrap();

    assert!(sandbox
        .dequeue("w1", 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    assert!(sandbox
        .reclaim("w2", Duration::ZERO, 10)
        .await
        .unwrap()
        .is_empty());
    let query = DeadLetterQuery {
        kind: None,
        since_ms: None,
        limit: 10,
        offset: 0,
    };
    assert!(sandbox.dead_letters(&query).await.unwrap().is_empty());
    assert_eq!(sandbox.get_dead_letter("j1").await.unwrap(), None);
    assert!(sandbox_store.audit(None, 10).await.unwrap().is_empty());
    assert_eq!(sandbox.queue_depth().await.unwrap(), QueueDepth::default());
    assert_eq!(prod.queue_depth().await.unwrap().batch, 1);
}

#[tokio::test]
async fn the_queue_works_again_after_redis_lost_its_data() {
    let server = RedisServer::start();
    let store = server.store().await;
    let queue = default_queue(&store).await;
    let _: () = redis::cmd("DEL")
        .arg(raw_keys(&server).await)
        .query_async(&mut raw_connection(&server).await)
        .await
        .unwrap();

    queue.enqueue(Lane::Batch, &job("j1")).await.unwrap();
    let delivered = queue.dequeue("w1", 10, Duration::ZERO).await.unwrap();

    assert_eq!(delivered.len(), 1);
    assert_eq!(queue.queue_depth().await.unwrap().pending, 1);
}

#[tokio::test]
async fn a_waiting_dequeue_does_not_hold_up_other_calls() {
    let server = RedisServer::start();
    let store = server.store().await;
    let queue = default_queue(&store).await;
    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.dequeue("w1", 10, Duration::from_secs(3)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    store.ping().await.unwrap();
    store.append_audit(b"{}", 100, &[]).await.unwrap();
    let answered_in = started.elapsed();
    queue.enqueue(Lane::Batch, &job("j1")).await.unwrap();

    assert!(answered_in < Duration::from_secs(1), "{answered_in:?}");
    assert_eq!(waiting.await.unwrap().unwrap().len(), 1);
}

/// A link written before the index existed (its two keys only) is found by `index_links`, after
/// which the walk returns it.
#[tokio::test]
async fn links_from_before_the_index_are_indexed_once_asked() {
    let server = RedisServer::start();
    let store = server.store().await;
    let c = server.connection();
    let old = link("001OLD", "77");
    let json = serde_json::to_string(&old).unwrap();
    let mut raw = raw_connection(&server).await;
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(format!("isthmus:{{{c}}}:link:sf:customer:001OLD"))
        .arg(&json)
        .ignore()
        .cmd("SET")
        .arg(format!("isthmus:{{{c}}}:link:ns:customer:77"))
        .arg(&json)
        .ignore()
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(store
        .links_page("customer", None, 10)
        .await
        .unwrap()
        .is_empty());

    assert_eq!(store.index_links("customer").await.unwrap(), 1);
    assert_eq!(store.links_page("customer", None, 10).await.unwrap(), [old]);
}

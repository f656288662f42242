//! The contract of queue namespaces: each service's workers have a queue of their own (jobs,
//! delayed jobs, pending jobs, dead letters, depth) from `Store::queue`, the default namespace
//! is `customers`, every queue of one namespace is the same queue, and a queue holds nothing of
//! the store's (links, locks, status values, audit, conflicts, idempotency records, slots).

use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{
    DeadLetterQuery, Failure, Lane, Queue, QueueDepth, QueuedJob, Store, StoreError,
    DEFAULT_QUEUE_NAMESPACE,
};
use tokio::time::Instant;

use crate::conflicts::{conflict, resolution};
use crate::links::{lease, link};
use crate::queue::{job, take_one, PROMPTLY};
use crate::{let_short_ttl_expire, LONG, SHORT};

/// The queue of `namespace`.
async fn queue(store: &impl Store, namespace: &str) -> Arc<dyn Queue> {
    store.queue(namespace).await.unwrap()
}

fn ids(jobs: &[QueuedJob]) -> Vec<&str> {
    jobs.iter().map(|job| job.id.as_str()).collect()
}

fn every_dead_letter(kind: Option<&str>) -> DeadLetterQuery {
    DeadLetterQuery {
        kind: kind.map(str::to_owned),
        since_ms: None,
        limit: 100,
        offset: 0,
    }
}

async fn dead_letter_ids(queue: &Arc<dyn Queue>, kind: Option<&str>) -> Vec<String> {
    let letters = queue.dead_letters(&every_dead_letter(kind)).await.unwrap();
    letters.into_iter().map(|letter| letter.job.id).collect()
}

pub async fn namespaces_do_not_see_each_others_jobs(store: impl Store) {
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    let orders = queue(&store, "orders").await;
    let catalog = queue(&store, "catalog").await;
    customers
        .enqueue(Lane::Interactive, &job("c1", "sync-account"))
        .await
        .unwrap();
    orders
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();
    orders
        .enqueue(Lane::Interactive, &job("o2", "sync-order"))
        .await
        .unwrap();

    let depth = |interactive, batch, pending| QueueDepth {
        interactive,
        batch,
        pending,
        ..QueueDepth::default()
    };
    assert_eq!(
        counts(customers.queue_depth().await.unwrap()),
        depth(1, 0, 0)
    );
    assert_eq!(counts(orders.queue_depth().await.unwrap()), depth(1, 1, 0));
    assert_eq!(counts(catalog.queue_depth().await.unwrap()), depth(0, 0, 0));

    let from_catalog = catalog.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    let from_orders = orders.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    let from_customers = customers.dequeue("w1", 10, Duration::ZERO).await.unwrap();

    assert!(from_catalog.is_empty(), "{from_catalog:?}");
    assert_eq!(ids(&from_orders), ["o2", "o1"]);
    assert_eq!(ids(&from_customers), ["c1"]);
    assert_eq!(
        counts(customers.queue_depth().await.unwrap()),
        depth(0, 0, 1)
    );
    assert_eq!(counts(orders.queue_depth().await.unwrap()), depth(0, 0, 2));
    for delivered in &from_orders {
        orders.ack(delivered).await.unwrap();
    }
    assert_eq!(counts(orders.queue_depth().await.unwrap()), depth(0, 0, 0));
    assert_eq!(
        counts(customers.queue_depth().await.unwrap()),
        depth(0, 0, 1)
    );
}

pub async fn namespaces_do_not_see_each_others_delayed_jobs(store: impl Store) {
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    let orders = queue(&store, "orders").await;
    orders
        .enqueue_delayed(Lane::Interactive, &job("o1", "sync-order"), 2, SHORT)
        .await
        .unwrap();
    orders
        .enqueue(Lane::Batch, &job("o2", "sync-order"))
        .await
        .unwrap();
    let first = take_one(&orders).await;
    orders.retry_later(&first, SHORT).await.unwrap();

    assert_eq!(customers.queue_depth().await.unwrap().delayed, 0);
    assert_eq!(orders.queue_depth().await.unwrap().delayed, 2);
    let_short_ttl_expire().await;

    let from_customers = customers.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    let from_orders = orders.dequeue("w1", 10, Duration::ZERO).await.unwrap();

    assert!(from_customers.is_empty(), "{from_customers:?}");
    assert_eq!(ids(&from_orders), ["o1", "o2"]);
    assert!(
        from_orders.iter().all(|job| job.attempt == 2),
        "{from_orders:?}"
    );
    assert_eq!(
        customers.queue_depth().await.unwrap(),
        QueueDepth::default()
    );
}

pub async fn namespaces_do_not_see_each_others_dead_letters(store: impl Store) {
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    let orders = queue(&store, "orders").await;
    orders
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();
    let failed = take_one(&orders).await;
    orders
        .dead_letter(&failed, &Failure::new("boom", "bug"))
        .await
        .unwrap();
    customers
        .enqueue(Lane::Batch, &job("c1", "sync-account"))
        .await
        .unwrap();
    let failed = take_one(&customers).await;
    customers
        .dead_letter(&failed, &Failure::new("boom", "bug"))
        .await
        .unwrap();

    assert_eq!(dead_letter_ids(&customers, None).await, ["c1"]);
    assert_eq!(dead_letter_ids(&orders, None).await, ["o1"]);
    assert!(dead_letter_ids(&customers, Some("sync-order"))
        .await
        .is_empty());
    assert!(dead_letter_ids(&orders, Some("sync-account"))
        .await
        .is_empty());
    assert_eq!(customers.get_dead_letter("o1").await.unwrap(), None);
    assert_eq!(customers.take_dead_letter("o1").await.unwrap(), None);
    assert_eq!(orders.queue_depth().await.unwrap().dead, 1);

    let taken = orders.take_dead_letter("o1").await.unwrap();
    assert_eq!(taken.map(|letter| letter.job.id).as_deref(), Some("o1"));
    assert_eq!(orders.queue_depth().await.unwrap().dead, 0);
    assert_eq!(customers.queue_depth().await.unwrap().dead, 1);
    assert!(customers.get_dead_letter("c1").await.unwrap().is_some());
}

pub async fn a_namespace_reclaims_only_its_own_jobs(store: impl Store) {
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    let orders = queue(&store, "orders").await;
    let catalog = queue(&store, "catalog").await;
    customers
        .enqueue(Lane::Batch, &job("c1", "sync-account"))
        .await
        .unwrap();
    orders
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();
    take_one(&customers).await;
    take_one(&orders).await;
    let_short_ttl_expire().await;

    let by_catalog = catalog.reclaim("w2", SHORT, 10).await.unwrap();
    let by_orders = orders.reclaim("w2", SHORT, 10).await.unwrap();
    let by_customers = customers.reclaim("w2", SHORT, 10).await.unwrap();

    assert!(by_catalog.is_empty(), "{by_catalog:?}");
    assert_eq!(ids(&by_orders), ["o1"]);
    assert_eq!(ids(&by_customers), ["c1"]);
    assert_eq!(by_orders[0].attempt, 2);
}

pub async fn a_blocking_dequeue_wakes_only_for_its_own_namespace(store: impl Store) {
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    let orders = queue(&store, "orders").await;

    let (nothing, ()) = tokio::join!(orders.dequeue("w1", 10, SHORT), async {
        tokio::time::sleep(SHORT / 3).await;
        customers
            .enqueue(Lane::Batch, &job("c1", "sync-account"))
            .await
            .unwrap();
    });
    let started = Instant::now();
    let (delivered, ()) = tokio::join!(orders.dequeue("w1", 10, LONG), async {
        tokio::time::sleep(SHORT).await;
        orders
            .enqueue(Lane::Batch, &job("o1", "sync-order"))
            .await
            .unwrap();
    });

    assert!(nothing.unwrap().is_empty());
    assert_eq!(ids(&delivered.unwrap()), ["o1"]);
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert_eq!(customers.queue_depth().await.unwrap().batch, 1);
}

pub async fn the_default_queue_is_the_customers_namespace(store: impl Store) {
    let default = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    let customers = queue(&store, "customers").await;
    let orders = queue(&store, "orders").await;
    assert_eq!(DEFAULT_QUEUE_NAMESPACE, "customers");
    assert_eq!(default.namespace(), "customers");
    assert_eq!(customers.namespace(), "customers");
    assert_eq!(orders.namespace(), "orders");

    default
        .enqueue(Lane::Batch, &job("c1", "sync-account"))
        .await
        .unwrap();
    customers
        .enqueue(Lane::Interactive, &job("c2", "sync-account"))
        .await
        .unwrap();
    assert_eq!(
        default.queue_depth().await.unwrap(),
        customers.queue_depth().await.unwrap()
    );
    let delivered = customers.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    assert_eq!(ids(&delivered), ["c2", "c1"]);
    default.ack(&delivered[0]).await.unwrap();
    default
        .dead_letter(&delivered[1], &Failure::new("boom", "bug"))
        .await
        .unwrap();

    assert!(customers.get_dead_letter("c1").await.unwrap().is_some());
    let dead_only = QueueDepth {
        dead: 1,
        ..QueueDepth::default()
    };
    assert_eq!(counts(customers.queue_depth().await.unwrap()), dead_only);
    assert_eq!(
        counts(orders.queue_depth().await.unwrap()),
        QueueDepth::default()
    );
}

pub async fn queues_of_one_namespace_are_one_queue(store: impl Store) {
    let first = queue(&store, "orders").await;
    let second = queue(&store, "orders").await;
    let third = queue(&store, "orders").await;
    first
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();

    let delivered = take_one(&second).await;
    third
        .dead_letter(&delivered, &Failure::new("boom", "bug"))
        .await
        .unwrap();

    assert_eq!(delivered.id, "o1");
    assert!(first.get_dead_letter("o1").await.unwrap().is_some());
    assert_eq!(second.queue_depth().await.unwrap().dead, 1);
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    assert_eq!(
        customers.queue_depth().await.unwrap(),
        QueueDepth::default()
    );
}

/// What a queue holds (jobs in every state, dead letters) and what the store holds (links,
/// locks, status values, idempotency records, slots, audit, conflicts) stay apart: a job's life
/// leaves nothing in the store, and the store's writes show in no queue.
pub async fn a_queue_and_the_store_hold_nothing_of_each_other(store: impl Store) {
    let orders = queue(&store, "orders").await;
    let customers = queue(&store, DEFAULT_QUEUE_NAMESPACE).await;
    for id in ["o1", "o2", "o3"] {
        orders
            .enqueue(Lane::Batch, &job(id, "sync-order"))
            .await
            .unwrap();
    }
    orders
        .enqueue_delayed(Lane::Batch, &job("o4", "sync-order"), 2, LONG)
        .await
        .unwrap();
    let delivered = orders.dequeue("w1", 2, Duration::ZERO).await.unwrap();
    orders.retry_later(&delivered[0], LONG).await.unwrap();
    orders
        .dead_letter(&delivered[1], &Failure::new("boom", "bug"))
        .await
        .unwrap();
    let depth = QueueDepth {
        batch: 1,
        delayed: 2,
        dead: 1,
        ..QueueDepth::default()
    };
    assert_eq!(counts(orders.queue_depth().await.unwrap()), depth);

    // The job's life left nothing in the store: no status value, no audit entry, no conflict.
    for id in ["o1", "o2", "o3", "o4"] {
        assert_eq!(store.status(&format!("job:{id}")).await.unwrap(), None);
        assert_eq!(store.idempotency_get(id).await.unwrap(), None);
    }
    assert!(store.audit(None, 10).await.unwrap().is_empty());
    let every_conflict = isthmus_store::ConflictQuery {
        state: None,
        limit: 10,
        offset: 0,
    };
    assert!(store.conflicts(&every_conflict).await.unwrap().is_empty());
    assert_eq!(store.slots_in_use("netsuite").await.unwrap(), 0);

    // The store's writes show in no queue.
    let held = lease(&store, "customer:001A").await;
    store.put_link(&link("001A", "42"), &held).await.unwrap();
    store.put_status("job:o1", b"running", LONG).await.unwrap();
    assert!(store.idempotency_put("req-1", b"{}", LONG).await.unwrap());
    assert!(store
        .acquire_slot("netsuite", 1, LONG)
        .await
        .unwrap()
        .is_some());
    store.append_audit(b"entry", 100, &[]).await.unwrap();
    let parked = conflict("0123456789abcdef0123456789abcdef", 1_714_557_600_000, false);
    store.record_conflict(&parked, 100).await.unwrap();
    let resolved = store
        .resolve_conflict(&parked.id, &resolution("netsuite", "person"))
        .await
        .unwrap();
    assert!(resolved.is_some());
    assert!(store.release(&held).await.unwrap());

    assert_eq!(counts(orders.queue_depth().await.unwrap()), depth);
    assert_eq!(
        customers.queue_depth().await.unwrap(),
        QueueDepth::default()
    );
    assert!(dead_letter_ids(&customers, None).await.is_empty());
    assert_eq!(
        dead_letter_ids(&orders, None).await,
        [delivered[1].id.clone()]
    );
    let_short_ttl_expire().await;
    let again = orders.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    assert_eq!(ids(&again), ["o3"]);
}

pub async fn invalid_queue_namespaces_are_refused(store: impl Store) {
    let too_long = "a".repeat(33);
    for bad in [
        "", "Orders", "or ders", "a:b", "{orders}", "orders}", "é", &too_long,
    ] {
        let refused = store.queue(bad).await.err();
        assert!(
            matches!(&refused, Some(StoreError::InvalidQueueNamespace(name)) if name == bad),
            "{bad:?}: {refused:?}"
        );
    }
    let longest = "a".repeat(32);
    let queue = store.queue(&longest).await.unwrap();
    assert_eq!(queue.namespace(), longest);
    let queue = store.queue("orders_v2-eu").await.unwrap();
    assert_eq!(queue.namespace(), "orders_v2-eu");
}

/// A queue's counts, without when its oldest jobs got there.
fn counts(depth: QueueDepth) -> QueueDepth {
    QueueDepth {
        oldest_interactive_ms: None,
        oldest_batch_ms: None,
        ..depth
    }
}

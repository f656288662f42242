//! The contract of queue namespaces: each service's workers have a queue of their own (jobs,
//! delayed jobs, pending jobs, dead letters, depth), the default store is the `customers`
//! queue, and everything that is not the queue is shared by every view.

use std::time::Duration;

use isthmus_store::{DeadLetterQuery, Lane, QueueDepth, QueuedJob, Store, StoreError};
use tokio::time::Instant;

use crate::conflicts::{conflict, resolution};
use crate::links::{lease, link};
use crate::queue::{job, take_one, PROMPTLY};
use crate::{let_short_ttl_expire, LONG, SHORT};

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

async fn dead_letter_ids(store: &(impl Store + ?Sized), kind: Option<&str>) -> Vec<String> {
    let letters = store.dead_letters(&every_dead_letter(kind)).await.unwrap();
    letters.into_iter().map(|letter| letter.job.id).collect()
}

pub async fn namespaces_do_not_see_each_others_jobs(store: impl Store) {
    let orders = store.with_queue("orders").await.unwrap();
    let catalog = store.with_queue("catalog").await.unwrap();
    store
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
    assert_eq!(store.queue_depth().await.unwrap(), depth(1, 0, 0));
    assert_eq!(orders.queue_depth().await.unwrap(), depth(1, 1, 0));
    assert_eq!(catalog.queue_depth().await.unwrap(), depth(0, 0, 0));

    let from_catalog = catalog.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    let from_orders = orders.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    let from_customers = store.dequeue("w1", 10, Duration::ZERO).await.unwrap();

    assert!(from_catalog.is_empty(), "{from_catalog:?}");
    assert_eq!(ids(&from_orders), ["o2", "o1"]);
    assert_eq!(ids(&from_customers), ["c1"]);
    assert_eq!(store.queue_depth().await.unwrap(), depth(0, 0, 1));
    assert_eq!(orders.queue_depth().await.unwrap(), depth(0, 0, 2));
    for delivered in &from_orders {
        orders.ack(delivered).await.unwrap();
    }
    assert_eq!(orders.queue_depth().await.unwrap(), depth(0, 0, 0));
    assert_eq!(store.queue_depth().await.unwrap(), depth(0, 0, 1));
}

pub async fn namespaces_do_not_see_each_others_delayed_jobs(store: impl Store) {
    let orders = store.with_queue("orders").await.unwrap();
    orders
        .enqueue_delayed(Lane::Interactive, &job("o1", "sync-order"), 2, SHORT)
        .await
        .unwrap();
    orders
        .enqueue(Lane::Batch, &job("o2", "sync-order"))
        .await
        .unwrap();
    let first = take_one(&*orders).await;
    orders.retry_later(&first, SHORT).await.unwrap();

    assert_eq!(store.queue_depth().await.unwrap().delayed, 0);
    assert_eq!(orders.queue_depth().await.unwrap().delayed, 2);
    let_short_ttl_expire().await;

    let from_customers = store.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    let from_orders = orders.dequeue("w1", 10, Duration::ZERO).await.unwrap();

    assert!(from_customers.is_empty(), "{from_customers:?}");
    assert_eq!(ids(&from_orders), ["o1", "o2"]);
    assert!(
        from_orders.iter().all(|job| job.attempt == 2),
        "{from_orders:?}"
    );
    assert_eq!(store.queue_depth().await.unwrap(), QueueDepth::default());
}

pub async fn namespaces_do_not_see_each_others_dead_letters(store: impl Store) {
    let orders = store.with_queue("orders").await.unwrap();
    orders
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();
    let failed = take_one(&*orders).await;
    orders.dead_letter(&failed, "boom", "bug").await.unwrap();
    store
        .enqueue(Lane::Batch, &job("c1", "sync-account"))
        .await
        .unwrap();
    let failed = take_one(&store).await;
    store.dead_letter(&failed, "boom", "bug").await.unwrap();

    assert_eq!(dead_letter_ids(&store, None).await, ["c1"]);
    assert_eq!(dead_letter_ids(&*orders, None).await, ["o1"]);
    assert!(dead_letter_ids(&store, Some("sync-order")).await.is_empty());
    assert!(dead_letter_ids(&*orders, Some("sync-account"))
        .await
        .is_empty());
    assert_eq!(store.get_dead_letter("o1").await.unwrap(), None);
    assert_eq!(store.take_dead_letter("o1").await.unwrap(), None);
    assert_eq!(orders.queue_depth().await.unwrap().dead, 1);

    let taken = orders.take_dead_letter("o1").await.unwrap();
    assert_eq!(taken.map(|letter| letter.job.id).as_deref(), Some("o1"));
    assert_eq!(orders.queue_depth().await.unwrap().dead, 0);
    assert_eq!(store.queue_depth().await.unwrap().dead, 1);
    assert!(store.get_dead_letter("c1").await.unwrap().is_some());
}

pub async fn a_namespace_reclaims_only_its_own_jobs(store: impl Store) {
    let orders = store.with_queue("orders").await.unwrap();
    let catalog = store.with_queue("catalog").await.unwrap();
    store
        .enqueue(Lane::Batch, &job("c1", "sync-account"))
        .await
        .unwrap();
    orders
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();
    take_one(&store).await;
    take_one(&*orders).await;
    let_short_ttl_expire().await;

    let by_catalog = catalog.reclaim("w2", SHORT, 10).await.unwrap();
    let by_orders = orders.reclaim("w2", SHORT, 10).await.unwrap();
    let by_customers = store.reclaim("w2", SHORT, 10).await.unwrap();

    assert!(by_catalog.is_empty(), "{by_catalog:?}");
    assert_eq!(ids(&by_orders), ["o1"]);
    assert_eq!(ids(&by_customers), ["c1"]);
    assert_eq!(by_orders[0].attempt, 2);
}

pub async fn a_blocking_dequeue_wakes_only_for_its_own_namespace(store: impl Store) {
    let orders = store.with_queue("orders").await.unwrap();

    let (nothing, ()) = tokio::join!(orders.dequeue("w1", 10, SHORT), async {
        tokio::time::sleep(SHORT / 3).await;
        store
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
    assert_eq!(store.queue_depth().await.unwrap().batch, 1);
}

pub async fn the_default_queue_is_the_customers_namespace(store: impl Store) {
    let customers = store.with_queue("customers").await.unwrap();
    let orders = store.with_queue("orders").await.unwrap();
    assert_eq!(store.queue_namespace(), "customers");
    assert_eq!(customers.queue_namespace(), "customers");
    assert_eq!(orders.queue_namespace(), "orders");

    store
        .enqueue(Lane::Batch, &job("c1", "sync-account"))
        .await
        .unwrap();
    customers
        .enqueue(Lane::Interactive, &job("c2", "sync-account"))
        .await
        .unwrap();
    assert_eq!(
        store.queue_depth().await.unwrap(),
        customers.queue_depth().await.unwrap()
    );
    let delivered = customers.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    assert_eq!(ids(&delivered), ["c2", "c1"]);
    store.ack(&delivered[0]).await.unwrap();
    store
        .dead_letter(&delivered[1], "boom", "bug")
        .await
        .unwrap();

    assert!(customers.get_dead_letter("c1").await.unwrap().is_some());
    let dead_only = QueueDepth {
        dead: 1,
        ..QueueDepth::default()
    };
    assert_eq!(customers.queue_depth().await.unwrap(), dead_only);
    assert_eq!(orders.queue_depth().await.unwrap(), QueueDepth::default());
}

pub async fn views_of_one_namespace_share_its_queue(store: impl Store) {
    let first = store.with_queue("orders").await.unwrap();
    let second = store.with_queue("orders").await.unwrap();
    let of_a_view = first.with_queue("orders").await.unwrap();
    first
        .enqueue(Lane::Batch, &job("o1", "sync-order"))
        .await
        .unwrap();

    let delivered = take_one(&*second).await;
    of_a_view
        .dead_letter(&delivered, "boom", "bug")
        .await
        .unwrap();

    assert_eq!(delivered.id, "o1");
    assert!(first.get_dead_letter("o1").await.unwrap().is_some());
    assert_eq!(second.queue_depth().await.unwrap().dead, 1);
    assert_eq!(store.queue_depth().await.unwrap(), QueueDepth::default());
}

pub async fn a_view_shares_everything_but_the_queue(store: impl Store) {
    let orders = store.with_queue("orders").await.unwrap();

    // Locks and links: a lease taken through the view fences a write through the original.
    let held = lease(&*orders, "customer:001A").await;
    assert_eq!(store.acquire("customer:001A", LONG).await.unwrap(), None);
    store.put_link(&link("001A", "42"), &held).await.unwrap();
    assert_eq!(
        orders.link_by_netsuite("customer", "42").await.unwrap(),
        Some(link("001A", "42"))
    );
    let many = orders
        .links_by_salesforce_many("customer", &["001A".to_owned()])
        .await
        .unwrap();
    assert_eq!(many, [Some(link("001A", "42"))]);
    orders.delete_link("customer", "001A", &held).await.unwrap();
    assert_eq!(
        store.link_by_salesforce("customer", "001A").await.unwrap(),
        None
    );

    // Status values (job records included), idempotency records and semaphores.
    orders.put_status("job:o1", b"running", LONG).await.unwrap();
    store.put_status("job:c1", b"done", LONG).await.unwrap();
    assert_eq!(
        store.status("job:o1").await.unwrap(),
        Some(b"running".to_vec())
    );
    assert_eq!(
        orders.status("job:c1").await.unwrap(),
        Some(b"done".to_vec())
    );
    assert!(store.idempotency_put("req-1", b"{}", LONG).await.unwrap());
    assert!(!orders.idempotency_put("req-1", b"{}", LONG).await.unwrap());
    assert!(orders
        .acquire_slot("netsuite", 1, LONG)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.acquire_slot("netsuite", 1, LONG).await.unwrap(), None);

    // The audit log and the conflict log.
    orders.append_audit(b"from orders", 100).await.unwrap();
    store.append_audit(b"from customers", 100).await.unwrap();
    let expected: [&[u8]; 2] = [b"from orders", b"from customers"];
    for view in [&store as &dyn Store, &*orders] {
        let entries = view.audit(None, 10).await.unwrap();
        let entries: Vec<&[u8]> = entries.iter().map(|(_, e)| e.as_slice()).collect();
        assert_eq!(entries, expected);
    }
    let parked = conflict("0123456789abcdef0123456789abcdef", 1_714_557_600_000, false);
    orders.record_conflict(&parked, 100).await.unwrap();
    let resolved = store
        .resolve_conflict(&parked.id, &resolution("netsuite", "person"))
        .await
        .unwrap();
    assert!(resolved.is_some());
    let seen = orders.get_conflict(&parked.id).await.unwrap().unwrap();
    assert!(!seen.is_parked(), "{seen:?}");
}

pub async fn invalid_queue_namespaces_are_refused(store: impl Store) {
    let too_long = "a".repeat(33);
    for bad in [
        "", "Orders", "or ders", "a:b", "{orders}", "orders}", "é", &too_long,
    ] {
        let refused = store.with_queue(bad).await.err();
        assert!(
            matches!(&refused, Some(StoreError::InvalidQueueNamespace(name)) if name == bad),
            "{bad:?}: {refused:?}"
        );
    }
    let longest = "a".repeat(32);
    let view = store.with_queue(&longest).await.unwrap();
    assert_eq!(view.queue_namespace(), longest);
    let view = store.with_queue("orders_v2-eu").await.unwrap();
    assert_eq!(view.queue_namespace(), "orders_v2-eu");
}

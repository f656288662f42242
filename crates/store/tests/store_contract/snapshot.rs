//! `StoreSnapshot`, the "nothing written" proof of the refusal tests, on both backends: equal
//! snapshots while only reads run, and a change shown for every kind of write a key count
//! misses: a changed value, an entry added to an existing stream, a time to live set.

use std::time::Duration;

use isthmus_store::testing::{RedisServer, StoreSnapshot};
use isthmus_store::{Lane, Locks, MemoryStore, NewJob, RedisStore, Store, DEFAULT_QUEUE_NAMESPACE};

use crate::links::{lease, link};
use crate::LONG;

// One backend per test, never stored in bulk: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore, RedisServer),
}

impl Backend {
    fn store(&self) -> &dyn Store {
        match self {
            Self::Memory(store) => store,
            Self::Redis(store, _) => store,
        }
    }

    async fn snapshot(&self) -> StoreSnapshot {
        match self {
            Self::Memory(store) => store.snapshot(),
            Self::Redis(_, server) => {
                let mut conn = server
                    .client()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap();
                let prefix = format!("isthmus:{{{}}}:", server.connection());
                StoreSnapshot::of_redis(&mut conn, &prefix).await.unwrap()
            }
        }
    }

    /// Sets a time to live on a key that had none (Redis), or moves a deadline (memory, where
    /// a lease renewed is the only way to set one on existing data): what a `PEXPIRE` on a
    /// fence or a renewal of a lease would do.
    async fn set_a_ttl(&self, held: &isthmus_store::Lease) -> String {
        match self {
            Self::Memory(store) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                assert!(store.renew(held, LONG * 2).await.unwrap());
                format!("lock:{}", held.resource)
            }
            Self::Redis(_, server) => {
                let mut conn = server
                    .client()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap();
                let fence = format!("isthmus:{{{}}}:fence", server.connection());
                let set: i64 = redis::cmd("PEXPIRE")
                    .arg(&fence)
                    .arg(600_000)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(set, 1, "the fence exists");
                "fence".to_owned()
            }
        }
    }
}

/// A store holding a link, a held lease, an audit entry, a status value, an idempotency
/// record, a semaphore slot and a queued job.
async fn filled(backend: &Backend) -> isthmus_store::Lease {
    let store = backend.store();
    let held = lease(store, "customer:001A").await;
    store.put_link(&link("001A", "17"), &held).await.unwrap();
    store.append_audit(b"first", 100, &["001A"]).await.unwrap();
    store.put_status("health", b"ok", LONG).await.unwrap();
    store.idempotency_put("answer", b"{}", LONG).await.unwrap();
    store.acquire_slot("budget", 10, LONG).await.unwrap();
    let job = NewJob {
        id: "job-1".into(),
        kind: "sync".into(),
        payload: b"{}".to_vec(),
        trace_id: "trace".into(),
    };
    let queue = store.queue(DEFAULT_QUEUE_NAMESPACE).await.unwrap();
    queue.enqueue(Lane::Batch, &job).await.unwrap();
    held
}

/// Asserts that exactly `name` changed, and that no key came or went (a key count is blind).
fn only_changed(before: &StoreSnapshot, after: &StoreSnapshot, name: &str) {
    let changes = before.changes(after);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert!(
        changes[0].starts_with(&format!("changed {name}:")),
        "{changes:#?}"
    );
    assert!(before.names().eq(after.names()), "the same keys");
}

async fn every_write_shows_and_reads_do_not(backend: Backend) {
    let held = filled(&backend).await;
    let store = backend.store();
    let before = backend.snapshot().await;
    for name in [
        "fence",
        "audit",
        "status:health",
        "idem:answer",
        "sem:budget",
    ] {
        assert!(before.get(name).is_some(), "{name} in\n{before}");
    }
    assert!(before.get("status:health").unwrap().expires);
    assert!(!before.get("fence").unwrap().expires);

    // Reads write nothing.
    store.link_by_salesforce("customer", "001A").await.unwrap();
    store.audit(None, 10).await.unwrap();
    store.status("health").await.unwrap();
    store.idempotency_get("answer").await.unwrap();
    store.slots_in_use("budget").await.unwrap();
    let queue = store.queue(DEFAULT_QUEUE_NAMESPACE).await.unwrap();
    queue.queue_depth().await.unwrap();
    assert_eq!(before, backend.snapshot().await);

    // A changed value.
    store.put_status("health", b"degraded", LONG).await.unwrap();
    let changed = backend.snapshot().await;
    only_changed(&before, &changed, "status:health");

    // An entry added to a stream that exists.
    store.append_audit(b"second", 100, &[]).await.unwrap();
    let appended = backend.snapshot().await;
    only_changed(&changed, &appended, "audit");

    // A time to live set.
    let name = backend.set_a_ttl(&held).await;
    let expiring = backend.snapshot().await;
    only_changed(&appended, &expiring, &name);

    // Excluded by name, a change no longer counts.
    store.acquire_slot("budget", 10, LONG).await.unwrap();
    let charged = backend.snapshot().await;
    assert_ne!(expiring, charged);
    assert_eq!(
        expiring.without("sem:budget"),
        charged.without("sem:budget")
    );
}

#[tokio::test]
async fn a_memory_snapshot_shows_every_write_and_no_read() {
    every_write_shows_and_reads_do_not(Backend::Memory(MemoryStore::new())).await;
}

#[tokio::test]
async fn a_redis_snapshot_shows_every_write_and_no_read() {
    let server = RedisServer::start();
    let store = server.store().await;
    every_write_shows_and_reads_do_not(Backend::Redis(store, server)).await;
}

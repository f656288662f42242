//! Runs one record's sync under its lock: waits a bounded time for another holder to finish,
//! renews the lease in the background while the work runs, and releases it (compare-and-delete)
//! when the work ends. Writes made under the lock carry its [`Lease`], whose fencing token the
//! store checks, so a holder whose lease was lost cannot record a link.
//!
//! Each function takes the [`Locks`] as an `Arc` of any of its forms (`Arc<dyn Locks>`, or the
//! `Arc<dyn Store>` a flow holds), since a renewal runs in a task of its own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{Lease, Locks};
use tokio::time::Instant;

use crate::error::{EngineError, Result};

pub async fn with_lock<L, T, F, Fut>(
    locks: &Arc<L>,
    resource: &str,
    ttl: Duration,
    wait: Duration,
    work: F,
) -> Result<T>
where
    L: Locks + ?Sized,
    F: FnOnce(Lease) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let lease = acquire(locks.as_ref(), resource, ttl, wait).await?;
    let renewal = spawn_renewal(locks, &lease, ttl);
    let outcome = work(lease.clone()).await;
    renewal.abort();
    if let Err(err) = locks.release(&lease).await {
        // The lease expires by itself; a failed release only delays the next sync.
        tracing::warn!(resource = %lease.resource, %err, "lock release failed");
    }
    outcome
}

/// How a record's sync runs: a dry run with no lease (it writes nothing, in Redis either), any
/// other run under the record's lock ([`with_lock`]).
pub async fn dry_run_or_locked<L, T, F, Fut>(
    locks: &Arc<L>,
    dry_run: bool,
    resource: &str,
    ttl: Duration,
    wait: Duration,
    sync: F,
) -> Result<T>
where
    L: Locks + ?Sized,
    F: FnOnce(Option<Lease>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    if dry_run {
        return sync(None).await;
    }
    with_lock(locks, resource, ttl, wait, |lease| sync(Some(lease))).await
}

/// Renews `lease` every third of `ttl` until the returned task is aborted or the lease is lost.
pub fn spawn_renewal<L: Locks + ?Sized>(
    locks: &Arc<L>,
    lease: &Lease,
    ttl: Duration,
) -> tokio::task::JoinHandle<()> {
    let locks = locks.clone();
    let lease = lease.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ttl / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match locks.renew(&lease, ttl).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(resource = %lease.resource, "lease lost while working");
                    break;
                }
                Err(err) => {
                    tracing::warn!(resource = %lease.resource, %err, "lease renewal failed")
                }
            }
        }
    })
}

/// Store round trips a batch keeps in flight at once (a bulk catalog run's group holds
/// thousands of items: their locks, renewals and links are not all sent at once).
pub(crate) const STORE_CONCURRENCY: usize = 256;

/// Runs `futures` with at most [`STORE_CONCURRENCY`] in flight; the outputs in order. (The
/// futures are gathered first, so the returned future holds no iterator adapter: holding one
/// across an await trips the compiler's `Send` inference for the callers' closures.)
pub(crate) fn bounded<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> impl std::future::Future<Output = Vec<F::Output>> {
    use futures::stream::StreamExt;
    let futures: Vec<F> = futures.into_iter().collect();
    futures::stream::iter(futures)
        .buffered(STORE_CONCURRENCY)
        .collect()
}

/// The locks of a batch of records, taken together: each resource's lock as [`with_lock`]
/// takes it (waiting up to `wait` for another holder, all resources at once), one outcome per
/// resource in order ([`EngineError::Locked`] for one held elsewhere throughout). The caller
/// renews the leases it got while it works ([`spawn_renewals`]) and releases them
/// ([`release_all`]).
pub async fn acquire_each<L: Locks + ?Sized>(
    locks: &L,
    resources: &[String],
    ttl: Duration,
    wait: Duration,
) -> Vec<Result<Lease>> {
    bounded(
        resources
            .iter()
            .map(|resource| acquire(locks, resource, ttl, wait)),
    )
    .await
}

/// Renews every lease of a batch every third of `ttl` until the returned task is aborted; a lease
/// lost meanwhile is caught by [`ensure_held`] before its record's write.
pub fn spawn_renewals<L: Locks + ?Sized>(
    locks: &Arc<L>,
    leases: Vec<Lease>,
    ttl: Duration,
) -> tokio::task::JoinHandle<()> {
    let locks = locks.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ttl / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            bounded(leases.iter().map(|lease| locks.renew(lease, ttl))).await;
        }
    })
}

/// Releases every lease of a batch (compare-and-delete); a failed release is logged, the lease
/// expires by itself.
pub async fn release_all<L: Locks + ?Sized>(locks: &L, leases: &[Lease]) {
    let released = bounded(leases.iter().map(|lease| locks.release(lease))).await;
    for (lease, released) in leases.iter().zip(released) {
        if let Err(err) = released {
            tracing::warn!(resource = %lease.resource, %err, "lock release failed");
        }
    }
}

async fn acquire(
    locks: &(impl Locks + ?Sized),
    resource: &str,
    ttl: Duration,
    wait: Duration,
) -> Result<Lease> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(lease) = locks.acquire(resource, ttl).await? {
            return Ok(lease);
        }
        if Instant::now() + pause > deadline {
            return Err(EngineError::Locked(resource.to_string()));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Fencing at the write: renews `lease` and fails with [`isthmus_store::StoreError::StaleFence`] when it was
/// lost (expired and maybe taken by another sync), so a holder that stalled past its lease
/// writes nothing to either side. One round trip; called before a sync's first far write.
pub async fn ensure_held<L: Locks + ?Sized>(
    locks: &Arc<L>,
    lease: &Lease,
    ttl: Duration,
) -> Result<()> {
    if locks.renew(lease, ttl).await? {
        Ok(())
    } else {
        Err(EngineError::Store(isthmus_store::StoreError::StaleFence {
            resource: lease.resource.clone(),
            token: lease.token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isthmus_store::{MemoryStore, Store};

    #[tokio::test(start_paused = true)]
    async fn a_holder_whose_lease_was_taken_over_may_not_write() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let ttl = Duration::from_secs(1);
        let stalled = store
            .acquire("customer:sf:001", ttl)
            .await
            .unwrap()
            .unwrap();
        ensure_held(&store, &stalled, ttl).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _other = store
            .acquire("customer:sf:001", ttl)
            .await
            .unwrap()
            .unwrap();
        let err = ensure_held(&store, &stalled, ttl).await.unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::Store(isthmus_store::StoreError::StaleFence { .. })
            ),
            "{err}"
        );
        assert_eq!(err.code(), isthmus_proto::ErrorCode::Locked);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_each_free_lock_and_reports_each_held_one() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let ttl = Duration::from_secs(3);
        let _other = store.acquire("b", ttl).await.unwrap().unwrap();
        let resources = ["a", "b", "c"].map(String::from);
        let taken = acquire_each(store.as_ref(), &resources, ttl, Duration::from_millis(50)).await;
        assert!(taken[0].is_ok() && taken[2].is_ok());
        assert!(
            matches!(&taken[1], Err(EngineError::Locked(r)) if r == "b"),
            "{:?}",
            taken[1]
        );
        let leases: Vec<Lease> = taken.into_iter().filter_map(Result::ok).collect();
        // Renewed past their first TTL while the batch works, then released.
        let renewal = spawn_renewals(&store, leases.clone(), ttl);
        tokio::time::sleep(Duration::from_secs(7)).await;
        for lease in &leases {
            ensure_held(&store, lease, ttl).await.unwrap();
        }
        renewal.abort();
        release_all(store.as_ref(), &leases).await;
        assert!(store.acquire("a", ttl).await.unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn with_lock_serialises_and_renews_for_long_work() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let ttl = Duration::from_secs(3);
        let long = with_lock(&store, "r", ttl, Duration::from_millis(10), |lease| {
            let store = store.clone();
            async move {
                // Three lease lengths of work: the renewal keeps the lock held throughout.
                tokio::time::sleep(Duration::from_secs(9)).await;
                ensure_held(&store, &lease, ttl).await
            }
        });
        let contender = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            store.acquire("r", ttl).await.unwrap()
        };
        let (held, taken) = tokio::join!(long, contender);
        held.unwrap();
        assert!(taken.is_none(), "the lock was still held mid-work");
    }
}

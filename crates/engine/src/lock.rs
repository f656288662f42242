//! Runs one record's sync under its lock: waits a bounded time for another holder to finish,
//! renews the lease in the background while the work runs, and releases it (compare-and-delete)
//! when the work ends. Writes made under the lock carry its [`Lease`], whose fencing token the
//! store checks, so a holder whose lease was lost cannot record a link.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{Lease, Store};
use tokio::time::Instant;

use crate::error::{EngineError, Result};

pub async fn with_lock<T, F, Fut>(
    store: &Arc<dyn Store>,
    resource: &str,
    ttl: Duration,
    wait: Duration,
    work: F,
) -> Result<T>
where
    F: FnOnce(Lease) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let lease = acquire(store, resource, ttl, wait).await?;
    let renewal = spawn_renewal(store, &lease, ttl);
    let outcome = work(lease.clone()).await;
    renewal.abort();
    if let Err(err) = store.release(&lease).await {
        // The lease expires by itself; a failed release only delays the next sync.
        tracing::warn!(resource = %lease.resource, %err, "lock release failed");
    }
    outcome
}

/// Renews `lease` every third of `ttl` until the returned task is aborted or the lease is lost.
pub fn spawn_renewal(
    store: &Arc<dyn Store>,
    lease: &Lease,
    ttl: Duration,
) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    let lease = lease.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ttl / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match store.renew(&lease, ttl).await {
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

async fn acquire(
    store: &Arc<dyn Store>,
    resource: &str,
    ttl: Duration,
    wait: Duration,
) -> Result<Lease> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(lease) = store.acquire(resource, ttl).await? {
            return Ok(lease);
        }
        if Instant::now() + pause > deadline {
            return Err(EngineError::Locked(resource.to_string()));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

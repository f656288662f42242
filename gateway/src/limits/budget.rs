//! The daily Salesforce budget of a Salesforce-scoped key: one key must not be able to spend
//! the org's whole daily API allocation (and so stop every sync) by clicking.
//!
//! Each Salesforce route is charged, before it runs, the most Salesforce API calls it can make
//! ([`salesforce_cost`]); a key may be charged at most `share` of the daily allocation over a
//! rolling 24 hours (Salesforce counts its allocation over a rolling 24 hours too). Charges
//! are slots of a store semaphore per key (`salesforce-budget:<key name>`) with a 24-hour lease,
//! so every replica counts against the same budget and a charge frees itself a day later. The
//! allocation is the org's as the services last published it, else the configured one.
//!
//! A charge takes all its slots in one step of the store (`acquire_slots`: one round trip, all
//! or none), so concurrent charges, in one replica or many, never split the last slots of a
//! budget between them and never pass it; a refund gives them all back in one step.
//!
//! A request that ends without calling a service (its input refused by the route before the
//! first gRPC call) is given its charge back: refused input costs the key nothing. Routes mark
//! their gRPC calls through `routes::grpc_request` ([`note_service_call`]).
//!
//! The budget bounds what a key can make Isthmus spend; it does not meter what was spent: a
//! route that ends early still used its charge. Other keys and batch work keep the rest.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use isthmus_store::Store;
use tokio::time::Instant;

/// What a refusal tells the caller to wait: charges free themselves over the day.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(3600);
/// How long a charge counts.
const DAY: Duration = Duration::from_secs(86_400);
/// How long the published allocation is trusted before it is read again.
const ALLOCATION_FRESH: Duration = Duration::from_secs(60);

tokio::task_local! {
    /// Set once the request being handled calls a service.
    static SERVICE_CALLED: Arc<AtomicBool>;
}

/// Notes that the request being handled calls a service (a no-op outside a charged request).
pub(crate) fn note_service_call() {
    let _ = SERVICE_CALLED.try_with(|called| called.store(true, Ordering::Release));
}

/// Runs `handle` noting whether it called a service.
pub(crate) async fn watching_service_calls<T>(
    handle: impl std::future::Future<Output = T>,
) -> (T, bool) {
    let called = Arc::new(AtomicBool::new(false));
    let out = SERVICE_CALLED.scope(called.clone(), handle).await;
    (out, called.load(Ordering::Acquire))
}

/// The slots one request was charged.
pub(crate) struct Charge {
    name: String,
    slots: Vec<String>,
}

/// The most Salesforce API calls a request of `method` on `route` can make through the
/// services (0 for routes that make none).
pub(crate) fn salesforce_cost(method: &Method, route: Option<&str>) -> u32 {
    match (method, route.unwrap_or("")) {
        // Read the account and its contacts, write back the NetSuite id.
        (&Method::POST, "/v1/salesforce/accounts/{id}/sync") => 6,
        // The opportunity, its account and lines, products, write back the order.
        (&Method::POST, "/v1/salesforce/opportunities/{id}/sync") => 12,
        // The quote and its lines, its account (through the customers service), write back the
        // estimate.
        (&Method::POST, "/v1/salesforce/quotes/{id}/sync") => 9,
        (&Method::POST, "/v1/salesforce/accounts/{id}/financial-summary") => 4,
        (&Method::GET, "/v1/salesforce/records/{id}/status") => 2,
        (&Method::POST, "/v1/salesforce/conflicts/{id}/resolve") => 6,
        // Read the contact (by id, or by the NetSuite id), anonymise or delete it.
        (&Method::POST, "/v1/erasures") => 2,
        _ => 0,
    }
}

pub(crate) enum Refused {
    /// The key's budget (in calls) is spent.
    Spent {
        budget: u64,
    },
    Store(isthmus_store::StoreError),
}

pub(crate) struct SalesforceBudget {
    store: Arc<dyn Store>,
    share: f64,
    fallback_allocation: u64,
    allocation: Mutex<Option<(Instant, u64)>>,
}

impl SalesforceBudget {
    pub(crate) fn new(store: Arc<dyn Store>, share: f64, fallback_allocation: u64) -> Self {
        Self {
            store,
            share: share.clamp(0.0, 1.0),
            fallback_allocation,
            allocation: Mutex::new(None),
        }
    }

    /// The calls one key may be charged in 24 hours.
    pub(crate) async fn budget(&self) -> u64 {
        let cached = *self.allocation.lock().unwrap_or_else(|e| e.into_inner());
        let max = match cached {
            Some((at, max)) if at.elapsed() < ALLOCATION_FRESH => max,
            _ => {
                let published =
                    isthmus_engine::governance::published_allocation(self.store.as_ref())
                        .await
                        .ok()
                        .flatten()
                        .map(|state| state.max)
                        .filter(|max| *max > 0);
                let max = published.unwrap_or(self.fallback_allocation);
                *self.allocation.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), max));
                max
            }
        };
        (max as f64 * self.share).floor() as u64
    }

    /// Gives a charge back (the request called no service).
    pub(crate) async fn refund(&self, charge: Charge) {
        if let Err(err) = self.store.release_slots(&charge.name, &charge.slots).await {
            tracing::warn!(%err, "a Salesforce budget charge was not given back");
        }
    }

    /// Charges `cost` calls to `key`, all or none.
    pub(crate) async fn charge(&self, key: &str, cost: u32) -> Result<Charge, Refused> {
        let budget = self.budget().await;
        let limit = u32::try_from(budget).unwrap_or(u32::MAX);
        let name = format!("salesforce-budget:{key}");
        match self.store.acquire_slots(&name, limit, cost, DAY).await {
            Ok(Some(slots)) => Ok(Charge { name, slots }),
            Ok(None) => Err(Refused::Spent { budget }),
            Err(err) => Err(Refused::Store(err)),
        }
    }
}

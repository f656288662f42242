//! The account-wide concurrency limit, seen from one client.
//!
//! NetSuite counts concurrent requests per account across SOAP, REST and RESTlets, so the limit
//! must be shared by every replica: the [`ConcurrencyGate`] trait lets the caller plug in a
//! shared semaphore (the lead's Redis one); [`LocalGate`] is the in-process version for one
//! replica, dev and tests. Every HTTP call the client makes (record API, SuiteQL, RESTlets, async
//! jobs, OAuth 2.0 token requests) runs between `acquire` and `release`.
//!
//! Guarantees: a slot is released exactly once, after the response body was read, on error and
//! timeout too, and also when the caller drops the future mid-call ([`Slot`] spawns the release
//! from its `Drop` on the current Tokio runtime). A call never holds two slots: the OAuth 2.0
//! token is fetched (in its own slot) before the call's slot is taken, so a limit of one cannot
//! deadlock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::NetSuiteError;

/// A semaphore over the account's NetSuite concurrency limit.
#[async_trait::async_trait]
pub trait ConcurrencyGate: Send + Sync + 'static {
    /// Waits until a NetSuite call may start; returns a slot id to give back.
    async fn acquire(&self) -> Result<String, NetSuiteError>;
    /// Frees the slot (called after the response, also on error/timeout/drop).
    async fn release(&self, slot: String);
    /// The call holding `slot` was refused for concurrency (429 `CONCURRENCY_LIMIT_EXCEEDED`,
    /// `SSS_REQUEST_LIMIT_EXCEEDED`); called before the slot is released. A gate that adapts its
    /// limit to the account's free share lowers it here.
    async fn on_over_limit(&self, _slot: &str) {}
    /// The call holding `slot` got an answer that was not a refusal for concurrency (a success or
    /// another vendor error); called before the slot is released.
    async fn on_success(&self, _slot: &str) {}
}

/// One held slot. Give it back with [`Slot::release`]; dropping it releases it in the background.
pub(crate) struct Slot {
    gate: Arc<dyn ConcurrencyGate>,
    id: Option<String>,
}

impl Slot {
    /// Waits for a slot of `gate`.
    pub(crate) async fn acquire(gate: &Arc<dyn ConcurrencyGate>) -> Result<Self, NetSuiteError> {
        let id = gate.acquire().await?;
        Ok(Self {
            gate: gate.clone(),
            id: Some(id),
        })
    }

    /// Tells the gate how the call in this slot was answered: `over_limit` when it was refused
    /// for concurrency.
    pub(crate) async fn answered(&self, over_limit: bool) {
        if let Some(id) = &self.id {
            match over_limit {
                true => self.gate.on_over_limit(id).await,
                false => self.gate.on_success(id).await,
            }
        }
    }

    /// Gives the slot back and waits until the gate has taken it.
    pub(crate) async fn release(mut self) {
        if let Some(id) = self.id.take() {
            self.gate.release(id).await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let gate = self.gate.clone();
                runtime.spawn(async move { gate.release(id).await });
            }
            // No runtime left (the process is shutting down): the gate's own lease expiry, if it
            // has one, frees the slot.
            Err(_) => tracing::warn!("NetSuite slot dropped outside a Tokio runtime"),
        }
    }
}

/// An in-process [`ConcurrencyGate`]: at most `limit` calls at once from this process.
pub struct LocalGate {
    semaphore: Arc<Semaphore>,
    held: Mutex<HashMap<String, OwnedSemaphorePermit>>,
}

impl LocalGate {
    /// A gate letting `limit` calls run at once (at least one).
    pub fn new(limit: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(limit.max(1))),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.semaphore.available_permits()
    }
}

#[async_trait::async_trait]
impl ConcurrencyGate for LocalGate {
    async fn acquire(&self) -> Result<String, NetSuiteError> {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| NetSuiteError::Gate("local gate closed".into()))?;
        let id = uuid::Uuid::new_v4().to_string();
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id.clone(), permit);
        Ok(id)
    }

    async fn release(&self, slot: String) {
        // Dropping the permit frees it; an unknown id (released twice) is ignored.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_gate_admits_at_most_its_limit() {
        let gate: Arc<dyn ConcurrencyGate> = Arc::new(LocalGate::new(2));
        let a = Slot::acquire(&gate).await.unwrap();
        let _b = Slot::acquire(&gate).await.unwrap();
        let third =
            tokio::time::timeout(std::time::Duration::from_millis(50), Slot::acquire(&gate)).await;
        assert!(third.is_err(), "a third slot was handed out");
        a.release().await;
        let third =
            tokio::time::timeout(std::time::Duration::from_millis(50), Slot::acquire(&gate)).await;
        assert!(third.is_ok(), "the released slot was not handed out again");
    }

    #[tokio::test]
    async fn dropped_slot_is_released_in_the_background() {
        let local = Arc::new(LocalGate::new(1));
        let gate: Arc<dyn ConcurrencyGate> = local.clone();
        drop(Slot::acquire(&gate).await.unwrap());
        let again =
            tokio::time::timeout(std::time::Duration::from_secs(1), Slot::acquire(&gate)).await;
        assert!(again.is_ok(), "the dropped slot never came back");
    }
}

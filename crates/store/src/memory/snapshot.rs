//! [`MemoryStore::snapshot`] (feature `testing`): everything the in-memory store holds, under
//! the key names Redis gives the same data (see [`crate::testing::StoreSnapshot`]), so a test
//! proves "nothing written" on both backends with one comparison.
//!
//! Only live entries are listed (an expired lease or answer is gone, as its Redis key would
//! be), each with its deadline in the value: an in-memory deadline stands still, so a renewed
//! lease or a re-set time to live shows as a change.

use tokio::time::Instant;

use super::{Expiring, MemoryStore};
use crate::queue::DEFAULT_QUEUE_NAMESPACE;
use crate::testing::{KeySnapshot, StoreSnapshot};

impl MemoryStore {
    /// Everything this store holds now.
    pub fn snapshot(&self) -> StoreSnapshot {
        let mut into = StoreSnapshot::new();
        {
            let state = self.state();
            for ((kind, id), link) in &state.by_salesforce {
                let value = vec![format!("{link:?}")];
                into.insert(
                    format!("link:sf:{kind}:{id}"),
                    KeySnapshot::new("hash", false, value),
                );
            }
            for ((kind, id), salesforce_id) in &state.by_netsuite {
                let value = vec![salesforce_id.clone()];
                into.insert(
                    format!("link:ns:{kind}:{id}"),
                    KeySnapshot::new("string", false, value),
                );
            }
            for (resource, lease) in state.locks.iter().filter(|(_, l)| l.is_live()) {
                into.insert(format!("lock:{resource}"), expiring(lease.value, lease));
            }
            if state.fence > 0 {
                let value = vec![state.fence.to_string()];
                into.insert("fence".to_owned(), KeySnapshot::new("string", false, value));
            }
            for (key, answer) in state.idempotency.iter().filter(|(_, a)| a.is_live()) {
                let text = String::from_utf8_lossy(&answer.value);
                into.insert(format!("idem:{key}"), expiring(text, answer));
            }
            for (name, value) in state.statuses.iter().filter(|(_, v)| v.is_live()) {
                let text = String::from_utf8_lossy(&value.value);
                into.insert(format!("status:{name}"), expiring(text, value));
            }
            let now = Instant::now();
            for (name, semaphore) in &state.semaphores {
                let mut live: Vec<String> = semaphore
                    .held
                    .iter()
                    .filter(|(_, expires_at)| **expires_at > now)
                    .map(|(slot, expires_at)| format!("{slot} = {expires_at:?}"))
                    .collect();
                live.sort();
                if !live.is_empty() {
                    into.insert(format!("sem:{name}"), KeySnapshot::new("zset", false, live));
                }
                if semaphore.has_waiters() {
                    let waiting = semaphore.queue.values().cloned().collect();
                    into.insert(
                        format!("semq:{name}"),
                        KeySnapshot::new("zset", false, waiting),
                    );
                }
            }
        }
        self.audit.snapshot(&mut into);
        self.conflicts.snapshot(&mut into);
        self.stats.snapshot(&mut into);
        let queues = self
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (namespace, queue) in queues.iter() {
            let prefix = if namespace == DEFAULT_QUEUE_NAMESPACE {
                String::new()
            } else {
                format!("q:{namespace}:")
            };
            queue.snapshot(&prefix, &mut into);
        }
        into
    }
}

/// A value with a deadline: a string that expires.
fn expiring<T>(value: impl std::fmt::Display, held: &Expiring<T>) -> KeySnapshot {
    let value = vec![
        value.to_string(),
        format!("expires at {:?}", held.expires_at),
    ];
    KeySnapshot::new("string", true, value)
}

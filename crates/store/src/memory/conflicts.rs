//! [`MemoryConflicts`]: the conflict log of [`MemoryStore`](super::MemoryStore), with the
//! semantics of the Redis one (see `redis_store::conflicts`): newest first by detection time,
//! bounded by dropping the oldest resolved conflicts, parked ones kept until resolved.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Conflict, ConflictQuery, ConflictResolution, ConflictState};

#[derive(Debug, Default)]
pub(super) struct MemoryConflicts {
    state: Mutex<Log>,
}

#[derive(Debug, Default)]
struct Log {
    /// id → (conflict, insertion sequence that orders conflicts found in the same ms).
    by_id: HashMap<String, (Conflict, u64)>,
    seq: u64,
}

impl MemoryConflicts {
    fn state(&self) -> MutexGuard<'_, Log> {
        // Every critical section leaves the map consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn record(&self, conflict: &Conflict, max_len: usize) {
        let mut state = self.state();
        state.seq += 1;
        let seq = state.seq;
        let log = &mut state.by_id;
        log.insert(conflict.id.clone(), (conflict.clone(), seq));
        let excess = log.len().saturating_sub(max_len);
        if excess > 0 {
            let mut resolved: Vec<(i64, u64, String)> = log
                .values()
                .filter(|(c, _)| !c.is_parked())
                .map(|(c, seq)| (c.detected_at_ms, *seq, c.id.clone()))
                .collect();
            resolved.sort();
            for (_, _, id) in resolved.into_iter().take(excess) {
                log.remove(&id);
            }
        }
    }

    pub(super) fn count(&self, state: Option<ConflictState>) -> u64 {
        self.state()
            .by_id
            .values()
            .filter(|(c, _)| state.is_none_or(|s| c.state() == s))
            .count() as u64
    }

    pub(super) fn list(&self, query: &ConflictQuery) -> Vec<Conflict> {
        let state = self.state();
        let mut found: Vec<&(Conflict, u64)> = state
            .by_id
            .values()
            .filter(|(c, _)| query.state.is_none_or(|s| c.state() == s))
            .collect();
        found.sort_by_key(|(c, seq)| std::cmp::Reverse((c.detected_at_ms, *seq)));
        found
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(c, _)| c.clone())
            .collect()
    }

    pub(super) fn get(&self, id: &str) -> Option<Conflict> {
        self.state().by_id.get(id).map(|(c, _)| c.clone())
    }

    pub(super) fn resolve(&self, id: &str, resolution: &ConflictResolution) -> Option<Conflict> {
        let mut state = self.state();
        let (conflict, _) = state.by_id.get_mut(id).filter(|(c, _)| c.is_parked())?;
        conflict.resolution = Some(resolution.clone());
        Some(conflict.clone())
    }

    /// The conflicts (`conflicts`), by id.
    #[cfg(feature = "testing")]
    pub(super) fn snapshot(&self, into: &mut crate::testing::StoreSnapshot) {
        use crate::testing::KeySnapshot;
        let log = self.state();
        let mut value: Vec<String> = log
            .by_id
            .iter()
            .map(|(id, (conflict, seq))| format!("{id} = #{seq} {conflict:?}"))
            .collect();
        value.sort();
        into.insert(
            "conflicts".to_owned(),
            KeySnapshot::new("hash", false, value),
        );
    }
}

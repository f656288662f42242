//! [`MemoryAudit`]: the audit log of [`MemoryStore`](super::MemoryStore), shared by every queue
//! namespace, with the semantics of the Redis stream (see `redis_store::dead`): entries under
//! increasing `<ms>-<seq>` ids, read after an exclusive id, capped at `max_len` (exactly: Redis
//! may keep a few more).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::WallClock;
use crate::stream_id::StreamId;
use crate::Result;

#[derive(Debug, Default)]
pub(super) struct MemoryAudit {
    state: Mutex<Log>,
    clock: WallClock,
}

#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<(StreamId, Vec<u8>)>,
    /// The last id handed out (ids only grow, as in Redis).
    last_id: StreamId,
}

impl MemoryAudit {
    fn state(&self) -> MutexGuard<'_, Log> {
        // Every critical section leaves the log consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn append(&self, entry: &[u8], max_len: usize) {
        let now_ms = u64::try_from(self.clock.now_ms()).unwrap_or(0);
        let mut log = self.state();
        log.last_id = log.last_id.next(now_ms);
        let id = log.last_id;
        log.entries.push_back((id, entry.to_vec()));
        let excess = log.entries.len().saturating_sub(max_len);
        log.entries.drain(..excess);
    }

    pub(super) fn read(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let after: Option<StreamId> = after.map(str::parse).transpose()?;
        let log = self.state();
        Ok(log
            .entries
            .iter()
            .filter(|(id, _)| after.is_none_or(|after| *id > after))
            .take(limit)
            .map(|(id, entry)| (id.to_string(), entry.clone()))
            .collect())
    }
}

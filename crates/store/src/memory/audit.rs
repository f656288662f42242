//! [`MemoryAudit`]: the audit log of [`MemoryStore`](super::MemoryStore), shared by every queue
//! namespace, with the semantics of the Redis stream (see `redis_store::dead`): entries under
//! increasing `<ms>-<seq>` ids, read after an exclusive id, capped at `max_len` (exactly: Redis
//! may keep a few more), and the history of each record (newest first, capped at
//! [`RECORD_AUDIT_LEN`], dropped [`RECORD_AUDIT_TTL`] after its last entry).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::WallClock;
use crate::stream_id::StreamId;
use crate::{Result, RECORD_AUDIT_LEN, RECORD_AUDIT_TTL};

#[derive(Debug, Default)]
pub(super) struct MemoryAudit {
    state: Mutex<Log>,
    clock: WallClock,
}

/// Entries with their ids.
type History = VecDeque<(StreamId, Vec<u8>)>;

#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<(StreamId, Vec<u8>)>,
    /// The last id handed out (ids only grow, as in Redis).
    last_id: StreamId,
    /// Each record's history, newest first, and when it expires (wall-clock ms).
    records: HashMap<String, (History, i64)>,
}

impl MemoryAudit {
    fn state(&self) -> MutexGuard<'_, Log> {
        // Every critical section leaves the log consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn append(&self, entry: &[u8], max_len: usize, records: &[&str]) {
        let now = self.clock.now_ms();
        let mut log = self.state();
        log.last_id = log.last_id.next(u64::try_from(now).unwrap_or(0));
        let id = log.last_id;
        log.entries.push_back((id, entry.to_vec()));
        let excess = log.entries.len().saturating_sub(max_len);
        log.entries.drain(..excess);
        let expires = now + i64::try_from(RECORD_AUDIT_TTL.as_millis()).unwrap_or(i64::MAX);
        for record in records {
            let (history, expiry) = log
                .records
                .entry((*record).to_owned())
                .or_insert_with(|| (VecDeque::new(), expires));
            if *expiry <= now {
                history.clear();
            }
            history.push_front((id, entry.to_vec()));
            history.truncate(RECORD_AUDIT_LEN);
            *expiry = expires;
        }
    }

    pub(super) fn of_record(&self, record: &str, limit: usize) -> Vec<(String, Vec<u8>)> {
        let now = self.clock.now_ms();
        let log = self.state();
        match log.records.get(record) {
            Some((history, expiry)) if *expiry > now => history
                .iter()
                .take(limit)
                .map(|(id, entry)| (id.to_string(), entry.clone()))
                .collect(),
            _ => Vec::new(),
        }
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

    pub(super) fn redact(&self, values: &[String], replacement: &str) -> u64 {
        let mut log = self.state();
        let Log {
            entries, records, ..
        } = &mut *log;
        let histories = records
            .values_mut()
            .flat_map(|(history, _)| history.iter_mut());
        let mut changed = 0;
        for (_, entry) in entries.iter_mut().chain(histories) {
            if let Some(redacted) = crate::redact::replace_all(entry, values, replacement) {
                *entry = redacted;
                changed += 1;
            }
        }
        changed
    }

    /// The audit stream (`audit`) and each live record history (`audit:rec:<record>`).
    #[cfg(feature = "testing")]
    pub(super) fn snapshot(&self, into: &mut crate::testing::StoreSnapshot) {
        use crate::testing::KeySnapshot;
        let now = self.clock.now_ms();
        let log = self.state();
        let line =
            |(id, entry): &(StreamId, Vec<u8>)| format!("{id} {}", String::from_utf8_lossy(entry));
        let mut stream: Vec<String> = log.entries.iter().map(line).collect();
        if !stream.is_empty() {
            stream.push(format!("last-id {}", log.last_id));
        }
        into.insert(
            "audit".to_owned(),
            KeySnapshot::new("stream", false, stream),
        );
        for (record, (history, expiry)) in &log.records {
            if *expiry > now {
                let mut value: Vec<String> = history.iter().map(line).collect();
                value.push(format!("expires at {expiry}"));
                into.insert(
                    format!("audit:rec:{record}"),
                    KeySnapshot::new("list", true, value),
                );
            }
        }
    }
}

//! Delta cursors: where a flow's last read stopped, so the next run reads only what changed.
//!
//! A position is the key `(modified_at, id)` of the last record read, in the unique order a
//! delta read must use: by `SystemModstamp` / `lastModifiedDate`, then by id. Because the order
//! is unique, "after this key" is exact even when hundreds of records share one timestamp or a
//! page boundary falls inside them: page `n + 1` starts right after the last key of page `n`
//! ([`continue_from`], then [`window`] with no overlap).
//!
//! A run starts from the saved position moved back by the flow's overlap window ([`window`]),
//! which re-reads the recent past to catch records whose timestamp is earlier than one already
//! read (a transaction that committed late). Re-reading is harmless: flows are idempotent.
//!
//! Keys are whole seconds: both systems' modification stamps are read at that precision, and
//! the query literals ([`query`](super::query)) have no fraction. A fraction given here is
//! dropped (floored), which can only re-read, never skip.
//!
//! Ids compare shorter first, then byte by byte ([`CursorPos`]'s order): numeric order for
//! NetSuite internal ids, and the byte order of Salesforce's fixed-length ids.
//!
//! The cursor is the status value `cursor:<flow>`, kept for ten years (in effect: it does not
//! expire). [`Cursor::save`] never moves it backwards; its read-compare-write is safe because a
//! flow's delta run holds the flow's schedule lock (one runner at a time across replicas).

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use isthmus_store::StatusValues;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// How long a cursor is kept: ten years, so it never expires in practice.
pub const CURSOR_TTL: Duration = Duration::from_secs(10 * 365 * 86_400);

/// The key of the last record read: `(modified_at, id)`, ordered by time, then id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CursorPos {
    /// Whole seconds, UTC.
    pub modified_at: DateTime<Utc>,
    pub id: String,
}

impl CursorPos {
    /// The position of a record (the time floored to whole seconds).
    pub fn new(modified_at: DateTime<Utc>, id: impl Into<String>) -> Self {
        Self {
            modified_at: modified_at.trunc_subsecs(0),
            id: id.into(),
        }
    }
}

/// Ids compare shorter first, then bytewise: numeric order for NetSuite's internal ids.
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for CursorPos {
    fn cmp(&self, other: &Self) -> Ordering {
        self.modified_at
            .cmp(&other.modified_at)
            .then_with(|| compare_ids(&self.id, &other.id))
    }
}

impl PartialOrd for CursorPos {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where a read starts: records with `modified > since`, or `modified == since` and
/// `id > after_id`; with no `after_id`, every record with `modified >= since`. Read them in
/// the order `(modified, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFrom {
    /// Whole seconds, UTC.
    pub since: DateTime<Utc>,
    pub after_id: Option<String>,
}

impl ReadFrom {
    /// Whether a record with key `(modified, id)` lies in this window (the meaning the query
    /// conditions express; `modified` floored to whole seconds).
    pub fn admits(&self, modified: DateTime<Utc>, id: &str) -> bool {
        let modified = modified.trunc_subsecs(0);
        match &self.after_id {
            None => modified >= self.since,
            Some(after) => {
                modified > self.since
                    || (modified == self.since && compare_ids(id, after) == Ordering::Greater)
            }
        }
    }
}

/// The window after `pos`. With no overlap: exactly the records after `pos` (the next page of a
/// read). With an overlap: `since` moved back by it and `after_id` dropped, so everything
/// modified in the overlap is read again (the start of a run).
pub fn window(pos: &CursorPos, overlap: Duration) -> ReadFrom {
    let since = pos.modified_at.trunc_subsecs(0);
    if overlap.is_zero() {
        // A position without an id (a time only: a first run's start, a log's coverage) admits
        // everything at that time.
        return ReadFrom {
            since,
            after_id: (!pos.id.is_empty()).then(|| pos.id.clone()),
        };
    }
    let back = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::MAX);
    let since = since
        .checked_sub_signed(back)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        .trunc_subsecs(0);
    ReadFrom {
        since,
        after_id: None,
    }
}

/// The position to continue from after a page read in the order `(modified, id)`: the key of
/// its last record; `None` for an empty page (the read is done; keep the position).
pub fn continue_from(page: &[(DateTime<Utc>, String)]) -> Option<CursorPos> {
    page.last()
        .map(|(modified, id)| CursorPos::new(*modified, id.clone()))
}

/// One flow's delta cursor: the status value `cursor:<flow>` and its overlap window.
#[derive(Debug, Clone)]
pub struct Cursor {
    flow: String,
    overlap: Duration,
}

impl Cursor {
    /// The cursor of `flow` (letters, digits, `_`, `-`, `.`), re-reading `overlap` at the
    /// start of each run.
    pub fn new(flow: &str, overlap: Duration) -> Result<Self> {
        let valid = !flow.is_empty()
            && flow.len() <= 64
            && flow
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(EngineError::InvalidArgument(format!(
                "invalid flow name {:?}: use 1 to 64 letters, digits, '_', '-' or '.'",
                flow.chars().take(64).collect::<String>()
            )));
        }
        Ok(Self {
            flow: flow.to_string(),
            overlap,
        })
    }

    pub fn flow(&self) -> &str {
        &self.flow
    }

    pub fn overlap(&self) -> Duration {
        self.overlap
    }

    fn status_name(&self) -> String {
        format!("cursor:{}", self.flow)
    }

    /// The saved position; `None` before the first save (read everything). `store` is the
    /// store as a flow holds it (an `Arc` of any form of [`StatusValues`]), as for the other
    /// methods.
    pub async fn load<S: StatusValues + ?Sized>(
        &self,
        store: &Arc<S>,
    ) -> Result<Option<CursorPos>> {
        let Some(bytes) = store.status(&self.status_name()).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|err| {
            EngineError::Store(isthmus_store::StoreError::Corrupt(format!(
                "cursor of {}: {err}",
                self.flow
            )))
        })
    }

    /// Saves `pos` unless the saved position is already at or after it; `true` when it moved.
    pub async fn save<S: StatusValues + ?Sized>(
        &self,
        store: &Arc<S>,
        pos: &CursorPos,
    ) -> Result<bool> {
        let pos = CursorPos::new(pos.modified_at, pos.id.clone());
        if let Some(saved) = self.load(store).await? {
            if saved >= pos {
                return Ok(false);
            }
        }
        let bytes = serde_json::to_vec(&pos).map_err(|err| {
            EngineError::InvalidArgument(format!("cursor of {}: {err}", self.flow))
        })?;
        store
            .put_status(&self.status_name(), &bytes, CURSOR_TTL)
            .await?;
        Ok(true)
    }

    /// Where this run starts: the saved position moved back by the overlap; `None` before the
    /// first save (read everything).
    pub async fn read_from<S: StatusValues + ?Sized>(
        &self,
        store: &Arc<S>,
    ) -> Result<Option<ReadFrom>> {
        Ok(self
            .load(store)
            .await?
            .map(|pos| window(&pos, self.overlap)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, s).unwrap()
    }

    #[test]
    fn netsuite_ids_order_numerically_and_time_comes_first() {
        assert!(CursorPos::new(t(0), "99") < CursorPos::new(t(0), "100"));
        assert!(CursorPos::new(t(0), "999") < CursorPos::new(t(1), "1"));
        assert_eq!(
            CursorPos::new(t(0) + chrono::Duration::milliseconds(700), "1"),
            CursorPos::new(t(0), "1"),
            "keys are whole seconds"
        );
    }

    #[test]
    fn without_overlap_the_window_starts_right_after_the_position() {
        let from = window(&CursorPos::new(t(5), "42"), Duration::ZERO);
        assert_eq!(
            from,
            ReadFrom {
                since: t(5),
                after_id: Some("42".into())
            }
        );
        assert!(!from.admits(t(5), "42"));
        assert!(!from.admits(t(5), "9"), "9 < 42 numerically");
        assert!(from.admits(t(5), "43"));
        assert!(from.admits(t(6), "1"));
        assert!(!from.admits(t(4), "999"));
    }

    #[test]
    fn an_overlap_moves_since_back_and_drops_the_id() {
        let from = window(&CursorPos::new(t(30), "42"), Duration::from_secs(10));
        assert_eq!(
            from,
            ReadFrom {
                since: t(20),
                after_id: None
            }
        );
        assert!(
            from.admits(t(20), "1"),
            "the overlap's first second is included"
        );
        assert!(!from.admits(t(19), "999"));
    }

    #[test]
    fn a_page_continues_from_its_last_key() {
        let page = vec![(t(1), "7".to_string()), (t(1), "12".to_string())];
        assert_eq!(continue_from(&page), Some(CursorPos::new(t(1), "12")));
        assert_eq!(continue_from(&[]), None);
    }

    #[test]
    fn flow_names_are_checked() {
        assert!(Cursor::new("customers.netsuite-to-salesforce", Duration::ZERO).is_ok());
        for bad in ["", "a b", "x:y", "a'b"] {
            assert!(Cursor::new(bad, Duration::ZERO).is_err(), "{bad}");
        }
    }
}

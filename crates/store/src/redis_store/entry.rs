//! How a job is written in Redis: as the fields of a lane's stream entry, and as a member of
//! `queue:delayed` while it waits for a retry (see [`queue`](super::queue)).

use std::collections::HashMap;

use crate::{Lane, QueuedJob, Result, StoreError};

/// A job as a script replies it: lane, entry id, deliveries, the entry's fields.
pub(super) type Entry = (String, String, u32, Vec<Vec<u8>>);

/// A job on its way to `queue:delayed`.
pub(super) struct DelayedMember<'a> {
    pub(super) lane: &'static str,
    pub(super) id: &'a str,
    pub(super) kind: &'a str,
    pub(super) payload: &'a [u8],
    pub(super) trace: &'a str,
    pub(super) attempt: u32,
    pub(super) enqueued_at_ms: i64,
}

impl DelayedMember<'_> {
    /// The member: the entry's fields as JSON strings, the payload in hex, and a nonce.
    pub(super) fn to_json(&self) -> String {
        serde_json::json!({
            "nonce": uuid::Uuid::new_v4().simple().to_string(),
            "lane": self.lane,
            "id": self.id,
            "kind": self.kind,
            "payload": hex::encode(self.payload),
            "trace": self.trace,
            "attempt": self.attempt.to_string(),
            "enqueued": self.enqueued_at_ms.to_string(),
        })
        .to_string()
    }
}

/// The job of a stream entry; its attempt grows by every delivery after the first (reclaims).
pub(super) fn decode((lane, entry_id, deliveries, fields): Entry) -> Result<QueuedJob> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("queue entry {entry_id}: {what}"));
    let lane = Lane::from_name(&lane).ok_or_else(|| corrupt("unknown lane"))?;
    let mut by_name = HashMap::with_capacity(fields.len() / 2);
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        by_name.insert(name, value);
    }
    let mut take = |name: &str| {
        by_name
            .remove(name.as_bytes())
            .ok_or_else(|| corrupt(&format!("no {name}")))
    };
    let mut text = |name: &str| {
        String::from_utf8(take(name)?).map_err(|_| corrupt(&format!("{name} not UTF-8")))
    };
    let attempt: u32 = text("attempt")?
        .parse()
        .map_err(|_| corrupt("attempt not a number"))?;
    let enqueued_at_ms = text("enqueued")?
        .parse()
        .map_err(|_| corrupt("enqueued not a number"))?;
    let (id, kind, trace_id) = (text("id")?, text("kind")?, text("trace")?);
    Ok(QueuedJob {
        id,
        kind,
        payload: take("payload")?,
        trace_id,
        lane,
        attempt: attempt.saturating_add(deliveries.saturating_sub(1)),
        entry_id,
        enqueued_at_ms,
    })
}

//! The audit log on Redis: the connection's, shared by every queue namespace.
//!
//! A stream, `XADD … MAXLEN ~ n`: Redis trims whole stream nodes (100 entries by default), so
//! it keeps at least the newest `n` entries and at most about a node more. Read with `XRANGE`
//! from an exclusive start id.

use super::RedisStore;
use crate::stream_id::StreamId;
use crate::{Result, StoreError};

pub(super) async fn append(store: &RedisStore, entry: &[u8], max_len: usize) -> Result<()> {
    let _: String = redis::cmd("XADD")
        .arg(store.keys.audit())
        .arg("MAXLEN")
        .arg("~")
        .arg(max_len)
        .arg("*")
        .arg("entry")
        .arg(entry)
        .query_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn read(
    store: &RedisStore,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    let start = match after {
        Some(after) => format!("({}", after.parse::<StreamId>()?),
        None => "-".to_owned(),
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(store.keys.audit())
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(limit)
        .query_async(&mut store.connection.clone())
        .await?;
    entries
        .into_iter()
        .map(|(id, fields)| match <[Vec<u8>; 2]>::try_from(fields) {
            Ok([_, entry]) => Ok((id, entry)),
            Err(_) => Err(StoreError::Corrupt(format!("audit entry {id}"))),
        })
        .collect()
}

//! The audit log on Redis: the connection's, shared by every queue namespace.
//!
//! A stream, `XADD … MAXLEN ~ n`: Redis trims whole stream nodes (100 entries by default), so
//! it keeps at least the newest `n` entries and at most about a node more. Read with `XRANGE`
//! from an exclusive start id.
//!
//! Each entry is also pushed, as `<id> <entry>`, onto a list per record it names
//! (`audit:rec:<record>`), newest first, capped at [`RECORD_AUDIT_LEN`] and kept for
//! [`RECORD_AUDIT_TTL`] after its last entry: one record's history is one `LRANGE`, however
//! long the stream. Stream and lists are written by one script, in one round trip.

use std::sync::LazyLock;

use redis::Script;

use super::RedisStore;
use crate::stream_id::StreamId;
use crate::{ttl_millis, Result, StoreError, RECORD_AUDIT_LEN, RECORD_AUDIT_TTL};

/// KEYS: the stream, then one list per record. ARGV: max len, entry, list cap, list TTL ms.
/// Reply: the entry's id.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'entry', ARGV[2])
for i = 2, #KEYS do
  redis.call('LPUSH', KEYS[i], id .. ' ' .. ARGV[2])
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[3]) - 1)
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
return id
",
    )
});

pub(super) async fn append(
    store: &RedisStore,
    entry: &[u8],
    max_len: usize,
    records: &[&str],
) -> Result<()> {
    let mut call = APPEND.key(store.keys.audit());
    for record in records {
        call.key(store.keys.record_audit(record));
    }
    let _: String = call
        .arg(max_len)
        .arg(entry)
        .arg(RECORD_AUDIT_LEN)
        .arg(ttl_millis(RECORD_AUDIT_TTL))
        .invoke_async(&mut store.connection.clone())
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

pub(super) async fn of_record(
    store: &RedisStore,
    record: &str,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let items: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(store.keys.record_audit(record))
        .arg(0)
        .arg(limit - 1)
        .query_async(&mut store.connection.clone())
        .await?;
    items
        .into_iter()
        .map(|item| {
            let space = item.iter().position(|b| *b == b' ');
            match space {
                Some(at) => Ok((
                    String::from_utf8_lossy(&item[..at]).into_owned(),
                    item[at + 1..].to_vec(),
                )),
                None => Err(StoreError::Corrupt(format!("audit list of {record}"))),
            }
        })
        .collect()
}

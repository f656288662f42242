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

/// The plain-text replacement both redaction scripts use: ARGV[1] the replacement, ARGV[2..]
/// the values (empty ones skipped).
const REPLACE_LUA: &str = r"
local function replace(s)
  local changed = false
  for i = 2, #ARGV do
    local v = ARGV[i]
    if #v > 0 then
      local out, start = {}, 1
      while true do
        local a, b = string.find(s, v, start, true)
        if not a then break end
        out[#out + 1] = string.sub(s, start, a - 1)
        out[#out + 1] = ARGV[1]
        start = b + 1
      end
      if start > 1 then
        out[#out + 1] = string.sub(s, start)
        s = table.concat(out)
        changed = true
      end
    end
  end
  return s, changed
end
";

/// KEYS[1]: the audit stream. A stream entry cannot be edited, so when any changes the stream
/// is rebuilt under the same ids (and the same last id, `XSETID`), atomically. Reply: the
/// number of entries changed.
static REDACT_STREAM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{REPLACE_LUA}
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
local changed, rewritten = 0, {{}}
for i, e in ipairs(entries) do
  local v, c = replace(e[2][2])
  if c then changed = changed + 1 end
  rewritten[i] = {{e[1], v}}
end
if changed == 0 then return 0 end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
redis.call('DEL', KEYS[1])
for _, e in ipairs(rewritten) do
  redis.call('XADD', KEYS[1], e[1], 'entry', e[2])
end
redis.call('XSETID', KEYS[1], last)
return changed
"
    ))
});

/// KEYS: record histories (`<id> <entry>` items). Only the entry part is replaced, so a value
/// of digits never touches an id. Reply: the number of items changed.
static REDACT_LISTS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{REPLACE_LUA}
local changed = 0
for k = 1, #KEYS do
  local items = redis.call('LRANGE', KEYS[k], 0, -1)
  for i, item in ipairs(items) do
    local space = string.find(item, ' ', 1, true)
    if space then
      local v, c = replace(string.sub(item, space + 1))
      if c then
        redis.call('LSET', KEYS[k], i - 1, string.sub(item, 1, space) .. v)
        changed = changed + 1
      end
    end
  end
end
return changed
"
    ))
});

/// KEYS: string values (job records and other status values, idempotency answers), each
/// rewritten in place with its TTL kept. Reply: the number of values changed.
static REDACT_STRINGS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{REPLACE_LUA}
local changed = 0
for k = 1, #KEYS do
  if redis.call('TYPE', KEYS[k])['ok'] == 'string' then
    local v, c = replace(redis.call('GET', KEYS[k]))
    if c then
      redis.call('SET', KEYS[k], v, 'KEEPTTL')
      changed = changed + 1
    end
  end
end
return changed
"
    ))
});

pub(super) async fn redact(
    store: &RedisStore,
    values: &[String],
    replacement: &str,
) -> Result<u64> {
    let values: Vec<&String> = values.iter().filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        return Ok(0);
    }
    let mut connection = store.connection.clone();
    let mut changed: u64 = REDACT_STREAM
        .key(store.keys.audit())
        .arg(replacement)
        .arg(&values)
        .invoke_async(&mut connection)
        .await?;
    for (pattern, script) in [
        (store.keys.record_audit("*"), &*REDACT_LISTS),
        (store.keys.status("*"), &*REDACT_STRINGS),
        (store.keys.idempotency("*"), &*REDACT_STRINGS),
    ] {
        let mut cursor: u64 = 0;
        loop {
            // On a Cluster the scan goes to the node holding the connection's one slot.
            let (next, keys) = connection.scan(cursor, &pattern, 1000).await?;
            for batch in keys.chunks(100) {
                let mut call = script.prepare_invoke();
                for key in batch {
                    call.key(key);
                }
                let n: u64 = call
                    .arg(replacement)
                    .arg(&values)
                    .invoke_async(&mut connection)
                    .await?;
                changed += n;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(changed)
}

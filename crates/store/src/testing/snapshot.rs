//! [`StoreSnapshot`]: everything a store holds, as one comparable value, so a test can prove
//! that a request wrote nothing (a snapshot before equals a snapshot after).
//!
//! A key count sees no write to a key that already exists (a stream entry, a fence bumped, an
//! audit entry), so the snapshot holds each key's type, length, whether it expires, and its
//! whole value:
//! - on Redis ([`StoreSnapshot::of_redis`]), every key under a connection's prefix, found with
//!   `SCAN` (never `KEYS`): strings, hashes (fields sorted), lists (in order), sets (sorted),
//!   sorted sets (with scores), streams (every entry, and each consumer group's pending count
//!   and last delivered id). A TTL is recorded as present or not: its remaining time moves on
//!   its own, so comparing it would see a write where there was none;
//! - on the in-memory store ([`MemoryStore::snapshot`](crate::MemoryStore::snapshot)), every
//!   live entry of every map under the name Redis gives the same data, with its deadline in
//!   the value (an in-memory deadline does not move on its own, so a renewed lease shows).
//!
//! The snapshot is read key by key, not atomically: take it when the mesh is quiet.

use std::collections::BTreeMap;
use std::fmt;

use redis::aio::ConnectionLike;
use redis::Value;

/// One key (Redis) or one entry of the in-memory store's maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySnapshot {
    /// The Redis type: `string`, `hash`, `list`, `set`, `zset` or `stream`.
    pub kind: String,
    /// Bytes of a string, elements of anything else.
    pub len: usize,
    /// Whether the key has a time to live.
    pub expires: bool,
    /// The value, one line per element in a stable order.
    pub value: Vec<String>,
}

impl KeySnapshot {
    /// An entry of `kind` holding `value`.
    pub fn new(kind: &str, expires: bool, value: Vec<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            len: value.len(),
            expires,
            value,
        }
    }
}

/// Every key of one store (or one Redis connection name), by name without the
/// `isthmus:{<connection>}:` prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSnapshot {
    keys: BTreeMap<String, KeySnapshot>,
}

impl StoreSnapshot {
    /// An empty snapshot, to fill with [`Self::insert`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the key `name`; an empty value is no key, as in Redis, which deletes
    /// a collection with its last element.
    pub fn insert(&mut self, name: String, key: KeySnapshot) {
        if !key.value.is_empty() {
            self.keys.insert(name, key);
        }
    }

    /// The key `name`, if the store holds it.
    pub fn get(&self, name: &str) -> Option<&KeySnapshot> {
        self.keys.get(name)
    }

    /// The names of every key held.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The snapshot without the keys whose name starts with `prefix` (something a request may
    /// legitimately change; say why where it is called).
    #[must_use]
    pub fn without(mut self, prefix: &str) -> Self {
        self.keys.retain(|name, _| !name.starts_with(prefix));
        self
    }

    /// What changed from `self` to `after`: one line per key added, removed or changed.
    pub fn changes(&self, after: &Self) -> Vec<String> {
        let mut changes = Vec::new();
        for (name, before) in &self.keys {
            match after.keys.get(name) {
                None => changes.push(format!("removed {name}: {before:?}")),
                Some(now) if now != before => {
                    changes.push(format!("changed {name}: {before:?} -> {now:?}"));
                }
                Some(_) => {}
            }
        }
        for (name, now) in &after.keys {
            if !self.keys.contains_key(name) {
                changes.push(format!("added {name}: {now:?}"));
            }
        }
        changes
    }

    /// Every key under `prefix` (e.g. `isthmus:{test-1}:`) on the Redis behind `conn`.
    ///
    /// # Errors
    /// When Redis fails a command.
    pub async fn of_redis<C: ConnectionLike + Send>(
        conn: &mut C,
        prefix: &str,
    ) -> redis::RedisResult<Self> {
        let mut names = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(conn)
                .await?;
            names.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key twice; the map keeps one.
        let mut snapshot = Self::new();
        for name in names {
            if let Some(key) = redis_key(conn, &name).await? {
                let short = name.strip_prefix(prefix).unwrap_or(&name).to_owned();
                snapshot.keys.insert(short, key);
            }
        }
        Ok(snapshot)
    }
}

impl fmt::Display for StoreSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, key) in &self.keys {
            writeln!(f, "{name}: {key:?}")?;
        }
        Ok(())
    }
}

/// One key's snapshot; `None` when it expired or was deleted since `SCAN` saw it.
async fn redis_key<C: ConnectionLike + Send>(
    conn: &mut C,
    name: &str,
) -> redis::RedisResult<Option<KeySnapshot>> {
    let kind: String = redis::cmd("TYPE").arg(name).query_async(conn).await?;
    let ttl: i64 = redis::cmd("PTTL").arg(name).query_async(conn).await?;
    if kind == "none" || ttl == -2 {
        return Ok(None);
    }
    let query = |command: &str, args: &[&str]| {
        let mut cmd = redis::cmd(command);
        cmd.arg(name);
        for arg in args {
            cmd.arg(*arg);
        }
        cmd
    };
    let items = |value: Value| match value {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => vec![other],
    };
    let pairs = |items: Vec<Value>| {
        items
            .chunks(2)
            .map(|pair| pair.iter().map(render).collect::<Vec<_>>().join(" = "))
            .collect::<Vec<_>>()
    };
    let value: Vec<String> = match kind.as_str() {
        "string" => {
            let value: Value = query("GET", &[]).query_async(conn).await?;
            let len = match &value {
                Value::BulkString(bytes) => bytes.len(),
                _ => 0,
            };
            return Ok(Some(KeySnapshot {
                kind,
                len,
                expires: ttl >= 0,
                value: vec![render(&value)],
            }));
        }
        "hash" => {
            let mut fields = pairs(items(query("HGETALL", &[]).query_async(conn).await?));
            fields.sort();
            fields
        }
        "list" => items(query("LRANGE", &["0", "-1"]).query_async(conn).await?)
            .iter()
            .map(render)
            .collect(),
        "set" => {
            let mut members: Vec<String> = items(query("SMEMBERS", &[]).query_async(conn).await?)
                .iter()
                .map(render)
                .collect();
            members.sort();
            members
        }
        "zset" => pairs(items(
            query("ZRANGE", &["0", "-1", "WITHSCORES"])
                .query_async(conn)
                .await?,
        )),
        "stream" => {
            let mut lines: Vec<String> =
                items(query("XRANGE", &["-", "+"]).query_async(conn).await?)
                    .iter()
                    .map(render)
                    .collect();
            let groups: Value = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(name)
                .query_async(conn)
                .await?;
            for group in items(groups) {
                lines.push(consumer_group(items(group)));
            }
            lines
        }
        _ => vec![render(&query("DUMP", &[]).query_async(conn).await?)],
    };
    Ok(Some(KeySnapshot {
        kind,
        len: value.len(),
        expires: ttl >= 0,
        value,
    }))
}

/// A consumer group by what a write changes: its name, pending count and last delivered id
/// (not its consumers' idle times, which move on their own).
fn consumer_group(fields: Vec<Value>) -> String {
    let fields: BTreeMap<String, String> = fields
        .chunks(2)
        .filter_map(|pair| match pair {
            [k, v] => Some((render(k), render(v))),
            _ => None,
        })
        .collect();
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    format!(
        "group {} pending {} last-delivered {}",
        field("name"),
        field("pending"),
        field("last-delivered-id")
    )
}

/// A reply as text: bulk strings as (lossy) UTF-8, arrays in brackets.
fn render(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_owned(),
        Value::Int(n) => n.to_string(),
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_owned(),
        Value::Double(d) => d.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Array(items) | Value::Set(items) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{} = {}", render(k), render(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        other => format!("{other:?}"),
    }
}

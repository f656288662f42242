//! The semaphores on Redis: held slots, and a first-come-first-served queue of waiters with
//! wake-ups, so a slot freed in one replica goes to whoever waited longest in any replica.
//!
//! # Keys (of one semaphore name, see [`Keys`](crate::Keys))
//! - `sem:<name>`: sorted set of held slot ids scored by expiry (server-clock ms).
//! - `semq:<name>`: sorted set of waiting ticket ids scored by their place (oldest first).
//! - `semt:<name>`: hash of each waiting ticket's `"<deadline ms> <limit> <patience ms>"`, and
//!   `#seq`, the counter places are drawn from.
//! - `semw:<name>:<ticket>`: the ticket's wake-up list; a handover pushes the slot id there
//!   (`BLPOP` returns it), kept for the ticket's patience.
//!
//! # The round trips of a slot
//! Free slot: `QUEUE` takes it (one script), `RELEASE` gives it back (one script). Busy: `QUEUE`
//! enqueues, the waiter `BLPOP`s its wake-up list on a connection of its own (see
//! [`Waiters`](super::waiters)), `CLAIM` makes the lent slot its own, `RELEASE` hands the slot
//! on. A `BLPOP` that times out is followed by `CLAIM` as the heartbeat.
//!
//! # What the scripts guarantee
//! Every script starts with `promote`: expired slots are dropped, dead tickets (deadline passed)
//! at the head of the queue are dropped with their wake-up list, and while the head ticket's own
//! `limit` leaves room, the head gets a slot: its id is the ticket id, lent for the ticket's
//! patience, and pushed onto its wake-up list. So at most `limit` slots are ever held (each
//! taker's own limit counted against every holder), a slot is handed out in queue order, and
//! whoever comes by (a release, a new waiter, a heartbeat) notices a dead holder's slot expire.
//! `CLAIM` extends a lent slot to the waiter's ttl only while the loan lasts; otherwise the
//! ticket takes its old place back (a waiter that missed its heartbeat is served in order,
//! never twice). Time is the server's clock, so replicas with skewed clocks agree.

use std::time::Duration;

use std::sync::LazyLock;

use redis::Script;

use super::RedisStore;
use crate::{ttl_millis, Result, SlotRequest, SlotTicket};

/// Lua shared by the scripts: `now_ms()`, `keep(key, ms)` (extends a key's TTL to at least
/// `ms`) and `promote(sem, queue, tickets, wake_prefix, now)`.
const PROMOTE: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function keep(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local function promote(sem, queue, tickets, wake_prefix, now)
  redis.call('ZREMRANGEBYSCORE', sem, '-inf', now)
  while true do
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    if not head then return end
    local ticket = redis.call('HGET', tickets, head)
    local deadline, limit, patience
    if ticket then
      deadline, limit, patience = string.match(ticket, '^(%d+) (%d+) (%d+)$')
    end
    if not deadline or tonumber(deadline) <= now then
      redis.call('ZREM', queue, head)
      redis.call('HDEL', tickets, head)
      redis.call('DEL', wake_prefix .. head)
    elseif redis.call('ZCARD', sem) >= tonumber(limit) then
      return
    else
      local lent = tonumber(patience)
      redis.call('ZREM', queue, head)
      redis.call('HDEL', tickets, head)
      redis.call('ZADD', sem, now + lent, head)
      keep(sem, lent)
      redis.call('DEL', wake_prefix .. head)
      redis.call('RPUSH', wake_prefix .. head, head)
      redis.call('PEXPIRE', wake_prefix .. head, lent)
    end
  end
end
";

/// KEYS: sem, queue, tickets. ARGV: wake prefix, limit, ttl ms, then one id per slot wanted.
/// Reply: how many were taken (all), or nil when fewer are free or a live waiter is queued.
static ACQUIRE_SLOTS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PROMOTE}{}",
        r"
local now = now_ms()
promote(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now)
local n = #ARGV - 3
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
if redis.call('ZCARD', KEYS[1]) + n > tonumber(ARGV[2]) then return false end
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[i]) end
keep(KEYS[1], tonumber(ARGV[3]))
return n
"
    ))
});

/// KEYS: sem, queue, tickets. ARGV: wake prefix, limit, ttl ms, patience ms, id.
/// Reply: 0 when the slot `id` is held now, else the ticket `id`'s place in the queue.
static QUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PROMOTE}{}",
        r"
local now = now_ms()
promote(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now)
local ttl, patience = tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[5])
  keep(KEYS[1], ttl)
  return 0
end
local place = redis.call('HINCRBY', KEYS[3], '#seq', 1)
redis.call('ZADD', KEYS[2], place, ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], (now + patience) .. ' ' .. ARGV[2] .. ' ' .. ARGV[4])
keep(KEYS[2], patience)
keep(KEYS[3], patience)
return place
"
    ))
});

/// KEYS: sem, queue, tickets, the ticket's wake-up list. ARGV: wake prefix, ticket, place,
/// limit, ttl ms, patience ms, the slot `BLPOP` returned (or empty).
/// Reply: the slot id, claimed for ttl; or nil: still waiting, alive for another patience.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PROMOTE}{}",
        r"
local now = now_ms()
local ttl, patience = tonumber(ARGV[5]), tonumber(ARGV[6])
local function claim(slot)
  local lent = redis.call('ZSCORE', KEYS[1], slot)
  if lent and tonumber(lent) > now then
    redis.call('ZADD', KEYS[1], now + ttl, slot)
    keep(KEYS[1], ttl)
    return slot
  end
  return false
end
local slot = ARGV[7]
if slot == '' then slot = redis.call('LPOP', KEYS[4]) end
if slot and claim(slot) then return slot end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], (now + patience) .. ' ' .. ARGV[4] .. ' ' .. ARGV[6])
keep(KEYS[2], patience)
keep(KEYS[3], patience)
promote(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now)
slot = redis.call('LPOP', KEYS[4])
if slot and claim(slot) then return slot end
return false
"
    ))
});

/// KEYS: sem, queue, tickets. ARGV: wake prefix, then the slots to give back.
/// A slot given back goes to the head waiter at once.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PROMOTE}{}",
        r"
for i = 2, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
promote(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now_ms())
return 1
"
    ))
});

/// KEYS: sem, queue, tickets, the ticket's wake-up list. ARGV: wake prefix, ticket.
static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PROMOTE}{}",
        r"
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('DEL', KEYS[4]) == 1 then redis.call('ZREM', KEYS[1], ARGV[2]) end
promote(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now_ms())
return 1
"
    ))
});

/// KEYS: sem. Reply: live slots.
static SLOTS_IN_USE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PROMOTE}return redis.call('ZCOUNT', KEYS[1], '(' .. now_ms(), '+inf')"
    ))
});

/// One semaphore name's keys.
struct SemaphoreKeys {
    held: String,
    queue: String,
    tickets: String,
    wake_prefix: String,
}

impl SemaphoreKeys {
    fn of(store: &RedisStore, name: &str) -> Self {
        Self {
            held: store.keys.semaphore(name),
            queue: store.keys.slot_queue(name),
            tickets: store.keys.slot_tickets(name),
            wake_prefix: store.keys.slot_wake_prefix(name),
        }
    }

    fn wake(&self, ticket: &SlotTicket) -> String {
        format!("{}{}", self.wake_prefix, ticket.id())
    }

    /// `script` with sem, queue and tickets as its first keys and the wake prefix as its
    /// first argument.
    fn invocation<'a>(&self, script: &'a Script) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.key(&self.held);
        invocation
            .key(&self.queue)
            .key(&self.tickets)
            .arg(&self.wake_prefix);
        invocation
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(super) async fn acquire(
    store: &RedisStore,
    name: &str,
    limit: u32,
    n: u32,
    ttl: Duration,
) -> Result<Option<Vec<String>>> {
    let slots: Vec<String> = (0..n).map(|_| new_id()).collect();
    let taken: Option<i64> = SemaphoreKeys::of(store, name)
        .invocation(&ACQUIRE_SLOTS)
        .arg(limit)
        .arg(ttl_millis(ttl))
        .arg(&slots)
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(taken.map(|_| slots))
}

pub(super) async fn release(store: &RedisStore, name: &str, slots: &[String]) -> Result<()> {
    if slots.is_empty() {
        return Ok(());
    }
    let _: i64 = SemaphoreKeys::of(store, name)
        .invocation(&RELEASE)
        .arg(slots)
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

pub(super) async fn in_use(store: &RedisStore, name: &str) -> Result<u32> {
    Ok(SLOTS_IN_USE
        .key(store.keys.semaphore(name))
        .invoke_async(&mut store.connection.clone())
        .await?)
}

pub(super) async fn queue(
    store: &RedisStore,
    name: &str,
    limit: u32,
    ttl: Duration,
    patience: Duration,
) -> Result<SlotRequest> {
    let id = new_id();
    let place: u64 = SemaphoreKeys::of(store, name)
        .invocation(&QUEUE)
        .arg(limit)
        .arg(ttl_millis(ttl))
        .arg(ttl_millis(patience))
        .arg(&id)
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(if place == 0 {
        SlotRequest::Held(id)
    } else {
        SlotRequest::Queued(SlotTicket::new(id, place, limit, ttl, patience))
    })
}

pub(super) async fn wait(
    store: &RedisStore,
    name: &str,
    ticket: &SlotTicket,
    wait: Duration,
) -> Result<Option<String>> {
    let keys = SemaphoreKeys::of(store, name);
    let wake = keys.wake(ticket);
    let handed = store.waiters.pop(&wake, wait).await?.unwrap_or_default();
    Ok(keys
        .invocation(&CLAIM)
        .key(&wake)
        .arg(ticket.id())
        .arg(ticket.place)
        .arg(ticket.limit)
        .arg(ttl_millis(ticket.ttl))
        .arg(ttl_millis(ticket.patience))
        .arg(handed)
        .invoke_async(&mut store.connection.clone())
        .await?)
}

pub(super) async fn leave(store: &RedisStore, name: &str, ticket: &SlotTicket) -> Result<()> {
    let keys = SemaphoreKeys::of(store, name);
    let _: i64 = keys
        .invocation(&LEAVE)
        .key(keys.wake(ticket))
        .arg(ticket.id())
        .invoke_async(&mut store.connection.clone())
        .await?;
    Ok(())
}

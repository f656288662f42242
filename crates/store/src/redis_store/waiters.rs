//! Connections for the commands that block on the server: the `XREAD BLOCK` an idle
//! `dequeue` waits with, and the `BLPOP` a semaphore's waiter waits for its slot with.
//!
//! Redis answers a connection's commands in order, so a command blocked on the store's shared,
//! multiplexed connection would hold up every other call of every task. A waiter borrows a
//! connection of its own here and gives it back when the wait ends well; a connection that
//! failed is dropped, and the next waiter opens a fresh one. The pool grows to the number of
//! tasks waiting at once (the worker count, plus the slot waiters) and no further.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::connection::{Connection, Connector};
use crate::{ttl_millis, Result};

/// How much longer than the requested wait the server may take to answer before the wait
/// counts as failed (and its connection is dropped).
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

pub(super) struct Waiters {
    connector: Connector,
    idle: Mutex<Vec<Connection>>,
}

impl Waiters {
    pub(super) fn new(connector: Connector) -> Self {
        Self {
            connector,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Returns once any of `streams` has an entry after the id at the same position in
    /// `after`, or `wait` has passed.
    pub(super) async fn wait_for_entries(
        &self,
        streams: &[String],
        after: &[String],
        wait: Duration,
    ) -> Result<()> {
        let mut xread = redis::cmd("XREAD");
        xread
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(ttl_millis(wait))
            .arg("STREAMS")
            .arg(streams)
            .arg(after);
        let _: redis::Value = self.blocking(&xread, wait).await?;
        Ok(())
    }

    /// Pops the head of the list `key` (a semaphore ticket's wake-up list), waiting up to
    /// `wait` for one; `None` when `wait` passed first.
    pub(super) async fn pop(&self, key: &str, wait: Duration) -> Result<Option<String>> {
        let mut blpop = redis::cmd("BLPOP");
        // BLPOP takes seconds, fractions allowed (Redis 6 and later).
        blpop.arg(key).arg(ttl_millis(wait) as f64 / 1000.0);
        let popped: Option<(String, String)> = self.blocking(&blpop, wait).await?;
        Ok(popped.map(|(_, value)| value))
    }

    /// Runs the blocking `command` (which gives up after `wait`) on a connection of its own.
    async fn blocking<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
        wait: Duration,
    ) -> Result<T> {
        let mut connection = match self.take_idle() {
            Some(connection) => connection,
            None => self.connector.dedicated().await?,
        };
        let answer = command.query_async::<T>(&mut connection);
        // On an error or a late answer the connection is dropped here, with whatever state it
        // was left in.
        let answer = match tokio::time::timeout(wait + ANSWER_MARGIN, answer).await {
            Ok(answer) => answer?,
            Err(_) => return Err(late_answer()),
        };
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        Ok(answer)
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}

fn late_answer() -> crate::StoreError {
    redis::RedisError::from((redis::ErrorKind::Io, "no answer to a blocking read in time")).into()
}

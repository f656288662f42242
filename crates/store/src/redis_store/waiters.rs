//! Connections for the one command that blocks on the server: the `XREAD BLOCK` an idle
//! `dequeue` waits with.
//!
//! Redis answers a connection's commands in order, so a command blocked on the store's shared,
//! multiplexed connection would hold up every other call of every task. A waiter borrows a
//! connection of its own here and gives it back when the wait ends well; a connection that
//! failed is dropped, and the next waiter opens a fresh one. The pool grows to the number of
//! tasks waiting at once (the worker count) and no further.

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
        let mut connection = match self.take_idle() {
            Some(connection) => connection,
            None => self.connector.dedicated().await?,
        };
        let mut xread = redis::cmd("XREAD");
        xread
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(ttl_millis(wait))
            .arg("STREAMS")
            .arg(streams)
            .arg(after);
        let read = xread.query_async::<redis::Value>(&mut connection);
        // On an error or a late answer the connection is dropped here, with whatever state it
        // was left in.
        match tokio::time::timeout(wait + ANSWER_MARGIN, read).await {
            Ok(answer) => answer?,
            Err(_) => return Err(late_answer()),
        };
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        Ok(())
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

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

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

use crate::{ttl_millis, Result};

/// How much longer than the requested wait the server may take to answer before the wait
/// counts as failed (and its connection is dropped).
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

pub(super) struct Waiters {
    client: redis::Client,
    idle: Mutex<Vec<MultiplexedConnection>>,
}

impl Waiters {
    pub(super) fn new(client: redis::Client) -> Self {
        Self {
            client,
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
            None => {
                let config = AsyncConnectionConfig::new().set_response_timeout(None);
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?
            }
        };
        connection.set_response_timeout(wait + ANSWER_MARGIN);
        // On an error the connection is dropped here, with whatever state it was left in.
        let _: redis::Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(ttl_millis(wait))
            .arg("STREAMS")
            .arg(streams)
            .arg(after)
            .query_async(&mut connection)
            .await?;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        Ok(())
    }

    fn take_idle(&self) -> Option<MultiplexedConnection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}

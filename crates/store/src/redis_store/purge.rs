//! Removing every key of one connection name: what `isthmus dev` does with the namespace it made
//! for itself when it stops, so a dev run leaves nothing behind in a shared Redis. Never used by
//! a service: production data is never deleted wholesale.

use super::RedisStore;
use crate::Result;

/// Keys removed per `UNLINK`.
const BATCH: usize = 500;

impl RedisStore {
    /// Deletes every key of this store's connection name (`isthmus:{<connection>}:*`, found by
    /// `SCAN`, removed with `UNLINK`); the number removed. Keys of other connection names are
    /// untouched: the name can hold no glob character (see [`Keys`](crate::Keys)).
    pub async fn purge(&self) -> Result<u64> {
        let pattern = format!("{}*", self.keys.connection_prefix());
        let mut connection = self.connection.clone();
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            // On a Cluster the scan goes to the node holding the connection's one slot.
            let (next, keys) = connection.scan(cursor, &pattern, 1000).await?;
            for batch in keys.chunks(BATCH) {
                let unlinked: u64 = redis::cmd("UNLINK")
                    .arg(batch)
                    .query_async(&mut connection)
                    .await?;
                removed += unlinked;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}

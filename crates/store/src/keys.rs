//! Redis key layout, shared by every backend so keys mean the same thing everywhere.
//!
//! Every key of a connection starts with `isthmus:{<connection>}:`. The braces make the
//! connection name the Redis Cluster hash tag, so all keys of one connection live in one slot
//! and the multi-key Lua scripts of [`RedisStore`](crate::RedisStore) stay legal on a Cluster.
//! The connection name is validated (`[A-Za-z0-9_-]+`) so it can never break out of the tag.
//!
//! Object kinds are code constants without `:`; ids and resources are used verbatim.
//!
//! # Queue namespaces
//! The job queue's keys (lanes, delayed jobs, dead letters and their indexes) also depend on
//! the queue namespace (see [`queue`](crate::queue)). The default namespace, `customers`, keeps
//! the keys the queue had before namespaces existed (`isthmus:{c}:queue:batch`, `…:dead`), so
//! existing data stays valid; any other namespace `<ns>` puts the same keys under
//! `isthmus:{c}:q:<ns>:` (`isthmus:{c}:q:orders:queue:batch`, `isthmus:{c}:q:orders:dead`). No
//! other key family starts with `q:`, and the namespace alphabet (`[a-z0-9_-]`) has no `:`, so
//! two namespaces never share a key. Every other key ignores the namespace: all namespaces of a
//! connection share links, locks, status values, audit, conflicts, idempotency and semaphores.
//! All of them keep the connection's hash tag, so the scripts stay Cluster-legal.

use crate::queue::{check_queue_namespace, DEFAULT_QUEUE_NAMESPACE};
use crate::{ConflictState, Lane, Result, StoreError};

/// Builds the keys of one connection name (`prod`, `sandbox`, …) and one queue namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// `isthmus:{<connection>}:`
    prefix: String,
    queue_namespace: String,
    /// Where the queue's keys start: `prefix` for the default namespace, else
    /// `isthmus:{<connection>}:q:<namespace>:`.
    queue_prefix: String,
}

impl Keys {
    /// Keys for `connection` and the default queue namespace; refused unless the name is
    /// non-empty `[A-Za-z0-9_-]`.
    pub fn new(connection: &str) -> Result<Self> {
        let valid = !connection.is_empty()
            && connection
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(StoreError::InvalidConnectionName(connection.to_owned()));
        }
        let prefix = format!("isthmus:{{{connection}}}:");
        Ok(Self {
            queue_namespace: DEFAULT_QUEUE_NAMESPACE.to_owned(),
            queue_prefix: prefix.clone(),
            prefix,
        })
    }

    /// The same connection's keys with the queue of `namespace`; refused unless it is 1 to 32
    /// characters of `[a-z0-9_-]`.
    pub fn with_queue(&self, namespace: &str) -> Result<Self> {
        check_queue_namespace(namespace)?;
        let queue_prefix = if namespace == DEFAULT_QUEUE_NAMESPACE {
            self.prefix.clone()
        } else {
            format!("{}q:{namespace}:", self.prefix)
        };
        Ok(Self {
            prefix: self.prefix.clone(),
            queue_namespace: namespace.to_owned(),
            queue_prefix,
        })
    }

    /// `isthmus:{<connection>}:`, the start of every key of the connection name.
    pub fn connection_prefix(&self) -> &str {
        &self.prefix
    }

    /// The queue namespace the queue keys belong to.
    pub fn queue_namespace(&self) -> &str {
        &self.queue_namespace
    }

    /// `isthmus:{c}:link:sf:<kind>:<salesforce_id>`
    pub fn salesforce_link(&self, kind: &str, salesforce_id: &str) -> String {
        format!("{}{salesforce_id}", self.salesforce_link_prefix(kind))
    }

    /// `isthmus:{c}:link:ns:<kind>:<netsuite_id>`
    pub fn netsuite_link(&self, kind: &str, netsuite_id: &str) -> String {
        format!("{}{netsuite_id}", self.netsuite_link_prefix(kind))
    }

    /// `isthmus:{c}:link:index:<kind>`: sorted set of the Salesforce ids of every link of
    /// `kind` (all scored 0, so ordered by id), for walking the whole map of one kind.
    pub fn link_index(&self, kind: &str) -> String {
        format!("{}link:index:{kind}", self.prefix)
    }

    /// `isthmus:{c}:lock:<resource>`: holds the current lease's fencing token.
    pub fn lock(&self, resource: &str) -> String {
        format!("{}lock:{resource}", self.prefix)
    }

    /// `isthmus:{c}:fence`: the one counter every fencing token of the connection is drawn
    /// from. One counter (not one per resource) means a lock taken for a sync that then fails,
    /// or finds nothing, leaves no key behind once released.
    pub fn fence(&self) -> String {
        format!("{}fence", self.prefix)
    }

    /// `isthmus:{c}:sem:<name>`: sorted set of slot ids scored by expiry (ms).
    pub fn semaphore(&self, name: &str) -> String {
        format!("{}sem:{name}", self.prefix)
    }

    /// `isthmus:{c}:semq:<name>`: the semaphore's waiters, a sorted set of ticket ids scored
    /// by their place in the queue (see the `slots` module of the Redis store).
    pub fn slot_queue(&self, name: &str) -> String {
        format!("{}semq:{name}", self.prefix)
    }

    /// `isthmus:{c}:semt:<name>`: hash of each waiting ticket's deadline, limit and patience,
    /// and the counter (`#seq`) their places are drawn from.
    pub fn slot_tickets(&self, name: &str) -> String {
        format!("{}semt:{name}", self.prefix)
    }

    /// `isthmus:{c}:semw:<name>:`: prefix of each ticket's wake-up list
    /// (`semw:<name>:<ticket>`), where a release hands the slot over.
    pub fn slot_wake_prefix(&self, name: &str) -> String {
        format!("{}semw:{name}:", self.prefix)
    }

    /// `isthmus:{c}:status:<name>`
    pub fn status(&self, name: &str) -> String {
        format!("{}status:{name}", self.prefix)
    }

    /// `isthmus:{c}:idem:<key>`
    pub fn idempotency(&self, key: &str) -> String {
        format!("{}idem:{key}", self.prefix)
    }

    /// `isthmus:{c}:queue:<lane>` (other namespaces: `isthmus:{c}:q:<ns>:queue:<lane>`): the
    /// stream of a lane's jobs (consumer group `workers`).
    pub fn queue(&self, lane: Lane) -> String {
        format!("{}queue:{}", self.queue_prefix, lane.as_str())
    }

    /// `isthmus:{c}:queue:delayed` (other namespaces: `isthmus:{c}:q:<ns>:queue:delayed`):
    /// sorted set of jobs to retry, scored by due time (ms).
    pub fn delayed(&self) -> String {
        format!("{}queue:delayed", self.queue_prefix)
    }

    /// `isthmus:{c}:dead` (other namespaces: `isthmus:{c}:q:<ns>:dead`): hash of dead letters,
    /// job id → JSON.
    pub fn dead(&self) -> String {
        format!("{}dead", self.queue_prefix)
    }

    /// `isthmus:{c}:dead:index` (other namespaces: `isthmus:{c}:q:<ns>:dead:index`): sorted
    /// set of dead job ids, scored by failure time (ms).
    pub fn dead_index(&self) -> String {
        format!("{}dead:index", self.queue_prefix)
    }

    /// `isthmus:{c}:dead:kind:<kind>` (other namespaces: `isthmus:{c}:q:<ns>:dead:kind:<kind>`):
    /// the same index for one job kind.
    pub fn dead_kind_index(&self, kind: &str) -> String {
        format!("{}{kind}", self.dead_kind_index_prefix())
    }

    /// `isthmus:{c}:audit`: the audit log stream.
    pub fn audit(&self) -> String {
        format!("{}audit", self.prefix)
    }

    /// `isthmus:{c}:stats:flows`: the names of the flows with statistics.
    pub fn stats_flows(&self) -> String {
        format!("{}stats:flows", self.prefix)
    }

    /// `isthmus:{c}:stats:<bucket start ms>:<flow>`: one flow's syncs in one bucket.
    pub fn stats_bucket(&self, start_ms: i64, flow: &str) -> String {
        format!("{}stats:{start_ms}:{flow}", self.prefix)
    }

    /// `isthmus:{c}:stats:errors`: each flow's last error.
    pub fn stats_errors(&self) -> String {
        format!("{}stats:errors", self.prefix)
    }

    /// `isthmus:{c}:stats:alloc:<bucket start ms>`: the Salesforce allocation seen in a bucket.
    pub fn stats_allocation(&self, start_ms: i64) -> String {
        format!("{}stats:alloc:{start_ms}", self.prefix)
    }

    /// `isthmus:{c}:audit:rec:<record>`: the audit history of one record, newest first.
    pub fn record_audit(&self, record: &str) -> String {
        format!("{}audit:rec:{record}", self.prefix)
    }

    /// `isthmus:{c}:conflicts`: hash of conflicts, id → JSON.
    pub fn conflicts(&self) -> String {
        format!("{}conflicts", self.prefix)
    }

    /// `isthmus:{c}:conflicts:<state>` (`all`, `parked`, `resolved`): sorted sets of conflict
    /// ids scored by detection time (ms).
    pub fn conflict_index(&self, state: Option<ConflictState>) -> String {
        let state = state.map_or("all", ConflictState::as_str);
        format!("{}conflicts:{state}", self.prefix)
    }

    /// The per-kind dead-letter index key without the kind (scripts append a stored kind).
    pub(crate) fn dead_kind_index_prefix(&self) -> String {
        format!("{}dead:kind:", self.queue_prefix)
    }

    /// The Salesforce link key of `kind` without the id (scripts append an id read from a link).
    pub(crate) fn salesforce_link_prefix(&self, kind: &str) -> String {
        format!("{}link:sf:{kind}:", self.prefix)
    }

    /// The NetSuite link key of `kind` without the id.
    pub(crate) fn netsuite_link_prefix(&self, kind: &str) -> String {
        format!("{}link:ns:{kind}:", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_the_connection_name_as_hash_tag() {
        let keys = Keys::new("prod").unwrap();
        assert_eq!(
            keys.salesforce_link("customer", "001A"),
            "isthmus:{prod}:link:sf:customer:001A"
        );
        assert_eq!(
            keys.netsuite_link("customer", "42"),
            "isthmus:{prod}:link:ns:customer:42"
        );
        assert_eq!(keys.lock("opp:1"), "isthmus:{prod}:lock:opp:1");
        assert_eq!(keys.fence(), "isthmus:{prod}:fence");
        assert_eq!(keys.idempotency("k"), "isthmus:{prod}:idem:k");
        assert_eq!(keys.queue(Lane::Batch), "isthmus:{prod}:queue:batch");
        assert_eq!(keys.delayed(), "isthmus:{prod}:queue:delayed");
        assert_eq!(keys.dead_index(), "isthmus:{prod}:dead:index");
        assert_eq!(
            keys.dead_kind_index("sync"),
            "isthmus:{prod}:dead:kind:sync"
        );
        assert_eq!(keys.audit(), "isthmus:{prod}:audit");
        assert_eq!(keys.conflicts(), "isthmus:{prod}:conflicts");
        assert_eq!(
            keys.conflict_index(Some(ConflictState::Parked)),
            "isthmus:{prod}:conflicts:parked"
        );
        assert_eq!(keys.conflict_index(None), "isthmus:{prod}:conflicts:all");
    }

    #[test]
    fn a_queue_namespace_moves_only_the_queue_keys() {
        let default = Keys::new("prod").unwrap();
        let orders = default.with_queue("orders").unwrap();
        assert_eq!(orders.queue_namespace(), "orders");
        assert_eq!(
            orders.queue(Lane::Interactive),
            "isthmus:{prod}:q:orders:queue:interactive"
        );
        assert_eq!(orders.delayed(), "isthmus:{prod}:q:orders:queue:delayed");
        assert_eq!(orders.dead(), "isthmus:{prod}:q:orders:dead");
        assert_eq!(orders.dead_index(), "isthmus:{prod}:q:orders:dead:index");
        assert_eq!(
            orders.dead_kind_index("sync"),
            "isthmus:{prod}:q:orders:dead:kind:sync"
        );
        assert_eq!(
            orders.salesforce_link("customer", "001A"),
            default.salesforce_link("customer", "001A")
        );
        assert_eq!(orders.lock("opp:1"), default.lock("opp:1"));
        assert_eq!(orders.fence(), default.fence());
        assert_eq!(orders.status("s"), default.status("s"));
        assert_eq!(orders.audit(), default.audit());
        assert_eq!(orders.conflicts(), default.conflicts());
        assert_eq!(orders.semaphore("ns"), default.semaphore("ns"));
        assert_eq!(orders.idempotency("k"), default.idempotency("k"));
    }

    #[test]
    fn the_customers_namespace_keeps_the_original_queue_keys() {
        let default = Keys::new("prod").unwrap();
        assert_eq!(default.queue_namespace(), "customers");
        assert_eq!(default.with_queue("customers").unwrap(), default);
        let back = default
            .with_queue("orders")
            .unwrap()
            .with_queue("customers");
        assert_eq!(back.unwrap(), default);
    }

    #[test]
    fn queue_namespaces_outside_the_safe_alphabet_are_refused() {
        let keys = Keys::new("prod").unwrap();
        let too_long = "a".repeat(33);
        for bad in [
            "",
            "Orders",
            "a:b",
            "a b",
            "{a}",
            "a}b",
            "é",
            too_long.as_str(),
        ] {
            assert!(
                matches!(
                    keys.with_queue(bad),
                    Err(StoreError::InvalidQueueNamespace(_))
                ),
                "{bad:?} accepted"
            );
        }
        assert!(keys.with_queue("orders_v2-eu").is_ok());
        assert!(keys.with_queue(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn connection_names_outside_the_safe_alphabet_are_refused() {
        for bad in ["", "a}b", "{a", "a:b", "a b", "é"] {
            assert!(
                matches!(Keys::new(bad), Err(StoreError::InvalidConnectionName(_))),
                "{bad:?} accepted"
            );
        }
        assert!(Keys::new("prod-eu_2").is_ok());
    }
}

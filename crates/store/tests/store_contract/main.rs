//! The store contract, written once and run against every backend: `MemoryStore` (with
//! paused tokio time) and `RedisStore` on a real `redis-server` (real time, short TTLs).
//! Each case acts through the trait of its concern: [`links`] (ID map, locks, idempotency,
//! semaphores, status values), [`audit`] and [`conflicts`] through the store's traits;
//! [`slot_queue`] through three handles of the store's semaphores, as three replicas hold them;
//! [`queue`] and [`dead_letters`] through the `Queue` of the default namespace;
//! [`queue_namespaces`] through `Store::queue`. [`redis_layout`] proves, on Redis only, the key
//! layout, the isolation of connection names and the keys of queue namespaces.
//!
//! The whole contract runs again on every shape a production Redis takes, each spawned for the
//! case: TLS (`on_redis_tls`), TLS with client certificates required (`on_redis_mtls`), an ACL
//! user (`on_redis_acl`), the master a sentinel names (`on_redis_sentinel`) and a three-master
//! Cluster (`on_redis_cluster`). [`redis_shapes`] proves what is particular to each: refusals
//! at connect, where the keys land, and a Sentinel failover. [`snapshot`] proves the store
//! snapshot the refusal tests compare sees every kind of write, on both backends.

use std::sync::Arc;
use std::time::Duration;

use isthmus_store::testing::{RedisCluster, RedisServer, SentinelSet};
use isthmus_store::{MemoryStore, Queue, RedisStore, Slots, Store, DEFAULT_QUEUE_NAMESPACE};

const SHORT: Duration = Duration::from_millis(150);
const LONG: Duration = Duration::from_secs(30);

/// Longer than [`SHORT`] by a margin that survives a busy machine.
async fn let_short_ttl_expire() {
    tokio::time::sleep(SHORT * 3).await;
}

mod audit;
mod conflicts;
mod dead_letters;
mod links;
mod queue;
mod queue_namespaces;
mod redis_layout;
mod redis_shapes;
mod slot_queue;
mod snapshot;
mod stats;

/// Runs every contract case against one backend, as `<backend>::<module>::<case>`. `$fixture`
/// builds a fresh store plus a guard (the Redis server) that lives until the case ends; each
/// module names what its cases act through: the store itself, or its default queue.
macro_rules! contract_tests {
    ($backend:ident, #[$test:meta], $fixture:path) => {
        contract_tests!(@cases $backend, #[$test], $fixture;
            links (store): [
                link_round_trips_in_both_directions,
                many_links_are_read_at_once_in_the_order_asked,
                relinking_removes_the_old_reverse_entries,
                the_map_of_a_kind_is_walked_in_pages_of_salesforce_id_order,
                indexing_links_is_idempotent_and_keeps_the_walk_whole,
                delete_link_removes_both_directions,
                writes_with_a_stale_lease_are_refused_and_write_nothing,
                locks_are_exclusive,
                fencing_tokens_strictly_increase_per_resource,
                release_with_a_wrong_token_does_nothing,
                renew_extends_a_held_lease_and_fails_once_lost,
                an_expired_lease_lets_another_acquire,
                a_stale_holder_cannot_write_a_link,
                idempotency_records_are_written_once,
                idempotency_records_expire_after_their_ttl,
                a_semaphore_hands_out_at_most_limit_slots,
                many_slots_are_taken_all_or_none_and_given_back_at_once,
                a_dead_holders_slot_expires,
                status_values_are_last_writer_wins_and_expire,
                a_status_swap_writes_only_over_the_value_expected,
                a_cleared_status_is_gone_and_clearing_nothing_is_no_error,
            ],
            slot_queue (replicas): [
                waiters_are_served_first_come_first_served_across_replicas,
                waiters_woken_by_releases_take_their_slots_in_queue_order,
                never_more_than_limit_slots_are_held_while_waiters_come_and_go,
                a_waiter_that_died_in_the_queue_is_skipped,
                a_slot_handed_to_a_waiter_that_died_comes_back,
                an_expired_holders_slot_goes_to_the_head_waiter,
                leaving_the_queue_passes_the_turn_on,
            ],
            queue (queue): [
                interactive_jobs_are_served_before_batch_jobs,
                a_job_keeps_its_fields_and_binary_payload_across_retries,
                a_dequeue_delivers_at_most_max_jobs,
                the_oldest_waiting_job_of_each_lane_is_reported,
                each_job_goes_to_one_consumer,
                an_acked_job_is_gone_for_good,
                an_unacked_job_is_reclaimed_by_another_consumer_once_idle,
                a_late_worker_cannot_settle_a_job_it_lost,
                a_retried_job_is_invisible_until_due_then_comes_back_with_the_next_attempt,
                a_job_enqueued_with_a_delay_arrives_when_due_with_its_attempt,
                a_blocking_dequeue_wakes_on_enqueue,
                a_blocking_dequeue_wakes_when_a_delayed_job_falls_due,
                a_blocking_dequeue_gives_up_after_block,
                queue_depth_counts_jobs_in_every_state,
                malformed_entry_ids_are_refused,
            ],
            queue_namespaces (store): [
                namespaces_do_not_see_each_others_jobs,
                namespaces_do_not_see_each_others_delayed_jobs,
                namespaces_do_not_see_each_others_dead_letters,
                a_namespace_reclaims_only_its_own_jobs,
                a_blocking_dequeue_wakes_only_for_its_own_namespace,
                the_default_queue_is_the_customers_namespace,
                queues_of_one_namespace_are_one_queue,
                a_queue_and_the_store_hold_nothing_of_each_other,
                invalid_queue_namespaces_are_refused,
            ],
            dead_letters (queue): [
                dead_letters_are_listed_newest_first_and_filtered,
                a_dead_letter_is_taken_once,
            ],
            audit (store): [
                the_audit_log_is_read_in_order_after_an_id,
                the_audit_log_keeps_about_max_len_entries,
                malformed_audit_ids_are_refused,
                redaction_replaces_a_persons_values_in_the_log_and_histories_in_place,
                redaction_reaches_status_values_and_idempotency_answers,
                each_record_keeps_its_own_history_newest_first,
                a_record_history_keeps_its_newest_entries,
            ],
            stats (store): [
                syncs_are_counted_per_flow_bucket_and_outcome,
                a_failed_sync_is_its_flows_last_error,
                the_allocation_seen_is_kept_per_bucket,
            ],
            conflicts (store): [
                conflicts_are_listed_newest_first_by_state,
                a_parked_conflict_is_resolved_once,
                the_conflict_log_drops_the_oldest_resolved_and_keeps_every_parked,
            ],
        );
    };
    (@cases $backend:ident, #[$test:meta], $fixture:path;
        $($module:ident ($subject:ident): [$($case:ident),* $(,)?]),* $(,)?) => {
        mod $backend {
            $(
                mod $module {
                    $(
                        #[$test]
                        async fn $case() {
                            let (store, guard) = $fixture().await;
                            let subject = crate::$subject(store, &guard).await;
                            crate::$module::$case(subject).await;
                        }
                    )*
                }
            )*
        }
    };
}

/// The store itself, for cases that act through its traits.
async fn store<S: Store, G>(store: S, _guard: &G) -> S {
    store
}

/// The store's default queue (the `customers` namespace), for cases about one queue.
async fn queue<S: Store, G>(store: S, _guard: &G) -> Arc<dyn Queue> {
    store.queue(DEFAULT_QUEUE_NAMESPACE).await.unwrap()
}

/// Three handles of one store's semaphores, as three replicas hold them: the store and two
/// more connections on Redis; the one store shared in memory (which is one process).
async fn replicas<S: Store, G: MoreHandles>(store: S, guard: &G) -> Vec<Arc<dyn Slots>> {
    let first: Arc<dyn Slots> = Arc::new(store);
    let mut handles = vec![Arc::clone(&first)];
    for _ in 0..2 {
        handles.push(guard.another().await.unwrap_or_else(|| Arc::clone(&first)));
    }
    handles
}

/// A fixture's guard that can connect another handle to the same store.
trait MoreHandles {
    async fn another(&self) -> Option<Arc<dyn Slots>>;
}

impl MoreHandles for () {
    async fn another(&self) -> Option<Arc<dyn Slots>> {
        None
    }
}

impl MoreHandles for RedisServer {
    async fn another(&self) -> Option<Arc<dyn Slots>> {
        Some(Arc::new(self.store().await))
    }
}

impl MoreHandles for SentinelSet {
    async fn another(&self) -> Option<Arc<dyn Slots>> {
        Some(Arc::new(self.store().await))
    }
}

impl MoreHandles for RedisCluster {
    async fn another(&self) -> Option<Arc<dyn Slots>> {
        Some(Arc::new(self.store().await))
    }
}

async fn memory_store() -> (MemoryStore, ()) {
    (MemoryStore::new(), ())
}

async fn redis_store() -> (RedisStore, RedisServer) {
    let server = RedisServer::start();
    (server.store().await, server)
}

/// The ACL user and password of `on_redis_acl` (the default user is off).
const ACL_USER: &str = "isthmus";
const ACL_PASSWORD: &str = "correct-horse-battery-staple";

async fn redis_tls_store() -> (RedisStore, RedisServer) {
    let server = RedisServer::spawn_tls(false);
    (server.store().await, server)
}

async fn redis_mtls_store() -> (RedisStore, RedisServer) {
    let server = RedisServer::spawn_tls(true);
    (server.store().await, server)
}

async fn redis_acl_store() -> (RedisStore, RedisServer) {
    let server = RedisServer::spawn_with_acl_user(ACL_USER, ACL_PASSWORD);
    (server.store().await, server)
}

/// A master and one sentinel: the failover itself is proven in [`redis_shapes`].
async fn redis_sentinel_store() -> (RedisStore, SentinelSet) {
    let set = SentinelSet::spawn(0, 1);
    (set.store().await, set)
}

async fn redis_cluster_store() -> (RedisStore, RedisCluster) {
    let cluster = RedisCluster::spawn();
    (cluster.store().await, cluster)
}

contract_tests!(on_memory, #[tokio::test(start_paused = true)], crate::memory_store);
contract_tests!(on_redis, #[tokio::test], crate::redis_store);
contract_tests!(on_redis_tls, #[tokio::test], crate::redis_tls_store);
contract_tests!(on_redis_mtls, #[tokio::test], crate::redis_mtls_store);
contract_tests!(on_redis_acl, #[tokio::test], crate::redis_acl_store);
contract_tests!(on_redis_sentinel, #[tokio::test], crate::redis_sentinel_store);
contract_tests!(on_redis_cluster, #[tokio::test], crate::redis_cluster_store);

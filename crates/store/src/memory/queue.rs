//! [`MemoryQueue`]: the [`Queue`] (jobs and dead letters) of one queue namespace of
//! [`MemoryStore`](super::MemoryStore), with the semantics of the Redis one (see
//! `redis_store::queue`). Consumers are not recorded, so `consumer` only names the caller.
//!
//! One mutex guards the lanes, the pending jobs, the delayed jobs and the dead letters, so every
//! call is one atomic step, and it is never held across an `.await`. A
//! blocking `dequeue` waits on a [`Notify`] that every enqueue wakes, with a timeout that ends
//! when the next delayed job falls due; both run on tokio time, so `tokio::time::pause()` drives
//! them. Wall-clock times (`enqueued_at_ms`, `failed_at_ms`, entry ids) come from a
//! [`WallClock`], so paused tests see them advance too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::WallClock;
use crate::stream_id::StreamId;
use crate::{
    DeadLetter, DeadLetterQuery, Failure, Lane, NewJob, Queue, QueueDepth, QueuedJob, Result,
};

#[derive(Debug)]
pub(super) struct MemoryQueue {
    namespace: String,
    state: Mutex<QueueState>,
    /// Woken by every enqueue.
    enqueued: Notify,
    clock: WallClock,
}

#[derive(Debug, Default)]
struct QueueState {
    /// Waiting jobs per lane (in [`Lane::ALL`] order), oldest first, with their entry ids.
    lanes: [VecDeque<(StreamId, QueuedJob)>; 2],
    /// Delivered jobs by (lane, entry id).
    pending: BTreeMap<(usize, StreamId), Pending>,
    /// Jobs to retry by due time (a sequence keeps equal due times apart).
    delayed: BTreeMap<(Instant, u64), QueuedJob>,
    delayed_seq: u64,
    /// Dead letters by job id, with a sequence that orders letters of the same ms.
    dead: HashMap<String, (DeadLetter, u64)>,
    dead_seq: u64,
    /// The last entry id handed out (the lanes share it: ids are unique across the queue).
    last_id: StreamId,
}

#[derive(Debug)]
struct Pending {
    job: QueuedJob,
    /// Redis also records the consumer a job is pending on; no call here asks for it.
    delivered_at: Instant,
    deliveries: u32,
}

impl MemoryQueue {
    /// An empty queue of `namespace`.
    pub(super) fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            state: Mutex::default(),
            enqueued: Notify::new(),
            clock: WallClock::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, QueueState> {
        // Every critical section leaves the state consistent (see `MemoryStore::state`).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `job` as it will be delivered (its entry id is given when it enters its lane).
    fn new_job(&self, lane: Lane, job: &NewJob, attempt: u32) -> QueuedJob {
        QueuedJob {
            id: job.id.clone(),
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            trace_id: job.trace_id.clone(),
            lane,
            attempt,
            entry_id: String::new(),
            enqueued_at_ms: self.clock.now_ms(),
        }
    }

    /// Removes `job` from the pending jobs; `false` when it was not pending.
    fn settle(state: &mut QueueState, job: &QueuedJob) -> Result<bool> {
        let entry_id: StreamId = job.entry_id.parse()?;
        Ok(state
            .pending
            .remove(&(job.lane.index(), entry_id))
            .is_some())
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn enqueue(&self, lane: Lane, job: &NewJob) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let job = self.new_job(lane, job, 1);
        self.state().push(job, now_ms);
        self.enqueued.notify_waiters();
        Ok(())
    }

    async fn enqueue_delayed(
        &self,
        lane: Lane,
        job: &NewJob,
        attempt: u32,
        delay: Duration,
    ) -> Result<()> {
        let job = self.new_job(lane, job, attempt);
        self.state().schedule(job, delay);
        Ok(())
    }

    async fn dequeue(
        &self,
        _consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueuedJob>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + block;
        loop {
            // Registered before the lanes are looked at, so an enqueue in between still wakes.
            let enqueued = self.enqueued.notified();
            tokio::pin!(enqueued);
            enqueued.as_mut().enable();

            let next_due = {
                let mut state = self.state();
                state.move_due(self.clock.now_ms());
                let jobs = state.deliver(max);
                if !jobs.is_empty() {
                    return Ok(jobs);
                }
                state.delayed.keys().next().map(|(due, _)| *due)
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let wake_at = next_due.map_or(deadline, |due| due.min(deadline));
            // Either way the loop looks again; a timeout is not an error here.
            let _ = tokio::time::timeout_at(wake_at, enqueued).await;
        }
    }

    async fn ack(&self, job: &QueuedJob) -> Result<()> {
        Self::settle(&mut self.state(), job)?;
        Ok(())
    }

    async fn retry_later(&self, job: &QueuedJob, delay: Duration) -> Result<()> {
        let mut state = self.state();
        if Self::settle(&mut state, job)? {
            let retry = QueuedJob {
                attempt: job.attempt.saturating_add(1),
                ..job.clone()
            };
            state.schedule(retry, delay);
        }
        Ok(())
    }

    async fn dead_letter(&self, job: &QueuedJob, failure: &Failure<'_>) -> Result<()> {
        let mut state = self.state();
        if Self::settle(&mut state, job)? {
            let letter = DeadLetter {
                job: job.clone(),
                error: failure.error.to_owned(),
                error_class: failure.class.to_owned(),
                error_code: failure.code.to_owned(),
                failed_at_ms: self.clock.now_ms(),
            };
            state.dead_seq += 1;
            let seq = state.dead_seq;
            state.dead.insert(job.id.clone(), (letter, seq));
        }
        Ok(())
    }

    async fn reclaim(
        &self,
        _consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedJob>> {
        let now = Instant::now();
        let min_idle = whole_millis(min_idle);
        let mut state = self.state();
        Ok(state
            .pending
            .values_mut()
            .filter(|pending| now.duration_since(pending.delivered_at) >= min_idle)
            .take(max)
            .map(|pending| {
                pending.delivered_at = now;
                pending.deliveries = pending.deliveries.saturating_add(1);
                QueuedJob {
                    attempt: pending.job.attempt.saturating_add(pending.deliveries - 1),
                    ..pending.job.clone()
                }
            })
            .collect())
    }

    async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>> {
        let state = self.state();
        let mut matches: Vec<&(DeadLetter, u64)> = state
            .dead
            .values()
            .filter(|(letter, _)| {
                query
                    .kind
                    .as_ref()
                    .is_none_or(|kind| *kind == letter.job.kind)
                    && query
                        .since_ms
                        .is_none_or(|since| letter.failed_at_ms >= since)
            })
            .collect();
        matches.sort_by_key(|(letter, seq)| std::cmp::Reverse((letter.failed_at_ms, *seq)));
        Ok(matches
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(letter, _)| letter.clone())
            .collect())
    }

    async fn get_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>> {
        Ok(self.state().dead.get(id).map(|(letter, _)| letter.clone()))
    }

    async fn take_dead_letter(&self, id: &str) -> Result<Option<DeadLetter>> {
        Ok(self.state().dead.remove(id).map(|(letter, _)| letter))
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        let state = self.state();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok(QueueDepth {
            interactive: count(state.lanes[Lane::Interactive.index()].len()),
            batch: count(state.lanes[Lane::Batch.index()].len()),
            delayed: count(state.delayed.len()),
            pending: count(state.pending.len()),
            dead: count(state.dead.len()),
            oldest_interactive_ms: state.lanes[Lane::Interactive.index()]
                .front()
                .map(|(id, _)| id.ms() as i64),
            oldest_batch_ms: state.lanes[Lane::Batch.index()]
                .front()
                .map(|(id, _)| id.ms() as i64),
        })
    }
}

impl MemoryQueue {
    /// The queue's lanes (`queue:<lane>`: waiting and pending entries, as a Redis stream holds
    /// both until they are acked), delayed jobs (`queue:delayed`) and dead letters (`dead`),
    /// under `prefix` (empty for the default namespace, else `q:<namespace>:`).
    #[cfg(feature = "testing")]
    pub(super) fn snapshot(&self, prefix: &str, into: &mut crate::testing::StoreSnapshot) {
        use crate::testing::KeySnapshot;
        let state = self.state();
        for lane in Lane::ALL {
            let index = lane.index();
            let mut entries: Vec<String> = state.lanes[index]
                .iter()
                .map(|(id, job)| format!("{id} waiting {job:?}"))
                .collect();
            entries.extend(
                state
                    .pending
                    .range((index, StreamId::default())..)
                    .take_while(|((l, _), _)| *l == index)
                    .map(|((_, id), p)| format!("{id} pending {p:?}")),
            );
            if !entries.is_empty() {
                entries.push(format!("last-id {}", state.last_id));
            }
            into.insert(
                format!("{prefix}queue:{}", lane.as_str()),
                KeySnapshot::new("stream", false, entries),
            );
        }
        let delayed = state
            .delayed
            .iter()
            .map(|((due, seq), job)| format!("{due:?} #{seq} {job:?}"))
            .collect();
        into.insert(
            format!("{prefix}queue:delayed"),
            KeySnapshot::new("zset", false, delayed),
        );
        let mut dead: Vec<String> = state
            .dead
            .iter()
            .map(|(id, (letter, seq))| format!("{id} = #{seq} {letter:?}"))
            .collect();
        dead.sort();
        into.insert(
            format!("{prefix}dead"),
            KeySnapshot::new("hash", false, dead),
        );
    }
}

impl QueueState {
    /// The next entry id at wall time `now_ms` (ids only grow, as in Redis).
    fn next_id(&mut self, now_ms: i64) -> StreamId {
        self.last_id = self.last_id.next(u64::try_from(now_ms).unwrap_or(0));
        self.last_id
    }

    /// Appends `job` to the end of its lane under a fresh entry id.
    fn push(&mut self, mut job: QueuedJob, now_ms: i64) {
        let entry_id = self.next_id(now_ms);
        job.entry_id = entry_id.to_string();
        self.lanes[job.lane.index()].push_back((entry_id, job));
    }

    /// Adds `job` to the delayed jobs, due after `delay`.
    fn schedule(&mut self, job: QueuedJob, delay: Duration) {
        self.delayed_seq += 1;
        let due = Instant::now() + whole_millis(delay);
        self.delayed.insert((due, self.delayed_seq), job);
    }

    /// Moves due delayed jobs to the end of their lane.
    fn move_due(&mut self, now_ms: i64) {
        let now = Instant::now();
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let job = entry.remove();
            self.push(job, now_ms);
        }
    }

    /// Up to `max` waiting jobs, interactive lane first, now pending.
    fn deliver(&mut self, max: usize) -> Vec<QueuedJob> {
        let now = Instant::now();
        let mut jobs = Vec::new();
        for lane in Lane::ALL {
            while jobs.len() < max {
                let Some((entry_id, job)) = self.lanes[lane.index()].pop_front() else {
                    break;
                };
                let pending = Pending {
                    job: job.clone(),
                    delivered_at: now,
                    deliveries: 1,
                };
                self.pending.insert((lane.index(), entry_id), pending);
                jobs.push(job);
            }
        }
        jobs
    }
}

/// `duration` cut to whole ms, as Redis sees it.
fn whole_millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

//! The contract of the job queue: priority, at-least-once delivery, ack, retry, reclaim, depth.

use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{Failure, Lane, NewJob, Queue, QueueDepth, QueuedJob, StoreError};
use tokio::time::Instant;

use crate::{let_short_ttl_expire, LONG, SHORT};

/// Answers within this long count as "woke at once" (a busy machine included).
pub const PROMPTLY: Duration = Duration::from_secs(5);

pub fn job(id: &str, kind: &str) -> NewJob {
    NewJob {
        id: id.into(),
        kind: kind.into(),
        payload: format!("payload of {id}").into_bytes(),
        trace_id: format!("trace-{id}"),
    }
}

fn ids(jobs: &[QueuedJob]) -> Vec<&str> {
    jobs.iter().map(|job| job.id.as_str()).collect()
}

/// Enqueues `job(id)` of the lane's usual kind.
async fn enqueue(queue: &Arc<dyn Queue>, lane: Lane, id: &str) {
    let kind = match lane {
        Lane::Interactive => "sync",
        Lane::Batch => "backfill",
    };
    queue.enqueue(lane, &job(id, kind)).await.unwrap();
}

/// The one job waiting, delivered to `w1` without waiting.
pub async fn take_one(queue: &Arc<dyn Queue>) -> QueuedJob {
    let mut jobs = queue.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs.remove(0)
}

pub async fn interactive_jobs_are_served_before_batch_jobs(queue: Arc<dyn Queue>) {
    enqueue(&queue, Lane::Batch, "b1").await;
    enqueue(&queue, Lane::Batch, "b2").await;
    enqueue(&queue, Lane::Interactive, "i1").await;
    enqueue(&queue, Lane::Interactive, "i2").await;

    let first = queue.dequeue("w1", 3, Duration::ZERO).await.unwrap();
    let rest = queue.dequeue("w1", 3, Duration::ZERO).await.unwrap();

    assert_eq!(ids(&first), ["i1", "i2", "b1"]);
    assert_eq!(first[0].lane, Lane::Interactive);
    assert_eq!(first[2].lane, Lane::Batch);
    assert_eq!(ids(&rest), ["b2"]);
    assert!(queue
        .dequeue("w1", 3, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_job_keeps_its_fields_and_binary_payload_across_retries(queue: Arc<dyn Queue>) {
    let binary = NewJob {
        payload: vec![0, 0x9f, 0xff, b'\n', b'"', b'\\'],
        ..job("j1", "sync-account")
    };
    let empty = NewJob {
        payload: Vec::new(),
        ..job("j2", "sync-account")
    };
    queue.enqueue(Lane::Interactive, &binary).await.unwrap();
    queue.enqueue(Lane::Interactive, &empty).await.unwrap();

    let first = queue.dequeue("w1", 2, Duration::ZERO).await.unwrap();
    for delivered in &first {
        queue.retry_later(delivered, Duration::ZERO).await.unwrap();
    }
    let again = queue.dequeue("w1", 2, Duration::ZERO).await.unwrap();

    for (sent, (first, again)) in [binary, empty].iter().zip(first.iter().zip(&again)) {
        assert_eq!(
            (&first.id, &first.kind, &first.payload, &first.trace_id),
            (&sent.id, &sent.kind, &sent.payload, &sent.trace_id)
        );
        assert_eq!((first.lane, first.attempt), (Lane::Interactive, 1));
        assert!(first.enqueued_at_ms > 1_700_000_000_000, "{first:?}");
        assert_ne!(again.entry_id, first.entry_id);
        let expected = QueuedJob {
            attempt: 2,
            entry_id: again.entry_id.clone(),
            ..first.clone()
        };
        assert_eq!(again, &expected);
    }
}

pub async fn a_dequeue_delivers_at_most_max_jobs(queue: Arc<dyn Queue>) {
    for id in ["j1", "j2", "j3", "j4", "j5"] {
        enqueue(&queue, Lane::Batch, id).await;
    }

    let two = queue.dequeue("w1", 2, Duration::ZERO).await.unwrap();
    let none = queue.dequeue("w1", 0, Duration::ZERO).await.unwrap();

    assert_eq!(ids(&two), ["j1", "j2"]);
    assert!(none.is_empty());
    let depth = queue.queue_depth().await.unwrap();
    assert_eq!((depth.batch, depth.pending), (3, 2));
}

pub async fn each_job_goes_to_one_consumer(queue: Arc<dyn Queue>) {
    for id in ["j1", "j2", "j3", "j4"] {
        enqueue(&queue, Lane::Batch, id).await;
    }

    let (a, b) = tokio::join!(
        queue.dequeue("w1", 3, Duration::ZERO),
        queue.dequeue("w2", 3, Duration::ZERO)
    );

    let mut all: Vec<String> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|j| j.id)
        .collect();
    all.sort();
    assert_eq!(all, ["j1", "j2", "j3", "j4"]);
}

pub async fn an_acked_job_is_gone_for_good(queue: Arc<dyn Queue>) {
    enqueue(&queue, Lane::Interactive, "j1").await;
    let delivered = take_one(&queue).await;

    queue.ack(&delivered).await.unwrap();
    queue.ack(&delivered).await.unwrap();

    assert_eq!(queue.queue_depth().await.unwrap(), QueueDepth::default());
    let reclaimed = queue.reclaim("w2", Duration::ZERO, 10).await.unwrap();
    assert!(reclaimed.is_empty(), "{reclaimed:?}");
    assert!(queue
        .dequeue("w2", 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

pub async fn an_unacked_job_is_reclaimed_by_another_consumer_once_idle(queue: Arc<dyn Queue>) {
    enqueue(&queue, Lane::Batch, "b1").await;
    enqueue(&queue, Lane::Interactive, "i1").await;
    let crashed = queue.dequeue("w1", 10, Duration::ZERO).await.unwrap();
    assert_eq!(ids(&crashed), ["i1", "b1"]);

    let too_early = queue.reclaim("w2", LONG, 10).await.unwrap();
    let_short_ttl_expire().await;
    let reclaimed = queue.reclaim("w2", SHORT, 10).await.unwrap();

    assert!(too_early.is_empty(), "{too_early:?}");
    assert_eq!(ids(&reclaimed), ["i1", "b1"]);
    for (before, after) in crashed.iter().zip(&reclaimed) {
        // The same entry, delivered once more: a new attempt.
        assert_eq!(after.entry_id, before.entry_id);
        assert_eq!(after.attempt, 2);
    }
    assert!(queue.reclaim("w3", SHORT, 10).await.unwrap().is_empty());
    for job in &reclaimed {
        queue.ack(job).await.unwrap();
    }
    assert_eq!(queue.queue_depth().await.unwrap(), QueueDepth::default());
}

pub async fn a_late_worker_cannot_settle_a_job_it_lost(queue: Arc<dyn Queue>) {
    enqueue(&queue, Lane::Batch, "j1").await;
    let lost = take_one(&queue).await;
    let_short_ttl_expire().await;
    let taken_over = queue.reclaim("w2", SHORT, 1).await.unwrap();
    queue.ack(&taken_over[0]).await.unwrap();

    queue.retry_later(&lost, Duration::ZERO).await.unwrap();
    queue
        .dead_letter(&lost, &Failure::new("late", "timeout"))
        .await
        .unwrap();

    assert_eq!(queue.queue_depth().await.unwrap(), QueueDepth::default());
    assert_eq!(queue.get_dead_letter("j1").await.unwrap(), None);
}

pub async fn a_retried_job_is_invisible_until_due_then_comes_back_with_the_next_attempt(
    queue: Arc<dyn Queue>,
) {
    enqueue(&queue, Lane::Batch, "j1").await;
    let first = take_one(&queue).await;

    queue.retry_later(&first, SHORT).await.unwrap();

    let depth = queue.queue_depth().await.unwrap();
    assert_eq!((depth.batch, depth.delayed, depth.pending), (0, 1, 0));
    assert!(queue
        .dequeue("w1", 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    let_short_ttl_expire().await;
    let second = take_one(&queue).await;
    assert_eq!((second.id.as_str(), second.attempt), ("j1", 2));
    assert_eq!(second.lane, Lane::Batch);
    assert_eq!(queue.queue_depth().await.unwrap().delayed, 0);
}

pub async fn a_job_enqueued_with_a_delay_arrives_when_due_with_its_attempt(queue: Arc<dyn Queue>) {
    let sent = NewJob {
        payload: vec![0xff, 0, b'"'],
        ..job("j1", "sync")
    };

    queue
        .enqueue_delayed(Lane::Interactive, &sent, 2, SHORT)
        .await
        .unwrap();

    assert_eq!(queue.queue_depth().await.unwrap().delayed, 1);
    assert!(queue
        .dequeue("w1", 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    let_short_ttl_expire().await;
    let delivered = take_one(&queue).await;
    assert_eq!(
        (&delivered.id, &delivered.payload, &delivered.trace_id),
        (&sent.id, &sent.payload, &sent.trace_id)
    );
    assert_eq!((delivered.lane, delivered.attempt), (Lane::Interactive, 2));
}

pub async fn a_blocking_dequeue_wakes_on_enqueue(queue: Arc<dyn Queue>) {
    let started = Instant::now();
    let (delivered, ()) = tokio::join!(queue.dequeue("w1", 10, LONG), async {
        tokio::time::sleep(SHORT).await;
        enqueue(&queue, Lane::Batch, "j1").await;
    });

    assert_eq!(ids(&delivered.unwrap()), ["j1"]);
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
}

pub async fn a_blocking_dequeue_wakes_when_a_delayed_job_falls_due(queue: Arc<dyn Queue>) {
    enqueue(&queue, Lane::Interactive, "j1").await;
    let first = take_one(&queue).await;
    queue.retry_later(&first, SHORT).await.unwrap();

    let started = Instant::now();
    let delivered = queue.dequeue("w1", 10, LONG).await.unwrap();

    assert_eq!(ids(&delivered), ["j1"]);
    assert_eq!(delivered[0].attempt, 2);
    let waited = started.elapsed();
    assert!(waited >= SHORT / 2 && waited < PROMPTLY, "{waited:?}");
}

pub async fn a_blocking_dequeue_gives_up_after_block(queue: Arc<dyn Queue>) {
    let started = Instant::now();
    let delivered = queue.dequeue("w1", 10, SHORT).await.unwrap();

    assert!(delivered.is_empty());
    let waited = started.elapsed();
    assert!(waited >= SHORT && waited < PROMPTLY, "{waited:?}");
}

pub async fn queue_depth_counts_jobs_in_every_state(queue: Arc<dyn Queue>) {
    for (lane, id) in [
        (Lane::Interactive, "i1"),
        (Lane::Interactive, "i2"),
        (Lane::Interactive, "i3"),
        (Lane::Batch, "b1"),
        (Lane::Batch, "b2"),
    ] {
        enqueue(&queue, lane, id).await;
    }
    let delivered = queue.dequeue("w1", 3, Duration::ZERO).await.unwrap();

    queue.retry_later(&delivered[0], LONG).await.unwrap();
    queue
        .dead_letter(&delivered[1], &Failure::new("boom", "bug"))
        .await
        .unwrap();

    let depth = queue.queue_depth().await.unwrap();
    assert!(depth.oldest_batch_ms.is_some() && depth.oldest_interactive_ms.is_none());
    assert_eq!(
        depth,
        QueueDepth {
            interactive: 0,
            batch: 2,
            delayed: 1,
            pending: 1,
            dead: 1,
            oldest_interactive_ms: None,
            oldest_batch_ms: depth.oldest_batch_ms,
        }
    );
}

pub async fn malformed_entry_ids_are_refused(queue: Arc<dyn Queue>) {
    enqueue(&queue, Lane::Batch, "j1").await;
    let mut delivered = take_one(&queue).await;
    delivered.entry_id = "not-an-id".into();

    let refused = [
        queue.ack(&delivered).await,
        queue.retry_later(&delivered, SHORT).await,
        queue.dead_letter(&delivered, &Failure::new("x", "y")).await,
    ];

    for result in refused {
        assert!(
            matches!(result, Err(StoreError::InvalidStreamId(_))),
            "{result:?}"
        );
    }
    assert_eq!(queue.queue_depth().await.unwrap().pending, 1);
}

pub async fn the_oldest_waiting_job_of_each_lane_is_reported(queue: Arc<dyn Queue>) {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(queue.queue_depth().await.unwrap().oldest_batch_ms, None);
    for id in ["j1", "j2"] {
        enqueue(&queue, Lane::Batch, id).await;
    }
    let depth = queue.queue_depth().await.unwrap();
    let oldest = depth
        .oldest_batch_ms
        .expect("a job waits in the batch lane");
    assert!(
        oldest >= before - 1000 && oldest <= before + 60_000,
        "{oldest} vs {before}"
    );
    assert_eq!(depth.oldest_interactive_ms, None);

    // Delivered jobs no longer wait; once both are, none is the oldest.
    let two = queue.dequeue("w1", 2, Duration::ZERO).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(queue.queue_depth().await.unwrap().oldest_batch_ms, None);
}

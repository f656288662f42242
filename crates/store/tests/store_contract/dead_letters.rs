//! The contract of dead letters: listed newest first with filters, read, taken once.

use std::sync::Arc;
use std::time::Duration;

use isthmus_store::{DeadLetterQuery, Failure, Lane, Queue};

use crate::queue::{job, take_one};

/// Enqueues a job of `kind` and dead-letters it, a few ms after the previous one.
async fn dead_job(queue: &Arc<dyn Queue>, id: &str, kind: &str) {
    tokio::time::sleep(Duration::from_millis(5)).await;
    queue.enqueue(Lane::Batch, &job(id, kind)).await.unwrap();
    let delivered = take_one(queue).await;
    let error = format!("{id} failed");
    queue
        .dead_letter(
            &delivered,
            &Failure::new(&error, "validation").with_code("UNPROCESSABLE"),
        )
        .await
        .unwrap();
}

fn every_dead_letter() -> DeadLetterQuery {
    DeadLetterQuery {
        kind: None,
        since_ms: None,
        limit: 100,
        offset: 0,
    }
}

pub async fn dead_letters_are_listed_newest_first_and_filtered(queue: Arc<dyn Queue>) {
    dead_job(&queue, "j1", "sync-account").await;
    dead_job(&queue, "j2", "sync-order").await;
    dead_job(&queue, "j3", "sync-account").await;
    let list = |query: DeadLetterQuery| {
        let queue = &queue;
        async move {
            let letters = queue.dead_letters(&query).await.unwrap();
            letters.into_iter().map(|l| l.job.id).collect::<Vec<_>>()
        }
    };

    let all = queue.dead_letters(&every_dead_letter()).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|l| l.job.id.as_str()).collect();
    assert_eq!(ids, ["j3", "j2", "j1"]);
    assert_eq!(
        (
            all[0].error.as_str(),
            all[0].error_class.as_str(),
            all[0].error_code.as_str()
        ),
        ("j3 failed", "validation", "UNPROCESSABLE")
    );
    assert_eq!(all[0].job.payload, b"payload of j3");
    assert!(all[0].failed_at_ms > all[1].failed_at_ms);

    let accounts = DeadLetterQuery {
        kind: Some("sync-account".into()),
        ..every_dead_letter()
    };
    assert_eq!(list(accounts.clone()).await, ["j3", "j1"]);
    let since_j2 = DeadLetterQuery {
        since_ms: Some(all[1].failed_at_ms),
        ..every_dead_letter()
    };
    assert_eq!(list(since_j2).await, ["j3", "j2"]);
    let second_page = DeadLetterQuery {
        limit: 1,
        offset: 1,
        ..every_dead_letter()
    };
    assert_eq!(list(second_page).await, ["j2"]);
    let none = DeadLetterQuery {
        limit: 0,
        ..every_dead_letter()
    };
    assert!(list(none).await.is_empty());
    let unknown_kind = DeadLetterQuery {
        kind: Some("nothing".into()),
        ..every_dead_letter()
    };
    assert!(list(unknown_kind).await.is_empty());
}

pub async fn a_dead_letter_is_taken_once(queue: Arc<dyn Queue>) {
    dead_job(&queue, "j1", "sync-account").await;
    dead_job(&queue, "j2", "sync-account").await;
    let kept = queue.get_dead_letter("j1").await.unwrap().unwrap();

    let taken = queue.take_dead_letter("j1").await.unwrap();
    let again = queue.take_dead_letter("j1").await.unwrap();

    assert_eq!(taken, Some(kept));
    assert_eq!(again, None);
    assert_eq!(queue.get_dead_letter("j1").await.unwrap(), None);
    let accounts = DeadLetterQuery {
        kind: Some("sync-account".into()),
        ..every_dead_letter()
    };
    for query in [every_dead_letter(), accounts] {
        let left = queue.dead_letters(&query).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].job.id, "j2");
    }
    assert_eq!(queue.queue_depth().await.unwrap().dead, 1);
}

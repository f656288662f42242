//! Schedules and delta cursors against both store backends: `MemoryStore` and a real Redis
//! (`REDIS_URL`, or a throwaway `redis-server`). Each case runs as `memory::<case>` and
//! `redis::<case>`, in real time (schedules fire every second).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use isthmus_engine::schedule::{
    continue_from, schedule_status, Cursor, CursorPos, ReadFrom, RunOutcome, Schedule,
    ScheduleStatus, Scheduler,
};
use isthmus_engine::EngineError;
use isthmus_store::Store;
use tokio_util::sync::CancellationToken;

/// Runs each case against both backends.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let store: std::sync::Arc<dyn isthmus_store::Store> =
                        std::sync::Arc::new(isthmus_store::MemoryStore::new());
                    super::$case(store).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let server = isthmus_store::testing::RedisServer::start();
                    let store: std::sync::Arc<dyn isthmus_store::Store> =
                        std::sync::Arc::new(server.store().await);
                    super::$case(store).await;
                    drop(server);
                }
            )*
        }
    };
}

on_both_stores!(
    two_replicas_run_each_firing_once,
    a_job_that_overruns_its_next_firing_never_runs_twice_at_once,
    a_firing_is_skipped_while_another_holds_the_lock,
    a_firing_already_recorded_by_another_replica_is_not_run_again,
    the_last_run_and_its_outcome_are_recorded,
    a_cursor_never_moves_backwards,
    hundreds_of_records_on_one_timestamp_are_read_once_across_small_pages,
);

const LOCK_TTL: Duration = Duration::from_secs(3);

fn every_second() -> Schedule {
    Schedule::parse("* * * * * *").unwrap()
}

/// Runs `schedulers` together for `time`, then shuts them down.
async fn run_for(schedulers: Vec<Scheduler>, time: Duration) {
    let shutdown = CancellationToken::new();
    let runs: Vec<_> = schedulers
        .into_iter()
        .map(|scheduler| tokio::spawn(scheduler.run(shutdown.clone())))
        .collect();
    tokio::time::sleep(time).await;
    shutdown.cancel();
    for run in runs {
        tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("the scheduler stops at shutdown")
            .unwrap();
    }
}

async fn two_replicas_run_each_firing_once(store: Arc<dyn Store>) {
    let firings = Arc::new(Mutex::new(Vec::new()));
    let replica = |name: &str| {
        let firings = firings.clone();
        let replica = name.to_string();
        Scheduler::new(store.clone(), store.clone(), LOCK_TTL)
            .with_replica(name)
            .job("delta", every_second(), move |firing| {
                let firings = firings.clone();
                let replica = replica.clone();
                async move {
                    firings.lock().unwrap().push((firing.fire_at, replica));
                    Ok(())
                }
            })
            .unwrap()
    };
    run_for(
        vec![replica("a"), replica("b")],
        Duration::from_millis(3500),
    )
    .await;

    let firings = firings.lock().unwrap().clone();
    let distinct: HashSet<_> = firings.iter().map(|(at, _)| *at).collect();
    assert!(firings.len() >= 3, "it fired every second: {firings:?}");
    assert_eq!(
        distinct.len(),
        firings.len(),
        "a firing ran twice: {firings:?}"
    );
}

async fn a_job_that_overruns_its_next_firing_never_runs_twice_at_once(store: Arc<dyn Store>) {
    let running = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let replica = || {
        let (running, most_at_once, runs) = (running.clone(), most_at_once.clone(), runs.clone());
        Scheduler::new(store.clone(), store.clone(), LOCK_TTL)
            .job("slow", every_second(), move |_| {
                let (running, most_at_once, runs) =
                    (running.clone(), most_at_once.clone(), runs.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most_at_once.fetch_max(now, Ordering::SeqCst);
                    runs.fetch_add(1, Ordering::SeqCst);
                    // Overruns two firings.
                    tokio::time::sleep(Duration::from_millis(2500)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .unwrap()
    };
    run_for(vec![replica(), replica()], Duration::from_millis(6000)).await;

    assert_eq!(most_at_once.load(Ordering::SeqCst), 1);
    let runs = runs.load(Ordering::SeqCst);
    assert!(
        (2..=3).contains(&runs),
        "overrun firings are skipped, not queued: {runs} runs in 6 s"
    );
}

async fn a_firing_is_skipped_while_another_holds_the_lock(store: Arc<dyn Store>) {
    let held = store
        .acquire("schedule:held", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let scheduler = Scheduler::new(store.clone(), store.clone(), LOCK_TTL)
        .job("held", every_second(), move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap();
    run_for(vec![scheduler], Duration::from_millis(2500)).await;

    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(schedule_status(store.as_ref(), "held").await.unwrap(), None);
    assert!(store.release(&held).await.unwrap(), "the holder kept it");
}

async fn a_firing_already_recorded_by_another_replica_is_not_run_again(store: Arc<dyn Store>) {
    // Another replica (its clock ahead of ours) recorded a run of a firing still to come here.
    let ahead = ScheduleStatus {
        name: "ahead".into(),
        expression: "* * * * * *".into(),
        fire_at: Utc::now() + chrono::Duration::seconds(2),
        started_at: Utc::now(),
        ended_at: Some(Utc::now()),
        outcome: RunOutcome::Succeeded,
        error: None,
        replica: "other".into(),
    };
    let bytes = serde_json::to_vec(&ahead).unwrap();
    store
        .put_status("schedule:ahead", &bytes, Duration::from_secs(60))
        .await
        .unwrap();
    let fired = Arc::new(Mutex::new(Vec::new()));
    let recorded = fired.clone();
    let scheduler = Scheduler::new(store.clone(), store.clone(), LOCK_TTL)
        .job("ahead", every_second(), move |firing| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(firing.fire_at);
                Ok(())
            }
        })
        .unwrap();
    run_for(vec![scheduler], Duration::from_millis(3500)).await;

    let fired = fired.lock().unwrap().clone();
    assert!(!fired.is_empty(), "later firings run");
    assert!(
        fired.iter().all(|at| *at > ahead.fire_at),
        "firings up to the recorded one are skipped: {fired:?}"
    );
}

async fn the_last_run_and_its_outcome_are_recorded(store: Arc<dyn Store>) {
    let scheduler = Scheduler::new(store.clone(), store.clone(), LOCK_TTL)
        .with_replica("replica-1")
        .job("ok", every_second(), |_| async { Ok(()) })
        .unwrap()
        .job("failing", every_second(), |_| async {
            Err(EngineError::Unprocessable("NetSuite said no".into()))
        })
        .unwrap()
        .job("endless", every_second(), |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .unwrap();
    let before = Utc::now();
    run_for(vec![scheduler], Duration::from_millis(1500)).await;

    let ok = schedule_status(store.as_ref(), "ok")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.outcome, RunOutcome::Succeeded);
    assert_eq!(ok.expression, "* * * * * *");
    assert_eq!(ok.replica, "replica-1");
    assert!(ok.fire_at > before && ok.started_at >= ok.fire_at);
    assert!(ok.ended_at.unwrap() >= ok.started_at);

    let failing = schedule_status(store.as_ref(), "failing")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failing.outcome, RunOutcome::Failed);
    assert_eq!(failing.error.as_deref(), Some("NetSuite said no"));

    let endless = schedule_status(store.as_ref(), "endless")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        endless.outcome,
        RunOutcome::Cancelled,
        "cut short by shutdown"
    );
    let lock = store.acquire("schedule:endless", LOCK_TTL).await.unwrap();
    assert!(lock.is_some(), "the lock was released at shutdown");
}

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, second).unwrap()
}

async fn a_cursor_never_moves_backwards(store: Arc<dyn Store>) {
    let cursor = Cursor::new("customers.ns-to-sf", Duration::from_secs(10)).unwrap();
    assert_eq!(cursor.load(&store).await.unwrap(), None);
    assert_eq!(cursor.read_from(&store).await.unwrap(), None);

    assert!(cursor
        .save(&store, &CursorPos::new(at(30), "99"))
        .await
        .unwrap());
    assert!(cursor
        .save(&store, &CursorPos::new(at(30), "100"))
        .await
        .unwrap());
    assert!(!cursor
        .save(&store, &CursorPos::new(at(30), "99"))
        .await
        .unwrap());
    assert!(!cursor
        .save(&store, &CursorPos::new(at(29), "999"))
        .await
        .unwrap());
    assert!(!cursor
        .save(&store, &CursorPos::new(at(30), "100"))
        .await
        .unwrap());

    assert_eq!(
        cursor.load(&store).await.unwrap(),
        Some(CursorPos::new(at(30), "100"))
    );
    assert_eq!(
        cursor.read_from(&store).await.unwrap(),
        Some(ReadFrom {
            since: at(20),
            after_id: None
        })
    );
    let other = Cursor::new("catalog.items", Duration::ZERO).unwrap();
    assert_eq!(
        other.load(&store).await.unwrap(),
        None,
        "cursors are per flow"
    );
}

/// A source of records sorted by `(modified, id)`, read as a delta query would: the records
/// the window admits, in order, at most `limit`.
struct Source {
    records: Vec<CursorPos>,
}

impl Source {
    fn insert(&mut self, modified: DateTime<Utc>, id: &str) {
        self.records.push(CursorPos::new(modified, id));
        self.records.sort();
    }

    fn page(&self, from: Option<&ReadFrom>, limit: usize) -> Vec<(DateTime<Utc>, String)> {
        self.records
            .iter()
            .filter(|key| from.is_none_or(|from| from.admits(key.modified_at, &key.id)))
            .take(limit)
            .map(|key| (key.modified_at, key.id.clone()))
            .collect()
    }
}

/// One delta run: from the cursor (with its overlap) through every page, saving the cursor
/// after each page. Returns the keys read, in order.
async fn delta_run(
    store: &Arc<dyn Store>,
    cursor: &Cursor,
    source: &Source,
    page_size: usize,
) -> Vec<CursorPos> {
    let mut from = cursor.read_from(store).await.unwrap();
    let mut read = Vec::new();
    loop {
        let page = source.page(from.as_ref(), page_size);
        let Some(next) = continue_from(&page) else {
            return read;
        };
        read.extend(page.iter().map(|(at, id)| CursorPos::new(*at, id.clone())));
        cursor.save(store, &next).await.unwrap();
        // The next page starts exactly after this one: no overlap inside a run.
        from = Some(isthmus_engine::schedule::window(&next, Duration::ZERO));
    }
}

fn counts(keys: &[CursorPos]) -> BTreeMap<CursorPos, usize> {
    let mut counts = BTreeMap::new();
    for key in keys {
        *counts.entry(key.clone()).or_insert(0) += 1;
    }
    counts
}

async fn hundreds_of_records_on_one_timestamp_are_read_once_across_small_pages(
    store: Arc<dyn Store>,
) {
    let overlap = Duration::from_secs(5);
    let cursor = Cursor::new("finance.invoices", overlap).unwrap();
    let mut source = Source {
        records: Vec::new(),
    };
    // 400 records on one second (ids 1..=400: numeric order differs from text order), with a
    // few before and after it.
    for id in 1..=400 {
        source.insert(at(30), &id.to_string());
    }
    for (second, id) in [(10, "7"), (29, "1000"), (31, "2"), (31, "3")] {
        source.insert(at(second), id);
    }

    let first = delta_run(&store, &cursor, &source, 7).await;
    assert_eq!(first, source.records, "every record, once, in order");
    assert_eq!(
        cursor.load(&store).await.unwrap(),
        Some(CursorPos::new(at(31), "3"))
    );

    // Later: a late commit inside the overlap (stamped before the cursor), more records on the
    // busy second, and new ones after.
    let before_second_run: HashSet<CursorPos> = source.records.iter().cloned().collect();
    source.insert(at(28), "5000");
    for id in 401..=650 {
        source.insert(at(30), &id.to_string());
    }
    for id in 1..=120 {
        source.insert(at(40), &id.to_string());
    }

    let second = delta_run(&store, &cursor, &source, 9).await;
    let read = counts(&second);
    assert!(
        read.contains_key(&CursorPos::new(at(28), "5000")),
        "the late commit, stamped before the cursor, is caught by the overlap"
    );
    assert!(
        read.values().all(|&n| n == 1),
        "nothing is read twice within a run"
    );
    let since = at(31) - chrono::Duration::from_std(overlap).unwrap();
    for key in &source.records {
        let new = !before_second_run.contains(key);
        let in_overlap = key.modified_at >= since;
        assert_eq!(
            read.contains_key(key),
            new || in_overlap,
            "{key:?}: new records are read, old ones only within the overlap"
        );
    }
    assert_eq!(
        cursor.load(&store).await.unwrap(),
        Some(CursorPos::new(at(40), "120"))
    );

    // Without an overlap a run reads exactly what came after the cursor.
    let exact = Cursor::new("finance.invoices", Duration::ZERO).unwrap();
    source.insert(at(40), "121");
    source.insert(at(41), "1");
    let third = delta_run(&store, &exact, &source, 1).await;
    assert_eq!(
        third,
        vec![CursorPos::new(at(40), "121"), CursorPos::new(at(41), "1")]
    );
}

//! The contract of the semaphores' queue of waiters ([`Slots::queue_for_slot`]): first come,
//! first served across replicas, a released slot handed to the head waiter, dead waiters
//! skipped, dead holders' slots reclaimed, and never more than `limit` held. Each case acts
//! through three handles (see `replicas` in the suite): on Redis three connections, as three
//! replicas hold them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isthmus_store::{SlotRequest, SlotTicket, Slots};

use crate::{let_short_ttl_expire, LONG, SHORT};

const NAME: &str = "netsuite";
/// Longer than any handover takes on a busy machine.
const WAIT: Duration = Duration::from_secs(5);

fn held(request: SlotRequest) -> String {
    match request {
        SlotRequest::Held(slot) => slot,
        SlotRequest::Queued(ticket) => panic!("queued ({ticket:?}) with a slot expected free"),
    }
}

fn queued(request: SlotRequest) -> SlotTicket {
    match request {
        SlotRequest::Queued(ticket) => ticket,
        SlotRequest::Held(slot) => panic!("took {slot} where it had to queue"),
    }
}

/// Waits in short heartbeats until the ticket's slot comes (at most `WAIT` in all).
async fn wait_in_heartbeats(handle: &dyn Slots, ticket: &SlotTicket) -> String {
    for _ in 0..(WAIT.as_millis() / SHORT.as_millis()) {
        if let Some(slot) = handle.wait_for_slot(NAME, ticket, SHORT).await.unwrap() {
            return slot;
        }
    }
    panic!("no slot came to {ticket:?}");
}

pub async fn waiters_are_served_first_come_first_served_across_replicas(
    handles: Vec<Arc<dyn Slots>>,
) {
    let [a, b, c] = [&handles[0], &handles[1], &handles[2]];
    let holder = held(a.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let first = queued(b.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let second = queued(c.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let third = queued(a.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    assert_eq!(
        b.acquire_slot(NAME, 5, LONG).await.unwrap(),
        None,
        "a taker with room under its own limit still does not jump the queue"
    );

    a.release_slot(NAME, &holder).await.unwrap();
    assert_eq!(c.wait_for_slot(NAME, &second, SHORT).await.unwrap(), None);
    assert_eq!(a.wait_for_slot(NAME, &third, SHORT).await.unwrap(), None);
    let slot = b.wait_for_slot(NAME, &first, WAIT).await.unwrap();
    assert_eq!(slot.as_deref(), Some(first.id()), "the first waiter's turn");
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);

    b.release_slot(NAME, first.id()).await.unwrap();
    assert_eq!(a.wait_for_slot(NAME, &third, SHORT).await.unwrap(), None);
    let slot = c.wait_for_slot(NAME, &second, WAIT).await.unwrap();
    assert_eq!(slot.as_deref(), Some(second.id()));

    c.release_slot(NAME, second.id()).await.unwrap();
    let slot = a.wait_for_slot(NAME, &third, WAIT).await.unwrap();
    assert_eq!(slot.as_deref(), Some(third.id()));
    a.release_slot(NAME, third.id()).await.unwrap();
    assert_eq!(b.slots_in_use(NAME).await.unwrap(), 0);
    assert!(
        b.acquire_slot(NAME, 1, LONG).await.unwrap().is_some(),
        "an empty queue lets a taker in"
    );
}

pub async fn waiters_woken_by_releases_take_their_slots_in_queue_order(
    handles: Vec<Arc<dyn Slots>>,
) {
    let holder = held(
        handles[0]
            .queue_for_slot(NAME, 1, LONG, LONG)
            .await
            .unwrap(),
    );
    let served = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for i in 0..6 {
        let handle = Arc::clone(&handles[i % 3]);
        let ticket = queued(handle.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
        let served = Arc::clone(&served);
        waiters.push(tokio::spawn(async move {
            let slot = loop {
                if let Some(slot) = handle.wait_for_slot(NAME, &ticket, WAIT).await.unwrap() {
                    break slot;
                }
            };
            served.lock().unwrap().push(i);
            tokio::time::sleep(Duration::from_millis(10)).await;
            handle.release_slot(NAME, &slot).await.unwrap();
        }));
    }
    handles[1].release_slot(NAME, &holder).await.unwrap();
    for waiter in waiters {
        waiter.await.unwrap();
    }
    assert_eq!(*served.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(handles[2].slots_in_use(NAME).await.unwrap(), 0);
}

pub async fn never_more_than_limit_slots_are_held_while_waiters_come_and_go(
    handles: Vec<Arc<dyn Slots>>,
) {
    let holding = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let mut callers = Vec::new();
    for i in 0..12 {
        let handle = Arc::clone(&handles[i % 3]);
        let (holding, peak) = (Arc::clone(&holding), Arc::clone(&peak));
        callers.push(tokio::spawn(async move {
            let slot = match handle.queue_for_slot(NAME, 3, LONG, LONG).await.unwrap() {
                SlotRequest::Held(slot) => slot,
                SlotRequest::Queued(ticket) => loop {
                    if let Some(slot) = handle.wait_for_slot(NAME, &ticket, WAIT).await.unwrap() {
                        break slot;
                    }
                },
            };
            let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let in_use = handle.slots_in_use(NAME).await.unwrap();
            assert!(in_use <= 3, "{in_use} slots held under a limit of 3");
            tokio::time::sleep(Duration::from_millis(5 + i as u64 % 4)).await;
            holding.fetch_sub(1, Ordering::SeqCst);
            handle.release_slot(NAME, &slot).await.unwrap();
        }));
    }
    for caller in callers {
        caller.await.unwrap();
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "peak {peak}");
    assert_eq!(handles[0].slots_in_use(NAME).await.unwrap(), 0);
}

pub async fn a_waiter_that_died_in_the_queue_is_skipped(handles: Vec<Arc<dyn Slots>>) {
    let [a, b, c] = [&handles[0], &handles[1], &handles[2]];
    let holder = held(a.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let _died = queued(b.queue_for_slot(NAME, 1, LONG, SHORT).await.unwrap());
    let live = queued(c.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let_short_ttl_expire().await;

    a.release_slot(NAME, &holder).await.unwrap();
    // The release hands the slot over: no heartbeat is needed to get it.
    let slot = c.wait_for_slot(NAME, &live, WAIT).await.unwrap();
    assert_eq!(slot.as_deref(), Some(live.id()));
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);
}

pub async fn a_slot_handed_to_a_waiter_that_died_comes_back(handles: Vec<Arc<dyn Slots>>) {
    let [a, b, c] = [&handles[0], &handles[1], &handles[2]];
    let holder = held(a.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let died = queued(b.queue_for_slot(NAME, 1, LONG, SHORT).await.unwrap());
    a.release_slot(NAME, &holder).await.unwrap();
    // Handed to the waiter that (then) died, lent for its patience: the next one queues.
    let live = queued(c.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);

    let_short_ttl_expire().await;
    assert_eq!(wait_in_heartbeats(c.as_ref(), &live).await, live.id());
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);
    assert_eq!(
        b.wait_for_slot(NAME, &died, SHORT).await.unwrap(),
        None,
        "back too late, its loan is gone: it waits again"
    );
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);
}

pub async fn an_expired_holders_slot_goes_to_the_head_waiter(handles: Vec<Arc<dyn Slots>>) {
    let [a, b] = [&handles[0], &handles[1]];
    let _died = held(a.queue_for_slot(NAME, 1, SHORT, LONG).await.unwrap());
    let live = queued(b.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let_short_ttl_expire().await;
    assert_eq!(wait_in_heartbeats(b.as_ref(), &live).await, live.id());
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);
}

pub async fn leaving_the_queue_passes_the_turn_on(handles: Vec<Arc<dyn Slots>>) {
    let [a, b, c] = [&handles[0], &handles[1], &handles[2]];
    let holder = held(a.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let first = queued(b.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    let second = queued(c.queue_for_slot(NAME, 1, LONG, LONG).await.unwrap());
    a.release_slot(NAME, &holder).await.unwrap();
    assert_eq!(
        a.slots_in_use(NAME).await.unwrap(),
        1,
        "handed to the first"
    );

    b.leave_slot_queue(NAME, &first).await.unwrap();
    let slot = c.wait_for_slot(NAME, &second, WAIT).await.unwrap();
    assert_eq!(slot.as_deref(), Some(second.id()), "not claimed: passed on");
    assert_eq!(a.slots_in_use(NAME).await.unwrap(), 1);
}

//! The semaphores of [`MemoryStore`](super::MemoryStore): held slots and the queue of waiters
//! of each name, with the same rules as the Redis scripts (see the `slots` module of the Redis
//! store): a slot freed goes to the oldest live ticket, lent for the ticket's patience until
//! its waiter claims it; a ticket past its deadline is skipped. A waiter sleeps on a
//! [`Notify`] of its own, which the handover wakes; a handover before the waiter sleeps leaves
//! a permit, so no wake-up is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::{ttl_millis, SlotRequest, SlotTicket};

/// One semaphore name.
#[derive(Debug, Default)]
pub(super) struct Semaphore {
    /// slot id → expiry.
    pub(super) held: HashMap<String, Instant>,
    /// place → ticket id, oldest first.
    pub(super) queue: BTreeMap<u64, String>,
    /// ticket id → what it waits with, while queued.
    waiting: HashMap<String, Waiting>,
    /// ticket id → (until when the handover waits for a claim, its waiter's wake-up), once a
    /// slot was handed to it.
    handed: HashMap<String, (Instant, Arc<Notify>)>,
    /// The last place handed out.
    places: u64,
}

#[derive(Debug)]
struct Waiting {
    deadline: Instant,
    limit: u32,
    patience: Duration,
    wake: Arc<Notify>,
}

fn after(ttl: Duration) -> Instant {
    Instant::now() + Duration::from_millis(ttl_millis(ttl))
}

impl Semaphore {
    pub(super) fn live_slots(&self, now: Instant) -> usize {
        self.held.values().filter(|e| **e > now).count()
    }

    /// Reclaims expired slots, skips dead tickets at the head of the queue and hands free
    /// slots to the live ones, oldest first, each under its own limit.
    pub(super) fn promote(&mut self) {
        let now = Instant::now();
        self.held.retain(|_, expires_at| *expires_at > now);
        self.handed.retain(|_, (until, _)| *until > now);
        while let Some((&place, ticket)) = self.queue.first_key_value() {
            let ticket = ticket.clone();
            match self.waiting.get(&ticket) {
                Some(w) if w.deadline > now => {
                    if self.held.len() >= w.limit as usize {
                        break;
                    }
                }
                _ => {
                    self.queue.remove(&place);
                    self.waiting.remove(&ticket);
                    continue;
                }
            }
            self.queue.remove(&place);
            if let Some(w) = self.waiting.remove(&ticket) {
                let lent = after(w.patience);
                self.held.insert(ticket.clone(), lent);
                w.wake.notify_one();
                self.handed.insert(ticket, (lent, w.wake));
            }
        }
    }

    /// Whether a live ticket waits (after [`promote`](Self::promote), only one that cannot be
    /// served yet).
    pub(super) fn has_waiters(&self) -> bool {
        !self.queue.is_empty()
    }

    pub(super) fn queue_for_slot(
        &mut self,
        limit: u32,
        ttl: Duration,
        patience: Duration,
    ) -> SlotRequest {
        self.promote();
        let id = uuid::Uuid::new_v4().simple().to_string();
        if !self.has_waiters() && self.held.len() < limit as usize {
            self.held.insert(id.clone(), after(ttl));
            return SlotRequest::Held(id);
        }
        self.places += 1;
        let ticket = SlotTicket::new(id, self.places, limit, ttl, patience);
        self.enqueue(&ticket, Arc::default());
        SlotRequest::Queued(ticket)
    }

    fn enqueue(&mut self, ticket: &SlotTicket, wake: Arc<Notify>) {
        self.queue.insert(ticket.place, ticket.id.clone());
        self.waiting.insert(
            ticket.id.clone(),
            Waiting {
                deadline: after(ticket.patience),
                limit: ticket.limit,
                patience: ticket.patience,
                wake,
            },
        );
    }

    /// The wake-up of `ticket`, whether queued or handed a slot (a fresh one when neither).
    pub(super) fn wake_of(&self, ticket: &SlotTicket) -> Arc<Notify> {
        self.waiting
            .get(&ticket.id)
            .map(|w| Arc::clone(&w.wake))
            .or_else(|| self.handed.get(&ticket.id).map(|(_, w)| Arc::clone(w)))
            .unwrap_or_default()
    }

    /// After a wait: claims the slot handed to `ticket` for its ttl, or keeps its place alive
    /// (taking it back when it was skipped) and tries once more.
    pub(super) fn claim_or_renew(&mut self, ticket: &SlotTicket) -> Option<String> {
        if let Some(slot) = self.claim(ticket) {
            return Some(slot);
        }
        let wake = self.wake_of(ticket);
        self.enqueue(ticket, wake);
        self.promote();
        self.claim(ticket)
    }

    fn claim(&mut self, ticket: &SlotTicket) -> Option<String> {
        let now = Instant::now();
        self.handed.remove(&ticket.id)?;
        let lent = self.held.get_mut(&ticket.id).filter(|e| **e > now)?;
        *lent = after(ticket.ttl);
        Some(ticket.id.clone())
    }

    pub(super) fn leave(&mut self, ticket: &SlotTicket) {
        self.queue.remove(&ticket.place);
        self.waiting.remove(&ticket.id);
        if self.handed.remove(&ticket.id).is_some() {
            self.held.remove(&ticket.id);
        }
        self.promote();
    }

    pub(super) fn release(&mut self, slots: &[String]) {
        for slot in slots {
            self.held.remove(slot);
        }
        self.promote();
    }
}

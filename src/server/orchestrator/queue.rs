//! The run queue: a global limit on runs executing at once on this instance. Premium runs are
//! served before free ones, first come first served within a tier. Waiters learn their position
//! whenever it changes, so the pipeline can stream `queuePosition` events.

use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, watch};

/// Position 1 = next to run; `length` = runs waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub position: usize,
    pub length: usize,
}

struct Waiter {
    run_id: String,
    premium: bool,
    order: u64,
    grant: oneshot::Sender<()>,
    position: watch::Sender<Position>,
}

struct State {
    limit: usize,
    running: usize,
    next_order: u64,
    waiting: Vec<Waiter>,
}

pub struct RunQueue {
    state: Mutex<State>,
}

/// Held while a run executes; dropping it lets the next run in.
pub struct Slot {
    queue: Arc<RunQueue>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.queue.release();
    }
}

/// A place in the queue.
pub enum Admission {
    Now(Slot),
    Wait(Ticket),
}

pub struct Ticket {
    queue: Arc<RunQueue>,
    run_id: String,
    pub granted: oneshot::Receiver<()>,
    pub position: watch::Receiver<Position>,
    /// Set once the ticket became a slot or left; otherwise dropping it cleans up.
    settled: bool,
}

impl Ticket {
    /// Turns a granted ticket into a slot.
    pub fn into_slot(mut self) -> Slot {
        self.settled = true;
        Slot {
            queue: self.queue.clone(),
        }
    }

    /// Leaves the queue (the run was cancelled while waiting).
    pub fn leave(mut self) {
        self.settled = true;
        self.queue.remove(&self.run_id);
    }
}

impl Drop for Ticket {
    /// A waiter that goes away unsettled (its run's task ended) leaves the queue, and gives
    /// back a slot it was granted in the meantime, so no slot is ever leaked.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.queue.remove(&self.run_id);
        if self.granted.try_recv().is_ok() {
            self.queue.release();
        }
    }
}

impl RunQueue {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                limit: limit.max(1),
                running: 0,
                next_order: 0,
                waiting: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn admit(self: &Arc<Self>, run_id: &str, premium: bool) -> Admission {
        let mut state = self.lock();
        if state.running < state.limit && state.waiting.is_empty() {
            state.running += 1;
            return Admission::Now(Slot {
                queue: self.clone(),
            });
        }
        let (grant, granted) = oneshot::channel();
        let (position, position_rx) = watch::channel(Position {
            position: 0,
            length: 0,
        });
        let order = state.next_order;
        state.next_order += 1;
        state.waiting.push(Waiter {
            run_id: run_id.to_string(),
            premium,
            order,
            grant,
            position,
        });
        Self::reorder(&mut state);
        Admission::Wait(Ticket {
            queue: self.clone(),
            run_id: run_id.to_string(),
            granted,
            position: position_rx,
            settled: false,
        })
    }

    /// Premium first, then arrival order; tells every waiter its position.
    fn reorder(state: &mut State) {
        state
            .waiting
            .sort_by_key(|w| (if w.premium { 0 } else { 1 }, w.order));
        let length = state.waiting.len();
        for (i, w) in state.waiting.iter().enumerate() {
            w.position.send_if_modified(|p| {
                let new = Position {
                    position: i + 1,
                    length,
                };
                let changed = *p != new;
                *p = new;
                changed
            });
        }
    }

    fn release(&self) {
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        Self::grant_next(&mut state);
    }

    fn grant_next(state: &mut State) {
        while state.running < state.limit && !state.waiting.is_empty() {
            let waiter = state.waiting.remove(0);
            if waiter.grant.send(()).is_ok() {
                state.running += 1;
            }
        }
        Self::reorder(state);
    }

    fn remove(&self, run_id: &str) {
        let mut state = self.lock();
        state.waiting.retain(|w| w.run_id != run_id);
        Self::reorder(&mut state);
    }

    pub fn running(&self) -> usize {
        self.lock().running
    }

    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn premium_runs_are_served_first_and_positions_follow() {
        let queue = RunQueue::new(1);
        let Admission::Now(first) = queue.admit("a", false) else {
            panic!("the first run should start at once");
        };
        let Admission::Wait(free) = queue.admit("b", false) else {
            panic!("should wait");
        };
        assert_eq!(free.position.borrow().position, 1);
        let Admission::Wait(premium) = queue.admit("c", true) else {
            panic!("should wait");
        };
        assert_eq!(premium.position.borrow().position, 1);
        assert_eq!(free.position.borrow().position, 2);
        drop(first);
        let mut premium = premium;
        assert!(premium.granted.try_recv().is_ok(), "premium goes next");
        assert_eq!(free.position.borrow().position, 1);
        let slot = premium.into_slot();
        drop(slot);
        let mut free = free;
        assert!(free.granted.try_recv().is_ok());
        assert_eq!(queue.running(), 1);
    }

    #[tokio::test]
    async fn leaving_the_queue_moves_the_others_up() {
        let queue = RunQueue::new(1);
        let Admission::Now(_running) = queue.admit("a", false) else {
            panic!("first starts");
        };
        let Admission::Wait(b) = queue.admit("b", false) else {
            panic!("waits");
        };
        let Admission::Wait(c) = queue.admit("c", false) else {
            panic!("waits");
        };
        assert_eq!(c.position.borrow().position, 2);
        b.leave();
        assert_eq!(c.position.borrow().position, 1);
        assert_eq!(queue.waiting(), 1);
    }

    #[tokio::test]
    async fn a_dropped_ticket_leaves_the_queue_and_returns_a_granted_slot() {
        let queue = RunQueue::new(1);
        let Admission::Now(running) = queue.admit("a", false) else {
            panic!("first starts");
        };
        let Admission::Wait(b) = queue.admit("b", false) else {
            panic!("waits");
        };
        let Admission::Wait(c) = queue.admit("c", false) else {
            panic!("waits");
        };
        // Dropped while waiting: it leaves, c moves up.
        drop(b);
        assert_eq!(queue.waiting(), 1);
        assert_eq!(c.position.borrow().position, 1);
        // Granted, then dropped before it became a slot: the slot comes back.
        drop(running);
        assert_eq!(queue.running(), 1);
        drop(c);
        assert_eq!(queue.running(), 0);
        assert!(matches!(queue.admit("d", false), Admission::Now(_)));
    }
}

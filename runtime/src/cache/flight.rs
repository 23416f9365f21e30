//! Single flight: while a handler runs for a cache key, other requests for
//! that key wait for its answer instead of running it again.
//!
//! The table is per [`Cache`](super::Cache), so per process; with a store
//! that has [fleet locks](super::FleetLocks) the run also takes the key's
//! lock across instances (`fleet.rs`) before running the handler.
//!
//! When the run fails, every waiter wakes at once, never one after another:
//! after a panic they all answer `500` as the run did (running a handler
//! that just panicked once per waiter, in turn, made 8 requests take 8 s);
//! after a cancel (its client went away) the first to look again runs the
//! handler and the others wait for that run.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::answer::CachedAnswer;
use super::fleet::{take_turn, Across, HeldLock};
use super::store::Release;
use super::Cache;

/// The handler runs in progress, by cache key. Cheap to clone (shared).
#[derive(Clone, Default)]
pub(crate) struct Flights(Arc<Table>);

#[derive(Default)]
struct Table {
    runs: Mutex<HashMap<String, (u64, Outcome)>>,
    /// Tells a run from a later one for the same key, so a finished run
    /// never removes its successor.
    next_id: AtomicU64,
}

/// How a handler run ended, for the requests waiting on it.
#[derive(Clone)]
pub(crate) enum Ended {
    /// Its answer, `None` when it could not be kept.
    Answered(Option<CachedAnswer>),
    /// The handler panicked.
    Panicked,
}

/// What a handler run gives the requests waiting on it; `None` while it
/// runs.
pub(crate) type Outcome = watch::Receiver<Option<Ended>>;

/// Whether a request runs the handler or waits for the run in progress.
pub(crate) enum Turn {
    Lead(Flight),
    Wait(Outcome),
}

impl Flights {
    /// Joins the handler run for `key` if there is one, else starts one.
    pub(crate) fn join(&self, key: &str) -> Turn {
        let mut runs = self.0.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, outcome)) = runs.get(key) {
            return Turn::Wait(outcome.clone());
        }
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        runs.insert(key.to_string(), (id, rx));
        Turn::Lead(Flight {
            flights: self.clone(),
            key: key.to_string(),
            id,
            tx,
            fleet: None,
        })
    }
}

/// The one handler run for a key. Dropping it (the run finished, failed or
/// was cancelled) lets the next request start another.
pub(crate) struct Flight {
    flights: Flights,
    key: String,
    id: u64,
    tx: watch::Sender<Option<Ended>>,
    /// The fleet-wide lock, while this run holds it.
    fleet: Option<HeldLock>,
}

impl Flight {
    /// Takes the key's lock across the fleet before the handler runs, or
    /// waits for the instance that holds it (`made` reads the answer it
    /// stored). [`Across::Run`] when the store has no fleet locks.
    pub(crate) async fn across_fleet<F, Fut>(
        &mut self,
        cache: &Cache,
        wait: std::time::Duration,
        made: F,
    ) -> Across
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<CachedAnswer>>,
    {
        take_turn(cache, &self.key, wait, &mut self.fleet, made).await
    }

    /// Hands the answer (`None`: not cacheable) to the waiting requests,
    /// after it was stored.
    pub(crate) fn finish(mut self, answer: Option<CachedAnswer>) {
        if let Some(lock) = self.fleet.take() {
            lock.release(match answer {
                Some(_) => Release::Stored,
                None => Release::NotKept,
            });
        }
        self.tx.send_replace(Some(Ended::Answered(answer)));
    }

    /// Tells the waiting requests (here and across the fleet) the handler
    /// panicked.
    pub(crate) fn panicked(mut self) {
        if let Some(lock) = self.fleet.take() {
            lock.release(Release::Panicked);
        }
        self.tx.send_replace(Some(Ended::Panicked));
    }
}

/// Runs `future`, catching a panic, so the run's waiters can be told
/// before the panic goes on to whoever answers `500` for it.
pub(crate) async fn catching<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll.map(Ok),
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        },
    )
    .await
}

impl Drop for Flight {
    fn drop(&mut self) {
        if let Some(lock) = self.fleet.take() {
            lock.release(Release::Stored);
        }
        let mut runs = self
            .flights
            .0
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if runs.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            runs.remove(&self.key);
        }
    }
}

/// Waits for a handler run; `None` if it was cancelled, so the caller
/// looks again.
pub(crate) async fn wait(mut outcome: Outcome) -> Option<Ended> {
    match outcome.wait_for(Option::is_some).await {
        Ok(value) => value.clone(),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first request for `/a` leads, the second waits.
    fn lead_and_wait(flights: &Flights) -> (Flight, Outcome) {
        let Turn::Lead(flight) = flights.join("/a") else {
            panic!("the first request leads");
        };
        let Turn::Wait(outcome) = flights.join("/a") else {
            panic!("the second request waits");
        };
        (flight, outcome)
    }

    #[tokio::test]
    async fn waiters_get_the_leaders_outcome() {
        let flights = Flights::default();
        let (flight, outcome) = lead_and_wait(&flights);
        assert!(matches!(flights.join("/b"), Turn::Lead(_)), "keys apart");
        flight.finish(None);
        assert!(matches!(wait(outcome).await, Some(Ended::Answered(None))));
        assert!(matches!(flights.join("/a"), Turn::Lead(_)), "run is over");
    }

    #[tokio::test]
    async fn a_dropped_leader_lets_waiters_look_again() {
        let flights = Flights::default();
        let (flight, outcome) = lead_and_wait(&flights);
        drop(flight);
        assert!(wait(outcome).await.is_none());
        assert!(matches!(flights.join("/a"), Turn::Lead(_)));
    }

    #[tokio::test]
    async fn a_panicked_leader_tells_every_waiter_at_once() {
        let flights = Flights::default();
        let (flight, outcome) = lead_and_wait(&flights);
        let run = catching(async { panic!("boom") });
        let panic = run.await.unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom"));
        flight.panicked();
        assert!(matches!(wait(outcome).await, Some(Ended::Panicked)));
        assert!(matches!(flights.join("/a"), Turn::Lead(_)), "run is over");
    }

    #[test]
    fn an_old_run_never_removes_a_newer_one() {
        let flights = Flights::default();
        let Turn::Lead(old) = flights.join("/a") else {
            panic!("leads");
        };
        // The table entry was replaced (as after a removal and a new run).
        flights.0.runs.lock().unwrap().remove("/a");
        let Turn::Lead(new) = flights.join("/a") else {
            panic!("leads again");
        };
        drop(old);
        assert!(matches!(flights.join("/a"), Turn::Wait(_)));
        drop(new);
        assert!(matches!(flights.join("/a"), Turn::Lead(_)));
    }
}

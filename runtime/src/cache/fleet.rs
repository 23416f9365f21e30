//! Single flight across instances: before a process's one run for a key
//! (see `flight.rs`) starts the handler, it takes the key's lock in the
//! shared store ([`FleetLocks`]), so a fleet runs a cold or stale URL's
//! handler once, not once per instance.
//!
//! The instance that takes the lock runs the handler and renews the lock
//! every third of its lifetime until it has stored the answer and released
//! it (a panic or a cancelled run releases it too). The others poll the
//! lock (10 ms, doubling to 100 ms): while it is held they wait, up to the
//! route's `MAX_DURATION` or [`DEFAULT_FLEET_WAIT`]; once it is free they
//! read the answer from the store, or, finding none (the holder crashed and
//! its lock lapsed, or its answer could not be kept), race to take the
//! lock and run the handler themselves. A crashed holder so delays the
//! others by at most one lock lifetime.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::answer::CachedAnswer;
use super::error::report;
use super::store::{FleetLocks, LockState, Release};
use super::Cache;

/// How long an instance waits for another instance's run when the route
/// sets no `MAX_DURATION`: the server's default request timeout.
pub const DEFAULT_FLEET_WAIT: Duration = Duration::from_secs(30);

const FIRST_POLL: Duration = Duration::from_millis(10);
const SLOWEST_POLL: Duration = Duration::from_millis(100);

/// What a process's run learns from the fleet.
pub(crate) enum Across {
    /// Run the handler: this instance holds the lock, or the store has no
    /// locks, or waiting is over, or the other instance's answer could not
    /// be kept.
    Run,
    /// Another instance made this answer.
    Made(CachedAnswer),
    /// Another instance's run panicked.
    Panicked,
}

/// A lock this process holds while its handler runs, renewed in the
/// background; released when dropped.
pub(crate) struct HeldLock {
    cache: Cache,
    name: String,
    holder: String,
    renewing: tokio::task::JoinHandle<()>,
}

impl HeldLock {
    /// Gives the lock up (in the background: a release is one command, and
    /// the waiters poll).
    pub(crate) fn release(self, outcome: Release) {
        self.renewing.abort();
        let HeldLock {
            cache,
            name,
            holder,
            ..
        } = self;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(locks) = cache.store().fleet_locks() {
                    if let Err(e) = locks.release(&name, &holder, outcome).await {
                        report("fleet lock release", &e);
                    }
                }
            });
        }
    }
}

/// Takes the fleet lock for `key`, or waits while another instance holds
/// it; `made` looks in the store for the answer another instance made.
/// The lock, when taken, goes to `held`.
pub(crate) async fn take_turn<F, Fut>(
    cache: &Cache,
    key: &str,
    wait: Duration,
    held: &mut Option<HeldLock>,
    mut made: F,
) -> Across
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<CachedAnswer>>,
{
    let Some(locks) = cache.store().fleet_locks() else {
        return Across::Run;
    };
    let name = key.to_string();
    let holder = unique_token();
    let give_up = Instant::now() + wait;
    loop {
        match locks.try_lock(&name, &holder).await {
            Ok(true) => {
                *held = Some(hold(cache.clone(), name, holder, locks.lifetime()));
                return Across::Run;
            }
            Ok(false) => {}
            Err(e) => {
                report("fleet lock", &e);
                return Across::Run;
            }
        }
        match while_held(locks, &name, give_up).await {
            Some(LockState::Free | LockState::Ended(Release::Stored)) => {}
            Some(LockState::Ended(Release::Panicked)) => return Across::Panicked,
            // Not kept: each runs its own, as waiters in one process do.
            Some(LockState::Ended(Release::NotKept)) => return Across::Run,
            // Waited long enough, or the store failed: run it here.
            Some(LockState::Held) | None => return Across::Run,
        }
        if let Some(answer) = made().await {
            return Across::Made(answer);
        }
    }
}

/// Polls the lock until it is free or its run ended (`Held`: still held at
/// `give_up`; `None`: the store failed).
async fn while_held(locks: &dyn FleetLocks, name: &str, give_up: Instant) -> Option<LockState> {
    let mut pause = FIRST_POLL;
    loop {
        let now = Instant::now();
        if now >= give_up {
            return Some(LockState::Held);
        }
        tokio::time::sleep(pause.min(give_up - now)).await;
        pause = (pause * 2).min(SLOWEST_POLL);
        match locks.state(name).await {
            Ok(LockState::Held) => {}
            Ok(state) => return Some(state),
            Err(e) => {
                report("fleet lock", &e);
                return None;
            }
        }
    }
}

fn hold(cache: Cache, name: String, holder: String, lifetime: Duration) -> HeldLock {
    let renewing = tokio::spawn({
        let (cache, name, holder) = (cache.clone(), name.clone(), holder.clone());
        async move {
            let every = (lifetime / 3).max(Duration::from_millis(1));
            loop {
                tokio::time::sleep(every).await;
                let Some(locks) = cache.store().fleet_locks() else {
                    return;
                };
                match locks.renew(&name, &holder).await {
                    Ok(true) => {}
                    // It lapsed (this process stalled): another took over.
                    Ok(false) => return,
                    Err(e) => report("fleet lock renewal", &e),
                }
            }
        }
    });
    HeldLock {
        cache,
        name,
        holder,
        renewing,
    }
}

/// A token no other run (or purge), in this process or another, uses: the process's
/// random seed, its id and a count.
pub(crate) fn unique_token() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let seed = SEED.get_or_init(|| RandomState::new().build_hasher().finish());
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{seed:016x}-{}-{count}", std::process::id())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::cache::key::CacheKey;
    use crate::cache::store::{BoxFuture, CacheStore, Purge};
    use crate::cache::Error;

    /// Locks in a table this test sets by hand, as another instance would.
    #[derive(Default)]
    struct Locks(Mutex<HashMap<String, LockState>>);

    impl Locks {
        fn set(&self, name: &str, state: LockState) {
            self.0.lock().unwrap().insert(name.into(), state);
        }
        fn get(&self, name: &str) -> LockState {
            let table = self.0.lock().unwrap();
            table.get(name).copied().unwrap_or(LockState::Free)
        }
    }

    impl FleetLocks for Locks {
        fn lifetime(&self) -> Duration {
            Duration::from_secs(3)
        }
        fn try_lock<'a>(&'a self, name: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
            let free = self.get(name) == LockState::Free;
            if free {
                self.set(name, LockState::Held);
            }
            Box::pin(async move { Ok(free) })
        }
        fn renew<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
            Box::pin(async { Ok(true) })
        }
        fn release<'a>(
            &'a self,
            name: &'a str,
            _: &'a str,
            _: Release,
        ) -> BoxFuture<'a, Result<(), Error>> {
            self.set(name, LockState::Free);
            Box::pin(async { Ok(()) })
        }
        fn state<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<LockState, Error>> {
            let state = self.get(name);
            Box::pin(async move { Ok(state) })
        }
    }

    /// Keeps nothing; its locks are the table.
    struct Store(Arc<Locks>);

    impl CacheStore for Store {
        fn get<'a>(
            &'a self,
            _: &'a CacheKey,
        ) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
            Box::pin(async { Ok(None) })
        }
        fn put<'a>(&'a self, _: &'a CacheKey, _: CachedAnswer) -> BoxFuture<'a, Result<(), Error>> {
            Box::pin(async { Ok(()) })
        }
        fn purge<'a>(&'a self, _: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
            Box::pin(async { Ok(()) })
        }
        fn fleet_locks(&self) -> Option<&dyn FleetLocks> {
            Some(&*self.0)
        }
    }

    /// What a run for `/a` learns while another instance's run ends as
    /// `ended`, 50 ms in (a mark that lapses 200 ms later, as in Redis),
    /// and whether it took the lock.
    async fn turn_while_another_ends(ended: LockState) -> (Across, bool) {
        let locks = Arc::new(Locks::default());
        let cache = Cache::new(Store(locks.clone()));
        locks.set("/a", LockState::Held);
        let later = locks.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            later.set("/a", ended);
            tokio::time::sleep(Duration::from_millis(200)).await;
            if later.get("/a") == ended {
                later.set("/a", LockState::Free);
            }
        });
        let mut held = None;
        let nothing_made = || async { None };
        let wait = Duration::from_secs(5);
        let across = take_turn(&cache, "/a", wait, &mut held, nothing_made).await;
        let took = held.is_some();
        if let Some(lock) = held {
            lock.release(Release::Stored);
        }
        (across, took)
    }

    #[tokio::test]
    async fn waiters_act_on_how_the_other_run_ended() {
        // Freed with nothing stored (it crashed, or was cancelled): this
        // run takes the lock.
        let freed = turn_while_another_ends(LockState::Free).await;
        assert!(matches!(freed, (Across::Run, true)));
        let panicked = turn_while_another_ends(LockState::Ended(Release::Panicked)).await;
        assert!(matches!(panicked, (Across::Panicked, false)));
        // Not kept: run it here at once, not after taking the lock in turn.
        let not_kept = turn_while_another_ends(LockState::Ended(Release::NotKept)).await;
        assert!(matches!(not_kept, (Across::Run, false)));
    }

    #[tokio::test]
    async fn a_waiter_gives_up_after_its_wait() {
        let locks = Arc::new(Locks::default());
        let cache = Cache::new(Store(locks.clone()));
        locks.set("/a", LockState::Held);
        let mut held = None;
        let wait = Duration::from_millis(50);
        let across = take_turn(&cache, "/a", wait, &mut held, || async { None }).await;
        assert!(matches!(across, Across::Run) && held.is_none());
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(unique_token(), unique_token());
    }
}

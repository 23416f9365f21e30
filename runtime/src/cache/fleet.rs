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
use super::store::{FleetLocks, LockState};
use super::Cache;

/// How long an instance waits for another instance's run when the route
/// sets no `MAX_DURATION`: the server's default request timeout.
pub const DEFAULT_FLEET_WAIT: Duration = Duration::from_secs(30);

const FIRST_POLL: Duration = Duration::from_millis(10);
const SLOWEST_POLL: Duration = Duration::from_millis(100);

/// What a process's run learns from the fleet.
pub(crate) enum Across {
    /// Run the handler: this instance holds the lock, or the store has no
    /// locks, or waiting is over.
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
    pub(crate) fn release(self, panicked: bool) {
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
                    if let Err(e) = locks.release(&name, &holder, panicked).await {
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
            Some(LockState::Free) => {}
            Some(LockState::Panicked) => return Across::Panicked,
            // Waited long enough, or the store failed: run it here.
            Some(LockState::Held) | None => return Across::Run,
        }
        if let Some(answer) = made().await {
            return Across::Made(answer);
        }
    }
}

/// Polls the lock until it is free or panicked (`Held`: still held at
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
    use super::*;

    #[test]
    fn tokens_differ() {
        assert_ne!(unique_token(), unique_token());
    }
}

//! Where cached answers live: the [`CacheStore`] trait that
//! [`MemoryStore`](super::MemoryStore), `RedisStore` and a user's own store
//! implement.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::answer::CachedAnswer;
use super::error::Error;
use super::key::CacheKey;
use crate::rate_limit::RateCounter;

/// The future a [`CacheStore`] method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a purge drops. More kinds may come, so match with a `_` arm (and
/// return an error from it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purge {
    /// Every answer whose [`CachedAnswer::path`] is this, for every host,
    /// query and variant.
    Path(String),
    /// Every answer whose [`CachedAnswer::tags`] name this.
    Tag(String),
}

/// Where cached answers live. Object safe, so a store is chosen at run time:
/// [`MemoryStore`](super::MemoryStore), `RedisStore` (feature `redis`), or your own.
///
/// Answers are kept under a [`CacheKey`] (host, URL and varied headers, see
/// [`CacheKey::as_str`]); each answer knows its path
/// ([`CachedAnswer::path`]) and tags ([`CachedAnswer::tags`]) for the
/// purges. A store decides how long to keep an answer past its revalidate
/// time: a stale answer is still served (and refreshed), a missing one is
/// made again while the client waits.
///
/// The trait grows by provided methods only, so a store written for it
/// keeps compiling: shared counters (per-route rate limits) and locks
/// (single flight across instances) come as methods whose default keeps the
/// count or the lock in this process, a gentler purge (mark stale
/// rather than drop) as one whose default drops, and the purge check of
/// the cache's writes ([`CacheStore::get_with_epoch`],
/// [`CacheStore::put_unless_purged`]) as ones whose default calls `get`,
/// `put` and [`CacheStore::purge_epoch`].
///
/// ```
/// use approute::cache::{BoxFuture, CacheKey, CacheStore, CachedAnswer, Error, Purge};
///
/// /// Keeps nothing: every request runs the handler.
/// struct NoStore;
///
/// impl CacheStore for NoStore {
///     fn get<'a>(&'a self, _key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
///         Box::pin(async { Ok(None) })
///     }
///     fn put<'a>(&'a self, _key: &'a CacheKey, _answer: CachedAnswer) -> BoxFuture<'a, Result<(), Error>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn purge<'a>(&'a self, _purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// approute::cache::set_store(NoStore);
/// ```
pub trait CacheStore: Send + Sync + 'static {
    /// The answer kept under `key`, fresh or stale.
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>>;

    /// Keeps `answer` under `key`, replacing any answer there.
    fn put<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Drops every answer `purge` names, at once.
    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>>;

    /// Marks every answer `purge` names stale: the next request for one
    /// gets it at once and starts one refresh (Next.js 16's
    /// `revalidateTag(tag, 'max')`). A store gives back such an answer
    /// through [`CachedAnswer::marked_stale`]. The default drops them, as
    /// [`CacheStore::purge`] does: a store that cannot mark them still
    /// never serves them as fresh.
    fn mark_stale<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        self.purge(purge)
    }

    /// Locks every instance that shares this store takes before running a
    /// handler for a cold or stale answer, so the fleet runs it once.
    /// `None` (the default): single flight holds within this process only.
    fn fleet_locks(&self) -> Option<&dyn FleetLocks> {
        None
    }

    /// A number that changes whenever any instance sharing this store
    /// purges: an answer made while it changed is not stored, since the
    /// purge may have been for the data it read. A store no other process
    /// purges keeps the default, a constant (the cache counts this
    /// process's own purges itself).
    fn purge_epoch(&self) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(async { Ok(0) })
    }

    /// The answer under `key` and the [purge epoch](CacheStore::purge_epoch),
    /// read before a handler runs for `key`: the epoch goes to
    /// [`CacheStore::put_unless_purged`] with the run's answer. A shared
    /// store reads both at once (Redis: in the lookup's script, so a miss
    /// costs no extra round trip). The default calls the two methods.
    fn get_with_epoch<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<(Option<CachedAnswer>, u64), Error>> {
        Box::pin(async move {
            let epoch = self.purge_epoch().await?;
            Ok((self.get(key).await?, epoch))
        })
    }

    /// Keeps `answer` under `key` unless the purge epoch moved from `epoch`
    /// (a purge ran, on any instance, since the run that made it started),
    /// and says which. A shared store checks and writes in one step (Redis:
    /// one script); the default reads the epoch and then calls
    /// [`CacheStore::put`], which leaves a moment between the two in which
    /// another instance's purge goes unseen.
    fn put_unless_purged<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
        epoch: u64,
    ) -> BoxFuture<'a, Result<PutOutcome, Error>> {
        Box::pin(async move {
            if self.purge_epoch().await? != epoch {
                return Ok(PutOutcome::Purged);
            }
            self.put(key, answer).await?;
            Ok(PutOutcome::Stored)
        })
    }

    /// Where `RATE_LIMIT` counts when this is the process's store: a store
    /// several instances share gives them one budget per client. `None`
    /// (the default) counts in the process.
    fn rate_counter(&self) -> Option<Box<dyn RateCounter>> {
        None
    }
}

/// A shared store, so the code that set it up keeps a handle to it (to read
/// [`MemoryStore::len`](super::MemoryStore::len), say).
impl<S: CacheStore + ?Sized> CacheStore for std::sync::Arc<S> {
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
        (**self).get(key)
    }

    fn put<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
    ) -> BoxFuture<'a, Result<(), Error>> {
        (**self).put(key, answer)
    }

    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        (**self).purge(purge)
    }

    fn mark_stale<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        (**self).mark_stale(purge)
    }

    fn fleet_locks(&self) -> Option<&dyn FleetLocks> {
        (**self).fleet_locks()
    }

    fn purge_epoch(&self) -> BoxFuture<'_, Result<u64, Error>> {
        (**self).purge_epoch()
    }

    fn get_with_epoch<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<(Option<CachedAnswer>, u64), Error>> {
        (**self).get_with_epoch(key)
    }

    fn put_unless_purged<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
        epoch: u64,
    ) -> BoxFuture<'a, Result<PutOutcome, Error>> {
        (**self).put_unless_purged(key, answer, epoch)
    }

    fn rate_counter(&self) -> Option<Box<dyn RateCounter>> {
        (**self).rate_counter()
    }
}

/// What [`CacheStore::put_unless_purged`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The answer is kept.
    Stored,
    /// A purge moved the epoch since the run began: the answer may hold
    /// what was purged, so it was not kept.
    Purged,
}

/// Short-lived locks shared by every instance of an app (Redis `SET NX
/// PX`): the instance that holds a key's lock runs its handler, the others
/// wait for its answer. A holder renews its lock while the handler runs;
/// one that crashed stops renewing, and its lock lapses after
/// [`FleetLocks::lifetime`].
///
/// `holder` is a token unique to one handler run: renewing and releasing
/// act only when the lock is still the caller's.
pub trait FleetLocks: Send + Sync {
    /// How long a lock lasts unless renewed; renewed every third of it.
    fn lifetime(&self) -> Duration;

    /// Takes the lock `name` for `holder` unless someone holds it; `true`
    /// when taken.
    fn try_lock<'a>(&'a self, name: &'a str, holder: &'a str)
        -> BoxFuture<'a, Result<bool, Error>>;

    /// Extends `holder`'s lock by a lifetime; `false` when it is no longer
    /// `holder`'s (it lapsed).
    fn renew<'a>(&'a self, name: &'a str, holder: &'a str) -> BoxFuture<'a, Result<bool, Error>>;

    /// Gives the lock up, if it is still `holder`'s, saying how the run
    /// ended. After [`Release::Stored`] the lock is free; after the other
    /// two it stays a moment as [`LockState::Ended`], so that the instances
    /// waiting on it act on the outcome at once (answer `500` as the run
    /// did; run the handler themselves, all together, for an answer that
    /// could not be kept) rather than take the lock one after another.
    fn release<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        outcome: Release,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Whether someone holds the lock.
    fn state<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<LockState, Error>>;
}

/// How the run that held a lock ended, for [`FleetLocks::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Its answer is in the store (or it was cancelled): look there.
    Stored,
    /// Its answer could not be kept (not a `200`, `no-store`, ...).
    NotKept,
    /// The handler panicked.
    Panicked,
}

/// What [`FleetLocks::state`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it.
    Free,
    /// An instance holds it (and renews it while its handler runs).
    Held,
    /// The run that held it just ended so ([`Release::NotKept`] or
    /// [`Release::Panicked`]).
    Ended(Release),
}

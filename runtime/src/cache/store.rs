//! Where cached answers live: the [`CacheStore`] trait that
//! [`MemoryStore`](super::MemoryStore), `RedisStore` and a user's own store
//! implement.

use std::future::Future;
use std::pin::Pin;

use super::answer::CachedAnswer;
use super::error::Error;
use super::key::CacheKey;

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
/// count or the lock in this process, and a gentler purge (mark stale
/// rather than drop) as one whose default drops.
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
}

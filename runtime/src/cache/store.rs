//! Where cached answers live: the [`CacheStore`] trait that
//! [`MemoryStore`](super::MemoryStore), `RedisStore` and a user's own store
//! implement.

use std::future::Future;
use std::pin::Pin;

use super::answer::CachedAnswer;
use super::error::Error;

/// The future a [`CacheStore`] method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where cached answers live. Object safe, so a store is chosen at run time:
/// [`MemoryStore`](super::MemoryStore), `RedisStore` (feature `redis`), or your own.
///
/// Keys are the request's path and query (`/api/notes?page=2`); each answer
/// knows its path ([`CachedAnswer::path`]) and tags
/// ([`CachedAnswer::tags`]) for the purges. A store decides how long to
/// keep an answer past its revalidate time: a stale answer is still served
/// (and refreshed), a missing one is made again while the client waits.
///
/// ```
/// use approute::cache::{BoxFuture, CacheStore, CachedAnswer, Error};
///
/// /// Keeps nothing: every request runs the handler.
/// struct NoStore;
///
/// impl CacheStore for NoStore {
///     fn get<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
///         Box::pin(async { Ok(None) })
///     }
///     fn put<'a>(&'a self, _key: &'a str, _answer: CachedAnswer) -> BoxFuture<'a, Result<(), Error>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn purge_path<'a>(&'a self, _path: &'a str) -> BoxFuture<'a, Result<(), Error>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn purge_tag<'a>(&'a self, _tag: &'a str) -> BoxFuture<'a, Result<(), Error>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// approute::cache::set_store(NoStore);
/// ```
pub trait CacheStore: Send + Sync + 'static {
    /// The answer kept under `key`, fresh or stale.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>>;

    /// Keeps `answer` under `key`, replacing any answer there.
    fn put<'a>(&'a self, key: &'a str, answer: CachedAnswer) -> BoxFuture<'a, Result<(), Error>>;

    /// Drops every answer whose [`CachedAnswer::path`] is `path`, whatever
    /// its query.
    fn purge_path<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Drops every answer tagged `tag`.
    fn purge_tag<'a>(&'a self, tag: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

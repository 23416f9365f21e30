//! Caching of `GET` answers for routes that set `REVALIDATE`, as Next.js
//! 14 caches route handlers with `export const revalidate = 60`.
//!
//! A route file opts in with a constant:
//!
//! ```ignore
//! // app/api/notes/route.rs
//! pub const REVALIDATE: u64 = 60; // seconds
//! pub const CACHE_TAGS: &[&str] = &["notes"]; // optional
//!
//! pub async fn GET() -> String {
//!     load_notes().await
//! }
//!
//! pub async fn POST(body: String) -> &'static str {
//!     save_note(body).await;
//!     approute::cache::revalidate_tag("notes").await.ok(); // purge at once
//!     "saved"
//! }
//! ```
//!
//! - A `200` answer to `GET` is kept per host and URL (path and query, as
//!   the client asked for them: a nested router's prefix included), body
//!   and headers, for `REVALIDATE` seconds: later requests get it without
//!   running the handler (`x-approute-cache: HIT`). `HEAD` is answered from
//!   it too.
//! - After that, the next request gets the stale answer at once
//!   (`x-approute-cache: STALE`) and exactly one background run of the
//!   handler replaces it (stale-while-revalidate).
//! - Concurrent requests for a URL that is not cached run the handler once
//!   and share its answer (`x-approute-cache: MISS`); if that run panics,
//!   they all get its `500` at once.
//! - Cached answers carry `Cache-Control: s-maxage=N, stale-while-revalidate`
//!   (what Next.js 14 sends) unless the handler set its own `Cache-Control`.
//! - Never cached: other methods, other statuses, answers that set a cookie
//!   or say `Cache-Control: no-store`/`no-cache`/`private` or `Vary: *`,
//!   bodies over 8 MiB, and requests with `Authorization` or `Cookie`
//!   (unless the route sets `CACHE_CREDENTIALED`) or a `Host` that is not
//!   a host name.
//! - An answer with `Vary: accept-language` is kept per value of that
//!   header: a handler that reads a request header must name it in `Vary`,
//!   or the first request's header is baked into everyone's answer.
//!
//! - [`revalidate_tag`]/[`revalidate_path`] drop answers at once (Next.js
//!   14's `revalidateTag`); [`mark_tag_stale`]/[`mark_path_stale`] mark them
//!   stale, so the next request gets the old answer and one refresh runs
//!   (Next.js 16's `revalidateTag(tag, 'max')`).
//! - [`cached`] keeps any computation's value under the same rules.
//!
//! Answers live in a [`CacheStore`]: by default a process-wide
//! [`MemoryStore`] of 64 MiB; with the `redis` feature, a `RedisStore` shared
//! by several server instances, which also makes single flight fleet-wide
//! ([`FleetLocks`]). [`set_store`] picks the store for the process;
//! [`Cache::layer`] gives one router its own.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tower_layer::Layer;
use tower_service::Service;

// This file holds the process-wide cache and the public API. Imports run
// one way: error, key, cost <- answer <- store <- memory, redis;
// answer <- flight; layer uses them all and `Cache`.
mod answer; // a cached answer and its bytes
mod body; // buffering a body to keep, replaying it when it cannot be kept
mod cost; // what an entry really takes in memory, allocator included
mod data; // cached(): any computation's value, not only answers
mod error; // the one error type
mod fleet; // one handler run per key across instances
mod flight; // one handler run per key at a time
mod key; // what makes two requests get the same answer
mod layer; // the per-route tower layer: lookup, run, keep
mod memory; // the default store
mod policy; // what may be cached, and the key
mod purge_check; // an answer made while a purge ran is not stored
#[cfg(feature = "redis")]
mod redis; // the shared store
#[cfg(feature = "redis")]
mod redis_link; // its connection
#[cfg(feature = "redis")]
mod redis_rate; // its RATE_LIMIT counters
mod store; // the store trait

pub use answer::CachedAnswer;
pub use data::{cached, CacheOptions};
pub use error::Error;
pub use fleet::DEFAULT_FLEET_WAIT;
pub use key::CacheKey;
#[doc(hidden)]
pub use layer::{cache_layer, CacheFuture, RouteCache, RouteCacheLayer};
pub use memory::{MemoryStore, DEFAULT_MEMORY_BYTES};
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "redis")]
pub use redis_rate::RedisCounter;
pub use store::{BoxFuture, CacheStore, FleetLocks, LockState, Purge, PutOutcome, Release};

use flight::{Flights, Turn};

/// The largest answer body kept by default: 8 MiB. Larger answers are sent
/// as they are, uncached.
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;

/// A store and what serving from it needs: the one-run-at-a-time table
/// (single flight), the clock, the body limit. Cheap to clone (shared).
///
/// The process has one, made on first use from a 64 MiB [`MemoryStore`]
/// unless [`set_store`] or [`set_cache`] chose another. [`Cache::layer`]
/// makes one router use its own instead.
///
/// ```
/// use approute::cache::{Cache, MemoryStore};
///
/// let cache = Cache::new(MemoryStore::new(16 * 1024 * 1024)).max_body(1024 * 1024);
/// approute::cache::set_cache(cache);
/// ```
#[derive(Clone)]
pub struct Cache {
    shared: Arc<Shared>,
}

struct Shared {
    store: Box<dyn CacheStore>,
    max_body: usize,
    clock: Clock,
    /// Counts purges: an answer made while one ran is not stored.
    purges: AtomicU64,
    flights: Flights,
}

impl Cache {
    /// A cache over `store`.
    pub fn new(store: impl CacheStore) -> Cache {
        Cache {
            shared: Arc::new(Shared {
                store: Box::new(store),
                max_body: DEFAULT_MAX_BODY,
                clock: Clock::default(),
                purges: AtomicU64::new(0),
                flights: Flights::default(),
            }),
        }
    }

    /// The largest body to keep (default 8 MiB); larger answers are sent
    /// as they are, uncached.
    pub fn max_body(self, bytes: usize) -> Cache {
        self.rebuild(|s| s.max_body = bytes)
    }

    /// Uses `clock` rather than the system clock; for tests.
    #[doc(hidden)]
    pub fn __with_clock(self, clock: ManualClock) -> Cache {
        self.rebuild(|s| s.clock = Clock(Some(clock)))
    }

    fn rebuild(self, change: impl FnOnce(&mut Shared)) -> Cache {
        let mut shared = match Arc::try_unwrap(self.shared) {
            Ok(shared) => shared,
            Err(_) => panic!("configure an approute Cache before cloning or using it"),
        };
        change(&mut shared);
        Cache {
            shared: Arc::new(shared),
        }
    }

    /// A layer that makes the routes of a router use this cache rather than
    /// the process-wide one, [`revalidate_path`] and [`revalidate_tag`]
    /// called in its handlers included. For several caches in one process
    /// (tests, or two apps on one server).
    ///
    /// ```
    /// use approute::axum::Router;
    /// use approute::cache::{Cache, MemoryStore};
    ///
    /// let cache = Cache::new(MemoryStore::new(1024 * 1024));
    /// let router: Router = Router::new() /* .merge(app::router()) */ .layer(cache.layer());
    /// ```
    pub fn layer(&self) -> UseCache {
        UseCache {
            cache: self.clone(),
        }
    }

    /// Drops every cached answer for `path` (any host, any query), as
    /// [`revalidate_path`] does for the process-wide cache.
    pub async fn revalidate_path(&self, path: &str) -> Result<(), Error> {
        self.purge(path_purges(path), Mode::Expire).await
    }

    /// Drops every cached answer of the routes tagged `tag`, as
    /// [`revalidate_tag`] does for the process-wide cache.
    pub async fn revalidate_tag(&self, tag: &str) -> Result<(), Error> {
        self.purge(vec![Purge::Tag(tag.to_string())], Mode::Expire)
            .await
    }

    /// Marks every cached answer for `path` stale, as [`mark_path_stale`]
    /// does for the process-wide cache.
    pub async fn mark_path_stale(&self, path: &str) -> Result<(), Error> {
        self.purge(path_purges(path), Mode::MarkStale).await
    }

    /// Marks every cached answer of the routes tagged `tag` stale, as
    /// [`mark_tag_stale`] does for the process-wide cache.
    pub async fn mark_tag_stale(&self, tag: &str) -> Result<(), Error> {
        self.purge(vec![Purge::Tag(tag.to_string())], Mode::MarkStale)
            .await
    }

    async fn purge(&self, purges: Vec<Purge>, mode: Mode) -> Result<(), Error> {
        // An answer a handler made while this ran is not stored as fresh.
        self.shared.purges.fetch_add(1, Ordering::SeqCst);
        for purge in &purges {
            match mode {
                Mode::Expire => self.shared.store.purge(purge).await?,
                Mode::MarkStale => self.shared.store.mark_stale(purge).await?,
            }
        }
        Ok(())
    }

    /// The cache a request on this task uses: its router's (see
    /// [`Cache::layer`]), else the process-wide one.
    pub(crate) fn current() -> Cache {
        SCOPED
            .try_with(Cache::clone)
            .unwrap_or_else(|_| process_cache())
    }

    pub(crate) fn store(&self) -> &dyn CacheStore {
        &*self.shared.store
    }

    pub(crate) fn max_body_len(&self) -> usize {
        self.shared.max_body
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    /// Joins the handler run for `key` if there is one, else starts one.
    pub(crate) fn flight(&self, key: &str) -> Turn {
        self.shared.flights.join(key)
    }

    /// Runs `future` with this cache as the current one.
    pub(crate) fn scope<F: Future>(
        &self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Cache, F> {
        SCOPED.scope(self.clone(), future)
    }
}

/// Whether a purge drops answers or marks them stale.
#[derive(Clone, Copy)]
enum Mode {
    Expire,
    MarkStale,
}

/// The purges for a path: its query and fragment cut off, and the form
/// with (or without) a trailing slash too, since a router may serve `/a/`
/// (trailing_slash = add or both).
fn path_purges(path: &str) -> Vec<Purge> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    let mut purges = vec![Purge::Path(path.to_string())];
    match path.strip_suffix('/') {
        Some("") => {}
        Some(bare) => purges.push(Purge::Path(bare.to_string())),
        None => purges.push(Purge::Path(format!("{path}/"))),
    }
    purges
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("max_body", &self.shared.max_body)
            .finish_non_exhaustive()
    }
}

tokio::task_local! {
    static SCOPED: Cache;
}

static PROCESS: RwLock<Option<Cache>> = RwLock::new(None);

fn process_cache() -> Cache {
    if let Some(cache) = PROCESS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        return cache.clone();
    }
    PROCESS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(|| Cache::new(MemoryStore::new(DEFAULT_MEMORY_BYTES)))
        .clone()
}

/// Makes `store` the process-wide cache store; call it before serving.
/// Answers kept by the previous store are no longer seen.
///
/// ```
/// use approute::cache::MemoryStore;
///
/// approute::cache::set_store(MemoryStore::new(256 * 1024 * 1024));
/// ```
///
/// With the `redis` feature, instances that share a Redis share answers and
/// purges:
///
/// ```ignore
/// approute::cache::set_store(approute::cache::RedisStore::connect("redis://127.0.0.1/").await?);
/// ```
pub fn set_store(store: impl CacheStore) {
    if let Some(counter) = store.rate_counter() {
        if crate::rate_limit::set_counter(counter).is_err() {
            crate::rate_limit::warn(
                "RATE_LIMIT keeps counting where it began: set the store before the first request",
            );
        }
    }
    set_cache(Cache::new(store));
}

/// Makes `cache` the process-wide cache (a store with settings, see
/// [`Cache`]).
pub fn set_cache(cache: Cache) {
    *PROCESS.write().unwrap_or_else(PoisonError::into_inner) = Some(cache);
}

/// Drops every cached answer for `path`, whatever its host and query, at
/// once: the next request runs the handler. Call it from any handler (or anywhere in
/// the process) after the data behind the path changed. With a shared
/// store (Redis), every instance sees the purge.
///
/// `path` is the URL path the client asks for (`/api/notes`, no query;
/// `/v1/api/notes` for a router nested under `/v1`); the form with a
/// trailing slash is purged too.
///
/// ```
/// # async fn after_write() -> Result<(), approute::cache::Error> {
/// approute::cache::revalidate_path("/api/notes").await?;
/// # Ok(()) }
/// ```
pub async fn revalidate_path(path: &str) -> Result<(), Error> {
    Cache::current().revalidate_path(path).await
}

/// Drops every cached answer of the routes whose `CACHE_TAGS` name `tag`,
/// at once. See [`revalidate_path`]; to keep serving them while one
/// refresh runs, see [`mark_tag_stale`].
///
/// ```
/// # async fn after_write() -> Result<(), approute::cache::Error> {
/// approute::cache::revalidate_tag("notes").await?;
/// # Ok(()) }
/// ```
pub async fn revalidate_tag(tag: &str) -> Result<(), Error> {
    Cache::current().revalidate_tag(tag).await
}

/// Marks every cached answer for `path` stale (any host, any query), as
/// Next.js 16's `revalidateTag(tag, 'max')` does for a tag: the next
/// request for each gets the old answer at once and starts one background
/// refresh (one across the fleet with the Redis store). Cheaper for the
/// handler than [`revalidate_path`], which makes the next requests wait
/// for it; use that one when a client must read its own write.
///
/// ```
/// # async fn after_write() -> Result<(), approute::cache::Error> {
/// approute::cache::mark_path_stale("/api/notes").await?;
/// # Ok(()) }
/// ```
pub async fn mark_path_stale(path: &str) -> Result<(), Error> {
    Cache::current().mark_path_stale(path).await
}

/// Marks every cached answer of the routes whose `CACHE_TAGS` name `tag`
/// stale: Next.js 16's `revalidateTag(tag, 'max')`. See
/// [`mark_path_stale`].
///
/// ```
/// # async fn after_write() -> Result<(), approute::cache::Error> {
/// approute::cache::mark_tag_stale("notes").await?;
/// # Ok(()) }
/// ```
pub async fn mark_tag_stale(tag: &str) -> Result<(), Error> {
    Cache::current().mark_tag_stale(tag).await
}

/// The layer of [`Cache::layer`].
#[derive(Clone, Debug)]
pub struct UseCache {
    cache: Cache,
}

impl<S> Layer<S> for UseCache {
    type Service = UseCacheService<S>;

    fn layer(&self, inner: S) -> UseCacheService<S> {
        UseCacheService {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The service of [`Cache::layer`].
#[derive(Clone, Debug)]
pub struct UseCacheService<S> {
    inner: S,
    cache: Cache,
}

impl<S, B> Service<axum::http::Request<B>> for UseCacheService<S>
where
    S: Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<Cache, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let future = SCOPED.sync_scope(self.cache.clone(), || self.inner.call(req));
        self.cache.scope(future)
    }
}

/// A clock for tests: the system clock plus however far it was advanced.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Moves this clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

#[derive(Clone, Default)]
struct Clock(Option<ManualClock>);

impl Clock {
    fn now_ms(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let offset = self.0.as_ref().map_or(0, |c| c.0.load(Ordering::SeqCst));
        system.saturating_add(offset)
    }
}

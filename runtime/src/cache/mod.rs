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
//! - A `200` answer to `GET` is kept per URL (path and query), body and
//!   headers, for `REVALIDATE` seconds: later requests get it without
//!   running the handler (`x-approute-cache: HIT`). `HEAD` is answered from
//!   it too.
//! - After that, the next request gets the stale answer at once
//!   (`x-approute-cache: STALE`) and exactly one background run of the
//!   handler replaces it (stale-while-revalidate).
//! - Concurrent requests for a URL that is not cached run the handler once
//!   and share its answer (`x-approute-cache: MISS`).
//! - Cached answers carry `Cache-Control: s-maxage=N, stale-while-revalidate`
//!   (what Next.js 14 sends) unless the handler set its own `Cache-Control`.
//! - Never cached: other methods, other statuses, answers that set a cookie
//!   or say `Cache-Control: no-store`/`no-cache`/`private` or `Vary: *`,
//!   bodies over 8 MiB, and requests with `Authorization` or `Cookie`
//!   (unless the route sets `CACHE_CREDENTIALED`).
//!
//! Answers live in a [`CacheStore`]: by default a process-wide
//! [`MemoryStore`] of 64 MiB; with the `redis` feature, a `RedisStore` shared
//! by several server instances. [`set_store`] picks the store for the
//! process; [`Cache::layer`] gives one router its own.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::sync::watch;
use tower_layer::Layer;
use tower_service::Service;

mod layer;
mod memory;
#[cfg(feature = "redis")]
mod redis;

#[doc(hidden)]
pub use layer::{cache_layer, CacheFuture, RouteCache, RouteCacheLayer};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

/// The future a [`CacheStore`] method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The size of the default [`MemoryStore`]: 64 MiB.
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// The largest answer body kept by default: 8 MiB. Larger answers are sent
/// as they are, uncached.
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;

/// Where cached answers live. Object safe, so a store is chosen at run time:
/// [`MemoryStore`], `RedisStore` (feature `redis`), or your own.
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

/// A failed cache operation (a store that cannot be reached, or an entry
/// that does not decode).
///
/// Lookups and writes that fail while serving a request are logged and the
/// request is served as if nothing were cached; purges return the error.
///
/// ```
/// let e = approute::cache::Error::new("redis is down");
/// assert_eq!(e.to_string(), "approute cache: redis is down");
/// ```
#[derive(Debug)]
pub struct Error(Box<dyn std::error::Error + Send + Sync>);

impl Error {
    /// Wraps any error (or message) a store meets.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error(error.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "approute cache: {}", self.0)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// One cached answer: status, headers and body, and what the cache needs to
/// know about it. Cheap to clone (shared).
///
/// Stores keep it as it is, or as bytes ([`CachedAnswer::to_bytes`],
/// [`CachedAnswer::from_bytes`]).
#[derive(Clone)]
pub struct CachedAnswer(Arc<Answer>);

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    path: String,
    tags: Vec<String>,
    /// The request headers the answer depends on (its `Vary`), with the
    /// values they had: it is served only to requests with the same values.
    vary: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Milliseconds since the Unix epoch.
    stored_at: u64,
    revalidate: u64,
}

impl CachedAnswer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        path: String,
        tags: Vec<String>,
        vary: Vec<(HeaderName, Option<HeaderValue>)>,
        stored_at: u64,
        revalidate: u64,
    ) -> CachedAnswer {
        CachedAnswer(Arc::new(Answer {
            status,
            headers,
            body,
            path,
            tags,
            vary,
            stored_at,
            revalidate,
        }))
    }

    /// The status (200).
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The headers sent with it, `Cache-Control` included.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.0.body
    }

    /// The URL path it answers (no query): what [`revalidate_path`] matches.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The route's `CACHE_TAGS`: what [`revalidate_tag`] matches.
    pub fn tags(&self) -> &[String] {
        &self.0.tags
    }

    /// When the handler made it.
    pub fn stored_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.stored_at)
    }

    /// The route's `REVALIDATE` when it was made: fresh for this long.
    pub fn revalidate(&self) -> Duration {
        Duration::from_secs(self.0.revalidate)
    }

    /// Roughly the bytes it takes in memory: what [`MemoryStore`] counts.
    pub fn size(&self) -> usize {
        let a = &self.0;
        let headers: usize = a
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 32)
            .sum();
        let vary: usize = a
            .vary
            .iter()
            .map(|(k, v)| k.as_str().len() + v.as_ref().map_or(0, |v| v.len()) + 32)
            .sum();
        let tags: usize = a.tags.iter().map(|t| t.len() + 24).sum();
        128 + a.body.len() + headers + vary + tags + a.path.len()
    }

    pub(crate) fn stored_at_ms(&self) -> u64 {
        self.0.stored_at
    }

    /// Fresh at `now` (milliseconds since the epoch) for a route that
    /// revalidates after `revalidate` seconds.
    pub(crate) fn is_fresh(&self, now: u64, revalidate: u64) -> bool {
        now < self
            .0
            .stored_at
            .saturating_add(revalidate.saturating_mul(1000))
    }

    /// Whether it may answer a request with these headers (its `Vary`).
    pub(crate) fn suits(&self, request: &HeaderMap) -> bool {
        self.0
            .vary
            .iter()
            .all(|(name, value)| request.get(name) == value.as_ref())
    }

    /// The answer as bytes, for stores that keep bytes (a versioned format
    /// that [`CachedAnswer::from_bytes`] reads).
    ///
    /// ```
    /// # use approute::cache::CachedAnswer;
    /// # fn roundtrip(answer: &CachedAnswer) {
    /// let back = CachedAnswer::from_bytes(&answer.to_bytes()).unwrap();
    /// assert_eq!(back.body(), answer.body());
    /// # }
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let a = &self.0;
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&a.stored_at.to_le_bytes());
        out.extend_from_slice(&a.revalidate.to_le_bytes());
        out.extend_from_slice(&a.status.as_u16().to_le_bytes());
        put_bytes(&mut out, a.path.as_bytes());
        put_len(&mut out, a.tags.len());
        for tag in &a.tags {
            put_bytes(&mut out, tag.as_bytes());
        }
        put_len(&mut out, a.vary.len());
        for (name, value) in &a.vary {
            put_bytes(&mut out, name.as_str().as_bytes());
            match value {
                Some(v) => {
                    out.push(1);
                    put_bytes(&mut out, v.as_bytes());
                }
                None => out.push(0),
            }
        }
        put_len(&mut out, a.headers.len());
        for (name, value) in &a.headers {
            put_bytes(&mut out, name.as_str().as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        put_bytes(&mut out, &a.body);
        out
    }

    /// Reads what [`CachedAnswer::to_bytes`] wrote.
    ///
    /// ```
    /// use approute::cache::CachedAnswer;
    ///
    /// assert!(CachedAnswer::from_bytes(b"not an answer").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<CachedAnswer, Error> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(Error::new(
                "not a cached answer (or one of another version)",
            ));
        }
        let stored_at = r.u64()?;
        let revalidate = r.u64()?;
        let status = StatusCode::from_u16(r.u16()?).map_err(Error::new)?;
        let path = r.string()?;
        let tags = (0..r.len()?)
            .map(|_| r.string())
            .collect::<Result<_, _>>()?;
        let mut vary = Vec::new();
        for _ in 0..r.len()? {
            let name = HeaderName::from_bytes(r.bytes()?).map_err(Error::new)?;
            let value = match r.take(1)?[0] {
                0 => None,
                _ => Some(HeaderValue::from_bytes(r.bytes()?).map_err(Error::new)?),
            };
            vary.push((name, value));
        }
        let mut headers = HeaderMap::new();
        for _ in 0..r.len()? {
            let name = HeaderName::from_bytes(r.bytes()?).map_err(Error::new)?;
            let value = HeaderValue::from_bytes(r.bytes()?).map_err(Error::new)?;
            headers.append(name, value);
        }
        let body = Bytes::copy_from_slice(r.bytes()?);
        if !r.0.is_empty() {
            return Err(Error::new("trailing bytes after a cached answer"));
        }
        Ok(CachedAnswer::new(
            status, headers, body, path, tags, vary, stored_at, revalidate,
        ))
    }
}

impl fmt::Debug for CachedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAnswer")
            .field("status", &self.0.status)
            .field("path", &self.0.path)
            .field("tags", &self.0.tags)
            .field("body_len", &self.0.body.len())
            .field("stored_at_ms", &self.0.stored_at)
            .field("revalidate", &self.0.revalidate)
            .finish_non_exhaustive()
    }
}

const MAGIC: &[u8] = b"approute-answer-1\n";

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::new("truncated cached answer"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes(bytes.try_into().expect("2 bytes")))
    }

    fn len(&mut self) -> Result<usize, Error> {
        let n = self.u64()?;
        // Every counted item takes at least a byte: a larger count is corrupt.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.0.len())
            .ok_or_else(|| Error::new("corrupt length in a cached answer"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let n = self.len()?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, Error> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(Error::new)
    }
}

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
    flights: Mutex<HashMap<String, (u64, Outcome)>>,
    next_flight: AtomicU64,
}

/// What a handler run gives the requests waiting on it: `Some(None)` when
/// its answer was not cacheable, `None` while it runs.
type Outcome = watch::Receiver<Option<Option<CachedAnswer>>>;

impl Cache {
    /// A cache over `store`.
    pub fn new(store: impl CacheStore) -> Cache {
        Cache {
            shared: Arc::new(Shared {
                store: Box::new(store),
                max_body: DEFAULT_MAX_BODY,
                clock: Clock::default(),
                purges: AtomicU64::new(0),
                flights: Mutex::new(HashMap::new()),
                next_flight: AtomicU64::new(0),
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

    /// Drops every cached answer for `path` (any query), as
    /// [`revalidate_path`] does for the process-wide cache.
    pub async fn revalidate_path(&self, path: &str) -> Result<(), Error> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let path = if path.is_empty() { "/" } else { path };
        self.shared.purges.fetch_add(1, Ordering::SeqCst);
        self.shared.store.purge_path(path).await?;
        // Both forms: a router may serve `/a/` (trailing_slash = add or both).
        let other = match path.strip_suffix('/') {
            Some("") => None,
            Some(bare) => Some(bare.to_string()),
            None => Some(format!("{path}/")),
        };
        if let Some(other) = other {
            self.shared.store.purge_path(&other).await?;
        }
        Ok(())
    }

    /// Drops every cached answer of the routes tagged `tag`, as
    /// [`revalidate_tag`] does for the process-wide cache.
    pub async fn revalidate_tag(&self, tag: &str) -> Result<(), Error> {
        self.shared.purges.fetch_add(1, Ordering::SeqCst);
        self.shared.store.purge_tag(tag).await
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

    pub(crate) fn purge_count(&self) -> u64 {
        self.shared.purges.load(Ordering::SeqCst)
    }

    /// Joins the handler run for `key` if there is one, else starts one.
    pub(crate) fn flight(&self, key: &str) -> Turn {
        let mut flights = self
            .shared
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, outcome)) = flights.get(key) {
            return Turn::Wait(outcome.clone());
        }
        let id = self.shared.next_flight.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        flights.insert(key.to_string(), (id, rx));
        Turn::Lead(Flight {
            cache: self.clone(),
            key: key.to_string(),
            id,
            tx,
        })
    }

    /// Runs `future` with this cache as the current one.
    pub(crate) fn scope<F: Future>(
        &self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Cache, F> {
        SCOPED.scope(self.clone(), future)
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("max_body", &self.shared.max_body)
            .finish_non_exhaustive()
    }
}

/// Whether a request runs the handler or waits for the run in progress.
pub(crate) enum Turn {
    Lead(Flight),
    Wait(Outcome),
}

/// The one handler run for a key. Dropping it (the run finished, failed or
/// was cancelled) lets the next request start another.
pub(crate) struct Flight {
    cache: Cache,
    key: String,
    id: u64,
    tx: watch::Sender<Option<Option<CachedAnswer>>>,
}

impl Flight {
    /// Hands the answer (`None`: not cacheable) to the waiting requests.
    pub(crate) fn finish(self, answer: Option<CachedAnswer>) {
        self.tx.send_replace(Some(answer));
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        let mut flights = self
            .cache
            .shared
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if flights.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            flights.remove(&self.key);
        }
    }
}

/// Waits for a handler run; `None` if it ended without an answer
/// (cancelled or panicked), so the caller looks again.
pub(crate) async fn wait(mut outcome: Outcome) -> Option<Option<CachedAnswer>> {
    match outcome.wait_for(Option::is_some).await {
        Ok(value) => value.clone(),
        Err(_) => None,
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
    set_cache(Cache::new(store));
}

/// Makes `cache` the process-wide cache (a store with settings, see
/// [`Cache`]).
pub fn set_cache(cache: Cache) {
    *PROCESS.write().unwrap_or_else(PoisonError::into_inner) = Some(cache);
}

/// Drops every cached answer for `path`, whatever its query, at once: the
/// next request runs the handler. Call it from any handler (or anywhere in
/// the process) after the data behind the path changed. With a shared
/// store (Redis), every instance sees the purge.
///
/// `path` is the URL path the routes see (`/api/notes`, no query); the
/// form with a trailing slash is purged too.
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
/// at once. See [`revalidate_path`].
///
/// ```
/// # async fn after_write() -> Result<(), approute::cache::Error> {
/// approute::cache::revalidate_tag("notes").await?;
/// # Ok(()) }
/// ```
pub async fn revalidate_tag(tag: &str) -> Result<(), Error> {
    Cache::current().revalidate_tag(tag).await
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

/// Logs a store failure met while serving (the request goes on uncached).
pub(crate) fn report(what: &str, error: &Error) {
    #[cfg(any(feature = "serve", feature = "redis"))]
    tracing::warn!(%error, "approute cache: {what} failed; serving uncached");
    #[cfg(not(any(feature = "serve", feature = "redis")))]
    let _ = (what, error);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> CachedAnswer {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.append("x-two", HeaderValue::from_static("a"));
        headers.append("x-two", HeaderValue::from_static("b"));
        CachedAnswer::new(
            StatusCode::OK,
            headers,
            Bytes::from_static(b"hello \xff"),
            "/api/notes".into(),
            vec!["notes".into(), "all".into()],
            vec![
                (
                    HeaderName::from_static("accept-language"),
                    Some(HeaderValue::from_static("de")),
                ),
                (HeaderName::from_static("x-absent"), None),
            ],
            1_700_000_000_123,
            60,
        )
    }

    #[test]
    fn bytes_roundtrip() {
        let a = answer();
        let b = CachedAnswer::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(b.status(), a.status());
        assert_eq!(b.headers(), a.headers());
        assert_eq!(b.body(), a.body());
        assert_eq!(b.path(), "/api/notes");
        assert_eq!(b.tags(), ["notes", "all"]);
        assert_eq!(b.0.vary, a.0.vary);
        assert_eq!(b.stored_at(), a.stored_at());
        assert_eq!(b.revalidate(), Duration::from_secs(60));
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let bytes = answer().to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                CachedAnswer::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(CachedAnswer::from_bytes(&long).is_err());
        let mut huge = bytes;
        let at = MAGIC.len() + 8 + 8 + 2;
        huge[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(CachedAnswer::from_bytes(&huge).is_err());
    }

    #[test]
    fn freshness_and_vary() {
        let a = answer();
        assert!(a.is_fresh(1_700_000_000_123 + 59_999, 60));
        assert!(!a.is_fresh(1_700_000_000_123 + 60_000, 60));
        let mut req = HeaderMap::new();
        assert!(!a.suits(&req));
        req.insert("accept-language", HeaderValue::from_static("de"));
        assert!(a.suits(&req));
        req.insert("x-absent", HeaderValue::from_static("1"));
        assert!(!a.suits(&req));
    }
}

//! A store in Redis (feature `redis`), shared by every server instance that
//! connects to it: an answer made by one is served by all, and a purge on
//! one is seen by all at once.
//!
//! Layout, under a prefix (default `approute:cache:`):
//! - `{prefix}e:{key}`: the answer ([`CachedAnswer::to_bytes`]) under its
//!   [`CacheKey::as_str`] (host, URL, varied headers), with a TTL
//!   of its revalidate time plus the stale time (default one day);
//! - `{prefix}p:{path}`, `{prefix}t:{tag}`: sorted sets of the keys of a path
//!   (every host's) and of a tag, scored by expiry (expired keys are
//!   trimmed on write).
//!
//! Writes and purges are Lua scripts, so each is atomic. They touch keys
//! they compute, so use a single Redis (or one shard), not Redis Cluster.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError, Script};

use super::answer::CachedAnswer;
use super::error::Error;
use super::key::CacheKey;
use super::store::{BoxFuture, CacheStore, Purge};

/// How long a Redis command (or a connect) may take before the request
/// goes on without the cache.
const TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed connect, commands fail at once for this long.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Cached answers in Redis, shared by every instance that connects to the
/// same server. Needs the `redis` feature.
///
/// ```no_run
/// # async fn start() -> Result<(), approute::cache::Error> {
/// use approute::cache::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// approute::cache::set_store(store.prefix("my-api:"));
/// # Ok(()) }
/// ```
///
/// When Redis cannot be reached, requests run their handlers (uncached,
/// after at most two seconds; at once while a reconnect is pending) and
/// purges return the error; the connection is made again on its own.
#[derive(Clone)]
pub struct RedisStore {
    link: Arc<Link>,
    prefix: String,
    keep_stale: u64,
    put: Script,
    purge: Script,
}

/// One multiplexed connection, made again after it fails.
struct Link {
    client: Client,
    state: Mutex<LinkState>,
    /// One connect at a time: 200 requests after an outage make one.
    connecting: tokio::sync::Mutex<()>,
}

struct LinkState {
    conn: Option<MultiplexedConnection>,
    retry_at: Option<Instant>,
}

impl Link {
    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection, if there is one or one can be made.
    fn ready(&self) -> Option<Result<MultiplexedConnection, Error>> {
        let state = self.state();
        if let Some(conn) = &state.conn {
            return Some(Ok(conn.clone()));
        }
        match state.retry_at {
            Some(at) if Instant::now() < at => {
                Some(Err(Error::new("Redis is unreachable; reconnecting soon")))
            }
            _ => None,
        }
    }

    async fn conn(&self) -> Result<MultiplexedConnection, Error> {
        if let Some(ready) = self.ready() {
            return ready;
        }
        let _one = self.connecting.lock().await;
        if let Some(ready) = self.ready() {
            return ready;
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT);
        match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => {
                *self.state() = LinkState {
                    conn: Some(conn.clone()),
                    retry_at: None,
                };
                Ok(conn)
            }
            Err(e) => {
                self.state().retry_at = Some(Instant::now() + RECONNECT_AFTER);
                Err(Error::new(e))
            }
        }
    }

    /// Drops a connection that failed, so the next command makes another.
    fn failed(&self, e: RedisError) -> Error {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            self.state().conn = None;
        }
        Error::new(e)
    }
}

/// Writes the answer and indexes it by path and tags.
/// KEYS: entry, then index sets. ARGV: payload, ttl, expires-at, now, key.
const PUT: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[4])
  if redis.call('TTL', KEYS[i]) < ttl then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return 1
";

/// Drops every entry an index set names, then the set.
/// KEYS: index set. ARGV: entry key prefix.
const PURGE: &str = r"
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, key in ipairs(keys) do
  redis.call('DEL', ARGV[1] .. key)
end
redis.call('DEL', KEYS[1])
return #keys
";

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`,
    /// `redis://:password@host/`).
    /// Fails if it cannot connect now.
    pub async fn connect(url: &str) -> Result<RedisStore, Error> {
        let link = Arc::new(Link {
            client: Client::open(url).map_err(Error::new)?,
            state: Mutex::new(LinkState {
                conn: None,
                retry_at: None,
            }),
            connecting: tokio::sync::Mutex::new(()),
        });
        link.conn().await?;
        Ok(RedisStore {
            link,
            prefix: "approute:cache:".to_string(),
            keep_stale: 24 * 60 * 60,
            put: Script::new(PUT),
            purge: Script::new(PURGE),
        })
    }

    /// Puts this in front of every Redis key (default `approute:cache:`),
    /// so several apps can share one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self
    }

    /// How long an answer stays after it went stale (default one day): a
    /// request in that time gets it at once and refreshes it; after it, a
    /// request waits for the handler.
    pub fn keep_stale(mut self, time: Duration) -> RedisStore {
        self.keep_stale = time.as_secs().max(1);
        self
    }

    fn entry(&self, key: &str) -> String {
        format!("{}e:{key}", self.prefix)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("keep_stale", &self.keep_stale)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl CacheStore for RedisStore {
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
        Box::pin(async move {
            let mut conn = self.link.conn().await?;
            let bytes: Option<Vec<u8>> = redis::cmd("GET")
                .arg(self.entry(key.as_str()))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.link.failed(e))?;
            bytes.map(|b| CachedAnswer::from_bytes(&b)).transpose()
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.link.conn().await?;
            let ttl = answer.revalidate().as_secs().max(1) + self.keep_stale;
            let now = now_secs();
            let mut call = self.put.key(self.entry(key.as_str()));
            call.key(format!("{}p:{}", self.prefix, answer.path()));
            for tag in answer.tags() {
                call.key(format!("{}t:{tag}", self.prefix));
            }
            call.arg(answer.to_bytes())
                .arg(ttl)
                .arg(now + ttl)
                .arg(now)
                .arg(key.as_str());
            let _: i64 = call
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.link.failed(e))?;
            Ok(())
        })
    }

    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        let index = match purge {
            Purge::Path(path) => format!("{}p:{path}", self.prefix),
            Purge::Tag(tag) => format!("{}t:{tag}", self.prefix),
        };
        Box::pin(self.purge_index(index))
    }
}

impl RedisStore {
    async fn purge_index(&self, index: String) -> Result<(), Error> {
        let mut conn = self.link.conn().await?;
        let _: i64 = self
            .purge
            .key(index)
            .arg(format!("{}e:", self.prefix))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.link.failed(e))?;
        Ok(())
    }
}

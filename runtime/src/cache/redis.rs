//! A store in Redis (feature `redis`), shared by every server instance that
//! connects to it: an answer made by one is served by all, a purge on one
//! is seen by all at once, and a cold or stale URL's handler runs once for
//! all of them (fleet locks).
//!
//! Layout, under a prefix (default `approute:cache:`):
//! - `{prefix}e:{key}`: a hash under the answer's [`CacheKey::as_str`]
//!   (host, URL, varied headers): field `a` holds the answer
//!   ([`CachedAnswer::to_bytes`]), `n` how many generations it was made
//!   under, `k1..`/`x1..`/`s1..` each generation's key and its two values.
//!   Its TTL is its revalidate time plus the stale time (default one day).
//! - `{prefix}g:p:{path}`, `{prefix}g:t:{tag}`: a path's (every host's) and
//!   a tag's generation, a hash of two unique tokens: `x` changes when the
//!   path or tag is purged, `s` when it is marked stale. An entry made
//!   under other tokens is gone (`x`) or stale (`s`). A purge so sets one
//!   field, whatever the number of entries (O(1): it blocks Redis for
//!   microseconds, where dropping 50k entries in one script took 220 ms);
//!   purged entries expire on their own. A generation lives as long as the
//!   longest entry made under it; one evicted or expired takes its entries
//!   with it (their tokens no longer match).
//! - `{prefix}purges`: the purge epoch, a count every purge and mark-stale
//!   moves. Each lookup returns it; the write of an answer made after a
//!   lookup is skipped, inside the write's script, when it moved since
//!   (a purge ran during the handler: its answer may hold the purged data).
//! - `{prefix}l:{key}`: the fleet lock of a key, `SET NX PX`.
//! - `{prefix}rate:{route}:{client}`: `RATE_LIMIT` counters.
//!
//! Every key has a TTL, so Redis's `maxmemory` with `maxmemory-policy
//! allkeys-lru` (a Redis for the cache alone) or `volatile-lru` bounds it;
//! without `maxmemory`, entries live their TTL and [`RedisStore::connect`]
//! logs a warning.
//!
//! Writes, reads and purges are Lua scripts, so each is atomic. They touch
//! keys they read from the entry, so use a single Redis (or one shard), not
//! Redis Cluster.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::answer::CachedAnswer;
use super::error::Error;
use super::fleet::unique_token;
use super::key::CacheKey;
use super::redis_link::Link;
use super::store::{BoxFuture, CacheStore, FleetLocks, Purge, PutOutcome, Release};
use crate::rate_limit::RateCounter;

/// How long a fleet lock lasts unless renewed, by default.
const LOCK_LIFETIME: Duration = Duration::from_secs(3);

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
    pub(crate) link: Arc<Link>,
    pub(crate) prefix: String,
    keep_stale: u64,
    lock_lifetime: Duration,
    scripts: Arc<Scripts>,
}

struct Scripts {
    get: Script,
    put: Script,
    purge: Script,
    renew: Script,
    release: Script,
}

/// The purge epoch, the answer and whether a generation it was made under
/// was marked stale since; no answer when one was purged since (or is
/// gone). The epoch comes with every lookup, so the one before a run costs
/// no round trip of its own.
/// KEYS: entry, purge epoch.
const GET: &str = r"
local epoch = redis.call('GET', KEYS[2]) or '0'
local e = redis.call('HGETALL', KEYS[1])
if #e == 0 then return {epoch, false, 0} end
local h = {}
for i = 1, #e, 2 do h[e[i]] = e[i + 1] end
local stale = 0
for i = 1, tonumber(h.n) do
  local g = redis.call('HMGET', h['k' .. i], 'x', 's')
  if g[1] ~= h['x' .. i] then return {epoch, false, 0} end
  if g[2] ~= h['s' .. i] then stale = 1 end
end
return {epoch, h.a, stale}
";

/// Writes the answer under the current generations of its path and tags
/// (made when missing), each kept at least as long as the entry (returns
/// one). Given the purge epoch the run began at, it first checks that the
/// epoch is still that, and writes nothing (returns zero) when a purge
/// moved it: checked and written in one step, so no purge comes between.
/// KEYS: entry, purge epoch, then generations. ARGV: answer, ttl, a fresh
/// token, the expected epoch (empty: write whatever the epoch).
const PUT: &str = r"
if ARGV[4] ~= '' and (redis.call('GET', KEYS[2]) or '0') ~= ARGV[4] then
  return 0
end
local ttl = tonumber(ARGV[2])
local fields = {'a', ARGV[1], 'n', #KEYS - 2}
for i = 3, #KEYS do
  if redis.call('HSETNX', KEYS[i], 'x', ARGV[3]) == 1 then
    redis.call('HSET', KEYS[i], 's', ARGV[3])
  end
  if redis.call('TTL', KEYS[i]) < ttl then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
  local g = redis.call('HMGET', KEYS[i], 'x', 's')
  local j = i - 2
  table.insert(fields, 'k' .. j)
  table.insert(fields, KEYS[i])
  table.insert(fields, 'x' .. j)
  table.insert(fields, g[1])
  table.insert(fields, 's' .. j)
  table.insert(fields, g[2])
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ttl)
return 1
";

/// Gives a generation a new token in one field (`x`: purged, `s`: marked
/// stale); a generation that does not exist has no entries to purge.
/// Counts the purge in the fleet's purge epoch, whatever it finds.
/// KEYS: generation, purge epoch. ARGV: field, token.
const PURGE: &str = r"
redis.call('INCR', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
";

/// KEYS: lock. ARGV: holder, lifetime in ms.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// KEYS: lock. ARGV: holder, what to leave (empty: nothing), for how long
/// (ms).
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  end
end
return 1
";

/// What a lock holds for a moment after its run ended so.
const PANICKED: &str = "!panicked";
const NOT_KEPT: &str = "!not-kept";

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`,
    /// `redis://:password@host/`).
    /// Fails if it cannot connect now. Logs a warning when that Redis has
    /// no `maxmemory` (so nothing bounds the cache but entries' TTLs).
    pub async fn connect(url: &str) -> Result<RedisStore, Error> {
        let link = Arc::new(Link::open(url).await?);
        warn_if_unbounded(&link).await;
        Ok(RedisStore {
            link,
            prefix: "approute:cache:".to_string(),
            keep_stale: 24 * 60 * 60,
            lock_lifetime: LOCK_LIFETIME,
            scripts: Arc::new(Scripts {
                get: Script::new(GET),
                put: Script::new(PUT),
                purge: Script::new(PURGE),
                renew: Script::new(RENEW),
                release: Script::new(RELEASE),
            }),
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

    /// How long a fleet lock lasts unless its holder renews it (default
    /// 3 s; renewed every second): how long the other instances wait for
    /// one that crashed mid-run before one of them runs the handler.
    pub fn lock_lifetime(mut self, time: Duration) -> RedisStore {
        self.lock_lifetime = time.max(Duration::from_millis(30));
        self
    }

    fn entry(&self, key: &str) -> String {
        format!("{}e:{key}", self.prefix)
    }

    fn generation(&self, purge: &Purge) -> Result<String, Error> {
        match purge {
            Purge::Path(path) => Ok(format!("{}g:p:{path}", self.prefix)),
            Purge::Tag(tag) => Ok(format!("{}g:t:{tag}", self.prefix)),
            #[allow(unreachable_patterns)]
            other => Err(Error::new(format!("RedisStore cannot purge {other:?}"))),
        }
    }

    /// Counts every purge of this prefix, by any instance.
    fn purge_epoch_key(&self) -> String {
        format!("{}purges", self.prefix)
    }

    /// Runs the write script; `epoch`: the purge epoch it must still be.
    /// `true` when written.
    async fn write(
        &self,
        key: &CacheKey,
        answer: CachedAnswer,
        epoch: Option<u64>,
    ) -> Result<bool, Error> {
        let ttl = answer.revalidate().as_secs().max(1) + self.keep_stale;
        let mut call = self.scripts.put.key(self.entry(key.as_str()));
        call.key(self.purge_epoch_key());
        call.key(self.generation(&Purge::Path(answer.path().to_string()))?);
        for tag in answer.tags() {
            call.key(self.generation(&Purge::Tag(tag.clone()))?);
        }
        call.arg(answer.to_bytes()).arg(ttl).arg(unique_token());
        call.arg(epoch.map(|e| e.to_string()).unwrap_or_default());
        let written: i64 = self.link.script(&call).await?;
        Ok(written == 1)
    }

    fn lock(&self, name: &str) -> String {
        format!("{}l:{name}", self.prefix)
    }

    /// Gives `purge`'s generation a new token in `field`.
    async fn bump(&self, purge: &Purge, field: &str) -> Result<(), Error> {
        let mut call = self.scripts.purge.key(self.generation(purge)?);
        call.key(self.purge_epoch_key());
        call.arg(field).arg(unique_token());
        let _: i64 = self.link.script(&call).await?;
        Ok(())
    }
}

/// Says so when Redis has no memory bound. A Redis that refuses `CONFIG`
/// (a managed one) is assumed to be set up with one.
async fn warn_if_unbounded(link: &Link) {
    let asked: Result<Vec<String>, Error> = link
        .cmd(redis::cmd("CONFIG").arg("GET").arg("maxmemory"))
        .await;
    if let Ok(pair) = asked {
        if pair.get(1).is_some_and(|bytes| bytes == "0") {
            tracing::warn!(
                target: "approute",
                "the Redis cache store has no maxmemory: entries stay until their TTL \
                 (revalidate + keep_stale); set maxmemory and maxmemory-policy allkeys-lru"
            );
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("keep_stale", &self.keep_stale)
            .field("lock_lifetime", &self.lock_lifetime)
            .finish_non_exhaustive()
    }
}

impl CacheStore for RedisStore {
    fn rate_counter(&self) -> Option<Box<dyn RateCounter>> {
        Some(Box::new(self.counter()))
    }

    fn fleet_locks(&self) -> Option<&dyn FleetLocks> {
        Some(self)
    }

    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
        Box::pin(async move { Ok(self.get_with_epoch(key).await?.0) })
    }

    fn get_with_epoch<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<(Option<CachedAnswer>, u64), Error>> {
        Box::pin(async move {
            let mut call = self.scripts.get.key(self.entry(key.as_str()));
            call.key(self.purge_epoch_key());
            let (epoch, found, stale): (u64, Option<Vec<u8>>, i64) =
                self.link.script(&call).await?;
            let Some(bytes) = found else {
                return Ok((None, epoch));
            };
            let answer = CachedAnswer::from_bytes(&bytes)?;
            let answer = if stale == 1 {
                answer.marked_stale()
            } else {
                answer
            };
            Ok((Some(answer), epoch))
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.write(key, answer, None).await?;
            Ok(())
        })
    }

    fn put_unless_purged<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
        epoch: u64,
    ) -> BoxFuture<'a, Result<PutOutcome, Error>> {
        Box::pin(async move {
            Ok(match self.write(key, answer, Some(epoch)).await? {
                true => PutOutcome::Stored,
                false => PutOutcome::Purged,
            })
        })
    }

    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.bump(purge, "x"))
    }

    fn mark_stale<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.bump(purge, "s"))
    }

    fn purge_epoch(&self) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(async move {
            let epoch: Option<u64> = self
                .link
                .cmd(redis::cmd("GET").arg(self.purge_epoch_key()))
                .await?;
            Ok(epoch.unwrap_or(0))
        })
    }
}

impl FleetLocks for RedisStore {
    fn lifetime(&self) -> Duration {
        self.lock_lifetime
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let mut set = redis::cmd("SET");
            set.arg(self.lock(name)).arg(holder).arg("NX").arg("PX");
            set.arg(millis(self.lock_lifetime));
            let taken: Option<String> = self.link.cmd(&set).await?;
            Ok(taken.is_some())
        })
    }

    fn renew<'a>(&'a self, name: &'a str, holder: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let mut call = self.scripts.renew.key(self.lock(name));
            call.arg(holder).arg(millis(self.lock_lifetime));
            let renewed: i64 = self.link.script(&call).await?;
            Ok(renewed == 1)
        })
    }

    fn release<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        outcome: Release,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut call = self.scripts.release.key(self.lock(name));
            call.arg(holder).arg(match outcome {
                Release::Stored => "",
                Release::NotKept => NOT_KEPT,
                Release::Panicked => PANICKED,
            });
            // Long enough for every waiter to look once (they poll at
            // least every 100 ms).
            call.arg(1000);
            let _: i64 = self.link.script(&call).await?;
            Ok(())
        })
    }

    fn state<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<super::store::LockState, Error>> {
        use super::store::LockState;
        Box::pin(async move {
            let held: Option<String> = self
                .link
                .cmd(redis::cmd("GET").arg(self.lock(name)))
                .await?;
            Ok(match held.as_deref() {
                None => LockState::Free,
                Some(PANICKED) => LockState::Ended(Release::Panicked),
                Some(NOT_KEPT) => LockState::Ended(Release::NotKept),
                Some(_) => LockState::Held,
            })
        })
    }
}

fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).unwrap_or(u64::MAX).max(1)
}

//! Purges in both modes and both stores, and the Redis store's bounds:
//! - `revalidate_tag`/`revalidate_path` expire at once (Next.js 14's
//!   `revalidateTag`, Next.js 16's `updateTag`): the next request waits
//!   for the handler;
//! - `mark_tag_stale`/`mark_path_stale` (Next.js 16's `revalidateTag(tag,
//!   'max')`): the next request gets the old answer and one refresh runs;
//! - a Redis purge is a constant number of commands whatever the number of
//!   entries (a generation token changes; entries expire on their own);
//! - a Redis with `maxmemory` and `allkeys-lru`, filled far past it,
//!   stays within it while every request is answered;
//! - a purge by another instance while a handler runs, or after it ended
//!   but before its answer is written, keeps that answer out; the check
//!   costs a miss no round trip (counted at a proxy).

#[path = "support/redis_proxy.rs"]
mod redis_proxy;
#[path = "support/redis_server.rs"]
mod redis_server;
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use approute::axum::Router;
use approute::cache::{
    BoxFuture, CacheKey, CacheStore, CachedAnswer, Error, FleetLocks, MemoryStore, Purge,
    PutOutcome, RedisStore,
};
use approute::cache::{Cache, ManualClock};
use approute_tests::{cache_app, Counter};
use redis_proxy::CountingProxy;
use redis_server::{connection, start_redis, start_redis_with};
use support::{send, Answer};

fn app(cache: &Cache) -> (Router, Counter) {
    let runs = Counter::default();
    let router = cache_app::router()
        .with_state(runs.clone())
        .layer(cache.layer());
    (router, runs)
}

/// `(x-approute-cache, body)` of `GET target`.
async fn get(router: &Router, target: &str) -> (Option<String>, String) {
    let answer: Answer = send(router, "GET", target, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    (
        answer.header("x-approute-cache").map(str::to_string),
        answer.text(),
    )
}

fn seen(state: &str, body: &str) -> (Option<String>, String) {
    (Some(state.to_string()), body.to_string())
}

/// Waits (up to 5 s) until `GET target` is a fresh `HIT` with `body`.
async fn until_fresh(router: &Router, target: &str, body: &str) {
    let started = Instant::now();
    while get(router, target).await != seen("HIT", body) {
        assert!(started.elapsed() < Duration::from_secs(5), "never {body}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn both_modes(cache: Cache) {
    let (router, runs) = app(&cache);
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 1"));
    assert_eq!(get(&router, "/notes?q").await, seen("MISS", "notes run 2"));

    // Marked stale: the old answer at once, then the refreshed one.
    cache.mark_tag_stale("notes").await.unwrap();
    assert_eq!(get(&router, "/notes").await, seen("STALE", "notes run 1"));
    until_fresh(&router, "/notes", "notes run 3").await;
    assert_eq!(get(&router, "/notes?q").await, seen("STALE", "notes run 2"));
    until_fresh(&router, "/notes?q", "notes run 4").await;

    // A path, every query of it, and the trailing-slash form is named too.
    cache.mark_path_stale("/notes/").await.unwrap();
    assert_eq!(get(&router, "/notes?q").await, seen("STALE", "notes run 4"));
    until_fresh(&router, "/notes?q", "notes run 5").await;
    assert_eq!(get(&router, "/notes").await, seen("STALE", "notes run 3"));
    until_fresh(&router, "/notes", "notes run 6").await;

    // Expiring: the next request runs the handler and waits for it.
    cache.revalidate_tag("notes").await.unwrap();
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 7"));
    cache.revalidate_path("/notes").await.unwrap();
    assert_eq!(get(&router, "/notes?q").await, seen("MISS", "notes run 8"));

    // Marking an expired answer stale brings nothing back.
    cache.revalidate_tag("notes").await.unwrap();
    cache.mark_tag_stale("notes").await.unwrap();
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 9"));
    // A name nothing is cached under: nothing to do.
    cache.mark_tag_stale("nothing").await.unwrap();
    cache.revalidate_path("/nothing").await.unwrap();
    assert_eq!(get(&router, "/notes").await, seen("HIT", "notes run 9"));
    assert_eq!(runs.0.load(Ordering::SeqCst), 9);
}

#[tokio::test]
async fn purge_modes_in_memory() {
    both_modes(Cache::new(MemoryStore::new(1 << 20))).await;
}

#[tokio::test]
async fn purge_modes_in_redis() {
    let Some(server) = start_redis().await else {
        return;
    };
    let store = RedisStore::connect(&server.url).await.unwrap();
    both_modes(Cache::new(store.prefix("modes:"))).await;
}

/// The number `INFO section` gives after `field` (up to a comma), 0 when
/// it is not there.
async fn info(conn: &mut redis::aio::MultiplexedConnection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(field))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap().trim().parse().unwrap()
        })
}

/// What `INFO commandstats` counts for `command` (calls).
async fn calls(conn: &mut redis::aio::MultiplexedConnection, command: &str) -> u64 {
    info(conn, "commandstats", &format!("cmdstat_{command}:calls=")).await
}

/// 5k answers of one path (one per query string); a purge runs one
/// script of three commands (one counts the purge), deletes nothing, and the answers are gone.
#[tokio::test]
async fn a_redis_purge_is_constant_work_whatever_the_entry_count() {
    let Some(server) = start_redis().await else {
        return;
    };
    let store = RedisStore::connect(&server.url)
        .await
        .unwrap()
        .prefix("many:");
    let cache = Cache::new(store);
    let (router, runs) = app(&cache);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let router = router.clone();
        tasks.spawn(async move {
            for i in (chunk..5_000).step_by(8) {
                let (state, _) = get(&router, &format!("/notes?page={i}")).await;
                assert_eq!(state.as_deref(), Some("MISS"));
            }
        });
    }
    tasks.join_all().await;
    let mut conn = connection(&server).await;
    let keys: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert!(keys >= 5_000, "{keys} keys");
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();

    cache.revalidate_path("/notes").await.unwrap();

    let deletes = calls(&mut conn, "del").await + calls(&mut conn, "unlink").await;
    assert_eq!(deletes, 0, "a purge deletes nothing");
    // EXISTS + HSET for `/notes`; EXISTS alone for `/notes/` (never cached).
    assert_eq!(calls(&mut conn, "exists").await, 2);
    assert_eq!(calls(&mut conn, "hset").await, 1);
    assert_eq!(
        get(&router, "/notes?page=7").await.0.as_deref(),
        Some("MISS")
    );
    assert_eq!(runs.0.load(Ordering::SeqCst), 5_001);
}

/// A Redis of 4 MiB with `allkeys-lru`, given 16 MB of answers: it stays
/// within its `maxmemory`, evicts, and every request is answered (the
/// newest from the cache).
#[tokio::test]
async fn a_redis_with_maxmemory_stays_within_it() {
    let Some(server) =
        start_redis_with(&["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"]).await
    else {
        return;
    };
    let store = RedisStore::connect(&server.url)
        .await
        .unwrap()
        .prefix("full:");
    let cache = Cache::new(store);
    let (router, _) = app(&cache);
    let mut conn = connection(&server).await;
    let body = "x".repeat(4000);
    let mut peak = 0;
    for i in 0..4_000 {
        let (state, text) = get(&router, &format!("/shared?pad={body}&i={i}")).await;
        assert_eq!(state.as_deref(), Some("MISS"), "{i}: {text}");
        if i % 500 == 0 {
            peak = peak.max(info(&mut conn, "memory", "used_memory:").await);
        }
    }
    let evicted = info(&mut conn, "stats", "evicted_keys:").await;
    eprintln!("cache_purge: 4 MiB Redis, 16 MB of answers: peak used_memory {peak}, {evicted} keys evicted");
    assert!(evicted > 2_000, "{evicted} evicted");
    assert!(peak <= 4 * 1024 * 1024 + 512 * 1024, "used {peak} bytes");
    let (state, _) = get(&router, &format!("/shared?pad={body}&i=3999")).await;
    assert_eq!(state.as_deref(), Some("HIT"));
}

/// The store trait's purge names what it drops; kept here so a store's
/// generation key for a path and for a tag never collide.
#[tokio::test]
async fn a_path_and_a_tag_of_the_same_name_are_purged_apart() {
    let Some(server) = start_redis().await else {
        return;
    };
    let store = RedisStore::connect(&server.url)
        .await
        .unwrap()
        .prefix("apart:");
    let cache = Cache::new(store.clone());
    let (router, _) = app(&cache);
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 1"));
    // A tag named like the path purges nothing of the path.
    store
        .purge(&approute::cache::Purge::Tag("/notes".into()))
        .await
        .unwrap();
    assert_eq!(get(&router, "/notes").await, seen("HIT", "notes run 1"));
}

/// Another instance purges while this one's handler runs: the answer is
/// sent but not kept (it may hold the purged data), as for a purge made in
/// the same process. The other instance here is a second store handle on
/// the same Redis, so this process's own purge count never moves.
#[tokio::test]
async fn a_purge_by_another_instance_during_a_run_keeps_the_answer_out() {
    let Some(server) = start_redis().await else {
        return;
    };
    let connect = || async {
        RedisStore::connect(&server.url)
            .await
            .unwrap()
            .prefix("during:")
    };
    let cache = Cache::new(connect().await);
    let other_instance = connect().await;
    let (router, runs) = app(&cache);
    let slow = {
        let router = router.clone();
        tokio::spawn(async move { send(&router, "GET", "/notes", &[("x-sleep-ms", "300")]).await })
    };
    let started = Instant::now();
    while runs.0.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "never ran");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    other_instance
        .purge(&Purge::Tag("notes".to_string()))
        .await
        .unwrap();
    let answer = slow.await.unwrap();
    assert_eq!(answer.text(), "notes run 1");
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 2"));
    assert_eq!(get(&router, "/notes").await, seen("HIT", "notes run 2"));
}

/// A Redis store that lets another instance purge the tag `notes` just
/// before each write: a purge in the moment between a handler's end and
/// its answer's write.
struct PurgedBeforeWrite {
    store: RedisStore,
    other_instance: RedisStore,
}

impl PurgedBeforeWrite {
    async fn purge_by_the_other_instance(&self) -> Result<(), Error> {
        let notes = Purge::Tag("notes".to_string());
        self.other_instance.purge(&notes).await
    }
}

impl CacheStore for PurgedBeforeWrite {
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
        self.store.get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.purge_by_the_other_instance().await?;
            self.store.put(key, answer).await
        })
    }
    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        self.store.purge(purge)
    }
    fn fleet_locks(&self) -> Option<&dyn FleetLocks> {
        self.store.fleet_locks()
    }
    fn purge_epoch(&self) -> BoxFuture<'_, Result<u64, Error>> {
        self.store.purge_epoch()
    }
    fn get_with_epoch<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<(Option<CachedAnswer>, u64), Error>> {
        self.store.get_with_epoch(key)
    }
    fn put_unless_purged<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
        epoch: u64,
    ) -> BoxFuture<'a, Result<PutOutcome, Error>> {
        Box::pin(async move {
            self.purge_by_the_other_instance().await?;
            self.store.put_unless_purged(key, answer, epoch).await
        })
    }
}

/// A purge after the handler ended but before its answer is written: the
/// answer may hold the purged data, so it is sent and not kept.
#[tokio::test]
async fn a_purge_between_the_run_and_the_write_keeps_the_answer_out() {
    let Some(server) = start_redis().await else {
        return;
    };
    let connect = || async {
        RedisStore::connect(&server.url)
            .await
            .unwrap()
            .prefix("window:")
    };
    let store = PurgedBeforeWrite {
        store: connect().await,
        other_instance: connect().await,
    };
    let cache = Cache::new(store);
    let (router, _) = app(&cache);
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 1"));
    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 2"));
}

/// What a cold miss, a hit, a stale answer's refresh and a `cached`
/// value's computation cost in round trips to Redis, counted at a proxy
/// between the store and Redis.
#[tokio::test]
async fn round_trips_of_a_miss_a_hit_and_a_refresh() {
    let Some(server) = start_redis().await else {
        return;
    };
    let proxy = CountingProxy::start(server.port).await;
    let store = RedisStore::connect(&proxy.url)
        .await
        .unwrap()
        .prefix("trips:");
    let clock = ManualClock::default();
    let cache = Cache::new(store).__with_clock(clock.clone());
    let (router, _) = app(&cache);
    // The fleet lock is released (and a refresh runs) in the background:
    // counts are taken once the proxy saw nothing for 100 ms.
    // Loads the scripts, so the counts below hold no SCRIPT LOAD.
    assert_eq!(
        get(&router, "/notes?warm").await,
        seen("MISS", "notes run 1")
    );
    proxy.take_when_quiet().await;

    assert_eq!(get(&router, "/notes").await, seen("MISS", "notes run 2"));
    let miss = proxy.take_when_quiet().await;
    assert_eq!(get(&router, "/notes").await, seen("HIT", "notes run 2"));
    let hit = proxy.take();
    clock.advance(Duration::from_secs(61));
    assert_eq!(get(&router, "/notes").await, seen("STALE", "notes run 2"));
    let stale = proxy.take_when_quiet().await;
    let value = send(&router, "GET", "/data", &[]).await;
    assert_eq!(value.text(), "computed 4");
    let computed = proxy.take_when_quiet().await;
    eprintln!(
        "round trips: miss {} {miss:?}, hit {} {hit:?}, stale {} {stale:?}, cached() {} {computed:?}",
        miss.len(),
        hit.len(),
        stale.len(),
        computed.len()
    );
    // Look up, take the fleet lock, look again now that it is held (and
    // note the purge epoch), write (if the epoch is still that), release.
    let cold = ["EVALSHA", "SET", "EVALSHA", "EVALSHA", "EVALSHA"];
    assert_eq!(miss, cold);
    assert_eq!(hit, ["EVALSHA"]);
    // The stale lookup, then the refresh's lock, look, write, release.
    assert_eq!(stale, cold);
    assert_eq!(computed, cold);
}

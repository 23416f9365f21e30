//! `approute::cache::cached`: a computation's value kept in the cache's
//! store, through a route of the cache fixture (`app/data`), with the
//! answers' rules: fresh, then stale while one refresh runs, one run for
//! concurrent calls, purged by tag (both modes), errors not kept; in
//! memory and in Redis.

#[path = "support/redis_server.rs"]
mod redis_server;
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use approute::axum::Router;
use approute::cache::{Cache, ManualClock, MemoryStore, RedisStore};
use approute_tests::{cache_app, Counter};
use support::send;

fn app(cache: Cache) -> (Router, Counter, ManualClock, Cache) {
    let clock = ManualClock::default();
    let cache = cache.__with_clock(clock.clone());
    let runs = Counter::default();
    let router = cache_app::router()
        .with_state(runs.clone())
        .layer(cache.layer());
    (router, runs, clock, cache)
}

async fn get(router: &Router, target: &str) -> String {
    let answer = send(router, "GET", target, &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("x-approute-cache"),
        None,
        "the route is not cached"
    );
    answer.text()
}

fn runs(counter: &Counter) -> u64 {
    counter.0.load(Ordering::SeqCst)
}

/// Waits (up to 5 s) until `GET /data` says `body`, then a little more: a
/// poll that read the old value just before the refresh stored the new one
/// starts a refresh of its own, which finds the new value and ends; until
/// it has, the next stale read would not start one.
async fn until(router: &Router, body: &str) {
    let started = Instant::now();
    while get(router, "/data").await != body {
        assert!(started.elapsed() < Duration::from_secs(5), "never {body}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn the_rules(cache: Cache) {
    let (router, counter, clock, cache) = app(cache);
    // An error is returned, not kept.
    assert_eq!(get(&router, "/data?fail").await, "computation 1 failed");
    assert_eq!(get(&router, "/data").await, "computed 2");
    assert_eq!(get(&router, "/data").await, "computed 2");
    assert_eq!(runs(&counter), 2);

    // Stale: the kept value at once, then the refreshed one.
    clock.advance(Duration::from_secs(61));
    assert_eq!(get(&router, "/data").await, "computed 2");
    until(&router, "computed 3").await;
    // A refresh that fails keeps the stale value.
    clock.advance(Duration::from_secs(61));
    assert_eq!(get(&router, "/data?fail").await, "computed 3");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(get(&router, "/data").await, "computed 3");
    until(&router, "computed 5").await;

    // Marked stale by tag: the old value once more, then a refresh.
    cache.mark_tag_stale("data").await.unwrap();
    assert_eq!(get(&router, "/data").await, "computed 5");
    until(&router, "computed 6").await;
    // Expired by tag: computed again at once.
    cache.revalidate_tag("data").await.unwrap();
    assert_eq!(get(&router, "/data").await, "computed 7");
    // A path purge never touches it.
    cache.revalidate_path("/data").await.unwrap();
    assert_eq!(get(&router, "/data").await, "computed 7");

    // 50 concurrent calls on a cold key: one computation.
    cache.revalidate_tag("data").await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let router = router.clone();
        tasks.spawn(async move {
            send(&router, "GET", "/data", &[("x-sleep-ms", "300")])
                .await
                .text()
        });
    }
    for body in tasks.join_all().await {
        assert_eq!(body, "computed 8");
    }
    assert_eq!(runs(&counter), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_values_in_memory() {
    the_rules(Cache::new(MemoryStore::new(1 << 20))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_values_in_redis() {
    let Some(server) = redis_server::start_redis().await else {
        return;
    };
    let store = RedisStore::connect(&server.url).await.unwrap();
    the_rules(Cache::new(store.prefix("data:"))).await;
}

//! `REVALIDATE`: cached GET answers, stale-while-revalidate, single flight,
//! purges, and the Redis store shared by two instances.
//!
//! Each test but the socket one gives its router its own cache
//! (`Cache::layer`) with a clock it moves by hand, so tests run in parallel
//! and no test waits for real seconds to pass.

#[path = "support/redis_server.rs"]
mod redis_server;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use approute::axum::body::Body;
use approute::axum::http::Request;
use approute::axum::Router;
use approute::cache::{Cache, ManualClock, MemoryStore};
use approute_tests::{cache_app, Counter};
use support::{send, Answer};

/// The fixture app with its own cache and clock; the counter counts
/// handler runs.
fn app() -> (Router, Counter, ManualClock, Cache) {
    let runs = Counter::default();
    let clock = ManualClock::default();
    let cache = Cache::new(MemoryStore::new(32 * 1024 * 1024)).__with_clock(clock.clone());
    let router = cache_app::router()
        .with_state(runs.clone())
        .layer(cache.layer());
    (router, runs, clock, cache)
}

fn runs(counter: &Counter) -> u64 {
    counter.0.load(Ordering::SeqCst)
}

async fn get(router: &Router, target: &str) -> Answer {
    send(router, "GET", target, &[]).await
}

/// `(status, x-approute-cache, body)`
fn seen(a: &Answer) -> (u16, Option<&str>, String) {
    (a.status, a.header("x-approute-cache"), a.text())
}

/// Waits (up to 5 s) until `counter` reaches `n`.
async fn until_runs(counter: &Counter, n: u64) {
    let started = Instant::now();
    while runs(counter) < n {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stuck at {} runs",
            runs(counter)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits (up to 5 s) until `target` is served fresh from the cache.
async fn until_hit(router: &Router, target: &str) -> Answer {
    let started = Instant::now();
    loop {
        let answer = get(router, target).await;
        if answer.header("x-approute-cache") == Some("HIT") {
            return answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never fresh: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn miss_hit_stale_then_fresh_again() {
    let (app, counter, clock, _) = app();

    let first = get(&app, "/notes").await;
    assert_eq!(seen(&first), (200, Some("MISS"), "notes run 1".into()));
    assert_eq!(
        first.header("cache-control"),
        Some("s-maxage=60, stale-while-revalidate"),
        "what Next.js 14 sends for revalidate = 60"
    );
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let second = get(&app, "/notes").await;
    assert_eq!(seen(&second), (200, Some("HIT"), "notes run 1".into()));
    assert_eq!(
        second.header("cache-control"),
        first.header("cache-control")
    );
    assert_eq!(second.header("content-type"), first.header("content-type"));
    assert_eq!(runs(&counter), 1);

    // Another query is another URL.
    assert_eq!(seen(&get(&app, "/notes?page=2").await).1, Some("MISS"));
    assert_eq!(runs(&counter), 2);

    clock.advance(Duration::from_secs(59));
    assert_eq!(seen(&get(&app, "/notes").await).1, Some("HIT"));
    clock.advance(Duration::from_secs(2));

    // Stale: the old answer at once, while the refresh takes 500 ms.
    let started = Instant::now();
    let stale = send(&app, "GET", "/notes", &[("x-sleep-ms", "500")]).await;
    let took = started.elapsed();
    assert_eq!(seen(&stale), (200, Some("STALE"), "notes run 1".into()));
    assert!(
        took < Duration::from_millis(400),
        "stale answer took {took:?}"
    );

    // While it refreshes, requests get the stale answer and start no other
    // run (so the one above did not wait for it either).
    let again = get(&app, "/notes").await;
    assert_eq!(seen(&again), (200, Some("STALE"), "notes run 1".into()));

    let fresh = until_hit(&app, "/notes").await;
    assert_eq!(fresh.text(), "notes run 3");
    assert_eq!(runs(&counter), 3, "exactly one background refresh");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(runs(&counter), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_requests_on_a_stale_answer_run_the_handler_once() {
    let (app, counter, clock, _) = app();
    assert_eq!(get(&app, "/notes").await.text(), "notes run 1");
    clock.advance(Duration::from_secs(61));

    // The refresh takes a second; every request is answered before it ends.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let app = app.clone();
        tasks.spawn(async move { send(&app, "GET", "/notes", &[("x-sleep-ms", "1000")]).await });
    }
    while let Some(answer) = tasks.join_next().await {
        assert_eq!(
            seen(&answer.unwrap()),
            (200, Some("STALE"), "notes run 1".into())
        );
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(800),
        "200 stale answers took {took:?}"
    );
    assert_eq!(runs(&counter), 2, "the refresh is running");

    until_runs(&counter, 2).await;
    assert_eq!(until_hit(&app, "/notes").await.text(), "notes run 2");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(runs(&counter), 2, "one refresh for 200 stale requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_cold_misses_share_one_run() {
    let (app, counter, _, _) = app();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let app = app.clone();
        tasks.spawn(async move { send(&app, "GET", "/notes", &[("x-sleep-ms", "500")]).await });
    }
    while let Some(answer) = tasks.join_next().await {
        // MISS: waited for the one run (HIT only if a task started after it).
        let answer = answer.unwrap();
        assert_eq!(answer.text(), "notes run 1");
        assert!(matches!(
            answer.header("x-approute-cache"),
            Some("MISS" | "HIT")
        ));
    }
    assert_eq!(runs(&counter), 1);
    assert_eq!(seen(&get(&app, "/notes").await).1, Some("HIT"));
}

#[tokio::test]
async fn a_cancelled_run_lets_the_waiting_requests_go_on() {
    let (app, counter, _, _) = app();
    // The first request runs the handler, but its client goes away.
    let leader = {
        let app = app.clone();
        tokio::spawn(async move {
            let slow = send(&app, "GET", "/notes", &[("x-sleep-ms", "2000")]);
            tokio::time::timeout(Duration::from_millis(100), slow)
                .await
                .is_err()
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    // This one waits for that run; when it is dropped, it runs its own.
    let waiter = get(&app, "/notes").await;
    assert!(leader.await.unwrap(), "the first request was cancelled");
    assert_eq!(seen(&waiter), (200, Some("MISS"), "notes run 2".into()));
    assert_eq!(
        seen(&get(&app, "/notes").await),
        (200, Some("HIT"), "notes run 2".into())
    );
    assert_eq!(runs(&counter), 2);
}

#[tokio::test]
async fn head_is_answered_from_the_cached_get() {
    let (app, counter, _, _) = app();
    // A HEAD alone runs the handler and caches nothing.
    let cold = send(&app, "HEAD", "/notes", &[]).await;
    assert_eq!((cold.status, cold.body.len()), (200, 0));
    assert_eq!(cold.header("x-approute-cache"), None);
    assert_eq!(runs(&counter), 1);

    assert_eq!(
        seen(&get(&app, "/notes").await),
        (200, Some("MISS"), "notes run 2".into())
    );
    let head = send(&app, "HEAD", "/notes", &[]).await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("x-approute-cache"), Some("HIT"));
    assert_eq!(
        head.header("content-length"),
        Some("11"),
        "the GET body's length"
    );
    assert_eq!(
        head.header("cache-control"),
        Some("s-maxage=60, stale-while-revalidate")
    );
    assert_eq!(runs(&counter), 2);
}

#[tokio::test]
async fn only_200_answers_are_cached() {
    let (app, counter, _, _) = app();
    for (code, n) in [(404, 1), (404, 2), (500, 3), (500, 4), (201, 5), (201, 6)] {
        let a = get(&app, &format!("/status?code={code}")).await;
        assert_eq!(seen(&a), (code, None, format!("status run {n}")));
        assert_eq!(
            a.header("cache-control"),
            None,
            "no s-maxage on what is not cached"
        );
    }
    assert_eq!(seen(&get(&app, "/status?code=200").await).1, Some("MISS"));
    assert_eq!(seen(&get(&app, "/status?code=200").await).1, Some("HIT"));
    assert_eq!(runs(&counter), 7);
}

#[tokio::test]
async fn answers_that_set_a_cookie_are_not_cached() {
    let (app, counter, _, _) = app();
    for n in 1..=3 {
        let a = get(&app, "/cookie").await;
        assert_eq!(seen(&a), (200, None, format!("cookie run {n}")));
        assert_eq!(
            a.header("set-cookie"),
            Some(format!("session={n}").as_str())
        );
        assert_eq!(a.header("cache-control"), None);
    }
    assert_eq!(runs(&counter), 3);
}

#[tokio::test]
async fn credentialed_requests_bypass_the_cache_unless_the_route_opts_in() {
    let (app, counter, _, _) = app();
    for credentials in [("authorization", "Bearer a"), ("cookie", "session=a")] {
        for _ in 0..2 {
            let a = send(&app, "GET", "/private", &[credentials]).await;
            assert_eq!(a.header("x-approute-cache"), None, "{credentials:?}");
            assert_eq!(a.header("cache-control"), None);
        }
    }
    assert_eq!(runs(&counter), 4);
    // Anonymous requests are cached, and the cached answer is not given to
    // a request with credentials.
    assert_eq!(
        seen(&get(&app, "/private").await),
        (200, Some("MISS"), "private run 5".into())
    );
    assert_eq!(seen(&get(&app, "/private").await).1, Some("HIT"));
    let with = send(&app, "GET", "/private", &[("authorization", "Bearer b")]).await;
    assert_eq!(seen(&with), (200, None, "private run 6".into()));

    // CACHE_CREDENTIALED = true: one answer for everyone.
    let a = send(&app, "GET", "/shared", &[("authorization", "Bearer a")]).await;
    assert_eq!(seen(&a), (200, Some("MISS"), "shared run 7".into()));
    let b = send(&app, "GET", "/shared", &[("cookie", "session=b")]).await;
    assert_eq!(seen(&b), (200, Some("HIT"), "shared run 7".into()));
    assert_eq!(seen(&get(&app, "/shared").await).1, Some("HIT"));
    assert_eq!(runs(&counter), 7);
}

#[tokio::test]
async fn post_is_never_cached() {
    let (app, counter, _, _) = app();
    for n in 1..=3 {
        let a = send(&app, "POST", "/notes", &[]).await;
        assert_eq!(seen(&a), (200, None, format!("posted {n}")));
        assert_eq!(a.header("cache-control"), None);
    }
    assert_eq!(runs(&counter), 3);
}

#[tokio::test]
async fn routes_without_revalidate_are_never_cached() {
    let (app, counter, _, _) = app();
    for n in 1..=3 {
        let a = get(&app, "/uncached").await;
        assert_eq!(seen(&a), (200, None, format!("uncached run {n}")));
        assert_eq!(a.header("cache-control"), None);
    }
    assert_eq!(runs(&counter), 3);
}

#[tokio::test]
async fn a_tag_purge_from_a_handler_drops_every_answer_of_the_tag() {
    let (app, counter, _, _) = app();
    get(&app, "/notes").await;
    get(&app, "/notes?page=2").await;
    get(&app, "/users/7").await;
    assert_eq!(runs(&counter), 3);
    for target in ["/notes", "/notes?page=2", "/users/7"] {
        assert_eq!(seen(&get(&app, target).await).1, Some("HIT"), "{target}");
    }

    // POST /notes writes, then calls revalidate_tag("notes").
    assert_eq!(send(&app, "POST", "/notes", &[]).await.text(), "posted 4");
    assert_eq!(
        seen(&get(&app, "/notes").await),
        (200, Some("MISS"), "notes run 5".into())
    );
    assert_eq!(
        seen(&get(&app, "/notes?page=2").await),
        (200, Some("MISS"), "notes run 6".into())
    );
    assert_eq!(
        seen(&get(&app, "/users/7").await).1,
        Some("HIT"),
        "another tag"
    );

    // Any handler may purge any tag.
    send(&app, "POST", "/purge?tag=users", &[]).await;
    assert_eq!(
        seen(&get(&app, "/users/7").await),
        (200, Some("MISS"), "user 7 run 7".into())
    );
}

#[tokio::test]
async fn a_path_purge_drops_every_query_of_the_path() {
    let (app, counter, _, cache) = app();
    for target in ["/notes", "/notes?a=1", "/notes?b=2", "/users/7", "/users/8"] {
        assert_eq!(seen(&get(&app, target).await).1, Some("MISS"), "{target}");
    }
    send(&app, "POST", "/purge?path=/notes", &[]).await;
    for target in ["/notes", "/notes?a=1", "/notes?b=2"] {
        assert_eq!(seen(&get(&app, target).await).1, Some("MISS"), "{target}");
    }
    assert_eq!(seen(&get(&app, "/users/7").await).1, Some("HIT"));
    assert_eq!(runs(&counter), 8);

    // From outside a handler too, with a trailing slash or a query.
    cache.revalidate_path("/users/7/?x=1").await.unwrap();
    assert_eq!(seen(&get(&app, "/users/7").await).1, Some("MISS"));
    assert_eq!(seen(&get(&app, "/users/8").await).1, Some("HIT"));
}

#[tokio::test]
async fn a_handler_set_cache_control_is_kept() {
    let (app, counter, _, _) = app();
    let a = get(&app, "/own-cc").await;
    assert_eq!(seen(&a), (200, Some("MISS"), "own-cc run 1".into()));
    assert_eq!(a.header("cache-control"), Some("public, max-age=5"));
    let b = get(&app, "/own-cc").await;
    assert_eq!(seen(&b).1, Some("HIT"));
    assert_eq!(b.header("cache-control"), Some("public, max-age=5"));

    // no-store, no-cache and private also keep it out of this cache.
    for cc in ["no-store", "no-cache", "private,%20max-age=60"] {
        for _ in 0..2 {
            let a = get(&app, &format!("/own-cc?cc={cc}")).await;
            assert_eq!(a.header("x-approute-cache"), None, "{cc}");
        }
    }
    assert_eq!(runs(&counter), 7);
}

#[tokio::test]
async fn answers_over_8_mib_pass_through_uncached() {
    let (app, counter, _, _) = app();
    for _ in 0..2 {
        let a = get(&app, "/big?kib=9216").await;
        assert_eq!((a.status, a.body.len()), (200, 9216 * 1024));
        assert_eq!(a.header("x-approute-cache"), None);
    }
    assert_eq!(runs(&counter), 2);
    let a = get(&app, "/big?kib=8192").await;
    assert_eq!(
        (a.body.len(), a.header("x-approute-cache")),
        (8192 * 1024, Some("MISS"))
    );
    let a = get(&app, "/big?kib=8192").await;
    assert_eq!(
        (a.body.len(), a.header("x-approute-cache")),
        (8192 * 1024, Some("HIT"))
    );
    assert_eq!(runs(&counter), 3);
}

#[tokio::test]
async fn vary_keeps_answers_to_matching_requests() {
    let (app, _, _, cache) = app();
    let de = [("accept-language", "de")];
    let en = [("accept-language", "en")];
    assert_eq!(
        seen(&send(&app, "GET", "/vary", &de).await),
        (200, Some("MISS"), "de run 1".into())
    );
    assert_eq!(
        seen(&send(&app, "GET", "/vary", &de).await),
        (200, Some("HIT"), "de run 1".into())
    );
    // Never the German answer for an English request.
    assert_eq!(
        seen(&send(&app, "GET", "/vary", &en).await),
        (200, Some("MISS"), "en run 2".into())
    );
    assert_eq!(
        seen(&send(&app, "GET", "/vary", &en).await),
        (200, Some("HIT"), "en run 2".into())
    );
    assert_eq!(seen(&get(&app, "/vary").await).2, "none run 3");
    // Each variant keeps its own entry: the English one did not replace
    // the German one.
    assert_eq!(
        seen(&send(&app, "GET", "/vary", &de).await),
        (200, Some("HIT"), "de run 1".into())
    );
    assert_eq!(seen(&get(&app, "/vary").await).1, Some("HIT"));
    // Every value of a varied header counts, not only the first.
    let both = [("accept-language", "de"), ("accept-language", "en")];
    assert_eq!(
        seen(&send(&app, "GET", "/vary", &both).await),
        (200, Some("MISS"), "de run 4".into())
    );

    // A purge of the path drops every variant.
    cache.revalidate_path("/vary").await.unwrap();
    assert_eq!(seen(&send(&app, "GET", "/vary", &en).await).1, Some("MISS"));
    assert_eq!(seen(&send(&app, "GET", "/vary", &de).await).1, Some("MISS"));

    // `Vary: *`: the answer depends on more than headers; never kept.
    for n in [7, 8] {
        let star = send(&app, "GET", "/vary?vary=*", &de).await;
        assert_eq!(seen(&star), (200, None, format!("de run {n}")));
    }
}

#[tokio::test]
async fn the_refresh_runs_with_the_original_request() {
    let (app, counter, clock, _) = app();
    assert_eq!(get(&app, "/users/42").await.text(), "user 42 run 1");
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        seen(&get(&app, "/users/42").await),
        (200, Some("STALE"), "user 42 run 1".into())
    );
    // `Params` reads the matched route from the request's extensions.
    assert_eq!(until_hit(&app, "/users/42").await.text(), "user 42 run 2");
    assert_eq!(runs(&counter), 2);
}

/// The process-wide cache (no `Cache::layer`), over a real socket.
#[tokio::test]
async fn over_a_socket_with_the_process_cache() {
    let runs = Counter::default();
    let addr = support::serve(cache_app::router().with_state(runs.clone())).await;

    let a = support::raw(addr, "GET", "/notes?socket").await;
    assert_eq!(seen(&a), (200, Some("MISS"), "notes run 1".into()));
    assert_eq!(
        a.header("cache-control"),
        Some("s-maxage=60, stale-while-revalidate")
    );
    assert_eq!(a.header("content-length"), Some("11"));
    let b = support::raw(addr, "GET", "/notes?socket").await;
    assert_eq!(seen(&b), (200, Some("HIT"), "notes run 1".into()));
    assert_eq!(b.header("content-length"), Some("11"));

    let head = support::raw(addr, "HEAD", "/notes?socket").await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("x-approute-cache"), Some("HIT"));

    assert_eq!(
        support::raw(addr, "POST", "/purge?path=/notes")
            .await
            .text(),
        "purged"
    );
    let c = support::raw(addr, "GET", "/notes?socket").await;
    assert_eq!(seen(&c), (200, Some("MISS"), "notes run 2".into()));
    assert_eq!(runs.0.load(Ordering::SeqCst), 2);
}

/// `METHOD target` on its own connection, with `Host: host`.
async fn on_host(addr: SocketAddr, method: &str, host: &str, target: &str) -> Answer {
    support::raw_with(addr, method, target, &[("host", host)]).await
}

/// The fixture app nested twice, as one server answering for several
/// hosts, over a socket with `approute::serve` (so with the URL rules):
/// each prefix and each host has its own answers, and a purge names the
/// path the client sees and drops it for every host.
async fn keys_are_host_and_the_url_asked_for(cache: Cache) {
    let runs = Counter::default();
    let router = Router::new()
        .nest("/v1", cache_app::router())
        .nest("/v2", cache_app::router())
        .with_state(runs.clone())
        .layer(cache.layer());
    let addr = support::serve_approute(router).await;
    let get = |host: &'static str, target: &'static str| on_host(addr, "GET", host, target);
    let answer = |state: &str, n: u64| (200, Some(state.to_string()), format!("notes run {n}"));
    let seen = |a: Answer| {
        (
            a.status,
            a.header("x-approute-cache").map(str::to_string),
            a.text(),
        )
    };

    assert_eq!(seen(get("a.test", "/v1/notes").await), answer("MISS", 1));
    // Both nested routes see `/notes`; the entry made for /v1 was served here.
    assert_eq!(seen(get("a.test", "/v2/notes").await), answer("MISS", 2));
    assert_eq!(seen(get("a.test", "/v1/notes").await), answer("HIT", 1));
    assert_eq!(seen(get("a.test", "/v2/notes").await), answer("HIT", 2));
    // The URL rules resolve dot segments first: the same entry.
    assert_eq!(
        seen(get("a.test", "/v1/x/../notes").await),
        answer("HIT", 1)
    );

    // Another host never gets a.test's answer; a host's case is no matter.
    assert_eq!(seen(get("b.test", "/v1/notes").await), answer("MISS", 3));
    assert_eq!(seen(get("B.Test", "/v1/notes").await), answer("HIT", 3));
    assert_eq!(seen(get("a.test", "/v1/notes").await), answer("HIT", 1));
    // A Host that is no host name is served, uncached.
    let odd = get("a.test/v2", "/v1/notes").await;
    assert_eq!((odd.status, odd.header("x-approute-cache")), (200, None));
    assert_eq!(runs.0.load(Ordering::SeqCst), 4);

    // The path as the client sees it, for every host; /v2 stays.
    cache.revalidate_path("/v1/notes").await.unwrap();
    assert_eq!(seen(get("b.test", "/v1/notes").await), answer("MISS", 5));
    assert_eq!(seen(get("a.test", "/v1/notes").await), answer("MISS", 6));
    assert_eq!(seen(get("a.test", "/v2/notes").await), answer("HIT", 2));
    // From a handler under /v2, purging the other prefix's path.
    let purged = on_host(addr, "POST", "a.test", "/v2/purge?path=/v1/notes").await;
    assert_eq!(purged.text(), "purged");
    assert_eq!(seen(get("a.test", "/v1/notes").await), answer("MISS", 7));
    assert_eq!(seen(get("a.test", "/v2/notes").await), answer("HIT", 2));
}

#[tokio::test]
async fn keys_are_host_and_url_in_memory() {
    keys_are_host_and_the_url_asked_for(Cache::new(MemoryStore::new(1 << 20))).await;
}

mod redis_store {
    use approute::cache::RedisStore;

    use super::redis_server::{connection, start_redis, start_redis_on};
    use super::*;

    /// One server instance: its own `RedisStore` connection, cache, clock
    /// and handler counter; only Redis is shared.
    async fn instance(url: &str) -> (Router, Counter, ManualClock, Cache) {
        let store = RedisStore::connect(url).await.unwrap().prefix("test:");
        let clock = ManualClock::default();
        let cache = Cache::new(store).__with_clock(clock.clone());
        let runs = Counter::default();
        let router = cache_app::router()
            .with_state(runs.clone())
            .layer(cache.layer());
        (router, runs, clock, cache)
    }

    #[tokio::test]
    async fn keys_are_host_and_url_in_redis() {
        let Some(server) = start_redis().await else {
            return;
        };
        let store = RedisStore::connect(&server.url).await.unwrap();
        keys_are_host_and_the_url_asked_for(Cache::new(store.prefix("keys:"))).await;
    }

    /// Two stores on one Redis are two instances of an app: their
    /// `RATE_LIMIT` counters share each client's budget, and an outage lets
    /// requests through.
    #[tokio::test]
    async fn rate_limits_count_once_across_instances() {
        use approute::cache::CacheStore;
        use approute::rate_limit::{Hit, RateCounter, RateKey};

        async fn count(counter: &dyn RateCounter, key: RateKey) -> Option<(u64, Duration)> {
            let count = match counter.hit(key, Duration::from_secs(60)) {
                Hit::Now(count) => Some(count),
                Hit::Later(later) => later.await,
            };
            count.map(|c| (c.requests, c.resets_in))
        }

        let Some(mut server) = start_redis().await else {
            return;
        };
        let a = RedisStore::connect(&server.url).await.unwrap();
        let b = RedisStore::connect(&server.url).await.unwrap();
        let (a, b) = (a.rate_counter().unwrap(), b.rate_counter().unwrap());
        let alice = RateKey {
            route: "/api/auth/signin",
            client: "203.0.113.7".parse().unwrap(),
        };
        let bob = RateKey {
            client: "203.0.113.8".parse().unwrap(),
            ..alice
        };
        let mut seen = Vec::new();
        for counter in [&a, &b, &a, &b] {
            let (requests, resets_in) = count(&**counter, alice).await.unwrap();
            assert!(resets_in <= Duration::from_secs(60) && resets_in > Duration::from_secs(50));
            seen.push(requests);
        }
        assert_eq!(seen, [1, 2, 3, 4], "one budget across both instances");
        assert_eq!(count(&*b, bob).await.unwrap().0, 1, "each client its own");

        // Redis gone: the count fails, so the limiter lets the request by.
        server.child.kill().unwrap();
        let _ = server.child.wait();
        assert_eq!(count(&*a, alice).await, None);
    }

    #[tokio::test]
    async fn two_instances_share_answers_and_purges() {
        let Some(mut server) = start_redis().await else {
            return;
        };
        let (a, a_runs, a_clock, _) = instance(&server.url).await;
        let (b, b_runs, _, b_cache) = instance(&server.url).await;
        // B over a real socket, as a second server would be.
        let b_addr = support::serve(b.clone()).await;
        // In-process requests name the host the socket ones do: one entry.
        let host = b_addr.to_string();
        let host = [("host", host.as_str())];

        assert_eq!(
            seen(&send(&a, "GET", "/notes", &host).await),
            (200, Some("MISS"), "notes run 1".into())
        );
        let on_b = support::raw(b_addr, "GET", "/notes").await;
        assert_eq!(seen(&on_b), (200, Some("HIT"), "notes run 1".into()));
        assert_eq!(
            on_b.header("cache-control"),
            Some("s-maxage=60, stale-while-revalidate")
        );
        assert_eq!((runs(&a_runs), runs(&b_runs)), (1, 0));

        // Kept in Redis past its revalidate time (stale answers are served).
        let mut conn = connection(&server).await;
        let ttl: i64 = redis::cmd("TTL")
            .arg(format!("test:e:{b_addr}/notes"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((60 + 86_400 - 5..=60 + 86_400).contains(&ttl), "ttl {ttl}");

        // A tag purge on B (POST /notes calls revalidate_tag) is seen by A.
        assert_eq!(
            support::raw(b_addr, "POST", "/notes").await.text(),
            "posted 1"
        );
        assert_eq!(
            seen(&send(&a, "GET", "/notes", &host).await),
            (200, Some("MISS"), "notes run 2".into())
        );
        assert_eq!(
            seen(&support::raw(b_addr, "GET", "/notes").await),
            (200, Some("HIT"), "notes run 2".into())
        );

        // A path purge on A is seen by B, every query of the path.
        send(&a, "GET", "/notes?page=2", &host).await;
        assert_eq!(
            seen(&send(&b, "GET", "/notes?page=2", &host).await).1,
            Some("HIT")
        );
        send(&a, "POST", "/purge?path=/notes", &[]).await;
        assert_eq!(
            seen(&send(&b, "GET", "/notes", &host).await),
            (200, Some("MISS"), "notes run 2".into())
        );
        assert_eq!(
            seen(&send(&b, "GET", "/notes?page=2", &host).await).1,
            Some("MISS")
        );
        assert_eq!(runs(&b_runs), 3);

        // A refresh on A (its clock says stale) is served by B.
        a_clock.advance(Duration::from_secs(61));
        assert_eq!(
            seen(&send(&a, "GET", "/notes", &host).await).1,
            Some("STALE")
        );
        until_runs(&a_runs, 4).await;
        let started = Instant::now();
        loop {
            let on_b = send(&b, "GET", "/notes", &host).await;
            if on_b.text() == "notes run 4" {
                assert_eq!(on_b.header("x-approute-cache"), Some("HIT"));
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{on_b:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        // Redis gone: answers still come (the handler runs each time), and
        // purges report the failure.
        let _ = server.child.kill();
        let _ = server.child.wait();
        let started = Instant::now();
        for n in [5, 6] {
            let down = send(&a, "GET", "/notes", &host).await;
            assert_eq!((down.status, down.text()), (200, format!("notes run {n}")));
        }
        assert!(b_cache.revalidate_tag("notes").await.is_err());
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "with Redis down, requests took {took:?}"
        );

        // Redis back (empty): the store reconnects on its own.
        let _back = start_redis_on(server.port, &[]).await.unwrap();
        let started = Instant::now();
        loop {
            let answer = send(&a, "GET", "/notes?back", &host).await;
            if answer.header("x-approute-cache") == Some("HIT") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{answer:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            seen(&send(&b, "GET", "/notes?back", &host).await).1,
            Some("HIT")
        );
    }
}

/// The cache belongs inside a route's middleware, as in Next.js (where
/// `middleware.ts` runs before the cache is read): a guard must run for a
/// cached answer too.
async fn guarded_answers(app: &Router, counter: &Counter) {
    let key = [("x-key", "secret")];
    assert_eq!(
        seen(&send(app, "GET", "/guarded", &key).await),
        (200, Some("MISS"), "secret run 1".into())
    );
    assert_eq!(
        seen(&send(app, "GET", "/guarded", &key).await),
        (200, Some("HIT"), "secret run 1".into())
    );
    let without = get(app, "/guarded").await;
    assert_eq!(
        seen(&without),
        (401, None, "no key".into()),
        "the guard ran for a cached answer"
    );
    let head = send(app, "HEAD", "/guarded", &[]).await;
    assert_eq!(head.status, 401);
    assert_eq!(runs(counter), 1);
}

/// What `__private::cache_layer` is for: generated code wraps the `GET`
/// handler with it, inside the middleware. Built by hand here.
#[tokio::test]
async fn inside_middleware_the_guard_runs_for_cached_answers() {
    use approute::__private::{cache_layer, with_layer, with_middleware, MethodRouter};
    use approute::{RouteConfig, RouteInfo, UrlSegment};

    static INFO: RouteInfo = RouteInfo::__new(
        "/guarded",
        "app/guarded/route.rs",
        &["GET"],
        &[UrlSegment::Static],
        "GET, HEAD, OPTIONS",
        RouteConfig {
            revalidate: Some(60),
            ..RouteConfig::NONE
        },
    );
    let runs = Counter::default();
    let handler = {
        let runs = runs.clone();
        move || async move {
            let n = runs.0.fetch_add(1, Ordering::SeqCst) + 1;
            format!("secret run {n}")
        }
    };
    // As in fixtures/cache/app/guarded/middleware.rs.
    async fn guard(
        req: Request<Body>,
        next: approute::middleware::Next,
    ) -> approute::axum::response::Response {
        use approute::axum::response::IntoResponse;
        if req.headers().get("x-key").is_none_or(|v| v != "secret") {
            return (approute::axum::http::StatusCode::UNAUTHORIZED, "no key").into_response();
        }
        next.run(req).await
    }
    let methods = MethodRouter::new().get(with_middleware(
        guard,
        with_layer(cache_layer(&INFO), handler),
    ));
    let cache = Cache::new(MemoryStore::new(1 << 20));
    let app = Router::new()
        .route("/guarded", methods)
        .layer(cache.layer());
    guarded_answers(&app, &runs).await;
}

/// The generated routes, once codegen wraps the `GET` handler with
/// `cache_layer` (inside middleware) and `route()` no longer adds the
/// cache around the whole route.
#[tokio::test]
async fn generated_routes_run_their_guard_for_cached_answers() {
    let (app, counter, _, _) = app();
    guarded_answers(&app, &counter).await;
}

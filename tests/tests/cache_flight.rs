//! Single flight when the run fails, over a real socket with
//! `approute::serve` (which turns a panic into a `500`): the waiters of a
//! run that panics all get that run's `500` at once, instead of running
//! the handler one after another (8 requests took 8.1 s that way).

mod support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use approute::cache::{Cache, MemoryStore};
use approute_tests::{cache_app, Counter};
use support::Answer;

async fn start() -> (SocketAddr, Counter) {
    let runs = Counter::default();
    let cache = Cache::new(MemoryStore::new(1 << 20));
    let router = cache_app::router()
        .with_state(runs.clone())
        .layer(cache.layer());
    (support::serve_approute(router).await, runs)
}

/// `GET target` with `Accept: accept`, on its own connection.
async fn get(addr: SocketAddr, target: &str, accept: &str) -> Answer {
    support::raw_with(addr, "GET", target, &[("accept", accept)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_requests_on_a_panicking_handler_share_its_500() {
    let (addr, runs) = start().await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        tasks.spawn(async move {
            let answer = get(addr, "/panics", "*/*").await;
            (answer, started.elapsed())
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (answer, took) = done.unwrap();
        assert_eq!(answer.status, 500, "{}", answer.text());
        assert_eq!(
            answer.text(),
            "500 Internal Server Error: the handler panicked\n"
        );
        assert!(
            took < Duration::from_millis(2500),
            "one answer took {took:?}"
        );
    }
    let took = started.elapsed();
    eprintln!("cache_flight: 8 requests on a handler that panics after 1 s took {took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "8 requests took {took:?}"
    );
    assert_eq!(runs.0.load(Ordering::SeqCst), 1, "one run for all 8");
}

/// The framework's error answers differ by `Accept` and say so with `Vary:
/// Accept`; on a cached route they are never kept, so neither form is given
/// to a client that asked for the other.
#[tokio::test]
async fn framework_errors_on_a_cached_route_are_not_kept() {
    let (addr, runs) = start().await;
    let json = get(addr, "/panics", "application/json").await;
    assert_eq!(json.status, 500);
    assert_eq!(json.header("vary"), Some("Accept"));
    assert_eq!(json.header("x-approute-cache"), None);
    assert_eq!(json.json()["error"]["status"], 500);
    let text = get(addr, "/panics", "text/plain").await;
    assert_eq!(text.header("vary"), Some("Accept"));
    assert_eq!(
        text.text(),
        "500 Internal Server Error: the handler panicked\n"
    );
    assert_eq!(runs.0.load(Ordering::SeqCst), 2, "each ran the handler");
}

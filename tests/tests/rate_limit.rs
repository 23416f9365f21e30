//! Per-route RATE_LIMIT over a real socket, served as axum serves with
//! connect info. `APPROUTE_RATE_LIMITS` is read once per process, so each
//! setting runs in a child process of this test binary (`in_child_*`,
//! which do nothing when run directly).

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use approute::rate_limit::{Count, Hit, MemoryCounter, RateCounter, RateKey};
use approute_tests::{rate_limited, Counter};
use support::Answer;

/// Set in the child processes [`in_child`] starts.
const CHILD: &str = "APPROUTE_RATE_LIMIT_TEST_CHILD";

/// Runs the test `name` of this binary alone, in a child process with
/// `APPROUTE_RATE_LIMITS=setting`, and fails if it fails.
fn in_child(name: &str, setting: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("APPROUTE_RATE_LIMITS", setting)
        .output()
        .expect("run the test binary");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} with {setting}:\n{log}");
    assert!(log.contains("1 passed"), "{name} did not run:\n{log}");
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// The fixture app on a loopback port, with the peer address recorded.
async fn serve(runs: &Counter) -> SocketAddr {
    let router = rate_limited::router().with_state(runs.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { approute::axum::serve(listener, service).await.unwrap() });
    addr
}

/// One request on a fresh connection, with `headers`.
async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let exchange = support::raw_with(addr, method, path, headers);
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("an answer within 10 s")
}

/// The fixture app served for a child test (with its handler runs), or
/// `None` when the test runs directly.
async fn child_app() -> Option<(Counter, SocketAddr)> {
    if !is_child() {
        return None;
    }
    let runs = Counter::default();
    let addr = serve(&runs).await;
    Some((runs, addr))
}

#[test]
fn the_limit_applies() {
    in_child("in_child_the_limit_applies", "1");
}

#[tokio::test]
async fn in_child_the_limit_applies() {
    let Some((runs, addr)) = child_app().await else {
        return;
    };
    for n in 1..=3 {
        let answer = send(addr, "POST", "/signin", &[]).await;
        assert_eq!((answer.status, answer.text()), (200, format!("run {n}")));
    }
    let refused = send(addr, "POST", "/signin", &[]).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    assert!(refused.text().contains("RATE_LIMIT"), "{}", refused.text());
    assert_eq!(
        runs.0.load(Ordering::SeqCst),
        3,
        "the handler ran over the limit"
    );

    // a middleware's exemption lets the request through, uncounted
    let exempt = send(addr, "POST", "/signin", &[("x-exempt", "yes")]).await;
    assert_eq!((exempt.status, exempt.text()), (200, "run 4".to_string()));
    // the automatic answers do not count, and are not refused
    assert_eq!(send(addr, "OPTIONS", "/signin", &[]).await.status, 204);
    assert_eq!(send(addr, "GET", "/signin", &[]).await.status, 405);
    // a route without RATE_LIMIT is never counted
    for _ in 0..10 {
        assert_eq!(send(addr, "GET", "/open", &[]).await.status, 200);
    }

    // cached answers count too: one run, then two hits, then 429
    let before = runs.0.load(Ordering::SeqCst);
    for _ in 0..3 {
        let answer = send(addr, "GET", "/feed", &[]).await;
        assert_eq!((answer.status, answer.text()), (200, "feed 5".to_string()));
    }
    assert_eq!(runs.0.load(Ordering::SeqCst), before + 1);
    assert_eq!(send(addr, "GET", "/feed", &[]).await.status, 429);
}

#[test]
fn off_lifts_the_limits_and_a_factor_scales_them() {
    in_child("in_child_off_lifts_the_limits", "off");
    in_child("in_child_a_factor_scales_the_limits", "2");
}

#[tokio::test]
async fn in_child_off_lifts_the_limits() {
    let Some((runs, addr)) = child_app().await else {
        return;
    };
    for _ in 0..20 {
        assert_eq!(send(addr, "POST", "/signin", &[]).await.status, 200);
    }
    assert_eq!(runs.0.load(Ordering::SeqCst), 20);
}

#[tokio::test]
async fn in_child_a_factor_scales_the_limits() {
    let Some((_, addr)) = child_app().await else {
        return;
    };
    for _ in 0..6 {
        assert_eq!(send(addr, "POST", "/signin", &[]).await.status, 200);
    }
    assert_eq!(send(addr, "POST", "/signin", &[]).await.status, 429);
}

/// Under `approute::serve` behind a trusted proxy, each client the proxy
/// names in `X-Forwarded-For` has a budget of its own.
#[test]
fn behind_a_trusted_proxy_each_forwarded_client_counts() {
    in_child(
        "in_child_behind_a_trusted_proxy_each_forwarded_client_counts",
        "1",
    );
}

#[tokio::test]
async fn in_child_behind_a_trusted_proxy_each_forwarded_client_counts() {
    if !is_child() {
        return;
    }
    let router = rate_limited::router().with_state(Counter::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = approute::serve(router)
        .listener(listener)
        .trust_proxies(["127.0.0.1"])
        .shutdown_on(std::future::pending());
    tokio::spawn(server.run());
    let from = |client: &'static str| async move {
        send(addr, "POST", "/signin", &[("x-forwarded-for", client)]).await
    };
    for _ in 0..3 {
        assert_eq!(from("192.0.2.1").await.status, 200);
    }
    let refused = from("192.0.2.1").await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    assert_eq!(from("192.0.2.2").await.status, 200);
}

/// A counter that answers later (as one over a network does) is awaited,
/// and a failed count lets the request through.
#[test]
fn a_remote_counter_is_awaited_and_fails_open() {
    in_child("in_child_a_remote_counter_is_awaited_and_fails_open", "1");
}

#[tokio::test]
async fn in_child_a_remote_counter_is_awaited_and_fails_open() {
    if !is_child() {
        return;
    }
    /// Counts every key together; its 5th count fails, as a store that is down.
    struct Remote(std::sync::atomic::AtomicU64);
    impl RateCounter for Remote {
        fn hit(&self, _key: RateKey, _window: Duration) -> Hit {
            let requests = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Hit::Later(Box::pin(async move {
                tokio::task::yield_now().await;
                (requests != 5).then_some(Count {
                    requests,
                    resets_in: Duration::from_millis(1500),
                })
            }))
        }
    }
    assert!(approute::rate_limit::set_counter(Remote(Default::default())).is_ok());
    let Some((_, addr)) = child_app().await else {
        return;
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let answer = send(addr, "POST", "/signin", &[]).await;
        if answer.status == 429 {
            assert_eq!(answer.header("retry-after"), Some("2"));
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 200, 429]);
}

/// Without a peer address (here `oneshot`) the limit cannot apply: every
/// request goes through.
#[tokio::test]
async fn without_a_peer_address_the_limit_is_skipped() {
    let runs = Counter::default();
    let router = rate_limited::router().with_state(runs.clone());
    for _ in 0..10 {
        assert_eq!(support::call(&router, "POST", "/signin").await.status, 200);
    }
    assert_eq!(runs.0.load(Ordering::SeqCst), 10);
}

#[test]
fn the_route_table_shows_the_limit() {
    let signin = rate_limited::ROUTES
        .iter()
        .find(|r| r.route_id() == "/signin")
        .unwrap();
    assert_eq!(signin.config().rate_limit, Some((3, 60)));
    let line = signin.to_string();
    assert!(line.ends_with("  [rate limit: 3 per 60s]"), "{line}");
    let feed = rate_limited::ROUTES
        .iter()
        .find(|r| r.route_id() == "/feed")
        .unwrap()
        .to_string();
    assert!(
        feed.ends_with("[cache: revalidate 60s]  [rate limit: 3 per 60s]"),
        "{feed}"
    );
}

/// The table stays within its capacity however many clients come, and
/// its memory with it: 300,000 clients in a child process whose resident
/// set is read from /proc.
#[test]
fn the_counter_memory_is_bounded() {
    in_child("in_child_the_counter_memory_is_bounded", "1");
}

#[test]
fn in_child_the_counter_memory_is_bounded() {
    if !is_child() {
        return;
    }
    let counter = MemoryCounter::new(MemoryCounter::DEFAULT_CAPACITY);
    let minute = Duration::from_secs(60);
    let hit = |n: u32| match counter.hit(
        RateKey {
            route: "/signin",
            client: n.to_be_bytes().into(),
        },
        minute,
    ) {
        Hit::Now(Count { requests, .. }) => requests,
        Hit::Later(_) => unreachable!("in process"),
    };
    let before = rss_kib();
    for n in 0..300_000 {
        assert_eq!(hit(n), 1);
    }
    let grown = rss_kib().saturating_sub(before);
    let held = counter.len();
    eprintln!(
        "300000 clients: {held} windows held, RSS grew {} KiB",
        grown
    );
    assert!(held <= MemoryCounter::DEFAULT_CAPACITY, "{held} windows");
    assert!(
        held >= MemoryCounter::DEFAULT_CAPACITY / 4,
        "{held} windows"
    );
    assert!(grown < 32 * 1024, "RSS grew {grown} KiB");
    // a client seen a moment ago is still counted
    assert_eq!(hit(299_999), 2);
}

/// This process's resident set in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

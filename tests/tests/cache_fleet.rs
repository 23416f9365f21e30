//! Single flight across a fleet: three instances of the cache fixture app,
//! each its own process (this test binary re-run as `fleet_instance`)
//! with its own `RedisStore` connection to one `redis-server`, as three
//! servers behind a load balancer would be. 60 concurrent requests spread
//! over them, on a handler that takes 500 ms, run it once: for a cold URL
//! and for a stale answer. Killing the instance that runs it mid-run
//! delays the others by at most the lock's lifetime and one more run.

#[path = "support/redis_server.rs"]
mod redis_server;
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use approute::cache::{CacheStore, Purge, RedisStore};
use redis_server::start_redis;
use support::Answer;

/// Where a `fleet_instance` child finds Redis.
const REDIS_ENV: &str = "APPROUTE_FLEET_TEST_REDIS";
const PREFIX: &str = "fleet:";
/// What the instances send as `Host`, as a proxy in front of them would:
/// the host is part of the cache key.
const HOST: &str = "fleet.test";
const RUN: Duration = Duration::from_millis(500);
/// `RedisStore`'s default lock lifetime.
const LOCK_LIFETIME: Duration = Duration::from_secs(3);

/// Not a test: one instance of the fleet, which the tests below start as a
/// child process. Serves the cache fixture app with a `RedisStore` until
/// killed; `GET /fixture/runs` says how many handler runs it made.
#[test]
#[ignore = "an instance of the fleet, started by the fleet tests"]
fn fleet_instance() {
    use approute::axum::routing::get;
    use approute::axum::Router;
    use approute::cache::Cache;
    use approute_tests::{cache_app, Counter};
    use std::sync::atomic::Ordering;

    let Ok(url) = std::env::var(REDIS_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(async {
            let store = RedisStore::connect(&url).await.unwrap().prefix(PREFIX);
            let cache = Cache::new(store);
            let runs = Counter::default();
            let counted = runs.clone();
            let router = Router::new()
                .route(
                    "/fixture/runs",
                    get(move || async move { counted.0.load(Ordering::SeqCst).to_string() }),
                )
                .merge(cache_app::router().with_state(runs).layer(cache.layer()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("listening on {}", listener.local_addr().unwrap());
            approute::serve(router).listener(listener).run().await
        })
        .unwrap();
}

/// A `fleet_instance` child, killed on drop.
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_instance(redis_url: &str) -> Instance {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["fleet_instance", "--exact", "--ignored", "--nocapture"])
        .env(REDIS_ENV, redis_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("this test binary, as a fleet instance");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening on ")?.parse().ok())
        .expect("the instance says where it listens");
    Instance { child, addr }
}

/// Three instances on one Redis (`None` without `redis-server`).
async fn fleet() -> Option<(redis_server::RedisServer, Vec<Instance>)> {
    let redis = start_redis().await?;
    let instances = (0..3).map(|_| start_instance(&redis.url)).collect();
    Some((redis, instances))
}

/// `GET target` on `addr` as the proxy would send it, the handler asked to
/// take [`RUN`].
async fn slow_get(addr: SocketAddr, target: &str) -> Answer {
    let ms = RUN.as_millis().to_string();
    support::raw_with(
        addr,
        "GET",
        target,
        &[("host", HOST), ("x-sleep-ms", ms.as_str())],
    )
    .await
}

/// Handler runs across the fleet (of the instances still alive).
async fn runs(instances: &[&Instance]) -> u64 {
    let mut total = 0;
    for instance in instances {
        let answer = support::raw(instance.addr, "GET", "/fixture/runs").await;
        total += answer.text().parse::<u64>().unwrap();
    }
    total
}

/// 60 concurrent slow GETs of `target`, taking turns over `instances`.
async fn sixty_requests(instances: &[&Instance], target: &str) -> Vec<Answer> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let addr = instances[i % instances.len()].addr;
        let target = target.to_string();
        tasks.spawn(async move { slow_get(addr, &target).await });
    }
    tasks.join_all().await
}

/// `(status, x-approute-cache, body)`
fn seen(a: &Answer) -> (u16, Option<&str>, String) {
    (a.status, a.header("x-approute-cache"), a.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_url_runs_once_across_three_instances() {
    let Some((_redis, instances)) = fleet().await else {
        return;
    };
    let all: Vec<&Instance> = instances.iter().collect();
    let answers = sixty_requests(&all, "/notes?cold").await;
    let first = answers[0].text();
    for answer in &answers {
        assert_eq!(seen(answer), (200, Some("MISS"), first.clone()));
    }
    assert_eq!(
        runs(&all).await,
        1,
        "one run for 60 requests on 3 instances"
    );
    // And it is kept for all of them.
    for instance in &all {
        let answer =
            support::raw_with(instance.addr, "GET", "/notes?cold", &[("host", HOST)]).await;
        assert_eq!(seen(&answer), (200, Some("HIT"), first.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_answer_is_refreshed_once_across_three_instances() {
    let Some((redis, instances)) = fleet().await else {
        return;
    };
    let all: Vec<&Instance> = instances.iter().collect();
    let made = support::raw_with(all[0].addr, "GET", "/notes", &[("host", HOST)]).await;
    assert_eq!(seen(&made), (200, Some("MISS"), "notes run 1".into()));

    // Stale everywhere at once: the tag marked stale in the shared store.
    let store = RedisStore::connect(&redis.url)
        .await
        .unwrap()
        .prefix(PREFIX);
    store.mark_stale(&Purge::Tag("notes".into())).await.unwrap();

    for answer in sixty_requests(&all, "/notes").await {
        assert_eq!(seen(&answer), (200, Some("STALE"), "notes run 1".into()));
    }
    // The one refresh lands; then nothing else runs.
    let started = Instant::now();
    loop {
        let answer = support::raw_with(all[2].addr, "GET", "/notes", &[("host", HOST)]).await;
        if answer.header("x-approute-cache") == Some("HIT") {
            assert_eq!(
                answer.text().split(' ').take(2).collect::<Vec<_>>(),
                ["notes", "run"]
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never refreshed: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(RUN * 2).await;
    assert_eq!(runs(&all).await, 2, "the first run and one refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_holder_delays_the_others_by_at_most_the_lock_lifetime() {
    let Some((_redis, mut instances)) = fleet().await else {
        return;
    };
    // The first instance takes the lock and starts the run.
    let holder_addr = instances[0].addr;
    let holder_request = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // By hand: the answer never comes, which `support::raw` would panic at.
        let mut stream = tokio::net::TcpStream::connect(holder_addr).await?;
        let head = format!(
            "GET /notes?killed HTTP/1.1\r\nhost: {HOST}\r\nx-sleep-ms: {}\r\n\r\n",
            RUN.as_millis()
        );
        stream.write_all(head.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.map(|_| answer)
    });
    let started = Instant::now();
    while runs(&[&instances[0]]).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the run never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The others wait for it...
    let others: Vec<&Instance> = instances[1..].iter().collect();
    let waiting = {
        let addrs: Vec<SocketAddr> = others.iter().map(|i| i.addr).collect();
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..40 {
                let addr = addrs[i % addrs.len()];
                tasks.spawn(async move { (slow_get(addr, "/notes?killed").await, Instant::now()) });
            }
            tasks.join_all().await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...and it dies mid-run, its lock held.
    let mut holder = instances.remove(0);
    holder.child.kill().unwrap();
    let killed_at = Instant::now();
    holder.child.wait().unwrap();
    let answer = holder_request.await.unwrap().unwrap_or_default();
    assert!(answer.is_empty(), "the killed instance never answered");

    let answers = waiting.await.unwrap();
    let first = answers[0].0.text();
    let mut slowest = Duration::ZERO;
    for (answer, at) in &answers {
        assert_eq!(seen(answer), (200, Some("MISS"), first.clone()));
        slowest = slowest.max(at.saturating_duration_since(killed_at));
    }
    eprintln!("cache_fleet: the last waiter answered {slowest:?} after the holder was killed");
    let bound = LOCK_LIFETIME + RUN + Duration::from_millis(700);
    assert!(
        slowest < bound,
        "answered {slowest:?} after the kill, over {bound:?}"
    );
    let others: Vec<&Instance> = instances.iter().collect();
    assert_eq!(runs(&others).await, 1, "one of the survivors ran it, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_panics_gives_every_instance_its_500() {
    let Some((_redis, instances)) = fleet().await else {
        return;
    };
    let all: Vec<&Instance> = instances.iter().collect();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let addr = all[i % 3].addr;
        tasks.spawn(
            async move { support::raw_with(addr, "GET", "/panics", &[("host", HOST)]).await },
        );
    }
    for answer in tasks.join_all().await {
        assert_eq!(answer.status, 500, "{}", answer.text());
    }
    assert_eq!(runs(&all).await, 1, "the panicking handler ran once");
}

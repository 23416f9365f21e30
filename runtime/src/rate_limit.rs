//! Per-route `RATE_LIMIT`: `pub const RATE_LIMIT: (u32, u64) = (10, 60);`
//! lets one client make 10 requests to the route in 60 seconds; the 11th
//! gets `429 Too Many Requests` with `Retry-After`, and the handler does not
//! run.
//!
//! Where it sits: the route's middleware run first (a guard can exempt a
//! request by inserting [`RateLimitExempt`]), then the limiter, then the
//! answer cache, so a cached answer counts like any other. Only the route's
//! own handlers count, not the automatic `OPTIONS` and `405` answers. Only
//! routes that set `RATE_LIMIT` are wrapped: the others pay nothing.
//!
//! Three parts, each small so it can be swapped:
//! - [`client_of`], the one place that says who the client is;
//! - [`RateCounter`], which counts (in process by default,
//!   [`MemoryCounter`]; [`set_counter`] installs another, such as one that
//!   shares the budget of several instances);
//! - [`scale`], `APPROUTE_RATE_LIMITS`, read once per process, which lifts
//!   (`off`) or multiplies (`10`) every limit.
//!
//! Counting is a fixed window per route and client, started by the
//! client's first request: at most `requests` in that window, and
//! `Retry-After` says when it ends.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error;
use crate::route_info::RouteInfo;
use crate::ClientAddr;

/// A request extension that spares the request the route's `RATE_LIMIT`:
/// a middleware inserts it (`req.extensions_mut().insert(RateLimitExempt)`)
/// for, say, signed-in users; an exempt request is not counted either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitExempt;

/// The environment variable that lifts or scales every `RATE_LIMIT`: `off`
/// (or `0`) lifts them, a whole number multiplies them (`10`: ten times the
/// budget), unset or `1` keeps them. Read once, at the first limited
/// request.
pub const ENV_VAR: &str = "APPROUTE_RATE_LIMITS";

/// What [`ENV_VAR`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// No limit applies.
    Off,
    /// Every limit times this factor (1: as written).
    Times(u32),
}

impl Scale {
    /// `off`/`0` -> `Off`; `n` -> `Times(n)`; unset or empty -> `Times(1)`;
    /// anything else is `Err`, and the limits stay as written.
    pub fn parse(value: Option<&str>) -> Result<Scale, String> {
        let value = value.map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return Ok(Scale::Times(1));
        }
        if value.eq_ignore_ascii_case("off") {
            return Ok(Scale::Off);
        }
        match value.parse::<u32>() {
            Ok(0) => Ok(Scale::Off),
            Ok(n) => Ok(Scale::Times(n)),
            Err(_) => Err(format!(
                "{ENV_VAR}={value:?} is neither `off` nor a whole number; the limits stay as written"
            )),
        }
    }

    /// The requests allowed per window for a route allowing `requests`.
    fn budget(self, requests: u32) -> Option<u64> {
        match self {
            Scale::Off => None,
            Scale::Times(n) => Some(u64::from(requests) * u64::from(n)),
        }
    }
}

/// The process's [`Scale`], from [`ENV_VAR`] (read once).
pub fn scale() -> Scale {
    static SCALE: OnceLock<Scale> = OnceLock::new();
    *SCALE.get_or_init(|| {
        let value = std::env::var(ENV_VAR).ok();
        Scale::parse(value.as_deref()).unwrap_or_else(|why| {
            warn(&why);
            Scale::Times(1)
        })
    })
}

/// The client a request counts against, or `None` when the server gave no
/// peer address (a `Router` served without connect info, `oneshot` in
/// tests): then the limit cannot apply and is skipped.
///
/// The request's [`ClientAddr`]: the peer address (`ConnectInfo`), or
/// behind proxies `approute::serve(..).trust_proxies(..)` believes, the
/// first untrusted `X-Forwarded-For` hop. An IPv6 client counts by its /64
/// network, the block one host usually gets, so it cannot take a fresh
/// budget with each of its addresses. The one place that says who the
/// client is.
pub fn client_of(req: &Request) -> Option<IpAddr> {
    let ClientAddr(ip) = ClientAddr::from_extensions(req.extensions())?;
    Some(match ip {
        IpAddr::V6(ip) => {
            let network = u128::from(ip) & !(u128::MAX >> 64);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    })
}

/// What a counter is asked to count: one request of `client` to `route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateKey {
    /// The route id (`/api/auth/signin`).
    pub route: &'static str,
    pub client: IpAddr,
}

/// A client's count on a route after one more request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    /// Requests in the current window, this one included.
    pub requests: u64,
    /// Until the window ends (and the count starts again).
    pub resets_in: Duration,
}

/// A counter's answer: at once (in process), or later (over a network).
pub enum Hit {
    Now(Count),
    /// `None` when the counter could not count (its store is down): the
    /// request goes through (fail open), and the counter logs why.
    Later(Pin<Box<dyn Future<Output = Option<Count>> + Send>>),
}

/// Counts requests per route and client in fixed windows. The in-process
/// [`MemoryCounter`] is the default; a counter over a shared store (one
/// `INCR` with an expiry of `window` per hit) gives several instances one
/// budget, returning [`Hit::Later`].
pub trait RateCounter: Send + Sync + 'static {
    /// Counts one request for `key`, in a window of `window` that starts at
    /// the key's first request (or the first after the last window ended).
    fn hit(&self, key: RateKey, window: Duration) -> Hit;
}

impl RateCounter for Box<dyn RateCounter> {
    fn hit(&self, key: RateKey, window: Duration) -> Hit {
        (**self).hit(key, window)
    }
}

/// Installs the process's counter; call it before serving. Returns the
/// counter back if one is in use already (the first limited request
/// installs the default [`MemoryCounter`]).
pub fn set_counter<C: RateCounter>(counter: C) -> Result<(), C> {
    let mut counter = Some(counter);
    COUNTER.get_or_init(|| Box::new(counter.take().expect("taken once")));
    counter.map_or(Ok(()), Err)
}

static COUNTER: OnceLock<Box<dyn RateCounter>> = OnceLock::new();

fn counter() -> &'static dyn RateCounter {
    &**COUNTER.get_or_init(|| Box::new(MemoryCounter::new(MemoryCounter::DEFAULT_CAPACITY)))
}

/// Shards of a [`MemoryCounter`]: requests from different clients rarely
/// wait on one lock.
const SHARDS: usize = 16;

/// The in-process counter: at most `capacity` clients' windows (route and
/// client pairs) in memory, about 100 bytes each. When a shard is full the
/// ones not seen for longest go: each shard keeps two generations, a hit
/// moves its window into the newer one, and a full newer generation
/// replaces the older, dropping what was not seen since. A client evicted
/// so starts a fresh budget, so the cap is a bound on memory, not a way
/// around the limit for a client that keeps asking.
pub struct MemoryCounter {
    shards: Box<[Mutex<Generations>]>,
    /// Windows per generation per shard: two generations of every shard
    /// hold at most the capacity.
    generation_cap: usize,
    hasher: RandomState,
}

#[derive(Default)]
struct Generations {
    newer: HashMap<RateKey, Window>,
    older: HashMap<RateKey, Window>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    requests: u64,
}

impl MemoryCounter {
    /// 100,000 clients: about 10 MiB at most.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A counter keeping at most `capacity` windows (at least two per
    /// shard, so 32).
    pub fn new(capacity: usize) -> MemoryCounter {
        MemoryCounter {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            generation_cap: (capacity / (2 * SHARDS)).max(1),
            hasher: RandomState::new(),
        }
    }

    /// How many windows it holds now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let g = lock(shard);
                g.newer.len() + g.older.len()
            })
            .sum()
    }

    /// Whether it holds no window.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`RateCounter::hit`] at the time `now`.
    fn count(&self, key: RateKey, window: Duration, now: Instant) -> Count {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut g = lock(shard);
        let found = match g.newer.get_mut(&key) {
            Some(w) => Some(*w),
            None => g.older.remove(&key),
        };
        let mut w = match found {
            Some(w) if now.saturating_duration_since(w.started) < window => w,
            _ => Window {
                started: now,
                requests: 0,
            },
        };
        w.requests = w.requests.saturating_add(1);
        if !g.newer.contains_key(&key) && g.newer.len() >= self.generation_cap {
            g.older = std::mem::take(&mut g.newer);
        }
        g.newer.insert(key, w);
        Count {
            requests: w.requests,
            resets_in: (w.started + window).saturating_duration_since(now),
        }
    }
}

/// A poisoned shard only means a panic elsewhere mid-count: its numbers
/// are still numbers.
fn lock(shard: &Mutex<Generations>) -> std::sync::MutexGuard<'_, Generations> {
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

impl RateCounter for MemoryCounter {
    fn hit(&self, key: RateKey, window: Duration) -> Hit {
        Hit::Now(self.count(key, window, Instant::now()))
    }
}

/// Logs a warning (callers log each once per process), through `tracing`
/// when `serve` is on.
pub(crate) fn warn(message: &str) {
    #[cfg(feature = "serve")]
    tracing::warn!("approute: {message}");
    #[cfg(not(feature = "serve"))]
    eprintln!("approute: {message}");
}

/// Wraps a route's handler in its `RATE_LIMIT` (generated code calls it
/// for routes that set one). `route` is a closure so that the wrapper is
/// zero-sized, as [`crate::__private::Check`] is.
pub fn rate_limited<R, H>(route: R, handler: H) -> RateLimited<R, H> {
    RateLimited {
        route,
        inner: handler,
    }
}

/// A handler behind its route's `RATE_LIMIT`.
#[derive(Clone, Copy)]
pub struct RateLimited<R, H> {
    route: R,
    inner: H,
}

/// What to do with a request.
enum Decision {
    Run,
    Refuse(Response),
    Ask(Pin<Box<dyn Future<Output = Option<Count>> + Send>>, u64),
}

fn decide(info: &'static RouteInfo, req: &Request) -> Decision {
    let Some((requests, seconds)) = info.config().rate_limit else {
        return Decision::Run;
    };
    let Some(budget) = scale().budget(requests) else {
        return Decision::Run;
    };
    if req.extensions().get::<RateLimitExempt>().is_some() {
        return Decision::Run;
    }
    let Some(client) = client_of(req) else {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            warn(&format!(
                "RATE_LIMIT of {} is skipped: the server gives no peer address (serve the router with `approute::serve`, or axum's `into_make_service_with_connect_info::<SocketAddr>()`); said once",
                info.route_id()
            ));
        }
        return Decision::Run;
    };
    let key = RateKey {
        route: info.route_id(),
        client,
    };
    match counter().hit(key, Duration::from_secs(seconds)) {
        Hit::Now(count) => match over(info, budget, count) {
            Some(answer) => Decision::Refuse(answer),
            None => Decision::Run,
        },
        Hit::Later(count) => Decision::Ask(count, budget),
    }
}

/// The `429` when `count` is over `budget`.
fn over(info: &RouteInfo, budget: u64, count: Count) -> Option<Response> {
    if count.requests <= budget {
        return None;
    }
    let (requests, seconds) = info.config().rate_limit?;
    let mut answer = error::text(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "this route takes {requests} requests per {seconds} s from one client (its RATE_LIMIT)"
        ),
    );
    // Whole seconds, rounded up: a client retrying on time is let in.
    let left = count.resets_in;
    let retry = (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1);
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    Some(answer)
}

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<R, H, T, S> Handler<T, S> for RateLimited<R, H>
where
    R: Fn() -> &'static RouteInfo + Copy + Send + Sync + 'static,
    H: Handler<T, S>,
    S: Clone + Send + Sync + 'static,
    T: 'static,
{
    type Future = RateLimitedFuture<H::Future>;

    fn call(self, req: Request, state: S) -> Self::Future {
        let info = (self.route)();
        match decide(info, &req) {
            Decision::Run => RateLimitedFuture::Inner {
                future: self.inner.call(req, state),
            },
            Decision::Refuse(answer) => RateLimitedFuture::Answered {
                answer: Some(Box::new(answer)),
            },
            Decision::Ask(count, budget) => RateLimitedFuture::Later {
                future: Box::pin(async move {
                    match count.await.and_then(|count| over(info, budget, count)) {
                        Some(answer) => answer,
                        None => self.inner.call(req, state).await,
                    }
                }),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// What a [`RateLimited`] handler returns.
    #[project = RateLimitedFutureProj]
    pub enum RateLimitedFuture<F> {
        // Boxed: the rare path should not grow every request's future.
        Answered { answer: Option<Box<Response>> },
        Inner { #[pin] future: F },
        Later { future: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for RateLimitedFuture<F>
where
    F: Future<Output = Response>,
{
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.project() {
            RateLimitedFutureProj::Answered { answer } => Poll::Ready(match answer.take() {
                Some(answer) => *answer,
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }),
            RateLimitedFutureProj::Inner { future } => future.poll(cx),
            RateLimitedFutureProj::Later { future } => future.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> RateKey {
        RateKey {
            route: "/signin",
            client: IpAddr::from(n.to_be_bytes()),
        }
    }

    #[test]
    fn counts_in_fixed_windows() {
        let counter = MemoryCounter::new(1000);
        let minute = Duration::from_secs(60);
        let t0 = Instant::now();
        for n in 1..=3 {
            let count = counter.count(key(1), minute, t0 + Duration::from_secs(n));
            // the window started at the first, 1 s in
            assert_eq!(count.requests, n);
            assert_eq!(count.resets_in, minute - Duration::from_secs(n - 1));
        }
        // another client, another budget
        assert_eq!(counter.count(key(2), minute, t0).requests, 1);
        // the window ends 60 s after its first request
        let late = counter.count(key(1), minute, t0 + Duration::from_secs(61));
        assert_eq!((late.requests, late.resets_in), (1, minute));
    }

    #[test]
    fn holds_at_most_its_capacity_and_keeps_active_clients() {
        let counter = MemoryCounter::new(1000);
        let minute = Duration::from_secs(60);
        let now = Instant::now();
        for n in 0..100_000 {
            counter.count(key(n), minute, now);
            // a client that keeps asking is kept
            if n % 10 == 0 {
                counter.count(key(u32::MAX), minute, now);
            }
        }
        assert!(counter.len() <= 1000, "{}", counter.len());
        let count = counter.count(key(u32::MAX), minute, now);
        assert_eq!(count.requests, 10_001);
    }

    static INFO: RouteInfo = RouteInfo::__new(
        "/signin",
        "app/signin/route.rs",
        &["POST"],
        &[],
        "OPTIONS, POST",
        crate::RouteConfig {
            rate_limit: Some((10, 60)),
            ..crate::RouteConfig::NONE
        },
    );

    async fn post() -> &'static str {
        "hi"
    }

    /// Zero-sized around a `fn` handler, as the route's checks are: axum
    /// clones the boxed handler on every request.
    #[test]
    fn a_limited_fn_handler_is_zero_sized() {
        let limited = rate_limited(|| &INFO, post);
        assert_eq!(std::mem::size_of_val(&limited), 0);
        fn is_handler<T, H: Handler<T, ()>>(_: &H) {}
        is_handler(&limited);
    }

    #[test]
    fn scale_reads_off_factors_and_mistakes() {
        assert_eq!(Scale::parse(None), Ok(Scale::Times(1)));
        assert_eq!(Scale::parse(Some("")), Ok(Scale::Times(1)));
        assert_eq!(Scale::parse(Some("off")), Ok(Scale::Off));
        assert_eq!(Scale::parse(Some("OFF")), Ok(Scale::Off));
        assert_eq!(Scale::parse(Some("0")), Ok(Scale::Off));
        assert_eq!(Scale::parse(Some("10")), Ok(Scale::Times(10)));
        assert!(Scale::parse(Some("lots")).unwrap_err().contains(ENV_VAR));
        assert_eq!(Scale::Times(10).budget(10), Some(100));
        assert_eq!(Scale::Off.budget(10), None);
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_network() {
        use axum::extract::ConnectInfo;
        use std::net::SocketAddr;

        let client = |addr: &str| {
            let mut req = Request::new(axum::body::Body::empty());
            let peer: SocketAddr = addr.parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(peer));
            client_of(&req)
        };
        assert_eq!(
            client("[2001:db8:1:2:aaaa::1]:5000"),
            client("[2001:db8:1:2::9]:1")
        );
        assert_ne!(client("[2001:db8:1:2::1]:1"), client("[2001:db8:1:3::1]:1"));
        assert_eq!(
            client("[::ffff:10.0.0.1]:1"),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(client("10.0.0.1:1"), client("10.0.0.1:2"));
        assert_eq!(client_of(&Request::new(axum::body::Body::empty())), None);
        // behind a trusted proxy, the client it names
        let mut req = Request::new(axum::body::Body::empty());
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 1))));
        req.extensions_mut()
            .insert(ClientAddr("192.0.2.7".parse().unwrap()));
        assert_eq!(client_of(&req), Some("192.0.2.7".parse().unwrap()));
    }
}

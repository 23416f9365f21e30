//! The per-route cache: a layer over the service that runs a route's
//! handler (each endpoint of its `MethodRouter`, as `route()` adds it, or
//! the `GET` handler alone through `with_layer`). That service is
//! cloneable, so a stale answer is refreshed in the background by running
//! a clone with the request that found it stale.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::answer::{Answer, CachedAnswer};
use super::body::buffer;
use super::error::{report, Error};
use super::fleet::{Across, DEFAULT_FLEET_WAIT};
use super::flight::{catching, wait, Ended, Flight, Turn};
use super::key::CacheKey;
use super::policy::{cacheable_request, cacheable_response};
use super::purge_check::PurgeMark;
use super::Cache;
use crate::compress::{self, Compression};
use crate::error;
use crate::route_info::RouteInfo;

const X_CACHE: HeaderName = HeaderName::from_static("x-approute-cache");
const HIT: HeaderValue = HeaderValue::from_static("HIT");
const MISS: HeaderValue = HeaderValue::from_static("MISS");
const STALE: HeaderValue = HeaderValue::from_static("STALE");

/// Caches the `GET` answers of one route: a tower layer over a cloneable
/// service (a route's `MethodRouter` endpoints, or one handler through
/// `with_layer`). For a route without `REVALIDATE` it changes nothing.
#[derive(Clone, Copy, Debug)]
pub struct RouteCacheLayer {
    info: &'static RouteInfo,
    revalidate: u64,
}

impl RouteCacheLayer {
    /// `None` for a route without `REVALIDATE`.
    pub(crate) fn new(info: &'static RouteInfo) -> Option<RouteCacheLayer> {
        let revalidate = info.config().revalidate?;
        Some(RouteCacheLayer { info, revalidate })
    }
}

impl RouteCacheLayer {
    /// How long to wait for another instance's run: as long as the route
    /// may run.
    fn fleet_wait(&self) -> Duration {
        self.info
            .config()
            .max_duration
            .map_or(DEFAULT_FLEET_WAIT, Duration::from_secs)
    }
}

/// The cache layer of a route, for generated code that wraps the `GET`
/// handler itself (inside the route's middleware). A route without
/// `REVALIDATE` gets a layer that caches nothing.
pub fn cache_layer(info: &'static RouteInfo) -> RouteCacheLayer {
    RouteCacheLayer::new(info).unwrap_or(RouteCacheLayer {
        info,
        revalidate: 0,
    })
}

impl<S> Layer<S> for RouteCacheLayer {
    type Service = RouteCache<S>;

    fn layer(&self, inner: S) -> RouteCache<S> {
        RouteCache {
            inner,
            route: *self,
        }
    }
}

/// The service of [`RouteCacheLayer`].
#[derive(Clone, Debug)]
pub struct RouteCache<S> {
    inner: S,
    route: RouteCacheLayer,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project_lite::pin_project! {
    #[project = CacheFutureProj]
    /// The future of [`RouteCache`].
    pub enum CacheFuture<F> {
        Pass { #[pin] future: F },
        Cached { future: BoxFuture },
    }
}

impl<F> Future for CacheFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CacheFutureProj::Pass { future } => future.poll(cx),
            CacheFutureProj::Cached { future } => future.as_mut().poll(cx),
        }
    }
}

impl<S> Service<Request> for RouteCache<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CacheFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let key = match self.route.revalidate {
            0 => None,
            _ if !cacheable_request(&req, self.route.info) => None,
            _ => CacheKey::of_request(&req),
        };
        let Some(key) = key else {
            return CacheFuture::Pass {
                future: self.inner.call(req),
            };
        };
        // The ready service serves this request; a clone waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        CacheFuture::Cached {
            future: Box::pin(lookup_or_run(self.route, inner, req, key)),
        }
    }
}

/// Answers from the cache (fresh, or stale while one background run
/// refreshes it), else runs the handler once for all concurrent requests
/// for the key and keeps its answer if it may be kept.
async fn lookup_or_run<S>(
    route: RouteCacheLayer,
    inner: S,
    req: Request,
    key: CacheKey,
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let cache = Cache::current();
    let compression = Compression::of_request(req.extensions());
    let sent = |answer: &CachedAnswer, state, req: &Request| {
        cached_response(answer, state, req.headers(), &compression)
    };
    loop {
        let found = lookup(&cache, &key, req.headers()).await;
        if let Some(answer) = found.answer {
            if answer.is_fresh(cache.now_ms(), route.revalidate) {
                return Ok(sent(&answer, HIT, &req));
            }
            let response = sent(&answer, STALE, &req);
            if let Turn::Lead(flight) = cache.flight(key.as_str()) {
                let stale_since = answer.stored_at_ms();
                let refresh = refresh(cache.clone(), route, inner, req, key, stale_since, flight);
                tokio::spawn(cache.scope(refresh));
            }
            return Ok(response);
        }
        // A `HEAD` is answered from a cached `GET` answer but never makes one.
        if req.method() == Method::HEAD {
            return inner.oneshot(req).await;
        }
        match cache.flight(key.as_str()) {
            Turn::Wait(outcome) => match wait(outcome).await {
                Some(Ended::Answered(Some(answer))) if answer.suits(req.headers()) => {
                    return Ok(sent(&answer, MISS, &req))
                }
                // Not cacheable, or made for other `Vary` values: run it too.
                Some(Ended::Answered(_)) => return inner.oneshot(req).await,
                // What the run's own request got (`serve` gives it its body).
                Some(Ended::Panicked) => return Ok(panicked()),
                // The run was cancelled: look again, with every other waiter.
                None => continue,
            },
            Turn::Lead(mut flight) => {
                let headers = req.headers();
                let made = || async { lookup(&cache, &key, headers).await.answer };
                match flight.across_fleet(&cache, route.fleet_wait(), made).await {
                    Across::Run => {}
                    Across::Made(answer) => {
                        flight.finish(Some(answer.clone()));
                        return Ok(sent(&answer, MISS, &req));
                    }
                    Across::Panicked => {
                        flight.panicked();
                        return Ok(panicked());
                    }
                }
                // It may have been stored since the lookup above.
                let (found, purges) = lookup_before_run(&cache, &key, req.headers()).await;
                if let Some(answer) = found.answer {
                    if answer.is_fresh(cache.now_ms(), route.revalidate) {
                        flight.finish(Some(answer.clone()));
                        return Ok(sent(&answer, HIT, &req));
                    }
                }
                let headers = req.headers().clone();
                let response = match catching(inner.oneshot(req)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(panic) => {
                        flight.panicked();
                        std::panic::resume_unwind(panic)
                    }
                };
                let made = Made {
                    key: &key,
                    base: found.base,
                    request: &headers,
                    purges,
                    compression,
                };
                let (response, answer) = keep(&cache, route, made, response).await;
                flight.finish(answer);
                return Ok(response);
            }
        }
    }
}

/// What a lookup found.
struct Found {
    /// The answer for the request (its `Vary` values match).
    answer: Option<CachedAnswer>,
    /// The answer under the key without `Vary` values, whichever variant
    /// it is: it says which headers the route's answers vary on.
    base: Option<CachedAnswer>,
}

/// The answer for a request with `headers` under `key`: the one kept under
/// the key itself, or, when that one is for other values of the headers
/// its `Vary` names, the variant for this request's values.
async fn lookup(cache: &Cache, key: &CacheKey, headers: &HeaderMap) -> Found {
    let base = get(cache, key).await;
    with_variant(cache, key, headers, base).await
}

/// [`lookup`] just before the handler runs: notes where purges stand, in
/// the same read as the answer.
async fn lookup_before_run(
    cache: &Cache,
    key: &CacheKey,
    headers: &HeaderMap,
) -> (Found, PurgeMark) {
    let (base, purges) = cache.get_before_run(key).await;
    let base = base.unwrap_or_else(|e| {
        report("lookup", &e);
        None
    });
    (with_variant(cache, key, headers, base).await, purges)
}

/// What `base` (kept under `key`) means for a request with `headers`.
async fn with_variant(
    cache: &Cache,
    key: &CacheKey,
    headers: &HeaderMap,
    base: Option<CachedAnswer>,
) -> Found {
    let answer = match &base {
        Some(answer) if answer.suits(headers) => Some(answer.clone()),
        Some(answer) if answer.varies() => {
            let variant = key.variant(answer.vary_names(), headers);
            get(cache, &variant).await.filter(|a| a.suits(headers))
        }
        _ => None,
    };
    Found { answer, base }
}

async fn get(cache: &Cache, key: &CacheKey) -> Option<CachedAnswer> {
    cache.store().get(key).await.unwrap_or_else(|e| {
        report("lookup", &e);
        None
    })
}

/// Runs the handler again for a stale answer, in the background, with the
/// request that found it stale (as a `GET` without a body).
async fn refresh<S>(
    cache: Cache,
    route: RouteCacheLayer,
    inner: S,
    mut req: Request,
    key: CacheKey,
    stale_since: u64,
    flight: Flight,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut flight = flight;
    let headers = req.headers();
    let made = || async {
        let found = lookup(&cache, &key, headers).await.answer;
        found.filter(|answer| answer.stored_at_ms() > stale_since)
    };
    match flight.across_fleet(&cache, route.fleet_wait(), made).await {
        Across::Run => {}
        Across::Made(answer) => return flight.finish(Some(answer)),
        Across::Panicked => return flight.panicked(),
    }
    // Another refresh stored an answer after the stale read that started
    // this one: this one's work is done (if that answer is stale by now, the
    // next request starts its own refresh).
    let (found, purges) = lookup_before_run(&cache, &key, req.headers()).await;
    if let Some(answer) = found.answer {
        if answer.stored_at_ms() > stale_since {
            return flight.finish(Some(answer));
        }
    }
    let compression = Compression::of_request(req.extensions());
    *req.method_mut() = Method::GET;
    *req.body_mut() = Body::empty();
    req.headers_mut().remove(header::CONTENT_LENGTH);
    req.headers_mut().remove(header::TRANSFER_ENCODING);
    let headers = req.headers().clone();
    let run = catching(inner.oneshot(req));
    let response = match route.info.config().max_duration {
        Some(seconds) => match tokio::time::timeout(Duration::from_secs(seconds), run).await {
            Ok(response) => response,
            // Over MAX_DURATION: the stale answer stays, and so does the
            // chance for the next request to try again.
            Err(_elapsed) => return,
        },
        None => run.await,
    };
    let response = match response {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        // The stale answer stays; cold requests waiting on it get a 500.
        Err(_panic) => {
            report("refresh", &Error::new("the handler panicked"));
            return flight.panicked();
        }
    };
    let made = Made {
        key: &key,
        base: found.base,
        request: &headers,
        purges,
        compression,
    };
    let (_, answer) = keep(&cache, route, made, response).await;
    flight.finish(answer);
}

/// Where a handler's answer came from, for [`keep`].
struct Made<'a> {
    /// The request's key, without `Vary` values.
    key: &'a CacheKey,
    /// What was kept under `key` when the handler started.
    base: Option<CachedAnswer>,
    /// The request's headers.
    request: &'a HeaderMap,
    /// Where purges stood when the handler started.
    purges: PurgeMark,
    /// How the server compresses: the encodings the answer is kept in.
    compression: Compression,
}

impl Made<'_> {
    /// Where to keep an answer that varies on `vary`: under the key itself,
    /// unless that holds another variant of the same `Vary` (which stays).
    fn store_key(&self, vary: &[(HeaderName, Option<HeaderValue>)]) -> CacheKey {
        match &self.base {
            Some(base)
                if !base.suits(self.request)
                    && base.vary_names().eq(vary.iter().map(|(name, _)| name)) =>
            {
                self.key
                    .variant(vary.iter().map(|(name, _)| name), self.request)
            }
            _ => self.key.clone(),
        }
    }
}

/// Stores `response` if it may be cached; gives back what to send and the
/// answer kept.
async fn keep(
    cache: &Cache,
    route: RouteCacheLayer,
    made: Made<'_>,
    response: Response,
) -> (Response, Option<CachedAnswer>) {
    let Some(mut vary) = cacheable_response(&response, made.request) else {
        return (response, None);
    };
    // The encoding is chosen per hit among the forms kept, so a handler's
    // `Vary: Accept-Encoding` must not keep one answer per raw header
    // value, unless the handler chose the encoding itself.
    if !response.headers().contains_key(header::CONTENT_ENCODING) {
        vary.retain(|(name, _)| name != header::ACCEPT_ENCODING);
    }
    let (parts, body) = response.into_parts();
    let body = match buffer(body, cache.max_body_len()).await {
        Ok(body) => body,
        Err(body) => return (Response::from_parts(parts, body), None),
    };
    // A map with room for just these headers: it lives as long as the entry.
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    headers.extend(parts.headers);
    for hop in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        X_CACHE,
    ] {
        headers.remove(hop);
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        let value = format!("s-maxage={}, stale-while-revalidate", route.revalidate);
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::try_from(value).expect("digits and ASCII"),
        );
    }
    let store_key = made.store_key(&vary);
    let variants = compress::stored_forms(parts.status, &headers, &body, &made.compression);
    let answer = CachedAnswer::new(Answer {
        status: parts.status,
        headers,
        body,
        path: made.key.path().to_string(),
        tags: route
            .info
            .config()
            .cache_tags
            .iter()
            .map(|t| t.to_string())
            .collect(),
        vary,
        stored_at: cache.now_ms(),
        revalidate: route.revalidate,
        variants,
    });
    // A purge while the handler ran may have been for the data it read:
    // then the answer is sent but not stored.
    let stored = cache.put_unless_purged(&store_key, answer.clone(), made.purges);
    if let Err(e) = stored.await {
        report("store", &e);
    }
    let response = cached_response(&answer, MISS, made.request, &made.compression);
    (response, Some(answer))
}

/// What the requests waiting on a run that panicked get (what the run's
/// own request got: `serve` gives it its body).
fn panicked() -> Response {
    error::bare(StatusCode::INTERNAL_SERVER_ERROR, "the handler panicked")
}

/// The answer as a response, marked `HIT`, `MISS` or `STALE`, in the
/// encoding the request takes best among the forms kept.
fn cached_response(
    answer: &CachedAnswer,
    state: HeaderValue,
    request: &HeaderMap,
    compression: &Compression,
) -> Response {
    let encoding = compression.choose(request, |e| answer.compressed(e).is_some());
    let body = encoding
        .and_then(|e| answer.compressed(e))
        .unwrap_or(answer.body());
    let mut response = Response::new(Body::from(body.clone()));
    *response.status_mut() = answer.status();
    *response.headers_mut() = answer.headers().clone();
    response.headers_mut().insert(X_CACHE, state);
    let varies = answer.has_variants() && compression.is_on();
    compress::send_stored(&mut response, encoding, varies);
    response
}

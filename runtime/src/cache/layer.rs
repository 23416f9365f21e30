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
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::answer::{Answer, CachedAnswer};
use super::body::buffer;
use super::error::report;
use super::flight::{wait, Flight, Turn};
use super::policy::{cacheable_request, cacheable_response, key_of};
use super::Cache;
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
        if self.route.revalidate == 0 || !cacheable_request(&req, self.route.info) {
            return CacheFuture::Pass {
                future: self.inner.call(req),
            };
        }
        // The ready service serves this request; a clone waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        CacheFuture::Cached {
            future: Box::pin(lookup_or_run(self.route, inner, req)),
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
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let cache = Cache::current();
    let key = key_of(req.uri());
    loop {
        if let Some(answer) = lookup(&cache, &key, req.headers()).await {
            if answer.is_fresh(cache.now_ms(), route.revalidate) {
                return Ok(cached_response(&answer, HIT));
            }
            if let Turn::Lead(flight) = cache.flight(&key) {
                let refresh = refresh(
                    cache.clone(),
                    route,
                    inner,
                    req,
                    answer.stored_at_ms(),
                    flight,
                );
                tokio::spawn(cache.scope(refresh));
            }
            return Ok(cached_response(&answer, STALE));
        }
        // A `HEAD` is answered from a cached `GET` answer but never makes one.
        if req.method() == Method::HEAD {
            return inner.oneshot(req).await;
        }
        match cache.flight(&key) {
            Turn::Wait(outcome) => match wait(outcome).await {
                Some(Some(answer)) if answer.suits(req.headers()) => {
                    return Ok(cached_response(&answer, MISS))
                }
                // Not cacheable, or made for other `Vary` values: run it too.
                Some(_) => return inner.oneshot(req).await,
                // The run was cancelled: look again.
                None => continue,
            },
            Turn::Lead(flight) => {
                // It may have been stored since the lookup above.
                if let Some(answer) = lookup(&cache, &key, req.headers()).await {
                    if answer.is_fresh(cache.now_ms(), route.revalidate) {
                        flight.finish(Some(answer.clone()));
                        return Ok(cached_response(&answer, HIT));
                    }
                }
                let purges = cache.purge_count();
                let headers = req.headers().clone();
                let response = inner.oneshot(req).await?;
                let (response, answer) =
                    keep(&cache, route, &key, &headers, response, purges).await;
                flight.finish(answer);
                return Ok(response);
            }
        }
    }
}

/// The answer under `key` that may answer a request with `headers`.
async fn lookup(cache: &Cache, key: &str, headers: &HeaderMap) -> Option<CachedAnswer> {
    match cache.store().get(key).await {
        Ok(answer) => answer.filter(|a| a.suits(headers)),
        Err(e) => {
            report("lookup", &e);
            None
        }
    }
}

/// Runs the handler again for a stale answer, in the background, with the
/// request that found it stale (as a `GET` without a body).
async fn refresh<S>(
    cache: Cache,
    route: RouteCacheLayer,
    inner: S,
    mut req: Request,
    stale_since: u64,
    flight: Flight,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let key = key_of(req.uri());
    // Another refresh may have finished between our lookup and our turn.
    if let Some(answer) = lookup(&cache, &key, req.headers()).await {
        if answer.stored_at_ms() > stale_since && answer.is_fresh(cache.now_ms(), route.revalidate)
        {
            flight.finish(Some(answer));
            return;
        }
    }
    *req.method_mut() = Method::GET;
    *req.body_mut() = Body::empty();
    req.headers_mut().remove(header::CONTENT_LENGTH);
    req.headers_mut().remove(header::TRANSFER_ENCODING);
    let purges = cache.purge_count();
    let headers = req.headers().clone();
    let run = inner.oneshot(req);
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
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (_, answer) = keep(&cache, route, &key, &headers, response, purges).await;
    flight.finish(answer);
}

/// Stores `response` if it may be cached; gives back what to send and the
/// answer kept.
async fn keep(
    cache: &Cache,
    route: RouteCacheLayer,
    key: &str,
    request: &HeaderMap,
    response: Response,
    purges: u64,
) -> (Response, Option<CachedAnswer>) {
    let Some(vary) = cacheable_response(&response, request) else {
        return (response, None);
    };
    let (parts, body) = response.into_parts();
    let body = match buffer(body, cache.max_body_len()).await {
        Ok(body) => body,
        Err(body) => return (Response::from_parts(parts, body), None),
    };
    let mut headers = parts.headers;
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
    let answer = CachedAnswer::new(Answer {
        status: parts.status,
        headers,
        body,
        path: key.split('?').next().unwrap_or_default().to_string(),
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
    });
    // A purge while the handler ran may have been for the data it read.
    if cache.purge_count() == purges {
        if let Err(e) = cache.store().put(key, answer.clone()).await {
            report("store", &e);
        }
    }
    (cached_response(&answer, MISS), Some(answer))
}

/// The answer as a response, marked `HIT`, `MISS` or `STALE`.
fn cached_response(answer: &CachedAnswer, state: HeaderValue) -> Response {
    let mut response = Response::new(Body::from(answer.body().clone()));
    *response.status_mut() = answer.status();
    *response.headers_mut() = answer.headers().clone();
    response.headers_mut().insert(X_CACHE, state);
    response
}

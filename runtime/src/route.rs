//! What wraps every generated route: the checks Next.js makes before a
//! handler runs (trailing slash, percent-encoding), the automatic `OPTIONS`
//! answer, and the hand-off of the matched route to [`crate::Params`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, OriginalUri, Request};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use http_body_util::Limited;
use tower_layer::Layer;
use tower_service::Service;

use crate::params::valid_path;
use crate::route_info::RouteInfo;

/// How the router treats a trailing slash; set with
/// `approute::app!(trailing_slash = ...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrailingSlash {
    Redirect,
    Add,
    Both,
}

/// The route a request matched, for [`crate::Params`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatchedRoute(pub(crate) &'static RouteInfo);

/// Finishes a generated route: every request passes its checks first.
pub fn route<S>(
    info: &'static RouteInfo,
    slash: TrailingSlash,
    methods: MethodRouter<S>,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let methods = match info.config().body_limit {
        // Extractors (`Json`, `Bytes`, ...) read up to this limit.
        Some(limit) => methods.layer(DefaultBodyLimit::max(limit)),
        None => methods,
    };
    methods.layer(RouteLayer { info, slash })
}

/// The `OPTIONS` answer of a route that exports none: 204 with `Allow`.
pub fn auto_options<S>(info: &'static RouteInfo) -> impl Handler<((),), S>
where
    S: Clone + Send + Sync + 'static,
{
    let allow = HeaderValue::from_static(info.allow());
    move || async move { (StatusCode::NO_CONTENT, [(header::ALLOW, allow)]).into_response() }
}

/// 405 with `Allow`, for routes whose middleware must see it too (axum's
/// own 405 would bypass them).
pub fn method_not_allowed<S>(info: &'static RouteInfo) -> impl Handler<((),), S>
where
    S: Clone + Send + Sync + 'static,
{
    let allow = HeaderValue::from_static(info.allow());
    move || async move { (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, allow)]).into_response() }
}

/// A 308 to the same URL without its trailing slash, query kept.
pub fn redirect_without_slash<S: Clone + Send + Sync + 'static>() -> MethodRouter<S> {
    any(|req: Request| async move { redirect(&req, |path| path.trim_end_matches('/').to_string()) })
}

/// A 308 to the same URL with a trailing slash, query kept.
pub fn redirect_with_slash<S: Clone + Send + Sync + 'static>() -> MethodRouter<S> {
    any(|req: Request| async move { redirect(&req, |path| format!("{path}/")) })
}

/// The URL as the client sent it: nesting strips a prefix from `uri()`,
/// but a `Location` must carry it.
fn original_uri(req: &Request) -> &Uri {
    req.extensions()
        .get::<OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(req.uri())
}

fn redirect(req: &Request, change: impl Fn(&str) -> String) -> Response {
    let uri = original_uri(req);
    let mut path = change(uri.path());
    // `//evil.example` would be a protocol-relative URL: an open redirect.
    if path.starts_with("//") {
        path = format!("/{}", path.trim_start_matches('/'));
    }
    if path.is_empty() {
        path.push('/');
    }
    let location = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[derive(Clone, Copy)]
struct RouteLayer {
    info: &'static RouteInfo,
    slash: TrailingSlash,
}

impl<S> Layer<S> for RouteLayer {
    type Service = RouteService<S>;

    fn layer(&self, inner: S) -> RouteService<S> {
        RouteService {
            inner,
            info: self.info,
            slash: self.slash,
        }
    }
}

#[derive(Clone)]
struct RouteService<S> {
    inner: S,
    info: &'static RouteInfo,
    slash: TrailingSlash,
}

impl<S> RouteService<S> {
    /// The answer to give instead of running the route, if any.
    fn precheck(&self, req: &Request) -> Option<Response> {
        let path = req.uri().path();
        let ends_with_slash = path.len() > 1 && path.ends_with('/');
        // Only catch-alls can match both forms: other routes are registered
        // in the configured form alone.
        match self.slash {
            TrailingSlash::Redirect if ends_with_slash => {
                return Some(redirect(req, |p| p.trim_end_matches('/').to_string()))
            }
            TrailingSlash::Add if !path.ends_with('/') => {
                return Some(redirect(req, |p| format!("{p}/")))
            }
            _ => {}
        }
        if self.info.has_params() && !valid_path(path) {
            return Some(
                (
                    StatusCode::BAD_REQUEST,
                    "400 Bad Request: the URL path has malformed percent-encoding",
                )
                    .into_response(),
            );
        }
        None
    }
}

impl<S> Service<Request> for RouteService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if let Some(answer) = self.precheck(&req) {
            return RouteFuture::Answered {
                answer: Some(answer),
            };
        }
        let config = self.info.config();
        if let Some(limit) = config.body_limit {
            if content_length(&req).is_some_and(|n| n > limit as u64) {
                return RouteFuture::Answered {
                    answer: Some(too_large(limit)),
                };
            }
            // A body without Content-Length (chunked) stops at the limit too.
            req = req.map(|body| Body::new(Limited::new(body, limit)));
        }
        req.extensions_mut().insert(MatchedRoute(self.info));
        let future = self.inner.call(req);
        match config.max_duration {
            Some(seconds) => RouteFuture::Timed {
                seconds,
                future: tokio::time::timeout(Duration::from_secs(seconds), future),
            },
            None => RouteFuture::Inner { future },
        }
    }
}

fn content_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "413 Payload Too Large: this route takes bodies up to {limit} bytes (its BODY_LIMIT)"
        ),
    )
        .into_response()
}

pin_project_lite::pin_project! {
    #[project = RouteFutureProj]
    enum RouteFuture<F> {
        Answered { answer: Option<Response> },
        Inner { #[pin] future: F },
        Timed { seconds: u64, #[pin] future: tokio::time::Timeout<F> },
    }
}

impl<F> Future for RouteFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RouteFutureProj::Answered { answer } => Poll::Ready(Ok(answer
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
            RouteFutureProj::Inner { future } => future.poll(cx),
            // Dropping the handler's future on the deadline cancels it.
            RouteFutureProj::Timed { seconds, future } => match future.poll(cx) {
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(_elapsed)) => Poll::Ready(Ok((
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("504 Gateway Timeout: the route ran longer than its MAX_DURATION of {seconds} s"),
                )
                    .into_response())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

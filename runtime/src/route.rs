//! What wraps every generated route: the checks Next.js makes before a
//! handler runs (trailing slash, percent-encoding), the automatic `OPTIONS`
//! answer, and the hand-off of the matched route to [`crate::Params`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{OriginalUri, Request};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
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
        req.extensions_mut().insert(MatchedRoute(self.info));
        RouteFuture::Inner {
            future: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    #[project = RouteFutureProj]
    enum RouteFuture<F> {
        Answered { answer: Option<Response> },
        Inner { #[pin] future: F },
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
        }
    }
}

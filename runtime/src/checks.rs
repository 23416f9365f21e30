//! The checks every generated route makes before its handler runs, as
//! Next.js makes them (trailing slash, percent-encoding, `BODY_LIMIT`,
//! `MAX_DURATION`), and the
//! hand-off of the matched route to [`crate::Params`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http_body_util::Limited;

use crate::error;
use crate::params::{path_problem, InvalidPath, PathProblem};
use crate::redirect::{redirect, with_slash, without_slash};
use crate::route_info::{MatchedRoute, RouteInfo};

/// How the router treats a trailing slash; set with
/// `approute::app!(trailing_slash = ...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrailingSlash {
    Redirect,
    Add,
    Both,
}

/// Finishes a generated route: the body limit its `BODY_LIMIT` sets for
/// extractors. A layer costs a boxed service per request, so routes without
/// one are returned as they are.
pub fn finish_route<S>(info: &'static RouteInfo, methods: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    match info.config().body_limit {
        // Extractors (`Json`, `Bytes`, ...) read up to this limit.
        Some(limit) => methods.layer(DefaultBodyLimit::max(limit)),
        None => methods,
    }
}

/// The checks every request to a route passes before its handler runs
/// (trailing slash, percent-encoding, `BODY_LIMIT`, `MAX_DURATION`; the
/// generated code leaves them out for a route where none can fire). They wrap
/// each handler rather than the route's `MethodRouter`: a handler wrapper is
/// inlined into axum's one boxed handler, where a layer would add a boxed
/// service, its clone and a boxed future to every request. The route comes
/// from a closure so that the wrapper is zero-sized, as a plain `fn` handler
/// is: axum clones the boxed handler on every request, and cloning a
/// zero-sized box allocates nothing. `S` is the router's state type.
#[derive(Debug)]
pub struct Check<S, R> {
    route: R,
    _state: PhantomData<fn() -> S>,
}

impl<S, R: Copy> Clone for Check<S, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, R: Copy> Copy for Check<S, R> {}

/// Where a [`Check`] finds its route: the route, the app's trailing-slash
/// mode, and whether [`crate::Params`] needs the route marked on each request.
pub trait RouteSource: Copy + Send + Sync + 'static {
    fn route(&self) -> (&'static RouteInfo, TrailingSlash, bool);
}

/// A closure naming the route: zero-sized, one type per route.
impl<F> RouteSource for F
where
    F: Fn() -> (&'static RouteInfo, TrailingSlash, bool) + Copy + Send + Sync + 'static,
{
    fn route(&self) -> (&'static RouteInfo, TrailingSlash, bool) {
        self()
    }
}

/// The route as a value: one type for every route.
#[derive(Clone, Copy, Debug)]
pub struct SharedRoute(&'static RouteInfo, TrailingSlash, bool);

impl RouteSource for SharedRoute {
    fn route(&self) -> (&'static RouteInfo, TrailingSlash, bool) {
        (self.0, self.1, self.2)
    }
}

impl<S, R: RouteSource> Check<S, R> {
    /// `route` gives the route, the app's trailing-slash mode, and whether
    /// [`crate::Params`] needs the route marked on each request (only where
    /// a registered pattern names parameters the route does not have: the
    /// fill-in patterns of a catch-all beside a dynamic folder).
    pub fn new(route: R) -> Check<S, R> {
        Check {
            route,
            _state: PhantomData,
        }
    }

    /// `handler`, run only when the request passes the checks.
    pub fn handler<H>(self, handler: H) -> Checked<S, R, H> {
        Checked {
            check: self,
            inner: handler,
        }
    }
    /// The same checks with the route held as a value, for the handlers
    /// every route shares (the automatic `OPTIONS` and 405 answers): one
    /// type for all routes, where a closure makes one per route and rustc
    /// would compile axum's handler machinery again for each. Cloning it
    /// allocates, but only on those rare answers.
    pub fn shared(self) -> Check<S, SharedRoute> {
        let (info, slash, mark) = self.route.route();
        Check {
            route: SharedRoute(info, slash, mark),
            _state: PhantomData,
        }
    }
}

/// A handler behind a route's [`Check`].
pub struct Checked<S, R, H> {
    check: Check<S, R>,
    inner: H,
}

impl<S, R: Copy, H: Clone> Clone for Checked<S, R, H> {
    fn clone(&self) -> Self {
        Checked {
            check: self.check,
            inner: self.inner.clone(),
        }
    }
}

/// The answer to give instead of running the route, if any.
fn precheck(info: &RouteInfo, slash: TrailingSlash, req: &Request) -> Option<Response> {
    let path = req.uri().path();
    let ends_with_slash = path.len() > 1 && path.ends_with('/');
    // Only catch-alls can match both forms: other routes are registered
    // in the configured form alone.
    match slash {
        TrailingSlash::Redirect if ends_with_slash => return Some(redirect(req, without_slash)),
        TrailingSlash::Add if !path.ends_with('/') => return Some(redirect(req, with_slash)),
        _ => {}
    }
    if info.has_params() {
        match path_problem(path) {
            None => {}
            Some(PathProblem::Malformed) => {
                return Some(error::text(
                    StatusCode::BAD_REQUEST,
                    InvalidPath.to_string(),
                ))
            }
            Some(PathProblem::DotSegment) => return Some(error::dot_segment()),
        }
    }
    if let Some(limit) = info.config().body_limit {
        if content_length(req).is_some_and(|n| n > limit as u64) {
            return Some(too_large(limit));
        }
    }
    None
}

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<R, H, T, S> Handler<T, S> for Checked<S, R, H>
where
    R: RouteSource,
    H: Handler<T, S>,
    S: Clone + Send + Sync + 'static,
    T: 'static,
{
    type Future = CheckedFuture<H::Future>;

    fn call(self, mut req: Request, state: S) -> Self::Future {
        let (info, slash, mark) = self.check.route.route();
        if let Some(answer) = precheck(info, slash, &req) {
            return CheckedFuture::Answered {
                answer: Some(Box::new(answer)),
            };
        }
        let config = info.config();
        if let Some(limit) = config.body_limit {
            // A body without Content-Length (chunked) stops at the limit too.
            req = req.map(|body| Body::new(Limited::new(body, limit)));
        }
        // Only `Params` reads it, and only where the matched pattern does
        // not tell the route's parameters: inserting costs an allocation,
        // and often a second one when the extension map grows.
        if mark {
            req.extensions_mut().insert(MatchedRoute(info));
        }
        let future = self.inner.call(req, state);
        match config.max_duration {
            Some(seconds) => CheckedFuture::Timed {
                seconds,
                future: Box::pin(tokio::time::timeout(Duration::from_secs(seconds), future)),
            },
            None => CheckedFuture::Inner { future },
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
    error::text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("this route takes bodies up to {limit} bytes (its BODY_LIMIT)"),
    )
}

pin_project_lite::pin_project! {
    /// What a [`Checked`] handler returns.
    #[project = CheckedFutureProj]
    pub enum CheckedFuture<F> {
        // Boxed for the same reason: it is the rare path.
        Answered { answer: Option<Box<Response>> },
        Inner { #[pin] future: F },
        // Boxed: a `Timeout` would more than triple the size of every
        // route's future, and only routes with `MAX_DURATION` need one.
        Timed { seconds: u64, future: Pin<Box<tokio::time::Timeout<F>>> },
    }
}

impl<F> Future for CheckedFuture<F>
where
    F: Future<Output = Response>,
{
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CheckedFutureProj::Answered { answer } => Poll::Ready(match answer.take() {
                Some(answer) => *answer,
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }),
            CheckedFutureProj::Inner { future } => future.poll(cx),
            // Dropping the handler's future on the deadline cancels it.
            CheckedFutureProj::Timed { seconds, future } => match future.as_mut().poll(cx) {
                Poll::Ready(Ok(response)) => Poll::Ready(response),
                Poll::Ready(Err(_elapsed)) => Poll::Ready(error::text(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("the route ran longer than its MAX_DURATION of {seconds} s"),
                )),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_info::UrlSegment;

    static INFO: RouteInfo = RouteInfo::__new(
        "/api",
        "app/api/route.rs",
        &["GET"],
        &[UrlSegment::Static],
        "GET, HEAD, OPTIONS",
        crate::RouteConfig::NONE,
    );

    async fn get() -> &'static str {
        "hi"
    }

    /// axum clones a route's boxed handler on every request; a zero-sized
    /// one makes that clone free, as for a plain `fn` handler.
    #[test]
    fn a_checked_fn_handler_is_zero_sized() {
        let check = Check::<(), _>::new(|| (&INFO, TrailingSlash::Redirect, false));
        let checked = check.handler(get);
        assert_eq!(std::mem::size_of_val(&checked), 0);
        fn is_handler<T, H: Handler<T, ()>>(_: &H) {}
        is_handler(&checked);
    }
}

//! What a generated route answers for the methods it does not export: the
//! automatic `OPTIONS`, `405` for a method approute knows, `501` for one it
//! does not (RFC 9110 9.1 and 15.6.2), and `QUERY`, which axum's method
//! router has no filter for, handed to the route's `QUERY` handler.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error;
use crate::route_info::RouteInfo;

/// The methods a route file can export, and so the ones approute knows.
const KNOWN: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY",
];

/// The `OPTIONS` answer of a route that exports none: 204 with `Allow`.
pub fn auto_options<S>(info: &'static RouteInfo) -> impl Handler<((),), S>
where
    S: Clone + Send + Sync + 'static,
{
    let allow = HeaderValue::from_static(info.allow());
    move || async move { (StatusCode::NO_CONTENT, [(header::ALLOW, allow)]).into_response() }
}

/// The answer to a method the route does not export: ours rather than
/// axum's, so that the route's middleware see it too.
pub fn method_not_allowed(info: &'static RouteInfo) -> WrongMethod {
    WrongMethod { info }
}

/// A route's answer to a method it does not export; see
/// [`method_not_allowed`].
#[derive(Clone, Copy, Debug)]
pub struct WrongMethod {
    info: &'static RouteInfo,
}

impl WrongMethod {
    fn answer(self, method: &Method) -> Response {
        if !KNOWN.contains(&method.as_str()) {
            return error::bare(
                StatusCode::NOT_IMPLEMENTED,
                "approute does not know this method",
            );
        }
        let mut answer = error::bare(StatusCode::METHOD_NOT_ALLOWED, error::WRONG_METHOD);
        answer
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(self.info.allow()));
        answer
    }

    /// `QUERY` to `handler`, the rest as before.
    pub fn or_query<H>(self, handler: H) -> QueryOr<H> {
        QueryOr {
            query: handler,
            other: self,
        }
    }
}

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<S> Handler<((),), S> for WrongMethod
where
    S: Clone + Send + Sync + 'static,
{
    type Future = Ready<Response>;

    fn call(self, req: Request, _state: S) -> Self::Future {
        ready(self.answer(req.method()))
    }
}

/// The fallback of a route that exports `QUERY`: that method to its
/// handler, the others to a [`WrongMethod`].
#[derive(Clone, Copy, Debug)]
pub struct QueryOr<H> {
    query: H,
    other: WrongMethod,
}

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<H, T, S> Handler<T, S> for QueryOr<H>
where
    H: Handler<T, S>,
    S: Clone + Send + Sync + 'static,
    T: 'static,
{
    type Future = QueryOrFuture<H::Future>;

    fn call(self, req: Request, state: S) -> Self::Future {
        if req.method().as_str() == "QUERY" {
            QueryOrFuture::Query {
                inner: self.query.call(req, state),
            }
        } else {
            QueryOrFuture::Other {
                answer: Some(self.other.answer(req.method())),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// What a [`QueryOr`] returns.
    #[project = QueryOrProj]
    pub enum QueryOrFuture<F> {
        Query { #[pin] inner: F },
        Other { answer: Option<Response> },
    }
}

impl<F: Future<Output = Response>> Future for QueryOrFuture<F> {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.project() {
            QueryOrProj::Query { inner } => inner.poll(cx),
            QueryOrProj::Other { answer } => {
                Poll::Ready(answer.take().expect("polled after completion"))
            }
        }
    }
}

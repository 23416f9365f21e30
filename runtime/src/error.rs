//! The error answers approute makes itself (no route, wrong method, a bad
//! path, a body over a limit, a timeout, a panic), made here alone.
//!
//! Each carries a [`FrameworkError`] extension: that is how `serve` tells
//! them from a handler's own answer of the same status, and gives them the
//! body the client asked for (JSON or one line of text). A handler's own
//! answer, even an empty `404`, reaches the client as the handler made it.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

/// The message of a `405`.
pub(crate) const WRONG_METHOD: &str = "this route does not answer this method";

/// The message of the `404` for a path no route matches.
const NO_ROUTE: &str = "no route matches this path";

/// Marks the `404` of a path no route matches, besides its
/// [`FrameworkError`]: the URL rules redirect such a path's trailing slash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoRoute;

/// Whether `response` is the `404` of a path no route matches.
pub(crate) fn is_no_route(response: &Response) -> bool {
    response.extensions().get::<NoRoute>().is_some()
}

/// The `404` of a path whose parameters would hold a `.` or `..` segment:
/// no route serves it.
pub(crate) fn dot_segment() -> Response {
    no_route()
}

/// The `404` of a path no route matches, marked.
pub(crate) fn no_route() -> Response {
    mark_no_route(StatusCode::NOT_FOUND.into_response())
}

fn mark_no_route(response: Response) -> Response {
    let mut response = marked(response, NO_ROUTE.into(), false);
    response.extensions_mut().insert(NoRoute);
    response
}

/// What marks a framework error answer: what went wrong, in words. Only
/// `serve` reads it.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) struct FrameworkError {
    message: Cow<'static, str>,
    /// Whether the body is already the one-line text [`text`] makes.
    has_text: bool,
}

#[cfg_attr(not(feature = "serve"), allow(dead_code))]
impl FrameworkError {
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn has_text(&self) -> bool {
        self.has_text
    }
}

/// `status` without a body (callers add headers such as `Allow`): what a
/// plain axum server sends, as axum's own would be; `serve` adds the body.
pub(crate) fn bare(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Response {
    marked(status.into_response(), message.into(), false)
}

/// `status` with one line of text, `413 Payload Too Large: message`; `serve`
/// makes it JSON when the client asks for that.
pub(crate) fn text(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Response {
    let message = message.into();
    let response = (status, line(status, &message)).into_response();
    marked(response, message, true)
}

/// The body `serve` gives every framework error answer: JSON when the
/// client asked for it, else one line of text ending in a newline. Either
/// way it varies with `Accept`, and caches must know.
///
/// ```text
/// {"error":{"status":413,"message":"the request body is over the limit of 2097152 bytes"}}
/// 413 Payload Too Large: the request body is over the limit of 2097152 bytes
/// ```
#[cfg(feature = "serve")]
pub(crate) fn negotiated(status: StatusCode, message: &str, json: bool) -> Response {
    use axum::http::{header, HeaderValue};

    let mut response = if json {
        #[derive(serde::Serialize)]
        struct Outer<'a> {
            error: Inner<'a>,
        }
        #[derive(serde::Serialize)]
        struct Inner<'a> {
            status: u16,
            message: &'a str,
        }
        let body = Outer {
            error: Inner {
                status: status.as_u16(),
                message,
            },
        };
        (status, axum::Json(body)).into_response()
    } else {
        (status, format!("{}\n", line(status, message))).into_response()
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    marked(response, message.to_string().into(), !json)
}

/// `404 Not Found`, or `413 Payload Too Large: message`.
fn line(status: StatusCode, message: &str) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    if message == reason {
        format!("{} {reason}", status.as_u16())
    } else {
        format!("{} {reason}: {message}", status.as_u16())
    }
}

fn marked(mut response: Response, message: Cow<'static, str>, has_text: bool) -> Response {
    response
        .extensions_mut()
        .insert(FrameworkError { message, has_text });
    response
}

/// Marks the `404` of a request no route matched. axum sets `MatchedPath`
/// on a request that matched a route before its handler runs; the others
/// reach the router's fallback, whose `404` is the framework's when it
/// brings no body of its own (axum's default fallback brings none).
#[derive(Clone)]
pub(crate) struct MarkNoRoute<S> {
    inner: S,
}

impl<S> MarkNoRoute<S> {
    pub(crate) fn new(inner: S) -> MarkNoRoute<S> {
        MarkNoRoute { inner }
    }
}

/// A layer of [`MarkNoRoute`], for [`crate::normalize`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct MarkNoRouteLayer;

impl<S> Layer<S> for MarkNoRouteLayer {
    type Service = MarkNoRoute<S>;

    fn layer(&self, inner: S) -> MarkNoRoute<S> {
        MarkNoRoute::new(inner)
    }
}

impl<S> Service<Request> for MarkNoRoute<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = MarkNoRouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let routed = req.extensions().get::<MatchedPath>().is_some();
        MarkNoRouteFuture {
            inner: self.inner.call(req),
            routed,
        }
    }
}

pin_project_lite::pin_project! {
    /// What a [`MarkNoRoute`] returns.
    pub(crate) struct MarkNoRouteFuture<F> {
        #[pin]
        inner: F,
        routed: bool,
    }
}

impl<F> Future for MarkNoRouteFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => return Poll::Pending,
        };
        let no_route = !*this.routed
            && response.status() == StatusCode::NOT_FOUND
            && http_body::Body::size_hint(response.body()).exact() == Some(0)
            && response.extensions().get::<FrameworkError>().is_none();
        Poll::Ready(Ok(if no_route {
            mark_no_route(response)
        } else {
            response
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use http_body_util::BodyExt;

    async fn body(response: Response) -> (StatusCode, String, String) {
        let status = response.status();
        let kind = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn every_answer_is_marked() {
        let bare = bare(StatusCode::METHOD_NOT_ALLOWED, "wrong method");
        let mark = bare.extensions().get::<FrameworkError>().unwrap();
        assert_eq!((mark.message(), mark.has_text()), ("wrong method", false));

        let text = text(StatusCode::BAD_REQUEST, "bad path");
        let mark = text.extensions().get::<FrameworkError>().unwrap();
        assert_eq!((mark.message(), mark.has_text()), ("bad path", true));
        let (status, kind, text) = body(text).await;
        assert_eq!(status, 400);
        assert!(kind.starts_with("text/plain"), "{kind}");
        assert_eq!(text, "400 Bad Request: bad path");
    }

    #[cfg(feature = "serve")]
    #[tokio::test]
    async fn negotiated_bodies_are_json_or_one_line() {
        let json = negotiated(StatusCode::PAYLOAD_TOO_LARGE, "too big", true);
        assert_eq!(json.headers()[header::VARY], "Accept");
        let (status, kind, text) = body(json).await;
        assert_eq!(status, 413);
        assert_eq!(kind, "application/json");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": {"status": 413, "message": "too big"}})
        );

        let plain = negotiated(StatusCode::NOT_FOUND, "Not Found", false);
        assert_eq!(plain.headers()[header::VARY], "Accept");
        let (_, kind, text) = body(plain).await;
        assert!(kind.starts_with("text/plain"), "{kind}");
        assert_eq!(text, "404 Not Found\n");
    }
}

//! What every request passes through around the router: the body limit,
//! the timeout, a caught panic, and the request's log line.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body::{Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};
use hyper::body::Incoming;
use tower_service::Service;

use super::errors;
use super::logging::{RouteLine, LOG_TARGET};
use super::peer::{self, TrustedProxies};
use crate::{error, url};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What runs for every request: the router inside the limits.
pub(super) struct LimitedRouter {
    router: Router,
    /// The largest body let through to the router.
    body_cap: usize,
    timeout: Option<Duration>,
    timeout_status: StatusCode,
    proxies: TrustedProxies,
}

impl LimitedRouter {
    pub(super) fn new(
        router: Router,
        routes: &[RouteLine],
        body_limit: usize,
        timeout: Option<Duration>,
        timeout_status: StatusCode,
        proxies: TrustedProxies,
    ) -> LimitedRouter {
        // Let a route's larger BODY_LIMIT through; extractors on the other
        // routes keep to `body_limit`.
        let body_cap = routes
            .iter()
            .filter_map(|route| route.body_limit)
            .fold(body_limit, usize::max);
        if body_cap > body_limit {
            tracing::info!(
                target: LOG_TARGET,
                "body limit {body_limit} bytes; up to {body_cap} for routes whose BODY_LIMIT says so"
            );
        }
        LimitedRouter {
            // `with_state` turns every handler into a service once, not on
            // every request.
            router: errors::mark_routers_answers(router, body_limit).with_state(()),
            body_cap,
            timeout,
            timeout_status,
            proxies,
        }
    }

    pub(super) async fn handle(&self, mut req: Request<Incoming>, peer: SocketAddr) -> Response {
        peer::record(&mut req, peer, &self.proxies);
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let json = errors::wants_json(req.headers());
        let response = self.answer(req, json).await;
        tracing::info!(
            target: LOG_TARGET,
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            latency = ?started.elapsed(),
            "request"
        );
        response
    }

    async fn answer(&self, mut req: Request<Incoming>, json: bool) -> Response {
        let unrouted = match url::before_routing(&mut req) {
            Ok(unrouted) => unrouted,
            Err(answer) => return *answer,
        };
        let limit = self.body_cap;
        if content_length(req.headers()).is_some_and(|n| n > limit as u64) {
            return self.too_large(json);
        }
        let body_error = Arc::new(AtomicU8::new(BODY_OK));
        let req = req.map(|body| {
            Body::new(WatchedBody {
                inner: Limited::new(body, limit),
                error: body_error.clone(),
            })
        });
        let mut router = self.router.clone();
        // `call` inside the future, so that a panic while routing is caught too.
        let call = CatchPanic {
            inner: async move { router.call(req).await },
        };
        let outcome = match self.timeout {
            Some(timeout) => match tokio::time::timeout(timeout, call).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    let message = format!("the request took longer than {timeout:?}");
                    return error::negotiated(self.timeout_status, &message, json);
                }
            },
            None => call.await,
        };
        match outcome {
            Ok(Ok(response)) => {
                let response = url::after_routing(unrouted, response);
                let status = response.status();
                if !(status.is_client_error() || status.is_server_error()) {
                    return response;
                }
                // The handler failed after the body failed to read: the
                // client's fault, said the same way whoever read it.
                match body_error.load(Ordering::Relaxed) {
                    BODY_OVER_LIMIT => self.too_large(json),
                    BODY_BROKEN => error::negotiated(
                        StatusCode::BAD_REQUEST,
                        "the request body is malformed or was cut short",
                        json,
                    ),
                    _ => errors::for_client(response, json).await,
                }
            }
            Ok(Err(never)) => match never {},
            Err(panic) => {
                tracing::error!(
                    target: LOG_TARGET,
                    "handler panicked: {}",
                    panic_message(panic.as_ref())
                );
                error::negotiated(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the handler panicked",
                    json,
                )
            }
        }
    }

    fn too_large(&self, json: bool) -> Response {
        let message = format!(
            "the request body is over the limit of {} bytes",
            self.body_cap
        );
        error::negotiated(StatusCode::PAYLOAD_TOO_LARGE, &message, json)
    }
}

/// The declared body length; hyper has rejected a malformed one already.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(not a string)"
    }
}

pin_project_lite::pin_project! {
    /// A future whose panic becomes an `Err`.
    struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

const BODY_OK: u8 = 0;
const BODY_OVER_LIMIT: u8 = 1;
const BODY_BROKEN: u8 = 2;

pin_project_lite::pin_project! {
    /// The request body, cut at the limit, remembering whether reading it
    /// failed and why.
    struct WatchedBody {
        #[pin]
        inner: Limited<Incoming>,
        error: Arc<AtomicU8>,
    }
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Err(e))) = &frame {
            let kind = if e.is::<LengthLimitError>() {
                BODY_OVER_LIMIT
            } else {
                BODY_BROKEN
            };
            this.error.store(kind, Ordering::Relaxed);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_caught_as_an_error() {
        let outcome = CatchPanic {
            inner: async { panic!("boom") },
        }
        .await;
        let panic: Box<dyn Any + Send> = outcome.unwrap_err();
        assert_eq!(panic_message(panic.as_ref()), "boom");
        let outcome: Result<u8, _> = CatchPanic { inner: async { 7 } }.await;
        assert_eq!(outcome.unwrap(), 7);
    }
}

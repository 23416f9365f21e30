//! What every request passes through around the router: the body limit,
//! the timeout, a caught panic, and the request's log line. Each costs a
//! request only where it applies: a body with nothing to read is not
//! watched, the timeout's timer is made only for a handler that does not
//! answer at once, and the log line copies nothing when it is filtered out.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{Extensions, Request, StatusCode};
use axum::response::Response;
use axum::routing::future::RouteFuture;
use axum::Router;
use http_body::{Frame, SizeHint};
use http_body_util::{LengthLimitError, Limited};
use hyper::body::Incoming;
use tower_service::Service;

use super::errors;
use super::logging::{RequestLine, RouteLine, LOG_TARGET};
use super::peer::{self, TrustedProxies};
use super::request_head::HeadFacts;
use crate::{error, url};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// axum's own default body limit for its extractors, which the server's
/// default matches: a request needs no `DefaultBodyLimit` of its own then.
const AXUM_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What runs for every request: the router inside the limits.
pub(super) struct LimitedRouter {
    router: Router,
    /// The largest body let through to the router.
    body_cap: usize,
    /// The body limit for axum's extractors, where it is not axum's own.
    extractor_limit: Option<DefaultBodyLimit>,
    timeout: Option<Duration>,
    timeout_status: StatusCode,
    proxies: TrustedProxies,
    /// What each request's extensions start as (see `peer::roomy_extensions`).
    roomy: Extensions,
    #[cfg(feature = "compression")]
    compression: crate::compress::Compression,
}

impl LimitedRouter {
    pub(super) fn new(
        router: Router,
        routes: &[RouteLine],
        body_limit: usize,
        timeout: Option<Duration>,
        timeout_status: StatusCode,
        proxies: TrustedProxies,
        #[cfg(feature = "compression")] compression: crate::compress::Compression,
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
            router: errors::mark_routers_answers(router).with_state(()),
            body_cap,
            extractor_limit: (body_limit != AXUM_BODY_LIMIT)
                .then(|| DefaultBodyLimit::max(body_limit)),
            timeout,
            timeout_status,
            proxies,
            roomy: peer::roomy_extensions(),
            #[cfg(feature = "compression")]
            compression,
        }
    }

    /// Begins answering `req`: the future of its answer, which logs its line.
    pub(super) fn handle(
        self: &Arc<Self>,
        mut req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Handling {
        let started = Instant::now();
        let line = RequestLine::begin(&req);
        peer::record(&mut req, peer, &self.proxies, &self.roomy);
        let head = HeadFacts::of(req.headers());
        let json = head.json;
        let state = match self.route(req, head, started) {
            Ok((future, after)) => State::Routed {
                future,
                after: Some(after),
            },
            Err(answer) => State::Answered {
                answer: Some(*answer),
            },
        };
        Handling {
            server: self.clone(),
            started,
            line,
            json,
            state,
        }
    }

    /// Everything up to the router's call, which routes: the URL rules, the
    /// body limits, what the compression needs. `Err` is the answer to give
    /// instead.
    fn route(
        &self,
        mut req: Request<Incoming>,
        head: HeadFacts,
        started: Instant,
    ) -> Result<(Guarded<RouteFuture<Infallible>>, AfterRouting), Box<Response>> {
        let json = head.json;
        let unrouted = url::before_routing(&mut req)?;
        let limit = self.body_cap;
        if head.content_length.is_some_and(|n| n > limit as u64) {
            return Err(Box::new(self.too_large(json)));
        }
        if let Some(extractor_limit) = self.extractor_limit {
            extractor_limit.apply(&mut req);
        }
        // Around the router alone, as a layer on it would be (the answers
        // the server makes itself are too short to compress), without the
        // boxed service per route that `Router::layer` adds.
        #[cfg(feature = "compression")]
        let compression = crate::compress::ForAnswer::new(
            self.compression,
            head.accept_encoding,
            req.method() != axum::http::Method::HEAD && !head.range,
            req.extensions_mut(),
        );
        // A body that cannot fail to read (none, as a GET has) needs no watch.
        let body_error =
            (!http_body::Body::is_end_stream(req.body())).then(|| Arc::new(AtomicU8::new(BODY_OK)));
        let req = match &body_error {
            Some(error) => req.map(|body| {
                Body::new(WatchedBody {
                    inner: Limited::new(body, limit),
                    error: error.clone(),
                })
            }),
            None => req.map(Body::new),
        };
        // Routing runs in `call`, the handler in the future: a panic in
        // either is caught.
        let future = catch_unwind(AssertUnwindSafe(|| self.router.clone().call(req)))
            .map_err(|panic| Box::new(self.panicked(panic.as_ref(), json)))?;
        let future = Guarded {
            inner: future,
            timeout: self.timeout.map(|timeout| (started, timeout)),
            sleep: None,
        };
        let after = AfterRouting {
            unrouted,
            body_error,
            #[cfg(feature = "compression")]
            compression,
        };
        Ok((future, after))
    }

    /// What the router's answer becomes: the URL rules' redirect, the
    /// server's own error answers, the framework's error bodies.
    fn after_routing(
        &self,
        outcome: Outcome<Result<Response, Infallible>>,
        after: AfterRouting,
        json: bool,
    ) -> Finished {
        let response = match outcome {
            #[cfg(feature = "compression")]
            Outcome::Answered(Ok(response)) => after.compression.apply(response),
            #[cfg(not(feature = "compression"))]
            Outcome::Answered(Ok(response)) => response,
            Outcome::Answered(Err(never)) => match never {},
            Outcome::TimedOut(timeout) => {
                let message = format!("the request took longer than {timeout:?}");
                return Finished::Now(error::negotiated(self.timeout_status, &message, json));
            }
            Outcome::Panicked(panic) => return Finished::Now(self.panicked(panic.as_ref(), json)),
        };
        let response = url::after_routing(after.unrouted, response);
        let status = response.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return Finished::Now(response);
        }
        // The handler failed after the body failed to read: the client's
        // fault, said the same way whoever read it.
        let body_error = after.body_error;
        Finished::Now(
            match body_error.map_or(BODY_OK, |error| error.load(Ordering::Relaxed)) {
                BODY_OVER_LIMIT => self.too_large(json),
                BODY_BROKEN => error::negotiated(
                    StatusCode::BAD_REQUEST,
                    "the request body is malformed or was cut short",
                    json,
                ),
                // Boxed: only error answers take this way.
                _ => return Finished::Later(Box::pin(errors::for_client(response, json))),
            },
        )
    }

    fn panicked(&self, panic: &(dyn Any + Send), json: bool) -> Response {
        tracing::error!(
            target: LOG_TARGET,
            "handler panicked: {}",
            panic_message(panic)
        );
        error::negotiated(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the handler panicked",
            json,
        )
    }

    fn too_large(&self, json: bool) -> Response {
        let message = format!(
            "the request body is over the limit of {} bytes",
            self.body_cap
        );
        error::negotiated(StatusCode::PAYLOAD_TOO_LARGE, &message, json)
    }
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

/// How a [`Guarded`] future ended.
enum Outcome<T> {
    Answered(T),
    /// Past the timeout, counted from the request's start.
    TimedOut(Duration),
    Panicked(Box<dyn Any + Send>),
}

pin_project_lite::pin_project! {
    /// A future whose panic is caught and which gives up at a deadline. The
    /// timer is made only if the first poll leaves the future pending: most
    /// handlers answer at once, and a timer costs each request a place in
    /// tokio's timer wheel, taken and given back.
    struct Guarded<F> {
        #[pin]
        inner: F,
        // When the request started, and how long it may take.
        timeout: Option<(Instant, Duration)>,
        // Boxed: a timer is large, and the future is moved into hyper.
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => return Poll::Ready(Outcome::Answered(output)),
            Ok(Poll::Pending) => {}
            Err(panic) => return Poll::Ready(Outcome::Panicked(panic)),
        }
        let Some((started, timeout)) = *this.timeout else {
            return Poll::Pending;
        };
        let sleep = this.sleep.get_or_insert_with(|| {
            let deadline = tokio::time::Instant::from_std(started) + timeout;
            Box::pin(tokio::time::sleep_until(deadline))
        });
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Outcome::TimedOut(timeout)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What a routed request needs once the router has answered.
struct AfterRouting {
    unrouted: Option<String>,
    body_error: Option<Arc<AtomicU8>>,
    #[cfg(feature = "compression")]
    compression: crate::compress::ForAnswer,
}

/// The answer after routing: made, or a framework error's body to make.
enum Finished {
    Now(Response),
    Later(Pin<Box<dyn Future<Output = Response> + Send>>),
}

pin_project_lite::pin_project! {
    /// One request's answer, in one future: the router's (with its
    /// timeout and panic guard), then what the server does with it, then
    /// the log line. Written out rather than as nested `async fn`s, each of
    /// which would be a state machine of its own, moved into the next.
    pub(super) struct Handling {
        server: Arc<LimitedRouter>,
        started: Instant,
        line: Option<RequestLine>,
        json: bool,
        #[pin]
        state: State,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State {
        Routed {
            #[pin]
            future: Guarded<RouteFuture<Infallible>>,
            after: Option<AfterRouting>,
        },
        Finishing { future: Pin<Box<dyn Future<Output = Response> + Send>> },
        Answered { answer: Option<Response> },
    }
}

impl Future for Handling {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let mut this = self.project();
        let response = loop {
            match this.state.as_mut().project() {
                StateProj::Routed { future, after } => {
                    let outcome = ready!(future.poll(cx));
                    let after = after.take().expect("polled after it was ready");
                    match this.server.after_routing(outcome, after, *this.json) {
                        Finished::Now(response) => break response,
                        Finished::Later(future) => this.state.set(State::Finishing { future }),
                    }
                }
                StateProj::Finishing { future } => break ready!(future.as_mut().poll(cx)),
                StateProj::Answered { answer } => {
                    break answer.take().expect("polled after it was ready")
                }
            }
        };
        if let Some(line) = this.line.take() {
            line.end(response.status(), *this.started, Instant::now());
        }
        Poll::Ready(response)
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

    fn guarded<F: Future>(inner: F, timeout: Option<Duration>) -> Guarded<F> {
        Guarded {
            inner,
            timeout: timeout.map(|timeout| (Instant::now(), timeout)),
            sleep: None,
        }
    }

    #[tokio::test]
    async fn a_panic_is_caught_and_an_answer_passes() {
        let Outcome::Panicked(panic) = guarded(async { panic!("boom") }, None).await else {
            panic!("the panic was not caught");
        };
        assert_eq!(panic_message(panic.as_ref()), "boom");
        let outcome = guarded(async { 7 }, Some(Duration::from_millis(1))).await;
        assert!(matches!(outcome, Outcome::Answered(7)));
    }

    #[tokio::test]
    async fn the_deadline_counts_from_the_start_not_the_first_poll() {
        let limit = Duration::from_millis(300);
        // A request that began 250 ms ago has 50 ms left.
        let started = Instant::now() - Duration::from_millis(250);
        let slow = Guarded {
            inner: tokio::time::sleep(Duration::from_secs(60)),
            timeout: Some((started, limit)),
            sleep: None,
        };
        let polled = Instant::now();
        assert!(matches!(slow.await, Outcome::TimedOut(t) if t == limit));
        assert!(polled.elapsed() < Duration::from_millis(250));
        let quick = guarded(tokio::time::sleep(Duration::from_millis(5)), Some(limit));
        assert!(matches!(quick.await, Outcome::Answered(())));
    }
}

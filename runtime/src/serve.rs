//! A production server for any [`axum::Router`]: one call binds `$HOST:$PORT`,
//! logs every request, turns a panicking handler into a 500, limits request
//! bodies, times out slow requests, answers framework errors with a small
//! consistent body, and on SIGINT/SIGTERM drains in-flight requests before it
//! returns `Ok(())`, so the process exits 0.
//!
//! ```no_run
//! use approute::axum::{routing::get, Router};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     approute::serve::init_logging();
//!     let router = Router::new().route("/", get(|| async { "hello" }));
//!     approute::serve(router).await
//! }
//! ```
//!
//! Everything is configurable with the [`Server`] builder; the defaults are
//! [`DEFAULT_PORT`], [`DEFAULT_HOST`], [`DEFAULT_BODY_LIMIT`],
//! [`DEFAULT_TIMEOUT`] (answered with `408 Request Timeout`),
//! [`DEFAULT_GRACE_PERIOD`] and [`DEFAULT_HEADER_READ_TIMEOUT`].
//!
//! # Error answers
//!
//! Every error answer the framework makes gets one small body: when the
//! request's `Accept` names `application/json`,
//!
//! ```text
//! {"error":{"status":413,"message":"the request body is over the limit of 2097152 bytes"}}
//! ```
//!
//! and otherwise one line of plain text, `413 Payload Too Large: the request
//! body is over the limit of 2097152 bytes`. That covers the answers the
//! server makes itself (`408`/`503` on a timeout, `413` over the body limit,
//! `400` for a body that is malformed or cut short, `500` for a panic); the
//! empty-bodied `400`, `404`, `405`, `408`, `413` and `500` that axum makes
//! (no route, wrong method) or a handler returns; the text answers approute's
//! routes make in that same format (`400` for bad percent-encoding, `413`
//! over a `BODY_LIMIT`, `504` past a `MAX_DURATION`), which become JSON when
//! asked for; and axum's "Failed to buffer the request body" rejections.
//! Headers such as `Allow` on a `405` are kept; any other error answer with a
//! body is left alone.
//!
//! Malformed HTTP that cannot be parsed at all (a garbage request line, a
//! header block over the size limit) is answered by hyper with an empty
//! `400`, `414` or `431` and a closed connection.

use std::any::Any;
use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::RouteInfo;

/// The port bound when `$PORT` is unset.
pub const DEFAULT_PORT: u16 = 3000;
/// The host bound when `$HOST` is unset.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The largest request body accepted by default: 2 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// How long a handler may take to produce its response by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for in-flight requests by default.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's headers by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

const LOG_TARGET: &str = "approute::serve";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serves `router` with every default: the shorthand for
/// [`Server::new`]. Await it, or keep configuring it first.
///
/// ```no_run
/// use approute::axum::{routing::get, Router};
///
/// # async fn run() -> std::io::Result<()> {
/// let router = Router::new().route("/", get(|| async { "hello" }));
/// approute::serve(router).await // until SIGINT or SIGTERM
/// # }
/// ```
pub fn serve(router: Router) -> Server {
    Server::new(router)
}

/// A configured production server; see the [module docs](self).
///
/// Build it with [`Server::new`] (or [`serve`]), set what differs from the
/// defaults, then `.run().await` (or just `.await`).
///
/// ```no_run
/// use std::time::Duration;
/// use approute::axum::{routing::get, Router};
///
/// # async fn run() -> std::io::Result<()> {
/// let router = Router::new().route("/api/hello", get(|| async { "hello" }));
/// approute::serve::Server::new(router)
///     .body_limit(64 * 1024)
///     .timeout(Duration::from_secs(10))
///     .grace_period(Duration::from_secs(20))
///     .bind_from_env()
///     .run()
///     .await
/// # }
/// ```
///
/// In tests, hand it a bound listener and a shutdown future instead:
///
/// ```no_run
/// use approute::axum::{routing::get, Router};
///
/// # async fn run() -> std::io::Result<()> {
/// let router = Router::new().route("/", get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(
///     approute::serve(router)
///         .listener(listener)
///         .shutdown_on(async move { stopped.await.ok(); })
///         .run(),
/// );
/// // ... send requests to `addr` ...
/// stop.send(()).ok();
/// server.await.unwrap()?;
/// # Ok(()) }
/// ```
pub struct Server {
    router: Router,
    routes: Vec<RouteLine>,
    bind: Bind,
    body_limit: usize,
    timeout: Option<Duration>,
    timeout_status: StatusCode,
    grace_period: Duration,
    header_read_timeout: Option<Duration>,
    shutdown: Option<ShutdownFuture>,
}

/// A route as the server knows it: its log line and the limits it asks for.
struct RouteLine {
    line: String,
    pattern: &'static str,
    body_limit: Option<usize>,
    max_duration: Option<u64>,
}

impl RouteLine {
    /// Says so if the route wants longer than the server allows.
    fn warn_if_over(&self, timeout: Option<Duration>) {
        if let (Some(seconds), Some(timeout)) = (self.max_duration, timeout) {
            if Duration::from_secs(seconds) >= timeout {
                tracing::warn!(
                    target: LOG_TARGET,
                    "{}: its MAX_DURATION of {seconds} s is not under the server's timeout of \
                     {timeout:?}, which applies first (raise it with Server::timeout)",
                    self.pattern
                );
            }
        }
    }
}

enum Bind {
    Env,
    Addr(SocketAddr),
    Listener(TcpListener),
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bind = match &self.bind {
            Bind::Env => "$HOST:$PORT".to_string(),
            Bind::Addr(addr) => addr.to_string(),
            Bind::Listener(l) => format!("listener {:?}", l.local_addr().ok()),
        };
        f.debug_struct("Server")
            .field("bind", &bind)
            .field("routes", &self.routes.len())
            .field("body_limit", &self.body_limit)
            .field("timeout", &self.timeout)
            .field("timeout_status", &self.timeout_status)
            .field("grace_period", &self.grace_period)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("custom_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server for `router` with every default: it binds `$HOST:$PORT`
    /// and stops on SIGINT or SIGTERM.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve::Server::new(router).run().await
    /// # }
    /// ```
    pub fn new(router: Router) -> Server {
        Server {
            router,
            routes: Vec::new(),
            bind: Bind::Env,
            body_limit: DEFAULT_BODY_LIMIT,
            timeout: Some(DEFAULT_TIMEOUT),
            timeout_status: StatusCode::REQUEST_TIMEOUT,
            grace_period: DEFAULT_GRACE_PERIOD,
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            shutdown: None,
        }
    }

    /// Logs these routes, one line each, when the server starts: pass the
    /// `ROUTES` that `approute::app!` generates.
    ///
    /// The routes' config counts too: a route whose `BODY_LIMIT` is over the
    /// server's [body limit](Server::body_limit) gets its larger limit (the
    /// server's stays the default for the others). The server's
    /// [timeout](Server::timeout), though, bounds every request, as a
    /// platform's would: a route's `MAX_DURATION` can only be shorter, and
    /// the start-up log warns about each route whose `MAX_DURATION` is not.
    ///
    /// ```no_run
    /// # mod app { // what `approute::app!();` defines, from the app/ folder
    /// #     pub static ROUTES: &[approute::RouteInfo] = &[];
    /// #     pub fn router() -> approute::axum::Router { approute::axum::Router::new() }
    /// # }
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     approute::serve::init_logging();
    ///     approute::serve(app::router()).routes(app::ROUTES).await
    /// }
    /// ```
    pub fn routes(mut self, routes: &[RouteInfo]) -> Server {
        self.routes = routes
            .iter()
            .map(|route| RouteLine {
                line: route.to_string(),
                pattern: route.pattern(),
                body_limit: route.config().body_limit,
                max_duration: route.config().max_duration,
            })
            .collect();
        self
    }

    /// The largest request body accepted, in bytes (default
    /// [`DEFAULT_BODY_LIMIT`]). A `Content-Length` over it is answered `413`
    /// before the handler runs; a longer streamed body fails to read, and the
    /// error answer the handler then gives becomes a `413`.
    ///
    /// This is also the default for axum's body extractors (in place of
    /// axum's own 2 MiB); a [`DefaultBodyLimit`] layer inside the router, or
    /// a route's `BODY_LIMIT`, still sets its own. When the
    /// [routes](Server::routes) given include a `BODY_LIMIT` over this one,
    /// the server lets bodies up to that size through to the router, and
    /// axum's extractors hold the other routes to this limit.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve(router).body_limit(16 * 1024 * 1024).await
    /// # }
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Server {
        self.body_limit = bytes;
        self
    }

    /// How long a handler may take to produce its response (default
    /// [`DEFAULT_TIMEOUT`]); `None` for no limit. Over it the handler is
    /// dropped and the client gets [`Server::timeout_status`]. The time
    /// counts from when the request's headers are in, so reading the body is
    /// included; streaming a response body after its head is not.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// use std::time::Duration;
    /// approute::serve(router).timeout(Duration::from_secs(5)).await
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Server {
        self.timeout = timeout.into();
        self
    }

    /// The status a timed-out request gets: `408 Request Timeout` by default,
    /// or e.g. `503 Service Unavailable`.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// use approute::axum::http::StatusCode;
    /// approute::serve(router).timeout_status(StatusCode::SERVICE_UNAVAILABLE).await
    /// # }
    /// ```
    pub fn timeout_status(mut self, status: StatusCode) -> Server {
        self.timeout_status = status;
        self
    }

    /// How long shutdown waits for in-flight requests to finish (default
    /// [`DEFAULT_GRACE_PERIOD`]); connections still open after it are
    /// closed, and [`Server::run`] returns `Ok(())` all the same. A second
    /// SIGINT/SIGTERM during the wait ends it at once.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// use std::time::Duration;
    /// approute::serve(router).grace_period(Duration::from_secs(10)).await
    /// # }
    /// ```
    pub fn grace_period(mut self, grace: Duration) -> Server {
        self.grace_period = grace;
        self
    }

    /// How long a client may take to send a request's headers before its
    /// connection is closed (default [`DEFAULT_HEADER_READ_TIMEOUT`]);
    /// `None` for no limit. This bounds slow-loris clients.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// use std::time::Duration;
    /// approute::serve(router).header_read_timeout(Duration::from_secs(5)).await
    /// # }
    /// ```
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Server {
        self.header_read_timeout = timeout.into();
        self
    }

    /// Binds `$HOST:$PORT` when run (the default): `$PORT` defaults to
    /// [`DEFAULT_PORT`] and `$HOST` (a name or an address) to
    /// [`DEFAULT_HOST`]. A `$PORT` that is not a port number makes
    /// [`Server::run`] fail.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve(router).bind_from_env().await // e.g. HOST=0.0.0.0 PORT=8080
    /// # }
    /// ```
    pub fn bind_from_env(mut self) -> Server {
        self.bind = Bind::Env;
        self
    }

    /// Binds this address when run, ignoring `$HOST` and `$PORT`.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve(router).bind(([0, 0, 0, 0], 8080)).await
    /// # }
    /// ```
    pub fn bind(mut self, addr: impl Into<SocketAddr>) -> Server {
        self.bind = Bind::Addr(addr.into());
        self
    }

    /// Serves on a listener bound already (say to port 0 in a test),
    /// ignoring `$HOST` and `$PORT`.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// approute::serve(router).listener(listener).await
    /// # }
    /// ```
    pub fn listener(mut self, listener: TcpListener) -> Server {
        self.bind = Bind::Listener(listener);
        self
    }

    /// Shuts down gracefully when `signal` completes, instead of on
    /// SIGINT/SIGTERM (which are then left alone).
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(
    ///     approute::serve(router)
    ///         .shutdown_on(async move { stopped.await.ok(); })
    ///         .run(),
    /// );
    /// stop.send(()).ok();
    /// server.await.unwrap()
    /// # }
    /// ```
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Server {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Binds, logs the address and the routes, serves until the shutdown
    /// signal, stops accepting, waits up to the grace period for in-flight
    /// requests, and returns `Ok(())`. Fails only if it cannot bind (or
    /// listen for signals) at the start.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve::Server::new(router).run().await
    /// # }
    /// ```
    pub async fn run(self) -> io::Result<()> {
        let Server {
            router,
            routes,
            bind,
            body_limit,
            timeout,
            timeout_status,
            grace_period,
            header_read_timeout,
            shutdown,
        } = self;

        // Listen for signals before binding, so that one sent as soon as the
        // port answers is not lost.
        let mut trigger = match shutdown {
            Some(signal) => Trigger::Future(Some(signal)),
            None => Trigger::Signals(Signals::new()?),
        };
        let listener = match bind {
            Bind::Listener(listener) => listener,
            Bind::Addr(addr) => TcpListener::bind(addr).await?,
            Bind::Env => {
                let (host, port) = env_addr()?;
                TcpListener::bind((host.as_str(), port)).await?
            }
        };
        let addr = listener.local_addr()?;
        tracing::info!(target: LOG_TARGET, "listening on http://{addr}");
        for route in &routes {
            tracing::info!(target: LOG_TARGET, "route {}", route.line);
        }
        for route in &routes {
            route.warn_if_over(timeout);
        }
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

        let handler = Arc::new(Handler {
            // `with_state` turns every handler into a service once, not on
            // every request.
            router: router
                .layer(DefaultBodyLimit::max(body_limit))
                .with_state(()),
            body_cap,
            timeout,
            timeout_status,
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);

        let (stop_tx, stop_rx) = watch::channel(false);
        let mut connections = JoinSet::new();

        let reason = loop {
            tokio::select! {
                biased;
                reason = trigger.first() => break reason,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        connections.spawn(connection(
                            stream,
                            peer,
                            http.clone(),
                            handler.clone(),
                            stop_rx.clone(),
                        ));
                    }
                    Err(e) => accept_error(e).await,
                },
            }
        };

        // Stop accepting: new connections are refused from here on.
        drop(listener);
        let _ = stop_tx.send(true);
        tracing::info!(
            target: LOG_TARGET,
            "{reason}: shutting down, waiting up to {grace_period:?} for {} open connection(s)",
            connections.len()
        );
        let started = Instant::now();
        let drained = tokio::select! {
            () = async { while connections.join_next().await.is_some() {} } => true,
            () = tokio::time::sleep(grace_period) => false,
            again = trigger.again() => {
                tracing::warn!(target: LOG_TARGET, "{again} again: not waiting any longer");
                false
            }
        };
        if drained {
            tracing::info!(
                target: LOG_TARGET,
                "every connection closed after {:?}; stopped",
                started.elapsed()
            );
        } else {
            tracing::warn!(
                target: LOG_TARGET,
                "closing {} connection(s) still open after {:?}; stopped",
                connections.len(),
                started.elapsed()
            );
            connections.shutdown().await;
        }
        Ok(())
    }
}

impl IntoFuture for Server {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    /// `server.await` is `server.run().await`.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Installs a logger on stderr for the server's request lines (and any other
/// `tracing` events), filtered by `RUST_LOG` (`info` when unset): a level,
/// and/or `target=level` pairs separated by commas, e.g.
/// `RUST_LOG=warn,approute=info`. Does nothing if a global subscriber is set
/// already.
///
/// ```no_run
/// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
/// approute::serve::init_logging();
/// approute::serve(router).await
/// # }
/// ```
#[cfg(feature = "logging")]
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let default = || Targets::new().with_default(LevelFilter::INFO);
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={spec:?} is not understood ({e}); logging at info");
            default()
        }),
        _ => default(),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal());
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter)
        .try_init();
}

fn env_addr() -> io::Result<(String, u16)> {
    let port = match std::env::var("PORT") {
        Ok(port) if !port.trim().is_empty() => port.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("PORT={port:?} is not a port number"),
            )
        })?,
        _ => DEFAULT_PORT,
    };
    let host = match std::env::var("HOST") {
        Ok(host) if !host.trim().is_empty() => host.trim().to_string(),
        _ => DEFAULT_HOST.to_string(),
    };
    Ok((host, port))
}

/// After a failed `accept`: a connection that died in the backlog is
/// nothing; anything else (out of file descriptors) gets a pause so the loop
/// does not spin.
async fn accept_error(e: io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionRefused => {}
        _ => {
            tracing::error!(target: LOG_TARGET, "accept failed: {e}; retrying in 1s");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Serves one connection until it closes, or finishes its current request
/// and closes once `stop` turns true.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    http: hyper::server::conn::http1::Builder,
    handler: Arc<Handler>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler.handle(req).await) }
    });
    let conn = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(target: LOG_TARGET, %peer, "connection closed: {e}");
    }
}

/// What runs for every request: the router inside the limits.
struct Handler {
    router: Router,
    /// The largest body let through to the router.
    body_cap: usize,
    timeout: Option<Duration>,
    timeout_status: StatusCode,
}

impl Handler {
    async fn handle(&self, req: Request<Incoming>) -> Response {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let json = wants_json(req.headers());
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

    async fn answer(&self, req: Request<Incoming>, json: bool) -> Response {
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
                    return error_response(
                        self.timeout_status,
                        &format!("the request took longer than {timeout:?}"),
                        json,
                    )
                }
            },
            None => call.await,
        };
        match outcome {
            Ok(Ok(response)) => {
                let status = response.status();
                if !(status.is_client_error() || status.is_server_error()) {
                    return response;
                }
                // The handler failed after the body failed to read: the
                // client's fault, said the same way whoever read it.
                match body_error.load(Ordering::Relaxed) {
                    BODY_OVER_LIMIT => self.too_large(json),
                    BODY_BROKEN => error_response(
                        StatusCode::BAD_REQUEST,
                        "the request body is malformed or was cut short",
                        json,
                    ),
                    _ => self.normalize(response, json).await,
                }
            }
            Ok(Err(never)) => match never {},
            Err(panic) => {
                tracing::error!(
                    target: LOG_TARGET,
                    "handler panicked: {}",
                    panic_message(panic.as_ref())
                );
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the handler panicked",
                    json,
                )
            }
        }
    }

    fn too_large(&self, json: bool) -> Response {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request body is over the limit of {} bytes",
                self.body_cap
            ),
            json,
        )
    }

    /// Gives a framework error answer the consistent body, keeping its other
    /// headers (`Allow`, say): an empty-bodied one of the usual statuses, one
    /// in approute's text format (which becomes JSON when asked for), and
    /// axum's failed-to-read-the-body rejection. Others pass untouched.
    async fn normalize(&self, response: Response, json: bool) -> Response {
        let status = response.status();
        let size = http_body::Body::size_hint(response.body()).exact();
        if size == Some(0) {
            let framework = matches!(
                status,
                StatusCode::BAD_REQUEST
                    | StatusCode::NOT_FOUND
                    | StatusCode::METHOD_NOT_ALLOWED
                    | StatusCode::REQUEST_TIMEOUT
                    | StatusCode::PAYLOAD_TOO_LARGE
                    | StatusCode::INTERNAL_SERVER_ERROR
            ) || status == self.timeout_status;
            if !framework {
                return response;
            }
            let message = match status {
                StatusCode::NOT_FOUND => "no route matches this path",
                StatusCode::METHOD_NOT_ALLOWED => "this route does not answer this method",
                StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
                _ => status.canonical_reason().unwrap_or("error"),
            };
            return replace_body(response, error_response(status, message, json));
        }
        let text = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"));
        if !text || !size.is_some_and(|n| n <= 4096) {
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                tracing::error!(target: LOG_TARGET, "the error answer's body failed: {e}");
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the answer could not be made",
                    json,
                );
            }
        };
        let original = Response::from_parts(parts, Body::from(bytes.clone()));
        match framework_message(status, &bytes) {
            Some(Framework::Approute(message)) if json => {
                replace_body(original, error_response(status, message, true))
            }
            Some(Framework::AxumBody) => {
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "the request body is too large"
                } else {
                    "the request body is malformed or was cut short"
                };
                replace_body(original, error_response(status, message, json))
            }
            _ => original,
        }
    }
}

/// An error body the framework made, recognised by its text.
enum Framework<'a> {
    /// `404 Not Found: message`, approute's own format.
    Approute(&'a str),
    /// axum's `Failed to buffer the request body: ...`.
    AxumBody,
}

fn framework_message(status: StatusCode, body: &[u8]) -> Option<Framework<'_>> {
    let text = std::str::from_utf8(body).ok()?.trim_end();
    if text.starts_with("Failed to buffer the request body") {
        return Some(Framework::AxumBody);
    }
    let reason = status.canonical_reason()?;
    let rest = text.strip_prefix(status.as_str())?.strip_prefix(' ')?;
    let rest = rest.strip_prefix(reason)?;
    if rest.is_empty() {
        Some(Framework::Approute(reason))
    } else {
        Some(Framework::Approute(rest.strip_prefix(": ")?))
    }
}

/// `response` with the body and `Content-Type` of `with`.
fn replace_body(response: Response, with: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let (with, body) = with.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(kind) = with.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, kind.clone());
    }
    Response::from_parts(parts, body)
}

/// The body every framework error answer has: JSON when the client asked
/// for it, else one line of text.
fn error_response(status: StatusCode, message: &str, json: bool) -> Response {
    if json {
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
        let reason = status.canonical_reason().unwrap_or("Error");
        let text = if message == reason {
            format!("{} {reason}\n", status.as_u16())
        } else {
            format!("{} {reason}: {message}\n", status.as_u16())
        };
        (status, text).into_response()
    }
}

/// Whether any `Accept` value names `application/json`.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let kind = item.split(';').next().unwrap_or("").trim();
            kind.eq_ignore_ascii_case("application/json")
        })
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

/// What ends [`Server::run`]'s accept loop.
enum Trigger {
    Signals(Signals),
    Future(Option<ShutdownFuture>),
}

impl Trigger {
    /// Waits for the shutdown signal; says which it was.
    async fn first(&mut self) -> &'static str {
        match self {
            Trigger::Signals(signals) => signals.recv().await,
            Trigger::Future(future) => {
                if let Some(f) = future.as_mut() {
                    f.await;
                    *future = None;
                    "shutdown requested"
                } else {
                    std::future::pending().await
                }
            }
        }
    }

    /// Waits for a second signal (never, for a shutdown future).
    async fn again(&mut self) -> &'static str {
        match self {
            Trigger::Signals(signals) => signals.recv().await,
            Trigger::Future(_) => std::future::pending().await,
        }
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> io::Result<Signals> {
        Ok(Signals)
    }

    async fn recv(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn accept_json_is_found_among_others() {
        let mut headers = HeaderMap::new();
        assert!(!wants_json(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html, */*"));
        assert!(!wants_json(&headers));
        headers.append(
            header::ACCEPT,
            HeaderValue::from_static("text/plain;q=0.5, Application/JSON; q=1"),
        );
        assert!(wants_json(&headers));
    }

    #[tokio::test]
    async fn error_bodies_are_json_or_one_line() {
        let (status, kind, text) = body(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too big",
            true,
        ))
        .await;
        assert_eq!(status, 413);
        assert_eq!(kind, "application/json");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": {"status": 413, "message": "too big"}})
        );

        let (_, kind, text) = body(error_response(StatusCode::NOT_FOUND, "Not Found", false)).await;
        assert!(kind.starts_with("text/plain"), "{kind}");
        assert_eq!(text, "404 Not Found\n");
    }

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

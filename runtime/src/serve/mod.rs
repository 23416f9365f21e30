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
//! Every error answer the framework makes gets one small body, and
//! `Vary: Accept`: when the request's `Accept` names `application/json`,
//!
//! ```text
//! {"error":{"status":413,"message":"the request body is over the limit of 2097152 bytes"}}
//! ```
//!
//! and otherwise one line of plain text, `413 Payload Too Large: the request
//! body is over the limit of 2097152 bytes`. That covers the answers the
//! server makes itself (`408`/`503` on a timeout, `413` over the body limit,
//! `400` for a body that is malformed or cut short, `500` for a panic); the
//! `404` for a path no route matches and the `405` for a method a route does
//! not answer (its `Allow` kept); the answers approute's routes make (`400`
//! for bad percent-encoding, `413` over a `BODY_LIMIT`, `504` past a
//! `MAX_DURATION`), whose text stays as the route wrote it unless JSON is
//! asked for; and axum's "Failed to buffer the request body" rejections.
//! The framework marks its answers, so a handler's own error answer, an
//! empty `404` too, reaches the client exactly as the handler made it.
//!
//! Malformed HTTP that cannot be parsed at all (a garbage request line, a
//! header block over the size limit) is answered by hyper with an empty
//! `400`, `414` or `431` and a closed connection.

use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;

use crate::RouteInfo;
use limits::LimitedRouter;
#[cfg(feature = "logging")]
pub use logging::init_logging;
use logging::{RouteLine, LOG_TARGET};
use shutdown::{ShutdownFuture, Trigger};

mod connection;
mod errors;
mod inherited;
mod limits;
mod logging;
mod shutdown;

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
        self.routes = routes.iter().map(RouteLine::new).collect();
        self
    }

    /// The largest request body accepted, in bytes (default
    /// [`DEFAULT_BODY_LIMIT`]). A `Content-Length` over it is answered `413`
    /// before the handler runs; a longer streamed body fails to read, and the
    /// error answer the handler then gives becomes a `413`.
    ///
    /// This is also the default for axum's body extractors (in place of
    /// axum's own 2 MiB); a [`DefaultBodyLimit`] layer inside the router,
    /// or a route's `BODY_LIMIT`, still sets its own. When the
    /// [routes](Server::routes) given include a `BODY_LIMIT` over this one,
    /// the server lets bodies up to that size through to the router, and
    /// axum's extractors hold the other routes to this limit.
    ///
    /// [`DefaultBodyLimit`]: axum::extract::DefaultBodyLimit
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
    /// A listening socket passed down as fd 3 with `LISTEN_FDS` (systemd,
    /// `systemfd`, `cargo approute dev`) is served instead of binding.
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
        let mut trigger = Trigger::new(shutdown)?;
        let listener = match bind {
            Bind::Listener(listener) => listener,
            Bind::Addr(addr) => TcpListener::bind(addr).await?,
            Bind::Env => match inherited::listener()? {
                Some(listener) => listener,
                None => {
                    let (host, port) = env_addr()?;
                    TcpListener::bind((host.as_str(), port)).await?
                }
            },
        };
        let addr = listener.local_addr()?;
        tracing::info!(target: LOG_TARGET, "listening on http://{addr}");
        logging::log_routes(&routes, timeout);
        inherited::notify_ready();
        let router = LimitedRouter::new(router, &routes, body_limit, timeout, timeout_status);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);

        let (reason, connections) =
            connection::accept_until(trigger.first(), listener, http, Arc::new(router)).await;
        shutdown::drain(reason, connections, grace_period, &mut trigger).await;
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

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
//!     let _logs = approute::serve::init_logging();
//!     let router = Router::new().route("/", get(|| async { "hello" }));
//!     approute::serve(router).await
//! }
//! ```
//!
//! Everything is configurable with the [`Server`] builder; the defaults are
//! [`DEFAULT_PORT`], [`DEFAULT_HOST`], [`DEFAULT_BODY_LIMIT`],
//! [`DEFAULT_TIMEOUT`] (answered with `408 Request Timeout`),
//! [`DEFAULT_GRACE_PERIOD`], [`DEFAULT_HEADER_READ_TIMEOUT`],
//! [`DEFAULT_HEADER_LIMIT`], [`DEFAULT_WRITE_TIMEOUT`] and
//! [`DEFAULT_MAX_CONNECTIONS`] (fewer when the open-files limit is low).
//!
//! # The client's address
//!
//! Each request carries axum's [`ConnectInfo<SocketAddr>`] (the peer
//! address), as under `axum::serve` with
//! `into_make_service_with_connect_info`, and [`ClientAddr`] reads the
//! client's address: the peer's, or the one a trusted proxy forwarded
//! ([`Server::trust_proxies`]).
//!
//! [`ConnectInfo<SocketAddr>`]: axum::extract::ConnectInfo
//! [`ClientAddr`]: crate::ClientAddr
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
use bind::Bind;
use connection::ConnectionConfig;
use limits::LimitedRouter;
#[cfg(feature = "logging")]
pub use logging::{init_logging, LogGuard};
use logging::{RouteLine, LOG_TARGET};
use peer::TrustedProxies;
use shutdown::{ShutdownFuture, Trigger};

mod bind;
mod connection;
mod deadlines;
mod errors;
mod inherited;
mod limits;
#[cfg(feature = "logging")]
mod log_buffer;
#[cfg(feature = "logging")]
mod log_format;
mod logging;
mod peer;
mod request_head;
mod shutdown;

/// hyper's smallest read buffer.
const MIN_HEADER_LIMIT: usize = 8 * 1024;

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
/// The largest request head (request line and headers) accepted by
/// default: 64 KiB.
pub const DEFAULT_HEADER_LIMIT: usize = 64 * 1024;
/// How long a response may wait for a client that takes none of it by
/// default.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most connections open at once by default, when the open-files limit
/// allows as many (see [`Server::max_connections`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

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
    header_limit: usize,
    write_timeout: Option<Duration>,
    max_connections: Option<usize>,
    proxies: Result<TrustedProxies, String>,
    shutdown: Option<ShutdownFuture>,
    #[cfg(feature = "compression")]
    compression: crate::compress::Compression,
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
            header_limit: DEFAULT_HEADER_LIMIT,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            max_connections: None,
            proxies: Ok(TrustedProxies::default()),
            shutdown: None,
            #[cfg(feature = "compression")]
            compression: crate::compress::Compression::default(),
        }
    }

    /// How answers are compressed (default: brotli or gzip, as the
    /// client's `Accept-Encoding` asks, for text, JSON and the like of
    /// 1 KiB or more); see [`approute::compress`](crate::compress).
    /// [`Compression::off`](crate::compress::Compression::off) sends every
    /// answer as it is.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// use approute::compress::{Compression, Encoding};
    /// approute::serve(router)
    ///     .compression(Compression::default().encodings([Encoding::Gzip]).gzip_level(4))
    ///     .await
    /// # }
    /// ```
    #[cfg(feature = "compression")]
    pub fn compression(mut self, compression: crate::compress::Compression) -> Server {
        self.compression = compression;
        self
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
    ///     let _logs = approute::serve::init_logging();
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
    /// `None` for no limit. This bounds slow-loris clients, and kept-alive
    /// connections left idle: one is closed within one to two timeouts of
    /// its last answer (`tests/tests/serve_header_clock.rs`).
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

    /// The largest request head, the request line and headers together, in
    /// bytes (default [`DEFAULT_HEADER_LIMIT`]; at least 8 KiB). A longer
    /// one is answered `431 Request Header Fields Too Large` and its
    /// connection closed, so a client holds at most this much of the
    /// server's memory while it sends headers.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve(router).header_limit(16 * 1024).await
    /// # }
    /// ```
    pub fn header_limit(mut self, bytes: usize) -> Server {
        self.header_limit = bytes;
        self
    }

    /// How long a response may wait on a client that takes none of it
    /// (default [`DEFAULT_WRITE_TIMEOUT`]); `None` for no limit. Past it
    /// the connection is closed and the response dropped, so a client that
    /// stops reading does not hold a large body in memory. Only time blocked
    /// on a write counts: a stream with nothing to send (server-sent events
    /// between events) keeps its connection however long it is quiet.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// use std::time::Duration;
    /// approute::serve(router).write_timeout(Duration::from_secs(10)).await
    /// # }
    /// ```
    pub fn write_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Server {
        self.write_timeout = timeout.into();
        self
    }

    /// The most connections open at once. With that many open, the server
    /// accepts no more until one closes: new ones wait in the kernel's
    /// listen queue (they are not accepted and dropped). The default is
    /// [`DEFAULT_MAX_CONNECTIONS`], or, when the soft limit on open files
    /// (`ulimit -n`) is lower, that limit less an eighth of it (at least 32)
    /// for the app's own files and sockets. Should `accept` fail all the
    /// same (out of file descriptors), the server pauses between tries, up
    /// to 500 ms, and logs once until it succeeds again.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve(router).max_connections(2_000).await
    /// # }
    /// ```
    pub fn max_connections(mut self, max: usize) -> Server {
        self.max_connections = Some(max);
        self
    }

    /// The proxies (addresses like `10.0.0.7`, networks like `10.0.0.0/8`
    /// or `fd00::/8`) whose `X-Forwarded-For` is believed: for a request
    /// from one of them, [`ClientAddr`](crate::ClientAddr) is the first
    /// address in `X-Forwarded-For`, from the right, that is not one of
    /// them. None by default, and then the client is the peer, whatever the
    /// request's headers say. An entry that is not an address or a network
    /// makes [`Server::run`] fail.
    ///
    /// ```no_run
    /// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
    /// approute::serve(router).trust_proxies(["10.0.0.0/8", "::1"]).await
    /// # }
    /// ```
    pub fn trust_proxies<I>(mut self, proxies: I) -> Server
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.proxies = TrustedProxies::parse(proxies);
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
            header_limit,
            write_timeout,
            max_connections,
            proxies,
            shutdown,
            #[cfg(feature = "compression")]
            compression,
        } = self;
        let proxies = proxies.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;

        // Listen for signals before binding, so that one sent as soon as the
        // port answers is not lost.
        let mut trigger = Trigger::new(shutdown)?;
        let listener = match bind {
            Bind::Listener(listener) => listener,
            Bind::Addr(addr) => TcpListener::bind(addr).await?,
            Bind::Env => match inherited::listener()? {
                Some(listener) => listener,
                None => {
                    let (host, port) = bind::env_addr()?;
                    TcpListener::bind((host.as_str(), port)).await?
                }
            },
        };
        let addr = listener.local_addr()?;
        tracing::info!(target: LOG_TARGET, "listening on http://{addr}");
        logging::log_routes(&routes, timeout);
        inherited::notify_ready();
        let router = LimitedRouter::new(
            router,
            &routes,
            body_limit,
            timeout,
            timeout_status,
            proxies,
            #[cfg(feature = "compression")]
            compression,
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        // hyper answers a head over `max_header_size` with a 431; its read
        // buffer, bounded by `max_buf_size`, cannot grow past the limit.
        let header_limit = header_limit.max(MIN_HEADER_LIMIT);
        // The header read timeout is the connection's own (`deadlines`):
        // hyper's makes a timer for every request.
        http.timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_header_size(header_limit)
            .max_buf_size(header_limit);
        let max_connections = max_connections.unwrap_or_else(connection::default_max_connections);
        tracing::info!(
            target: LOG_TARGET,
            "at most {max_connections} connections, request heads up to {header_limit} bytes, \
             write timeout {write_timeout:?}"
        );
        // Seen at once: a supervisor or a test waits for these lines.
        logging::flush();
        let config = ConnectionConfig {
            http,
            max_connections,
            write_timeout,
            header_read_timeout,
        };

        let (reason, connections) =
            connection::accept_until(trigger.first(), listener, config, Arc::new(router)).await;
        shutdown::drain(reason, connections, grace_period, &mut trigger).await;
        // Every request's line is out before the process may exit.
        logging::flush();
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

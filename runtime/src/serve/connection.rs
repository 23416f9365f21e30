//! Accepting connections, at most so many at once, and serving each one
//! over HTTP/1.1.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use super::deadlines::{Deadlines, RequestClock, Sent};
use super::limits::LimitedRouter;
use super::logging::LOG_TARGET;

/// The connections still open, and how to ask them to finish.
pub(super) struct Connections {
    pub(super) open: JoinSet<()>,
    pub(super) stop: watch::Sender<bool>,
}

/// How connections are accepted and served.
pub(super) struct ConnectionConfig {
    pub(super) http: Builder,
    pub(super) max_connections: usize,
    pub(super) write_timeout: Option<Duration>,
    pub(super) header_read_timeout: Option<Duration>,
}

/// Accepts connections and serves each on its own task until `shutdown`
/// completes; says why it stopped. With `max_connections` open it accepts
/// nothing until one closes: new ones wait in the kernel's backlog rather
/// than being accepted and dropped. The listener is dropped on return, so
/// new connections are refused from then on.
pub(super) async fn accept_until(
    shutdown: impl Future<Output = &'static str>,
    listener: TcpListener,
    config: ConnectionConfig,
    router: Arc<LimitedRouter>,
) -> (&'static str, Connections) {
    let (stop, stopped) = watch::channel(false);
    let mut open = JoinSet::new();
    let mut backoff = AcceptBackoff::default();
    let max = config.max_connections.max(1);
    // The pause after a failed accept: a branch of its own, so shutdown
    // and closing connections are seen during it.
    let pause = tokio::time::sleep(Duration::ZERO);
    let mut paused = false;
    tokio::pin!(shutdown, pause);
    let reason = loop {
        tokio::select! {
            biased;
            reason = &mut shutdown => break reason,
            Some(_) = open.join_next(), if !open.is_empty() => {}
            () = &mut pause, if paused => paused = false,
            accepted = listener.accept(), if open.len() < max && !paused => match accepted {
                Ok((stream, peer)) => {
                    backoff.succeeded();
                    open.spawn(serve_connection(
                        stream,
                        peer,
                        (config.write_timeout, config.header_read_timeout),
                        config.http.clone(),
                        router.clone(),
                        stopped.clone(),
                    ));
                }
                Err(e) => {
                    if let Some(wait) = backoff.failed(e) {
                        pause.as_mut().reset(tokio::time::Instant::now() + wait);
                        paused = true;
                    }
                }
            },
        }
    };
    (reason, Connections { open, stop })
}

/// Pauses after failed `accept`s (out of file descriptors, say), longer
/// each time up to [`AcceptBackoff::LONGEST`], so the loop neither spins
/// nor stops; logs the first failure and then at most one line a minute,
/// however often the failures come and go.
#[derive(Default)]
struct AcceptBackoff {
    pause: Duration,
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const LONGEST: Duration = Duration::from_millis(500);
    const LOG_EVERY: Duration = Duration::from_secs(60);

    /// How long to wait before the next try, if at all.
    fn failed(&mut self, e: io::Error) -> Option<Duration> {
        // A connection that died in the backlog: nothing is wrong here.
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionRefused
        ) {
            return None;
        }
        if self
            .last_logged
            .is_none_or(|at| at.elapsed() >= Self::LOG_EVERY)
        {
            let since = match self.unlogged {
                0 => String::new(),
                n => format!(" ({n} more failures since the last such line)"),
            };
            tracing::error!(
                target: LOG_TARGET,
                "accept failed: {e}{since}; pausing up to {:?} between tries, logging at most \
                 once a minute (lower max_connections or raise `ulimit -n`)",
                Self::LONGEST
            );
            self.last_logged = Some(Instant::now());
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        self.pause = (self.pause * 2).clamp(Self::FIRST, Self::LONGEST);
        Some(self.pause)
    }

    fn succeeded(&mut self) {
        self.pause = Duration::ZERO;
    }
}

/// The default for [`Server::max_connections`](super::Server::max_connections):
/// [`DEFAULT_MAX_CONNECTIONS`](super::DEFAULT_MAX_CONNECTIONS), or fewer
/// when the process's soft limit on open files would run out first (an
/// eighth of it, at least 32, is left for the app's own files, sockets and
/// database connections).
pub(super) fn default_max_connections() -> usize {
    let cap = super::DEFAULT_MAX_CONNECTIONS;
    match open_files_limit() {
        Some(limit) => {
            let margin = (limit / 8).max(32);
            limit.saturating_sub(margin).clamp(1, cap)
        }
        None => cap,
    }
}

/// The soft `RLIMIT_NOFILE`, from `/proc/self/limits` (Linux); `None` when
/// unlimited or unknown.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How long a connection accepted just before shutdown has to send its
/// first request. The client's connect succeeded, so it will send one;
/// closing it at once would fail a request that did nothing wrong (hyper's
/// graceful shutdown closes a connection that has not read a request yet).
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

/// Serves one connection until it closes, or finishes its current request
/// and closes once `stop` turns true. A connection that has not begun a
/// request when `stop` comes gets [`FIRST_REQUEST_GRACE`] to send one,
/// which is then served.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    timeouts: (Option<Duration>, Option<Duration>),
    http: Builder,
    router: Arc<LimitedRouter>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (write_timeout, header_read_timeout) = timeouts;
    let clock = Arc::new(RequestClock::default());
    let stream = Deadlines::new(stream, write_timeout, header_read_timeout, clock.clone());
    // Holds a permit once a request has begun (notify_one keeps one).
    let begun = Arc::new(Notify::new());
    let on_request = begun.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let clock = clock.clone();
        if clock.begin() == 0 {
            on_request.notify_one();
        }
        let handling = router.handle(req, peer);
        async move {
            let response = handling.await;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                clock.upgrade();
            }
            Ok::<_, Infallible>(response.map(|body| Sent::new(body, clock)))
        }
    });
    let conn = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stop.changed() => {
            tokio::select! {
                result = conn.as_mut() => return log_close(result, peer),
                () = begun.notified() => {}
                () = tokio::time::sleep(FIRST_REQUEST_GRACE) => {}
            }
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    log_close(result, peer);
}

fn log_close(result: hyper::Result<()>, peer: SocketAddr) {
    if let Err(e) = result {
        tracing::debug!(target: LOG_TARGET, %peer, "connection closed: {e}");
    }
}

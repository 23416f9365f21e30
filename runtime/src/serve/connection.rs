//! Accepting connections and serving each one over HTTP/1.1.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::limits::LimitedRouter;
use super::logging::LOG_TARGET;

/// The connections still open, and how to ask them to finish.
pub(super) struct Connections {
    pub(super) open: JoinSet<()>,
    pub(super) stop: watch::Sender<bool>,
}

/// Accepts connections and serves each on its own task until `shutdown`
/// completes; says why it stopped. The listener is dropped on return, so
/// new connections are refused from then on.
pub(super) async fn accept_until(
    shutdown: impl Future<Output = &'static str>,
    listener: TcpListener,
    http: Builder,
    router: Arc<LimitedRouter>,
) -> (&'static str, Connections) {
    let (stop, stopped) = watch::channel(false);
    let mut open = JoinSet::new();
    tokio::pin!(shutdown);
    let reason = loop {
        tokio::select! {
            biased;
            reason = &mut shutdown => break reason,
            Some(_) = open.join_next(), if !open.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    open.spawn(serve_connection(
                        stream,
                        peer,
                        http.clone(),
                        router.clone(),
                        stopped.clone(),
                    ));
                }
                Err(e) => pause_after(e).await,
            },
        }
    };
    (reason, Connections { open, stop })
}

/// After a failed `accept`: a connection that died in the backlog is
/// nothing; anything else (out of file descriptors) gets a pause so the loop
/// does not spin.
async fn pause_after(e: io::Error) {
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
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    http: Builder,
    router: Arc<LimitedRouter>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.handle(req).await) }
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

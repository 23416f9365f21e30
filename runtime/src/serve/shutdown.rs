//! Shutting down: what starts it (SIGINT/SIGTERM, or the future given to
//! [`Server::shutdown_on`](super::Server::shutdown_on)) and the drain of the
//! connections still open, bounded by the grace period.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::connection::Connections;
use super::logging::LOG_TARGET;

/// The future given to `Server::shutdown_on`.
pub(super) type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Asks every open connection to finish its current request, then waits for
/// them up to `grace_period` (or a second signal), and closes the rest.
pub(super) async fn drain(
    reason: &str,
    connections: Connections,
    grace_period: Duration,
    trigger: &mut Trigger,
) {
    let Connections { mut open, stop } = connections;
    let _ = stop.send(true);
    tracing::info!(
        target: LOG_TARGET,
        "{reason}: shutting down, waiting up to {grace_period:?} for {} open connection(s)",
        open.len()
    );
    let started = Instant::now();
    let drained = tokio::select! {
        () = async { while open.join_next().await.is_some() {} } => true,
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
            open.len(),
            started.elapsed()
        );
        open.shutdown().await;
    }
}

/// What ends [`Server::run`]'s accept loop.
pub(super) enum Trigger {
    Signals(Signals),
    Future(Option<ShutdownFuture>),
}

impl Trigger {
    /// `signal` if given, else SIGINT and SIGTERM.
    pub(super) fn new(signal: Option<ShutdownFuture>) -> io::Result<Trigger> {
        Ok(match signal {
            Some(signal) => Trigger::Future(Some(signal)),
            None => Trigger::Signals(Signals::new()?),
        })
    }

    /// Waits for the shutdown signal; says which it was.
    pub(super) async fn first(&mut self) -> &'static str {
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
    pub(super) async fn again(&mut self) -> &'static str {
        match self {
            Trigger::Signals(signals) => signals.recv().await,
            Trigger::Future(_) => std::future::pending().await,
        }
    }
}

#[cfg(unix)]
pub(super) struct Signals {
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
pub(super) struct Signals;

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

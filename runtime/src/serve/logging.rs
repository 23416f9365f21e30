//! What the server says: the start-up lines, and [`init_logging`] for a
//! subscriber that prints them (and each request's line) on stderr.

use std::time::Duration;

use crate::RouteInfo;

/// The `tracing` target of every line the server logs.
pub(super) const LOG_TARGET: &str = "approute::serve";

/// A route as the server knows it: its log line and the limits it asks for.
pub(super) struct RouteLine {
    pub(super) line: String,
    pub(super) route_id: &'static str,
    pub(super) body_limit: Option<usize>,
    pub(super) max_duration: Option<u64>,
}

impl RouteLine {
    pub(super) fn new(route: &RouteInfo) -> RouteLine {
        RouteLine {
            line: route.to_string(),
            route_id: route.route_id(),
            body_limit: route.config().body_limit,
            max_duration: route.config().max_duration,
        }
    }

    /// Says so if the route wants longer than the server allows.
    fn warn_if_over(&self, timeout: Option<Duration>) {
        if let (Some(seconds), Some(timeout)) = (self.max_duration, timeout) {
            if Duration::from_secs(seconds) >= timeout {
                tracing::warn!(
                    target: LOG_TARGET,
                    "{}: its MAX_DURATION of {seconds} s is not under the server's timeout of \
                     {timeout:?}, which applies first (raise it with Server::timeout)",
                    self.route_id
                );
            }
        }
    }
}

/// One line per route, then a warning for each route whose `MAX_DURATION`
/// the server's timeout cuts short.
pub(super) fn log_routes(routes: &[RouteLine], timeout: Option<Duration>) {
    for route in routes {
        tracing::info!(target: LOG_TARGET, "route {}", route.line);
    }
    for route in routes {
        route.warn_if_over(timeout);
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
    use std::io::{self, IsTerminal};
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

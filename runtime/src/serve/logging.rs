//! What the server says: the start-up lines, and [`init_logging`] for a
//! subscriber that prints them (and each request's line) on stderr.

use std::time::{Duration, Instant};

use axum::http::{Method, Request, StatusCode, Uri};

#[cfg(feature = "logging")]
use super::log_buffer;
#[cfg(feature = "logging")]
use super::log_format::{self, LineFormat};
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
/// Lines do not make a request wait for stderr: they are buffered, and a
/// thread of their own writes them out within 100 ms (warnings, errors and
/// the server's start-up lines at once). The buffer holds at most 1 MiB;
/// should stderr fall that far behind, lines are written out by the thread
/// that logs them, so none is dropped. [`Server::run`](super::Server::run)
/// writes out the rest before it returns, so a SIGTERM loses no line; the
/// [`LogGuard`] returned does the same when dropped, for lines logged after
/// the server (keep it to the end of `main`).
///
/// ```no_run
/// # async fn run(router: approute::axum::Router) -> std::io::Result<()> {
/// let _logs = approute::serve::init_logging();
/// approute::serve(router).await
/// # }
/// ```
#[cfg(feature = "logging")]
pub fn init_logging() -> LogGuard {
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
    let ansi = io::stderr().is_terminal();
    let fmt = tracing_subscriber::fmt::layer()
        .event_format(LineFormat)
        .with_writer(BufferedStderr)
        .with_ansi(ansi);
    let subscriber: Ours = tracing_subscriber::registry().with(fmt).with(filter);
    if subscriber.try_init().is_ok() {
        log_buffer::start();
        flush_on_panic();
        log_format::installed(ansi);
    }
    LogGuard { _private: () }
}

/// The subscriber [`init_logging`] installs, named so that a request line
/// can tell it is the one it would reach (see `log_format::request_line`).
#[cfg(feature = "logging")]
type Ours = tracing_subscriber::layer::Layered<
    tracing_subscriber::filter::Targets,
    tracing_subscriber::layer::Layered<
        tracing_subscriber::fmt::Layer<
            tracing_subscriber::Registry,
            tracing_subscriber::fmt::format::DefaultFields,
            LineFormat,
            BufferedStderr,
        >,
        tracing_subscriber::Registry,
    >,
>;

/// Writes out the buffered lines when dropped: what [`init_logging`]
/// returns. Dropping it early loses nothing (the server flushes too, and
/// lines keep being written out); keep it to the end of `main` to have the
/// lines logged after the server returns written out before the process
/// exits.
#[cfg(feature = "logging")]
#[derive(Debug)]
pub struct LogGuard {
    _private: (),
}

#[cfg(feature = "logging")]
impl Drop for LogGuard {
    fn drop(&mut self) {
        log_buffer::flush();
    }
}

/// Writes out what is buffered before a panic's message, so a process that
/// dies of it shows its last request lines.
#[cfg(feature = "logging")]
fn flush_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        log_buffer::try_flush();
        previous(info);
    }));
}

/// The [`init_logging`] writer: [`log_buffer`], which writes lines at
/// info level and below within [`log_buffer::FLUSH_EVERY`], the others at
/// once.
#[cfg(feature = "logging")]
struct BufferedStderr;

#[cfg(feature = "logging")]
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter { now: true }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        LineWriter {
            now: *meta.level() <= tracing::Level::WARN,
        }
    }
}

#[cfg(feature = "logging")]
struct LineWriter {
    now: bool,
}

#[cfg(feature = "logging")]
impl std::io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer::append(buf, self.now);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes out every line buffered so far: at shutdown, and after the
/// start-up lines, which a supervisor or a test waits to see.
pub(super) fn flush() {
    #[cfg(feature = "logging")]
    log_buffer::flush();
}

/// A request's log line, begun when its head is in: `None` when the line
/// would be filtered out, so a quiet server copies nothing for it.
pub(super) struct RequestLine {
    method: Method,
    uri: Uri,
    /// Whether the line is written straight into `init_logging`'s buffer
    /// (see `log_format::request_line`), asked once per request.
    #[cfg(feature = "logging")]
    direct: bool,
}

impl RequestLine {
    pub(super) fn begin<B>(req: &Request<B>) -> Option<RequestLine> {
        tracing::enabled!(target: LOG_TARGET, tracing::Level::INFO).then(|| RequestLine {
            method: req.method().clone(),
            // The path as the client sent it; a clone shares its bytes.
            uri: req.uri().clone(),
            #[cfg(feature = "logging")]
            direct: log_format::direct::<Ours>(),
        })
    }

    /// Logs the line of a request that began at `started`, answered now
    /// (`now`, read once for the latency and, with `init_logging`, the
    /// timestamp).
    pub(super) fn end(self, status: StatusCode, started: Instant, now: Instant) {
        thread_local! {
            static LATENCY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let latency = now.saturating_duration_since(started);
        #[cfg(feature = "logging")]
        if self.direct {
            log_format::request_line(self.method.as_str(), self.uri.path(), status, latency, now);
            return;
        }
        // Strings and integers: what a formatter copies without `fmt`.
        LATENCY.with_borrow_mut(|text| {
            text.clear();
            push_latency(text, latency);
            tracing::info!(
                target: LOG_TARGET,
                method = self.method.as_str(),
                path = self.uri.path(),
                status = status.as_u16(),
                latency = text.as_str(),
                "request"
            );
        });
    }
}

/// Where a line's text goes: a `String` (what `tracing`'s formatter
/// writes), or a request line's bytes, which need no UTF-8 check.
pub(super) trait Line {
    fn put_str(&mut self, text: &str);
    /// ASCII bytes (digits, punctuation).
    fn put_ascii(&mut self, text: &[u8]);
    /// `text` quoted and escaped, as `Debug` writes it.
    fn put_debug(&mut self, text: &str);
}

impl Line for String {
    fn put_str(&mut self, text: &str) {
        self.push_str(text);
    }

    fn put_ascii(&mut self, text: &[u8]) {
        for &b in text {
            self.push(char::from(b));
        }
    }

    fn put_debug(&mut self, text: &str) {
        let _ = std::fmt::Write::write_fmt(self, format_args!("{text:?}"));
    }
}

impl Line for Vec<u8> {
    fn put_str(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }

    fn put_ascii(&mut self, text: &[u8]) {
        self.extend_from_slice(text);
    }

    fn put_debug(&mut self, text: &str) {
        let _ = std::io::Write::write_fmt(self, format_args!("{text:?}"));
    }
}

/// A latency as `Duration`'s `Debug` writes it (`41.234µs`, `1.5ms`,
/// `2s`), without the formatting machinery.
pub(super) fn push_latency(line: &mut impl Line, latency: Duration) {
    let nanos = u64::from(latency.subsec_nanos());
    let (whole, fraction, digits, unit) = if latency.as_secs() > 0 {
        (latency.as_secs(), nanos, 9, "s")
    } else if nanos >= 1_000_000 {
        (nanos / 1_000_000, nanos % 1_000_000, 6, "ms")
    } else if nanos >= 1_000 {
        (nanos / 1_000, nanos % 1_000, 3, "µs")
    } else {
        (nanos, 0, 0, "ns")
    };
    push_digits(line, whole, 1);
    if fraction > 0 {
        let (mut fraction, mut digits) = (fraction, digits);
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        line.put_ascii(b".");
        push_digits(line, fraction, digits);
    }
    line.put_str(unit);
}

/// `value` in decimal, zero-padded to `width` digits (at most 20).
pub(super) fn push_digits(line: &mut impl Line, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = value;
    while rest > 0 || at == digits.len() {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    // `digits` is zeros where it was not written: the padding.
    let at = at.min(digits.len().saturating_sub(width));
    line.put_ascii(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_decimal_and_padded() {
        for (value, width) in [
            (0, 1),
            (7, 1),
            (10, 1),
            (99, 1),
            (100, 1),
            (42, 6),
            (123_456, 6),
        ] {
            let mut line = String::new();
            push_digits(&mut line, value, width);
            assert_eq!(line, format!("{value:0width$}"));
        }
        for value in [u64::MAX, 1_000_000_007, 9_999, 10_001] {
            let mut line = String::new();
            push_digits(&mut line, value, 1);
            assert_eq!(line, value.to_string());
        }
    }

    #[test]
    fn latencies_read_as_durations_debug() {
        for nanos in [
            0,
            7,
            999,
            1_000,
            41_234,
            41_200,
            1_500_000,
            1_000_001,
            999_999_999,
        ] {
            for secs in [0, 2] {
                let latency = Duration::new(secs, nanos);
                let mut line = String::new();
                push_latency(&mut line, latency);
                assert_eq!(line, format!("{latency:?}"));
            }
        }
    }
}

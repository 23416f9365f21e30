//! The line [`init_logging`](super::init_logging) prints for an event, in
//! `tracing_subscriber`'s default layout:
//!
//! ```text
//! 2026-12-01T22:51:07.402113Z  INFO approute::serve: request method=GET path=/api/users/42 status=200 latency=41.2µs
//! ```
//!
//! made without the generic formatting machinery where it can be: the
//! timestamp's date and time are formatted once a second (by
//! `tracing_subscriber`), strings and integers are copied as they are. `tracing_subscriber`'s own formatter
//! cost a request line about 9,500 instructions, as much as the rest of the
//! request (BENCHMARKS.md, section 10); this one costs under a fifth of that.

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::log_buffer;
use super::logging::{push_digits, push_latency, Line};

/// The event formatter of [`init_logging`](super::init_logging).
pub(super) struct LineFormat;

/// Whether [`init_logging`](super::init_logging)'s subscriber is the
/// global one, and whether it writes colours.
static INSTALLED: AtomicBool = AtomicBool::new(false);
static ANSI: AtomicBool = AtomicBool::new(false);
pub(super) fn installed(ansi: bool) {
    ANSI.store(ansi, Ordering::Relaxed);
    INSTALLED.store(true, Ordering::Relaxed);
}

/// Whether a request's line may be written straight into the log buffer
/// ([`request_line`]): when the event would reach nothing but
/// [`init_logging`](super::init_logging)'s subscriber. Else the caller logs
/// the event. `tracing`'s dispatch and field visits cost a line twice what
/// making it does.
pub(super) fn direct<Ours: Subscriber>() -> bool {
    // No span can be entered here: the line is logged by the connection's
    // own task, which the server spawns and enters none in.
    INSTALLED.load(Ordering::Relaxed)
        && tracing::dispatcher::get_default(|dispatch| dispatch.is::<Ours>())
}

/// Writes a request's line straight into the log buffer, the very line
/// [`LineFormat`] would make of the `tracing` event; `now` is when it was
/// answered.
pub(super) fn request_line(
    method: &str,
    path: &str,
    status: StatusCode,
    latency: Duration,
    now: Instant,
) {
    REQUEST_LINE.with_borrow_mut(|line| {
        line.clear();
        let ansi = ANSI.load(Ordering::Relaxed);
        push_timestamp(line, Some(now));
        push_request_line(line, method, path, status, latency, ansi);
        log_buffer::append(line, false);
    });
}

fn push_request_line(
    line: &mut impl Line,
    method: &str,
    path: &str,
    status: StatusCode,
    latency: Duration,
    ansi: bool,
) {
    // What `push_level` and the target make of an info line of ours.
    line.put_str(if ansi {
        " \x1b[32m INFO\x1b[0m approute::serve: request method="
    } else {
        "  INFO approute::serve: request method="
    });
    push_value(line, method);
    line.put_str(" path=");
    push_value(line, path);
    line.put_str(" status=");
    line.put_str(status.as_str());
    line.put_str(" latency=");
    push_latency(line, latency);
    line.put_ascii(b"\n");
}

/// A string field's value, quoted only where a reader could not tell
/// where it ends.
fn push_value(line: &mut impl Line, value: &str) {
    if !value.is_empty() && !value.bytes().any(|b| b <= b' ' || b == b'"') {
        line.put_str(value);
    } else {
        line.put_debug(value);
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Made in a string of this thread's, then written in one call: the
        // writer's every call is a dynamic one.
        LINE.with_borrow_mut(|line| {
            line.clear();
            let metadata = event.metadata();
            push_timestamp(line, None);
            push_level(line, *metadata.level(), writer.has_ansi_escapes());
            if let Some(scope) = ctx.event_scope() {
                for span in scope.from_root() {
                    line.push_str(span.name());
                    let extensions = span.extensions();
                    if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                        if !fields.is_empty() {
                            let _ = write!(line, "{{{fields}}}");
                        }
                    }
                    line.push(':');
                }
                line.push(' ');
            }
            line.push_str(metadata.target());
            line.push_str(": ");
            event.record(&mut Fields { line, first: true });
            line.push('\n');
            writer.write_str(line)
        })
    }
}

/// `level` as `tracing_subscriber` pads it, coloured on a terminal.
fn push_level(line: &mut String, level: Level, ansi: bool) {
    let (text, colour) = match level {
        Level::TRACE => ("TRACE", "35"),
        Level::DEBUG => ("DEBUG", "34"),
        Level::INFO => (" INFO", "32"),
        Level::WARN => (" WARN", "33"),
        Level::ERROR => ("ERROR", "31"),
    };
    line.push(' ');
    if ansi {
        let _ = write!(line, "\x1b[{colour}m{text}\x1b[0m");
    } else {
        line.push_str(text);
    }
    line.push(' ');
}

thread_local! {
    /// The line being made.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The request line being made.
    static REQUEST_LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The second last formatted, and its `2026-12-01T22:51:07.` text.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    /// A moment read on both clocks, at most a second ago.
    static ANCHOR: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// The time since the epoch at `now`, or at this moment. A request's line
/// has read the monotonic clock for its latency already: its wall-clock
/// time is taken from it, through a reading of both clocks made at most a
/// second before (so the two may differ by what the system clock was
/// slewed within that second, under a millisecond, or stepped since).
fn since_epoch(now: Option<Instant>) -> Duration {
    let wall = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    };
    let Some(now) = now else {
        return wall();
    };
    ANCHOR.with(|anchor| {
        if let Some((at, since)) = anchor.get() {
            if let Some(after) = now.checked_duration_since(at) {
                if after < Duration::from_secs(1) {
                    return since + after;
                }
            }
        }
        let since = wall();
        anchor.set(Some((Instant::now(), since)));
        since
    })
}

/// The UTC time, to the microsecond: `2026-12-01T22:51:07.402113Z`. The
/// date and time are `tracing_subscriber`'s own, made once a second.
fn push_timestamp(line: &mut impl Line, at: Option<Instant>) {
    let now = since_epoch(at);
    let secs = now.as_secs();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != secs {
            text.clear();
            let _ = tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(text));
            // `2026-12-01T22:51:07.402113Z`: keep up to the `.`, if it is
            // this second's (the clock may have moved on in between).
            let cut = text.find('.').unwrap_or(text.len());
            let seconds = text.get(cut.saturating_sub(2)..cut);
            let this_second = seconds.and_then(|s| s.parse::<u64>().ok()) == Some(secs % 60);
            *second = if this_second { secs } else { u64::MAX };
            text.truncate(cut + 1);
        }
        line.put_str(text);
    });
    push_digits(line, u64::from(now.subsec_micros()), 6);
    line.put_ascii(b"Z");
}

/// The event's fields: the message as it is, the others `name=value`.
struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    /// Starts a field: ` name=`, or nothing for the message.
    fn name(&mut self, field: &Field) {
        if !self.first {
            self.line.push(' ');
        }
        self.first = false;
        if field.name() != "message" {
            self.line.push_str(field.name());
            self.line.push('=');
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        if field.name() == "message" {
            self.line.push_str(value);
        } else {
            push_value(self.line, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        push_digits(self.line, value, 1);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        if value < 0 {
            self.line.push('-');
        }
        push_digits(self.line, value.unsigned_abs(), 1);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        let _ = write!(self.line, "{value:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::logging::LOG_TARGET;
    use super::*;

    #[test]
    fn a_requests_time_read_on_the_monotonic_clock_is_the_wall_clocks() {
        let wall = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let slack = Duration::from_millis(5);
        let before = wall();
        let first = since_epoch(Some(Instant::now()));
        std::thread::sleep(Duration::from_millis(30));
        // From the reading of both clocks the first one made.
        let later = since_epoch(Some(Instant::now()));
        let after = wall();
        assert!(before <= first + slack, "{before:?} {first:?}");
        assert!(later >= first + Duration::from_millis(30) - slack);
        assert!(later <= after + slack, "{later:?} {after:?}");
    }

    #[test]
    fn lines_look_like_tracing_subscribers() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::fmt::MakeWriter;
        use tracing_subscriber::layer::SubscriberExt;

        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl<'a> MakeWriter<'a> for Lines {
            type Writer = Lines;
            fn make_writer(&'a self) -> Lines {
                self.clone()
            }
        }

        let lines = Lines::default();
        let fmt = tracing_subscriber::fmt::layer()
            .event_format(LineFormat)
            .with_ansi(false)
            .with_writer(lines.clone());
        let subscriber = tracing_subscriber::registry().with(fmt);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "approute::serve", method = "GET", path = "/a b", status = 200u16,
                latency = ?std::time::Duration::from_micros(1500), "request");
            let span = tracing::warn_span!("job", id = 7);
            let _entered = span.enter();
            tracing::warn!(target: "app", ok = true, delta = -3i64, "a {}", "message");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let (stamp, rest) = lines[0].split_once(' ').unwrap();
        assert_eq!(stamp.len(), "2026-12-01T22:51:07.402113Z".len(), "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
        assert_eq!(
            rest,
            " INFO approute::serve: request method=GET path=\"/a b\" status=200 latency=1.5ms"
        );
        let (_, rest) = lines[1].split_once(' ').unwrap();
        assert_eq!(rest, " WARN job{id=7}: app: a message ok=true delta=-3");

        // The head of a request line, as `push_level` and the target make it.
        for ansi in [false, true] {
            let mut head = String::new();
            push_level(&mut head, Level::INFO, ansi);
            head.push_str(LOG_TARGET);
            head.push_str(": request method=");
            let mut direct = String::new();
            push_request_line(&mut direct, "", "", StatusCode::OK, Duration::ZERO, ansi);
            assert!(direct.starts_with(&head), "{direct:?} {head:?}");
        }

        // The request line made without `tracing` is the same line.
        let mut direct = String::new();
        let latency = std::time::Duration::from_micros(1500);
        push_timestamp(&mut direct, Some(Instant::now()));
        push_request_line(&mut direct, "GET", "/a b", StatusCode::OK, latency, false);
        assert_eq!(
            direct.split_once(' ').unwrap().1,
            format!("{}\n", lines[0].split_once(' ').unwrap().1)
        );
    }
}

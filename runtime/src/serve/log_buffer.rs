//! Where [`init_logging`](super::init_logging)'s lines go: a buffer that a
//! thread of its own writes to stderr, so that a request never waits on a
//! `write(2)` to a terminal or a pipe.
//!
//! A line is appended under a lock (a copy of some 100 bytes); the writer
//! thread takes the whole buffer every [`FLUSH_EVERY`], or at once when a
//! line asks to be seen now (warnings, errors, the start-up lines) or the
//! buffer passes [`FLUSH_AT`]. The buffer is bounded: past
//! [`MAX_BUFFERED`] (stderr slower than the requests) the thread that
//! logs writes the buffer out itself, as every line did before, so no line
//! is dropped and memory stays bounded. [`flush`] writes out everything
//! logged so far; the server calls it when it has drained at shutdown, and
//! so does the guard [`init_logging`](super::init_logging) returns.

use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long a line may wait in the buffer when nothing asks for it sooner.
pub(super) const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The buffer size that wakes the writer thread early.
const FLUSH_AT: usize = 32 * 1024;
/// The most the buffer holds; past it, lines are written out by the
/// thread that logs them.
pub(super) const MAX_BUFFERED: usize = 1024 * 1024;

struct Pending {
    bytes: Vec<u8>,
    /// Whether a line asked to be written out now.
    wake: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    woken: Condvar,
    /// Held while writing, so that lines reach stderr in the order they
    /// were logged whichever thread writes them; holds the spare buffer.
    out: Mutex<Vec<u8>>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain bytes: still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the writer thread, once.
pub(super) fn start() {
    let mut started = false;
    let shared = SHARED.get_or_init(|| {
        started = true;
        Shared {
            pending: Mutex::new(Pending {
                bytes: Vec::with_capacity(FLUSH_AT * 2),
                wake: false,
            }),
            woken: Condvar::new(),
            out: Mutex::new(Vec::with_capacity(FLUSH_AT * 2)),
        }
    });
    if !started {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("approute-log".into())
        .spawn(move || loop {
            let pending = lock(&shared.pending);
            let (mut pending, _) = shared
                .woken
                .wait_timeout_while(pending, FLUSH_EVERY, |p| !p.wake)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            pending.wake = false;
            drop(pending);
            write_out(shared);
        });
    if spawned.is_err() {
        // No thread: every line is written out as it comes.
        lock(&shared.pending).wake = true;
    }
}

/// Appends one or more whole lines; `now` asks for them to be written out
/// without waiting for the next [`FLUSH_EVERY`].
pub(super) fn append(line: &[u8], now: bool) {
    let Some(shared) = SHARED.get() else {
        let _ = io::stderr().write_all(line);
        return;
    };
    let mut pending = lock(&shared.pending);
    pending.bytes.extend_from_slice(line);
    let len = pending.bytes.len();
    if len >= MAX_BUFFERED {
        drop(pending);
        write_out(shared);
        return;
    }
    if now || len >= FLUSH_AT {
        pending.wake = true;
        drop(pending);
        shared.woken.notify_one();
    }
}

/// Writes out every line appended so far, on this thread.
pub(super) fn flush() {
    if let Some(shared) = SHARED.get() {
        write_out(shared);
    }
}

/// [`flush`] for a panic hook: gives up rather than wait on a lock the
/// panicking thread may hold.
pub(super) fn try_flush() {
    let Some(shared) = SHARED.get() else { return };
    let Ok(mut spare) = shared.out.try_lock() else {
        return;
    };
    let Ok(mut pending) = shared.pending.try_lock() else {
        return;
    };
    std::mem::swap(&mut pending.bytes, &mut *spare);
    drop(pending);
    let _ = io::stderr().write_all(&spare);
    spare.clear();
}

fn write_out(shared: &Shared) {
    let mut spare = lock(&shared.out);
    {
        let mut pending = lock(&shared.pending);
        if pending.bytes.is_empty() {
            return;
        }
        std::mem::swap(&mut pending.bytes, &mut *spare);
    }
    // Nowhere to report a failed stderr: the lines are dropped.
    let _ = io::stderr().write_all(&spare);
    spare.clear();
    // Keep the spare from holding on to a burst's worth of memory.
    spare.shrink_to(FLUSH_AT * 2);
}

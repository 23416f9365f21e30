//! The deadlines a connection's reads and writes keep, in one wrapper
//! around its socket:
//!
//! - The write timeout: a connection whose writes have been stuck for too
//!   long (a client that stopped reading) fails, so hyper drops it and the
//!   response it holds. Only time blocked on a write counts: a response that
//!   has nothing to send (an idle event stream) never writes, so never waits.
//! - The header read timeout: a request's head must be in within it of when
//!   the server began waiting for it (when the connection opened, or the
//!   first read after the previous response, at most one timeout after it),
//!   so a slow-loris client, or a kept-alive connection left idle, is closed. hyper can keep this timeout itself,
//!   but makes and drops a timer for every request to do so; here one timer
//!   a connection is moved only when it fires, at most once per timeout, and
//!   a request costs two counters ([`RequestClock`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Which request a connection is at, shared by its service (which counts
/// requests begun, and ended when their response body is dropped) and its
/// socket's [`Deadlines`] (which start the header clock between them).
#[derive(Default)]
pub(super) struct RequestClock {
    begun: AtomicU64,
    ended: AtomicU64,
    /// After a `101 Switching Protocols` the socket is no longer HTTP's.
    upgraded: AtomicBool,
}

impl RequestClock {
    /// A request's head is in; returns how many began before it.
    pub(super) fn begin(&self) -> u64 {
        self.begun.fetch_add(1, Ordering::Relaxed)
    }

    /// A response has been sent (its body dropped).
    pub(super) fn end(&self) {
        self.ended.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn upgrade(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }

    /// Where the connection is: waiting for the head of the request after
    /// the `begun` ones, answering one, or no longer HTTP.
    fn phase(&self) -> Phase {
        if self.upgraded.load(Ordering::Relaxed) {
            return Phase::Upgraded;
        }
        let begun = self.begun.load(Ordering::Relaxed);
        if begun == self.ended.load(Ordering::Relaxed) {
            Phase::AwaitingHead(begun)
        } else {
            Phase::Answering
        }
    }
}

enum Phase {
    AwaitingHead(u64),
    Answering,
    Upgraded,
}

/// The head being awaited: how many requests had begun when the wait for
/// it began, and its deadline (the timer may be set earlier: it is moved
/// when it fires).
struct HeadDeadline {
    /// The count of requests begun when this head began to be awaited.
    after: u64,
    deadline: Instant,
}

/// `inner` with the connection's deadlines.
pub(super) struct Deadlines<S> {
    inner: S,
    write_timeout: Option<Duration>,
    /// The deadline of the write blocked now; made the first time a write
    /// blocks and reused, so a connection allocates it at most once.
    write_deadline: Option<Pin<Box<Sleep>>>,
    /// Whether `write_deadline` is for the write blocked now (else stale).
    blocked: bool,
    header_timeout: Option<Duration>,
    clock: Arc<RequestClock>,
    head: Option<HeadDeadline>,
    /// The header timer, made the first time a read waits.
    head_timer: Option<Pin<Box<Sleep>>>,
}

impl<S> Deadlines<S> {
    pub(super) fn new(
        inner: S,
        write_timeout: Option<Duration>,
        header_timeout: Option<Duration>,
        clock: Arc<RequestClock>,
    ) -> Deadlines<S> {
        Deadlines {
            inner,
            write_timeout,
            write_deadline: None,
            blocked: false,
            header_timeout,
            clock,
            head: None,
            head_timer: None,
        }
    }

    /// Passes a write's outcome through, timing the time it stays pending.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        let Poll::Pending = poll else {
            self.blocked = false;
            return poll;
        };
        let Some(timeout) = self.write_timeout else {
            return Poll::Pending;
        };
        let deadline = match &mut self.write_deadline {
            Some(deadline) => {
                if !self.blocked {
                    deadline.as_mut().reset(Instant::now() + timeout);
                }
                deadline
            }
            None => self
                .write_deadline
                .insert(Box::pin(tokio::time::sleep(timeout))),
        };
        self.blocked = true;
        ready!(deadline.as_mut().poll(cx));
        self.blocked = false;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client took nothing for {timeout:?} (write timeout)"),
        )))
    }

    /// After a read that must wait: fails it if the head being awaited is
    /// past its deadline, else makes sure the timer will wake the read.
    /// While a request is answered the timer keeps running too (moved on
    /// each time it fires), so that a connection left idle after its answer
    /// is woken and sees its head's deadline: that deadline counts from the
    /// first read after the answer, at most one timeout after it.
    fn head_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(timeout) = self.header_timeout else {
            return Poll::Pending;
        };
        let begun = match self.clock.phase() {
            Phase::Upgraded => return Poll::Pending,
            Phase::Answering => {
                match &mut self.head_timer {
                    // Registered with this task's waker since it was last
                    // polled: nothing to do until it fires.
                    Some(timer) if !timer.is_elapsed() => {}
                    timer => {
                        let timer = timer.insert(Box::pin(tokio::time::sleep(timeout)));
                        while timer.as_mut().poll(cx).is_ready() {
                            timer.as_mut().reset(Instant::now() + timeout);
                        }
                    }
                }
                return Poll::Pending;
            }
            Phase::AwaitingHead(begun) => begun,
        };
        let deadline = match &self.head {
            Some(head) if head.after == begun => head.deadline,
            _ => {
                let deadline = Instant::now() + timeout;
                self.head = Some(HeadDeadline {
                    after: begun,
                    deadline,
                });
                deadline
            }
        };
        let timer = match &mut self.head_timer {
            // Set no later than this deadline and registered with this
            // task's waker: nothing to do until it fires.
            Some(timer) if !timer.is_elapsed() => return Poll::Pending,
            Some(timer) => timer,
            None => self
                .head_timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        // The timer may be set for an earlier head (deadlines only move
        // later): when it fires, move it to this head's deadline.
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the request head took longer than {timeout:?} (header read timeout)"),
                )));
            }
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadlines<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => self.head_wait(cx),
            ready => ready,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadlines<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pin_project_lite::pin_project! {
    /// A response body that tells the [`RequestClock`] when it is dropped:
    /// the response has been sent (or abandoned), and the connection waits
    /// for the next head.
    pub(super) struct Sent<B> {
        #[pin]
        inner: B,
        clock: Arc<RequestClock>,
    }

    impl<B> PinnedDrop for Sent<B> {
        fn drop(this: Pin<&mut Self>) {
            this.clock.end();
        }
    }
}

impl<B> Sent<B> {
    pub(super) fn new(inner: B, clock: Arc<RequestClock>) -> Sent<B> {
        Sent { inner, clock }
    }
}

impl<B: http_body::Body> http_body::Body for Sent<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

//! The write timeout: a connection whose writes have been stuck for too
//! long (a client that stopped reading) fails, so hyper drops it and the
//! response it holds. Only time blocked on a write counts: a response that
//! has nothing to send (an idle event stream) never writes, so never waits.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `inner`, whose writes fail after `timeout` without progress.
pub(super) struct WriteTimeout<S> {
    inner: S,
    timeout: Option<Duration>,
    /// The deadline of the write blocked now; made the first time a write
    /// blocks and reused, so a connection allocates it at most once.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Whether `deadline` is for the write blocked now (else it is stale).
    blocked: bool,
}

impl<S> WriteTimeout<S> {
    pub(super) fn new(inner: S, timeout: Option<Duration>) -> WriteTimeout<S> {
        WriteTimeout {
            inner,
            timeout,
            deadline: None,
            blocked: false,
        }
    }

    /// Passes a write's outcome through, timing the time it stays pending.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        let Poll::Pending = poll else {
            self.blocked = false;
            return poll;
        };
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = match &mut self.deadline {
            Some(deadline) => {
                if !self.blocked {
                    deadline.as_mut().reset(Instant::now() + timeout);
                }
                deadline
            }
            None => self.deadline.insert(Box::pin(tokio::time::sleep(timeout))),
        };
        self.blocked = true;
        ready!(deadline.as_mut().poll(cx));
        self.blocked = false;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client took nothing for {timeout:?} (write timeout)"),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
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

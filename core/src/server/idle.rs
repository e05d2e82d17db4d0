//! A connection with no traffic at all, in either direction, for a while is closed.
//!
//! A read timeout alone would cut a client that only listens (an event stream over HTTP/1.1
//! sends the client nothing to answer), and a write timeout alone never fires on a connection
//! nobody uses. Counting bytes both ways closes what is really idle — a connection that
//! completed its handshake and never asked anything, or a keep-alive connection left open —
//! while downloads and event streams (with their heartbeats) go on as long as they need.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `inner`, failing its reads with [`io::ErrorKind::TimedOut`] once no byte went either way
/// for `limit` — or for `first` before the first byte arrived (a connection that never asks
/// anything goes sooner).
pub(super) struct IdleTimeout<S> {
    inner: S,
    limit: Duration,
    then: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    pub(super) fn new(inner: S, first: Duration, then: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            limit: first,
            then,
            last: now,
            timer: Box::pin(tokio::time::sleep_until(now + first)),
        }
    }

    fn active(&mut self) {
        self.last = Instant::now();
        self.limit = self.then;
    }

    /// Pending unless the connection has been idle for the limit (then an error).
    ///
    /// The timer is moved only when it fires: traffic just records the time (no timer work on
    /// every read and write), and a timer that fires early is set again to the real deadline.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let deadline = self.last + self.limit;
            if Instant::now() >= deadline {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no traffic on the connection for too long",
                )));
            }
            self.timer.as_mut().reset(deadline);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match this.check(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.active();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.active();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn idle_both_ways_fails_the_read_and_traffic_keeps_it_open() {
        let (a, mut b) = tokio::io::duplex(1024);
        let (c, _d) = tokio::io::duplex(1024);
        // Nothing ever arrives: closed after the first limit.
        let started = Instant::now();
        let mut silent = IdleTimeout::new(c, Duration::from_secs(20), Duration::from_secs(60));
        let mut buf = [0u8; 16];
        assert!(silent.read(&mut buf).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(21));
        let mut idle = IdleTimeout::new(a, Duration::from_secs(60), Duration::from_secs(60));
        // Only the server writes (an event stream): 45 s apart, never idle for 60 s.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_secs(45)).await;
            idle.write_all(b"beat").await.unwrap();
            b.read_exact(&mut buf[..4]).await.unwrap();
        }
        // The client asks something: the read sees it.
        b.write_all(b"GET").await.unwrap();
        assert_eq!(idle.read(&mut buf).await.unwrap(), 3);
        // Then nothing either way: the pending read fails after the limit.
        let started = Instant::now();
        let err = idle.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(60));
        assert!(started.elapsed() < Duration::from_secs(61));
    }
}
